package mediastore

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/store"
)

// clock is a settable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func open(t *testing.T, clk *clock) (*Store, *store.DB) {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{Dir: t.TempDir(), CheckpointInterval: -1}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := Open(context.Background(), db, Config{PublicURL: "https://files.example/", Retention: time.Hour, Now: clk.Now}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, db
}

func get(s *Store, url, rng string) *httptest.ResponseRecorder {
	name := url[strings.LastIndex(url, "/")+1:]
	req := httptest.NewRequest(http.MethodGet, url, nil)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	w := httptest.NewRecorder()
	s.Serve(w, req, name)
	return w
}

func TestKeepServeExpire(t *testing.T) {
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	s, db := open(t, clk)
	ctx := context.Background()
	data := bytes.Repeat([]byte("voice note "), 100)
	url, err := s.Keep(ctx, "INSTANCE1", "audio/ogg; codecs=opus", data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "https://files.example/media/") || !strings.HasSuffix(url, ".ogg") {
		t.Fatalf("URL %q", url)
	}
	other, _ := s.Keep(ctx, "INSTANCE1", "audio/ogg; codecs=opus", data)
	if other == url {
		t.Fatal("two files got one URL")
	}

	w := get(s, url, "")
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), data) || w.Header().Get("Content-Type") != "audio/ogg; codecs=opus" {
		t.Fatalf("GET = %d %q, %d bytes", w.Code, w.Header().Get("Content-Type"), w.Body.Len())
	}
	w = get(s, url, "bytes=10-19")
	if w.Code != http.StatusPartialContent || !bytes.Equal(w.Body.Bytes(), data[10:20]) {
		t.Fatalf("range = %d %q", w.Code, w.Body.Bytes())
	}
	if w := get(s, "https://files.example/media/nothing.ogg", ""); w.Code != 404 {
		t.Fatalf("unknown = %d", w.Code)
	}

	// The database holds neither the token nor the bytes in the clear.
	token := strings.TrimSuffix(url[strings.LastIndex(url, "/")+1:], ".ogg")
	var n int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM media_files WHERE id = ?`, token).Scan(&n); err != nil || n != 0 {
		t.Fatalf("token stored as it is: %d %v", n, err)
	}

	clk.add(time.Hour)
	if w := get(s, url, ""); w.Code != 404 {
		t.Fatalf("after the retention = %d", w.Code)
	}
	swept, err := s.Sweep(ctx)
	if err != nil || swept != 2 {
		t.Fatalf("sweep = %d, %v", swept, err)
	}
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM vault WHERE key LIKE 'INSTANCE1/media/%'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d files left in the vault (%v)", n, err)
	}
}

// TestDeletedOwner: deleting an owner's vault content destroys its files.
func TestDeletedOwner(t *testing.T) {
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	s, db := open(t, clk)
	ctx := context.Background()
	url, err := s.Keep(ctx, "INSTANCE2", "image/jpeg", []byte("jpeg"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Vault().DeletePrefix(ctx, db.SQL(), "INSTANCE2/"); err != nil {
		t.Fatal(err)
	}
	w := get(s, url, "")
	body, _ := io.ReadAll(w.Body)
	if w.Code != 404 || !strings.Contains(string(body), `"error"`) {
		t.Fatalf("GET = %d %s", w.Code, body)
	}
}

func TestOpenRefusesABadURL(t *testing.T) {
	db, err := store.Open(context.Background(), store.Config{Dir: t.TempDir(), CheckpointInterval: -1}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, u := range []string{"", "files.example", "ftp://files.example"} {
		if s, err := Open(context.Background(), db, Config{PublicURL: u}, slog.Default()); err == nil {
			s.Close()
			t.Errorf("public URL %q accepted", u)
		}
	}
}
