package actors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/whatsapp"
)

// fakeConn is a WhatsApp client that connects at once and records what it is asked to send; refuse says which
// phone numbers it refuses for good.
type fakeConn struct {
	account.Client // not asked by these tests

	handle whatsapp.Handler
	refuse map[string]bool

	mu   sync.Mutex
	sent []*messagesv1.Outbound
}

func (c *fakeConn) Connect() error {
	c.handle(whatsapp.Connected{Phone: "5511999990000"})
	return nil
}
func (c *fakeConn) Link(whatsapp.Handler) error { return errors.New("linked already") }
func (c *fakeConn) PairPhone(context.Context, string) (string, error) {
	return "", errors.New("linked already")
}
func (c *fakeConn) Logout(context.Context) error { return nil }
func (c *fakeConn) Close()                       {}
func (c *fakeConn) WatchPresence(bool)           {}
func (c *fakeConn) RejectCall(context.Context, whatsapp.Call) error {
	return errors.New("not supported by the fake")
}
func (c *fakeConn) MarkRead(context.Context, string, string, string) error {
	return errors.New("not supported by the fake")
}
func (c *fakeConn) Send(_ context.Context, m *messagesv1.Outbound) (whatsapp.Sent, error) {
	if c.refuse[m.GetPhone()] {
		return whatsapp.Sent{}, whatsapp.ErrNotOnWhatsApp
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, m)
	return whatsapp.Sent{At: time.UnixMilli(1_700_000_000_000)}, nil
}

func (c *fakeConn) sentMessages() []*messagesv1.Outbound {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*messagesv1.Outbound(nil), c.sent...)
}

// fakeSessions opens conn for the linked device.
type fakeSessions struct{ conn *fakeConn }

func (s fakeSessions) Open(_ context.Context, _, _, _ string, handle whatsapp.Handler) (Conn, error) {
	s.conn.handle = handle
	return s.conn, nil
}
func (fakeSessions) DeleteDevice(context.Context, string) error { return nil }

// The actor hands its client each queued message whole — its content back from the vault — in queue order, once;
// a message the client refuses for good fails alone; what went out leaves the queue and the vault.
func TestQueueHandsTheClientWholeMessagesInOrder(t *testing.T) {
	db := eventstest.OpenDB(t, t.TempDir())
	log := eventstest.OpenLog(t, db, events.Config{})
	const id = "INSTANCE1"
	eventstest.Append(t, log, id,
		&eventsv1.Event{Payload: &eventsv1.Event_InstanceCreated{InstanceCreated: &eventsv1.InstanceCreated{Name: "shop"}}},
		&eventsv1.Event{Payload: &eventsv1.Event_Paired{Paired: &eventsv1.Paired{Jid: "5511999990000:2@s.whatsapp.net"}}})
	conn := &fakeConn{refuse: map[string]bool{"5511988887777": true}}
	cfg := DefaultConfig()
	cfg.SendDelayMin, cfg.SendDelayMax = 0, 0
	d := testDeps(t, db, log, cfg)
	d.sessions = fakeSessions{conn}
	ask := spawnInstance(t, id, d)

	phones := []string{"5511999990001", "5511988887777", "120363000000000001-group"}
	var queued []Queued
	for i, phone := range phones {
		m := text(phone, fmt.Sprint("message ", i))
		m.ReplyTo, m.DelayTypingS = "3EB0QUOTED", 2
		r := ask(enqueue{msg: m})
		if r.err != nil {
			t.Fatalf("enqueue: %v", r.err)
		}
		queued = append(queued, r.value.(Queued))
	}
	eventstest.WaitFor(t, 10*time.Second, "the queue is worked through", func() bool {
		r := ask(listQueue{})
		return r.err == nil && len(r.value.([]*eventsv1.Event)) == 0
	})

	sent := conn.sentMessages()
	if len(sent) != 2 {
		t.Fatalf("the client was handed %d messages, want 2: %v", len(sent), sent)
	}
	for i, want := range []int{0, 2} {
		m := sent[i]
		if m.GetMessageId() != queued[want].MessageID || m.GetZaapId() != queued[want].ZaapID ||
			m.GetPhone() != phones[want] || m.GetContent().GetText().GetBody() != fmt.Sprint("message ", want) ||
			m.GetType() != messagesv1.Kind_KIND_TEXT || m.GetReplyTo() != "3EB0QUOTED" || m.GetDelayTypingS() != 2 {
			t.Errorf("message %d handed to the client = %v, want message %d whole", i, m, want)
		}
	}
	eventstest.Settle(t, log)
	var outcomes []string
	if err := log.Load(context.Background(), id, 0, func(e *eventsv1.Event) error {
		switch p := e.GetPayload().(type) {
		case *eventsv1.Event_MessageSent:
			outcomes = append(outcomes, "sent "+p.MessageSent.GetZaapId())
		case *eventsv1.Event_MessageFailed:
			outcomes = append(outcomes, "failed "+p.MessageFailed.GetZaapId()+": "+p.MessageFailed.GetError())
		case *eventsv1.Event_MessageQueued:
			if p.MessageQueued.GetContent() != nil {
				t.Errorf("a MessageQueued event holds the content: %v", p.MessageQueued)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint([]string{"sent " + queued[0].ZaapID, "failed " + queued[1].ZaapID + ": Phone number does not exist", "sent " + queued[2].ZaapID})
	if fmt.Sprint(outcomes) != want {
		t.Errorf("outcomes = %v, want %v", outcomes, want)
	}
	for _, q := range queued {
		if _, err := db.Vault().Get(context.Background(), events.OutboundVaultKey(id, q.MessageID)); !errors.Is(err, store.ErrVaultNotFound) {
			t.Errorf("content of %s still in the vault: %v", q.MessageID, err)
		}
	}
}
