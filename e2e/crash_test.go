package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestCrashWithQueuedMessages kills the server (SIGKILL) while messages wait in its queue: after a restart
// every message reaches the contact exactly once, with the ID it was given at queueing, in order.
func TestCrashWithQueuedMessages(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	srv := startServer(t, sim, withEnv("PLUGZAPI_SEND_DELAY", "250ms"))
	in := createInstance(t, srv, "crash", nil)
	link(t, in, business)

	const n = 12
	var ids []string
	texts := map[string]string{}
	for i := range n {
		text := fmt.Sprintf("queued message %02d", i)
		id := sendText(t, in, alicePhone, text)
		ids = append(ids, id)
		texts[id] = text
	}
	eventually(t, 30*time.Second, "some messages sent", func() error {
		if got := len(alice.Messages("")); got < 2 {
			return fmt.Errorf("%d received", got)
		}
		return nil
	})
	srv.kill()
	if got := len(alice.Messages("")); got == n {
		t.Fatalf("all %d messages were sent before the crash: the test proves nothing", n)
	}
	srv.start()

	eventually(t, 60*time.Second, "every message received", func() error {
		if got := len(alice.Messages("")); got < n {
			return fmt.Errorf("%d of %d received", got, n)
		}
		return nil
	})
	inbox := alice.Messages("")
	if len(inbox) != n {
		t.Fatalf("Alice has %d messages, want exactly %d", len(inbox), n)
	}
	for i, m := range inbox {
		if m.ID != ids[i] || m.Text != texts[ids[i]] {
			t.Errorf("message %d: got %s %q, want %s %q", i, m.ID, m.Text, ids[i], texts[ids[i]])
		}
		if d := sim.Deliveries(m.ID); d != 1 {
			t.Errorf("message %s was delivered %d times", m.ID, d)
		}
	}
	eventually(t, 10*time.Second, "queue empty", func() error {
		var c struct{ Count int }
		in.call(t, "GET", "queue/count", nil).decode(t, &c)
		if c.Count != 0 {
			return fmt.Errorf("%d queued", c.Count)
		}
		return nil
	})
}

// TestCrashMidSend kills the server after WhatsApp took a message but before the server heard so: after the
// restart the server sends it again with the same ID, WhatsApp recognises it, and the contact has it once.
func TestCrashMidSend(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "midsend", hooks)
	dev := link(t, in, business)

	if err := sim.DelayAcks(dev, time.Hour); err != nil {
		t.Fatal(err)
	}
	id := sendText(t, in, alicePhone, "sent while the server dies")
	waitMessage(t, alice, id)
	srv.kill()
	for _, h := range hooks.hooks() {
		if delivery(id)(h) {
			t.Fatalf("the delivery webhook fired before the ack: the test proves nothing")
		}
	}
	if err := sim.DelayAcks(dev, 0); err != nil {
		t.Fatal(err)
	}
	srv.start()

	hooks.waitFor(t, "delivery after the restart", delivery(id))
	if _, n := findMessage(alice, id); n != 1 {
		t.Errorf("Alice has the message %d times, want once", n)
	}
	if d := sim.Deliveries(id); d != 1 {
		t.Errorf("the message was delivered %d times, want once", d)
	}
	next := sendText(t, in, alicePhone, "and the next one")
	waitMessage(t, alice, next)
}

// TestMessagesReceivedWhileDown: what contacts write while the server is down (killed) waits at WhatsApp and
// becomes webhooks, in order, once the server is back.
func TestMessagesReceivedWhileDown(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "down", hooks)
	link(t, in, business)
	srv.kill()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ids []string
	for i := range 3 {
		id, err := alice.SendText(ctx, businessPhone, fmt.Sprintf("while you were down %d", i), "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	srv.start()
	for _, id := range ids {
		hooks.waitFor(t, "received "+id, func(h hook) bool { return h.Type == "ReceivedCallback" && h.str("messageId") == id })
	}
	var order []string
	seen := map[string]bool{}
	for _, h := range hooks.hooks() {
		if id := h.str("messageId"); h.Type == "ReceivedCallback" && !seen[id] {
			seen[id] = true
			order = append(order, id)
		}
	}
	if fmt.Sprint(order) != fmt.Sprint(ids) {
		t.Errorf("received webhooks in order %v, want %v", order, ids)
	}
}
