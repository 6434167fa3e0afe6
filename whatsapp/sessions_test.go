package whatsapp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"

	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/store/storetest"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestSessionsOnTheServerDatabase: whatsmeow's session store on the server's own database, on the run's dialect
// (its Postgres queries are its own, with $n placeholders and real booleans, through the store's pool). A
// device saved, given its session with itself (ensureSelfSession), found again after a restart (whatsmeow's
// Upgrade finding its schema current), its event buffer sealed at rest, and deleted.
func TestSessionsOnTheServerDatabase(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.Config{})
	open := func() *Sessions {
		t.Helper()
		s, err := OpenSessions(ctx, db.SQL(), db.Dialect().DriverName(), Options{Sealer: db.Vault()})
		if err != nil {
			t.Fatalf("open sessions on %s: %v", db.Dialect(), err)
		}
		return s
	}

	s := open()
	dev := s.container.NewDevice()
	jid := types.NewADJID("5511900000001", 0, 7)
	dev.ID = &jid
	dev.LID = types.JID{User: "100000000000001", Device: 7, Server: types.HiddenUserServer}
	dev.PushName = "Business"
	dev.Account = &waAdv.ADVSignedDeviceIdentity{Details: []byte("details"), AccountSignature: randomBytes(64),
		AccountSignatureKey: randomBytes(32), DeviceSignature: randomBytes(64)}
	if err := dev.Save(ctx); err != nil {
		t.Fatalf("save the device: %v", err)
	}
	if err := ensureSelfSession(ctx, dev); err != nil {
		t.Fatalf("a session with the device itself: %v", err)
	}

	s = open()
	conn, err := s.Open(ctx, "OWNER", jid.String(), "", func(Event) bool { return true }, nil)
	if err != nil {
		t.Fatalf("open the saved device after a restart: %v", err)
	}
	got := conn.cli.Store
	if got.PushName != "Business" || got.GetLID() != dev.LID {
		t.Errorf("the device read back: push name %q, LID %s", got.PushName, got.GetLID())
	}
	for _, own := range []types.JID{jid, dev.LID} {
		if has, err := got.ContainsSession(ctx, own.SignalAddress()); err != nil || !has {
			t.Errorf("the session with %s after a restart: %v, %v", own, has, err)
		}
	}

	secret := []byte("a message whatsmeow buffers until it is handled")
	hash := sha256.Sum256([]byte("its ciphertext"))
	if err := got.EventBuffer.PutBufferedEvent(ctx, hash, secret, time.Now()); err != nil {
		t.Fatalf("buffer an event: %v", err)
	}
	buffered, err := got.EventBuffer.GetBufferedEvent(ctx, hash)
	if err != nil || buffered == nil || !bytes.Equal(buffered.Plaintext, secret) {
		t.Fatalf("the buffered event read back: %v, %v", buffered, err)
	}
	var atRest []byte
	if err := db.SQL().QueryRowContext(ctx, `SELECT plaintext FROM whatsmeow_event_buffer WHERE our_jid = ?`,
		jid.String()).Scan(&atRest); err != nil {
		t.Fatal(err)
	}
	if len(atRest) == 0 || bytes.Contains(atRest, secret) {
		t.Errorf("the buffered event at rest is %q: want it sealed", atRest)
	}

	if err := s.DeleteDevice(ctx, jid.String()); err != nil {
		t.Fatalf("delete the device: %v", err)
	}
	if _, err := s.Open(ctx, "OWNER", jid.String(), "", func(Event) bool { return true }, nil); !errors.Is(err, ErrNoSession) {
		t.Errorf("open a deleted device: %v, want ErrNoSession", err)
	}
	var left int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM whatsmeow_sessions WHERE our_jid = ?`,
		jid.String()).Scan(&left); err != nil || left != 0 {
		t.Errorf("a deleted device's sessions: %d left (%v)", left, err)
	}
}

// TestSessionsUpgradeFromNodesStartingTogether: nodes sharing a Postgres database that start at once each bring
// whatsmeow's store up to date in a database it has not been created in yet; each finds it ready. (On SQLite
// there is one process: they upgrade one after the other.) The nodes are containers of their own, as in separate
// processes; OpenSessions also sets whatsmeow's process-wide device properties, once per process.
func TestSessionsUpgradeFromNodesStartingTogether(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.Config{})
	dialect := db.Dialect().DriverName()
	const nodes = 4
	errs := make(chan error, nodes)
	for range nodes {
		open := func() {
			errs <- upgrade(ctx, db.SQL(), dialect, sqlstore.NewWithDB(db.SQL(), dialect, nil))
		}
		if db.Dialect() == store.Postgres {
			go open()
		} else {
			open()
		}
	}
	for range nodes {
		if err := <-errs; err != nil {
			t.Errorf("a node's start: %v", err)
		}
	}
}
