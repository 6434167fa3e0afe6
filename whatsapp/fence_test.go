package whatsapp

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/types"

	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/store/storetest"
)

// TestDeviceWritesNeedTheLease: a linked device opened with a MayConnect that refuses (its node lost the
// instance's lease) reads its Signal state but writes none of it — sessions, identities, prekeys, sender keys,
// app state, a decryption's transaction — and every refusal says why; once allowed again, writes go through.
func TestDeviceWritesNeedTheLease(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.Config{})
	s, err := OpenSessions(ctx, db.SQL(), db.Dialect().DriverName(), Options{Sealer: db.Vault()})
	if err != nil {
		t.Fatal(err)
	}
	dev := s.container.NewDevice()
	jid := types.NewADJID("5511900000002", 0, 3)
	dev.ID = &jid
	dev.Account = &waAdv.ADVSignedDeviceIdentity{Details: []byte("details"), AccountSignature: randomBytes(64),
		AccountSignatureKey: randomBytes(32), DeviceSignature: randomBytes(64)}
	if err := dev.Save(ctx); err != nil {
		t.Fatal(err)
	}
	const address = "5511900000003.0:0"
	if err := dev.Sessions.PutSession(ctx, address, []byte("ratchet 1")); err != nil {
		t.Fatal(err)
	}

	lost := errors.New("lease lost")
	var refuse error
	conn, err := s.Open(ctx, "OWNER", jid.String(), "", func(Event) bool { return true }, func() error { return refuse })
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st := conn.cli.Store

	refuse = lost
	for name, write := range map[string]func() error{
		"session":     func() error { return st.Sessions.PutSession(ctx, address, []byte("ratchet 2")) },
		"sessions":    func() error { return st.Sessions.PutManySessions(ctx, map[string][]byte{address: []byte("ratchet 2")}) },
		"no session":  func() error { return st.Sessions.DeleteSession(ctx, address) },
		"identity":    func() error { return st.Identities.PutIdentity(ctx, address, [32]byte{1}) },
		"prekeys":     func() error { _, err := st.PreKeys.GetOrGenPreKeys(ctx, 5); return err },
		"sender key":  func() error { return st.SenderKeys.PutSenderKey(ctx, "group", address, []byte("key")) },
		"app state":   func() error { return st.AppState.PutAppStateVersion(ctx, "regular", 2, [128]byte{}) },
		"decryption":  func() error { return st.EventBuffer.DoDecryptionTxn(ctx, func(context.Context) error { return nil }) },
		"buffered ev": func() error { return st.EventBuffer.PutBufferedEvent(ctx, [32]byte{2}, []byte("hello"), time.Now()) },
	} {
		if err := write(); !errors.Is(err, lost) {
			t.Errorf("%s written without the lease: %v", name, err)
		}
	}
	got, err := st.Sessions.GetSession(ctx, address)
	if err != nil || !bytes.Equal(got, []byte("ratchet 1")) {
		t.Errorf("the session read without the lease is %q, %v; want the one written before", got, err)
	}

	refuse = nil
	if err := st.Sessions.PutSession(ctx, address, []byte("ratchet 2")); err != nil {
		t.Fatalf("with the lease: %v", err)
	}
	if got, _ := st.Sessions.GetSession(ctx, address); !bytes.Equal(got, []byte("ratchet 2")) {
		t.Errorf("the session is %q after a write with the lease", got)
	}
}
