package wasim

import (
	"context"
	"fmt"
	"maps"
	"sync"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// A phone's WhatsApp app does one Signal operation at a time; the whatsmeow client acting as the phone does not.
// Its send path reads the sessions it encrypts with before it fetches keys and encrypts, and writes them all back
// after; a decryption committed in between is overwritten, and a decryption that read a session before the send
// wrote it writes back the counter the send had used. The phone then repeats a counter (its contact ignores the
// message as an "old counter", yet acknowledges it) or starts over with a one-time prekey the contact already
// spent. Without this, TestTwoWayTraffic lost up to 9 of Alice's 101 texts in 2 runs of 3, each ignored by the
// instance as an "old counter" (the instance now asks for such a message again: it arrives late). So each phone serialises its sends and its decryptions on one lock,
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

// SendTextRewound sends a text from the phone like SendText, then puts the phone's Signal sessions with the
// recipient's devices back as they were before, as a phone restored from a backup taken just before: its next
// message to them goes out under the same counters, which the recipient has used already.
func (a *Account) SendTextRewound(ctx context.Context, to, text string) (string, error) {
	chat, err := parseChat(to)
	if err != nil || chat.Server != types.DefaultUserServer {
		return "", fmt.Errorf("send text rewound: %w: %q is not a phone number", ErrInvalidArgument, to)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return "", fmt.Errorf("send text rewound: %w", err)
	}
	var addresses []string
	a.s.mu.Lock()
	if peer := a.s.accounts[chat.User]; peer != nil {
		for _, d := range peer.devices {
			addresses = append(addresses, d.jid.SignalAddress().String(), d.lid.SignalAddress().String())
		}
	}
	a.s.mu.Unlock()
	e.signal.Lock()
	defer e.signal.Unlock()
	before, err := e.cli.Store.Sessions.GetManySessions(ctx, addresses)
	if err != nil {
		return "", fmt.Errorf("send text rewound: read sessions: %w", err)
	}
	maps.DeleteFunc(before, func(_ string, session []byte) bool { return session == nil })
	msg := &waE2E.Message{Conversation: proto.String(text)}
	resp, err := e.cli.SendMessage(ctx, chat, msg)
	if err != nil {
		return "", fmt.Errorf("send text rewound to %s: %w", chat, err)
	}
	if err := e.cli.Store.Sessions.PutManySessions(ctx, before); err != nil {
		return "", fmt.Errorf("send text rewound: put sessions back: %w", err)
	}
	e.mu.Lock()
	e.sent[resp.ID] = msg
	e.mu.Unlock()
	return resp.ID, nil
}
