package wasim

import (
	"context"
	"sync"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
)

// A phone's WhatsApp app does one Signal operation at a time; the whatsmeow client acting as the phone does not.
// Its send path reads the sessions it encrypts with before it fetches keys and encrypts, and writes them all back
// after; a decryption committed in between is overwritten, and a decryption that read a session before the send
// wrote it writes back the counter the send had used. The phone then repeats a counter (its contact ignores the
// message as an "old counter", yet acknowledges it) or starts over with a one-time prekey the contact already
// spent. Without this, TestTwoWayTraffic lost up to 9 of Alice's 101 texts in 2 runs of 3, each ignored by the
// instance as an "old counter". So each phone serialises its sends and its decryptions on one lock,
// engine.signal: every send goes through engine.sendMessage, and every decryption through the event buffer's
// transaction, oneAtATime. (whatsmeow's answers to retry receipts still encrypt on their own: rare.)

// oneAtATime runs each decryption of the phone's client (whatsmeow's DoDecryptionTxn, used when
// EnableDecryptedEventBuffer is on) under the phone's Signal lock.
type oneAtATime struct {
	store.EventBuffer
	signal *sync.Mutex
}

func (b oneAtATime) DoDecryptionTxn(ctx context.Context, fn func(context.Context) error) error {
	b.signal.Lock()
	defer b.signal.Unlock()
	return b.EventBuffer.DoDecryptionTxn(ctx, fn)
}

// sendMessage sends msg from the phone's client under the phone's Signal lock.
func (e *engine) sendMessage(ctx context.Context, to types.JID, msg *waE2E.Message, extra ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error) {
	e.signal.Lock()
	defer e.signal.Unlock()
	return e.cli.SendMessage(ctx, to, msg, extra...)
}

// initPhoneStores gives the phone's device, before its client exists, the stores whatsmeow would give it once
// paired (sqlstore's initializeDevice, which PutDevice skips for a device marked initialized), its event buffer
// under the phone's Signal lock. Installed later, the buffer would be swapped under the running client's feet.
// The phone's device ID is known before it pairs: the account's number, device 0.
func initPhoneStores(container *sqlstore.Container, device *store.Device, phone string, signal *sync.Mutex) {
	inner := sqlstore.NewSQLStore(container, types.JID{User: phone, Server: types.DefaultUserServer})
	device.Identities = inner
	device.Sessions = inner
	device.PreKeys = inner
	device.SenderKeys = inner
	device.AppStateKeys = inner
	device.AppState = inner
	device.Contacts = inner
	device.ChatSettings = inner
	device.MsgSecrets = inner
	device.PrivacyTokens = inner
	device.EventBuffer = oneAtATime{EventBuffer: inner, signal: signal}
	device.LIDs = container.LIDMap
	device.Initialized = true
}
