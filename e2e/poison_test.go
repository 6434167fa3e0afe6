package e2e

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestPoisonMessagesDoNotBlockTheQueue: messages WhatsApp refuses for good — to a group that does not exist, to
// a group the number is not a member of, to a group the number has left — each fail with a delivery webhook
// that says why, and the message queued behind them goes out at once, not after a retry backoff.
func TestPoisonMessagesDoNotBlockTheQueue(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	const bobPhone = "5511999990002"
	bob := addAccount(t, sim, bobPhone, "Bob")
	hooks := newReceiver(t)
	srv := startServer(t, sim, withEnv("PLUGZAPI_SEND_DELAY", "0"))
	in := createInstance(t, srv, "poison", hooks)
	link(t, in, business)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	elsewhere, err := alice.CreateGroup(ctx, "sem a empresa", bobPhone)
	if err != nil {
		t.Fatal(err)
	}
	left, err := alice.CreateGroup(ctx, "a empresa saiu", businessPhone, bobPhone)
	if err != nil {
		t.Fatal(err)
	}
	// The number sends to the group while a member, so that its client knows the group's members when it left.
	before := sendText(t, in, left.ID, "ainda sou membro")
	waitMessage(t, bob, before)
	if err := business.LeaveGroup(ctx, left.ID); err != nil {
		t.Fatal(err)
	}

	const missingGroup = "120363000000000001-group"
	missing := sendText(t, in, missingGroup, "para um grupo que não existe")
	notMember := sendText(t, in, elsewhere.ID, "para um grupo de que não sou membro")
	gone := sendText(t, in, left.ID, "para um grupo que deixei")
	normal := sendText(t, in, alicePhone, "e a fila continua")

	const notParticipant = "This number is not a participant of the group"
	for _, c := range []struct {
		what, id, phone string
		errs            []string
	}{
		{"missing group", missing, missingGroup, []string{"Group does not exist"}},
		{"group without the number", notMember, elsewhere.ID, []string{notParticipant}},
		// The number's client still knows the group's members, so it sends and WhatsApp refuses the message in
		// its ack; had it forgotten them, the group info query would have told it that it is no member.
		{"group the number left", gone, left.ID, []string{"WhatsApp refused the message (error 403)", notParticipant}},
	} {
		h := hooks.waitFor(t, "failure for the "+c.what, delivery(c.id))
		if !slices.Contains(c.errs, h.str("error")) || h.str("phone") != c.phone {
			t.Errorf("DeliveryCallback for the %s = %s, want phone %s and error one of %q", c.what, h.Raw, c.phone, c.errs)
		}
	}
	// The pacing is off: the message behind the failures goes out within the usual wait, not after a backoff.
	waitMessage(t, alice, normal)
	if h := hooks.waitFor(t, "delivery of the normal message", delivery(normal)); h.str("error") != "" {
		t.Errorf("DeliveryCallback for a delivered message has an error: %s", h.Raw)
	}
	for _, h := range hooks.hooks() {
		for _, id := range []string{missing, notMember, gone} {
			if status("SENT", id)(h) {
				t.Errorf("a message that failed was reported SENT: %s", h.Raw)
			}
		}
	}
	for _, m := range bob.Messages("") {
		if m.ID == notMember || m.ID == gone {
			t.Errorf("Bob got %q from a number outside the group", m.Text)
		}
	}
	if got := queueCount(t, in); got != 0 {
		t.Errorf("queue count = %d after every message left", got)
	}
}
