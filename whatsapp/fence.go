package whatsapp

import (
	"context"
	"fmt"
	"time"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
)

// fenceWrites makes whatsmeow write a linked device's Signal and app state only while may allows it — while
// this node holds the instance's lease, on its own clock. A node paused or cut off past its lease may still
// find frames in its socket when it resumes; decrypting them would write ratchets, identities and prekeys
// over the ones the node running the instance now keeps in the shared database, and break its sessions.
// Reads stay open: a refused write fails what needed it (a message is then not acknowledged, and WhatsApp
// delivers it again to the node that runs the instance). It is called when a linked device's client is built,
// before it runs: a device paired by a client is fenced from its next client on (whatsmeow's reconnect after
// pairing reads the stores pairing set while the pairing goroutine would replace them).
func fenceWrites(d *store.Device, may MayConnect) {
	if _, fenced := d.Sessions.(fencedSessions); fenced || d.Sessions == nil || may == nil {
		return
	}
	d.Sessions = fencedSessions{d.Sessions, may}
	d.Identities = fencedIdentities{d.Identities, may}
	d.PreKeys = fencedPreKeys{d.PreKeys, may}
	d.SenderKeys = fencedSenderKeys{d.SenderKeys, may}
	d.AppState = fencedAppState{d.AppState, may}
	d.EventBuffer = fencedBuffer{d.EventBuffer, may}
}

// allowed is the check every fenced write makes first.
func allowed(may MayConnect) error {
	if err := may(); err != nil {
		return fmt.Errorf("not writing the device's keys: %w", err)
	}
	return nil
}

type fencedSessions struct {
	store.SessionStore
	may MayConnect
}

func (f fencedSessions) PutSession(ctx context.Context, address string, session []byte) error {
	if err := allowed(f.may); err != nil {
		return err
	}
	return f.SessionStore.PutSession(ctx, address, session)
}

func (f fencedSessions) PutManySessions(ctx context.Context, sessions map[string][]byte) error {
	if err := allowed(f.may); err != nil {
		return err
	}
	return f.SessionStore.PutManySessions(ctx, sessions)
}

func (f fencedSessions) DeleteAllSessions(ctx context.Context, phone string) error {
	if err := allowed(f.may); err != nil {
		return err
	}
	return f.SessionStore.DeleteAllSessions(ctx, phone)
}

func (f fencedSessions) DeleteSession(ctx context.Context, address string) error {
	if err := allowed(f.may); err != nil {
		return err
	}
	return f.SessionStore.DeleteSession(ctx, address)
}

func (f fencedSessions) MigratePNToLID(ctx context.Context, pn, lid types.JID) error {
	if err := allowed(f.may); err != nil {
		return err
	}
	return f.SessionStore.MigratePNToLID(ctx, pn, lid)
}

type fencedIdentities struct {
	store.IdentityStore
	may MayConnect
}

func (f fencedIdentities) PutIdentity(ctx context.Context, address string, key [32]byte) error {
	if err := allowed(f.may); err != nil {
		return err
	}
	return f.IdentityStore.PutIdentity(ctx, address, key)
}

func (f fencedIdentities) DeleteAllIdentities(ctx context.Context, phone string) error {
	if err := allowed(f.may); err != nil {
		return err
	}
	return f.IdentityStore.DeleteAllIdentities(ctx, phone)
}

func (f fencedIdentities) DeleteIdentity(ctx context.Context, address string) error {
	if err := allowed(f.may); err != nil {
		return err
	}
	return f.IdentityStore.DeleteIdentity(ctx, address)
}

// fencedPreKeys fences the prekeys' writes; GetOrGenPreKeys writes the keys it generates.
type fencedPreKeys struct {
	store.PreKeyStore
	may MayConnect
}

func (f fencedPreKeys) GetOrGenPreKeys(ctx context.Context, count uint32) ([]*keys.PreKey, error) {
	if err := allowed(f.may); err != nil {
		return nil, err
	}
	return f.PreKeyStore.GetOrGenPreKeys(ctx, count)
}

func (f fencedPreKeys) GenOnePreKey(ctx context.Context) (*keys.PreKey, error) {
	if err := allowed(f.may); err != nil {
		return nil, err
	}
	return f.PreKeyStore.GenOnePreKey(ctx)
}

func (f fencedPreKeys) RemovePreKey(ctx context.Context, id uint32) error {
	if err := allowed(f.may); err != nil {
		return err
	}
	return f.PreKeyStore.RemovePreKey(ctx, id)
}

func (f fencedPreKeys) MarkPreKeysAsUploaded(ctx context.Context, upToID uint32) error {
	if err := allowed(f.may); err != nil {
		return err
	}
	return f.PreKeyStore.MarkPreKeysAsUploaded(ctx, upToID)
}

type fencedSenderKeys struct {
	store.SenderKeyStore
	may MayConnect
}

func (f fencedSenderKeys) PutSenderKey(ctx context.Context, group, user string, session []byte) error {
	if err := allowed(f.may); err != nil {
		return err
	}
	return f.SenderKeyStore.PutSenderKey(ctx, group, user, session)
}

type fencedAppState struct {
	store.AppStateStore
	may MayConnect
}

func (f fencedAppState) PutAppStateVersion(ctx context.Context, name string, version uint64, hash [128]byte) error {
	if err := allowed(f.may); err != nil {
		return err
	}
	return f.AppStateStore.PutAppStateVersion(ctx, name, version, hash)
}

func (f fencedAppState) DeleteAppStateVersion(ctx context.Context, name string) error {
	if err := allowed(f.may); err != nil {
		return err
	}
	return f.AppStateStore.DeleteAppStateVersion(ctx, name)
}

func (f fencedAppState) PutAppStateMutationMACs(ctx context.Context, name string, version uint64, mutations []store.AppStateMutationMAC) error {
	if err := allowed(f.may); err != nil {
		return err
	}
	return f.AppStateStore.PutAppStateMutationMACs(ctx, name, version, mutations)
}

func (f fencedAppState) DeleteAppStateMutationMACs(ctx context.Context, name string, indexMACs [][]byte) error {
	if err := allowed(f.may); err != nil {
		return err
	}
	return f.AppStateStore.DeleteAppStateMutationMACs(ctx, name, indexMACs)
}

// fencedBuffer fences the decrypted-event buffer: a decryption's transaction (its ratchet step and its buffered
// plaintext) does not start without the lease.
type fencedBuffer struct {
	store.EventBuffer
	may MayConnect
}

func (f fencedBuffer) DoDecryptionTxn(ctx context.Context, fn func(context.Context) error) error {
	if err := allowed(f.may); err != nil {
		return err
	}
	return f.EventBuffer.DoDecryptionTxn(ctx, fn)
}

func (f fencedBuffer) PutBufferedEvent(ctx context.Context, ciphertextHash [32]byte, plaintext []byte, serverTimestamp time.Time) error {
	if err := allowed(f.may); err != nil {
		return err
	}
	return f.EventBuffer.PutBufferedEvent(ctx, ciphertextHash, plaintext, serverTimestamp)
}
