package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/wasim"
)

// findInDir returns the files under dir that contain needle.
func findInDir(t testing.TB, dir string, needle []byte) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("search %s: %v", dir, err)
	}
	return found
}

func marker(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// TestNoMessageContentAtRest: neither a sent message's text nor a received one's is anywhere in the data
// directory (database, its write-ahead log, logs) or, on Postgres, in any value of the database, while the server
// runs or after it stops; none is kept to be forwarded. (With PLUGZAPI_FORWARD_WINDOW set, TestForwardMessage
// shows the same once the window is over.)
func TestNoMessageContentAtRest(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "private", hooks)
	link(t, in, business)

	outText := marker("outbound-secret")
	id := sendText(t, in, alicePhone, outText)
	hooks.waitFor(t, "delivery", delivery(id))
	if got := waitMessage(t, alice, id); got.Text != outText {
		t.Fatalf("Alice got %q", got.Text)
	}
	if files := findAtRest(t, srv, []byte(outText)); len(files) > 0 {
		t.Errorf("the sent text is in %v while the server runs", files)
	}

	inText := marker("inbound-secret")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	replyID, err := alice.SendText(ctx, businessPhone, inText, "")
	if err != nil {
		t.Fatal(err)
	}
	hooks.waitFor(t, "received", func(h hook) bool { return h.Type == "ReceivedCallback" && h.str("messageId") == replyID })
	// Nothing was kept to forward (PLUGZAPI_FORWARD_WINDOW is off by default).
	for _, m := range [][2]string{{id, alicePhone}, {replyID, alicePhone}} {
		in.call(t, "POST", "forward-message", map[string]any{"phone": alicePhone, "messageId": m[0], "messagePhone": m[1]}).
			wantError(t, http.StatusUnprocessableEntity, "cannot_forward")
	}

	// whatsmeow buffers each decrypted message until it is stored; the buffer is sealed with the vault key.
	if files := findAtRest(t, srv, []byte(inText)); len(files) > 0 {
		t.Errorf("the received text is in %v while the server runs", files)
	}
	srv.stop() // a clean stop checkpoints the write-ahead log into the database file
	if len(findInDatabase(t, srv, []byte(in.id))) == 0 {
		t.Fatal("the search finds not even the instance ID in the database: it would miss the texts too")
	}
	for _, text := range []string{outText, inText} {
		if files := findAtRest(t, srv, []byte(text)); len(files) > 0 {
			t.Errorf("%q is in %v after the server stopped", text, files)
		}
	}
}

// TestNoReceivedMediaAtRest: a received file is nowhere in the data directory (nor, on Postgres, the database)
// in the clear while it can be downloaded, and after its retention nothing of it is left: not its ciphertext, nor its key, nor its record.
func TestNoReceivedMediaAtRest(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim, withEnv("PLUGZAPI_MEDIA_RETENTION", "4s"))
	in := createInstance(t, srv, "private-media", hooks)
	link(t, in, business)

	secret := []byte(marker("received-photo-bytes"))
	photo := append([]byte("\xff\xd8\xff\xe0"), bytes.Repeat(secret, 50)...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := alice.SendMedia(ctx, businessPhone, wasim.Media{Kind: wasim.MediaImage, Data: photo, Caption: "privada"})
	if err != nil {
		t.Fatal(err)
	}
	_, c := receivedContent(t, hooks, id, "image")
	url, _ := c["imageUrl"].(string)
	checkFile(t, "image", url, photo, "image/jpeg")
	if files := findAtRest(t, srv, secret); len(files) > 0 {
		t.Errorf("the received file is in %v in the clear", files)
	}
	eventually(t, 15*time.Second, "the link expires", func() error {
		if status, _, _ := download(t, url, ""); status != http.StatusNotFound {
			return fmt.Errorf("GET = %d", status)
		}
		return nil
	})
	// The sweeper destroys the file soon after its link stops working.
	eventually(t, 10*time.Second, "the file destroyed", func() error {
		if n := countRows(t, srv, `SELECT COUNT(*) FROM vault WHERE key LIKE '%/media/%'`); n != 0 {
			return fmt.Errorf("%d files still in the vault", n)
		}
		return nil
	})
	srv.stop()
	if files := findAtRest(t, srv, secret); len(files) > 0 {
		t.Errorf("the received file is in %v after the server stopped", files)
	}
	if n := countRows(t, srv, `SELECT COUNT(*) FROM media_files`); n != 0 {
		t.Errorf("%d records of received files are left after their retention", n)
	}
}

// countRows runs a COUNT query on the server's database.
func countRows(t *testing.T, srv *server, query string) int {
	t.Helper()
	var n int
	if err := srv.database(t).QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
