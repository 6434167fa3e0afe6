package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestUnknownNumberAndTyping: a message to a number that is not on WhatsApp fails with a delivery webhook that
// says so, and the queue goes on; delayTyping shows "typing…" to the contact before the message arrives.
func TestUnknownNumberAndTyping(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "typing", hooks)
	link(t, in, business)

	lost := sendText(t, in, "5511988887777", "nobody reads this")
	res := in.call(t, "POST", "send-text", map[string]any{"phone": alicePhone, "message": "typed first", "delayTyping": 1})
	if res.status != http.StatusOK {
		t.Fatalf("send-text: %s", res)
	}
	var q struct{ MessageID string }
	res.decode(t, &q)

	failed := hooks.waitFor(t, "failed delivery", delivery(lost))
	if failed.str("error") != "Phone number does not exist" || failed.str("phone") != "5511988887777" {
		t.Errorf("DeliveryCallback for an unknown number = %s", failed.Raw)
	}
	for _, h := range hooks.hooks() {
		if status("SENT", lost)(h) {
			t.Errorf("a message that failed was reported SENT: %s", h.Raw)
		}
	}

	msg := waitMessage(t, alice, q.MessageID)
	var composing, paused time.Time
	for _, s := range alice.ChatStates() {
		if s.Chat != businessPhone || s.From != businessPhone {
			continue
		}
		switch s.State {
		case "composing":
			composing = s.Time
		case "paused":
			paused = s.Time
		}
	}
	if composing.IsZero() || paused.IsZero() || paused.Before(composing) {
		t.Fatalf("Alice's phone saw typing %v then paused %v before %q", composing, paused, msg.Text)
	}
	waitQueueEmpty(t, in)
}

// Sending asks WhatsApp for no keys of the instance's own device: WhatsApp lists that device among its account's,
// and a client without a session with itself fetches its own prekey bundle before every message — a round trip
// per message, and one of its one-time prekeys gone each time.
func TestSendingFetchesNoKeysOfItsOwn(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, "5511970000101", "Business")
	contact := addAccount(t, sim, "5511970000102", "Contact")
	srv := startServer(t, sim)
	in := createInstance(t, srv, "self-keys", nil)
	device := link(t, in, business)
	preKeys := func() int {
		for _, d := range business.DeviceInfos() {
			if d.JID == device {
				return d.PreKeys
			}
		}
		t.Fatalf("the instance's device %s is not among the account's", device)
		return 0
	}
	before := preKeys()
	var ids []string
	for i := range 5 {
		ids = append(ids, sendText(t, in, contact.Phone(), fmt.Sprint("message ", i)))
	}
	for _, id := range ids {
		waitMessage(t, contact, id)
	}
	if after := preKeys(); after != before {
		t.Errorf("the instance's device has %d one-time prekeys after 5 messages, %d before: its own keys were fetched", after, before)
	}
}
