package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/wasim"
)

const (
	businessPhone = "5511999990000"
	alicePhone    = "5511999990001"
)

// findMessage returns the message with the given ID in an account's inbox.
func findMessage(acct *wasim.Account, id string) (wasim.Message, int) {
	var found wasim.Message
	n := 0
	for _, m := range acct.Messages("") {
		if m.ID == id {
			found = m
			n++
		}
	}
	return found, n
}

// waitMessage waits until the account received the message with the given ID.
func waitMessage(t testing.TB, acct *wasim.Account, id string) wasim.Message {
	t.Helper()
	var msg wasim.Message
	eventually(t, 30*time.Second, "message "+id+" at "+acct.Phone(), func() error {
		m, n := findMessage(acct, id)
		if n == 0 {
			return fmt.Errorf("not in the inbox (%d messages)", len(acct.Messages("")))
		}
		msg = m
		return nil
	})
	return msg
}

// TestSendReceiveAndReceipts is the product's promise end to end: link by QR, send, delivery webhook, the
// contact gets that exact text with that ID, receipts become status webhooks, the contact's answer becomes a
// received webhook, and after a restart the instance reconnects by itself.
func TestSendReceiveAndReceipts(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "shop", hooks)

	link(t, in, business)
	connected := hooks.waitFor(t, "connected", ofType("ConnectedCallback"))
	if connected.str("phone") != businessPhone || connected.Body["connected"] != true || connected.str("instanceId") != in.id {
		t.Errorf("ConnectedCallback = %s", connected.Raw)
	}

	id := sendText(t, in, alicePhone, "Olá Alice, seu pedido saiu!")
	d := hooks.waitFor(t, "delivery", delivery(id))
	if d.str("phone") != alicePhone || d.str("zaapId") == "" || d.Body["error"] != nil {
		t.Errorf("DeliveryCallback = %s", d.Raw)
	}
	got := waitMessage(t, alice, id)
	if got.Text != "Olá Alice, seu pedido saiu!" || got.From != businessPhone {
		t.Errorf("Alice received %+v", got)
	}
	hooks.waitFor(t, "SENT", status("SENT", id))
	hooks.waitFor(t, "RECEIVED", status("RECEIVED", id))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := alice.MarkRead(ctx, businessPhone, id); err != nil {
		t.Fatalf("Alice marks read: %v", err)
	}
	read := hooks.waitFor(t, "READ", status("READ", id))
	if read.str("phone") != alicePhone {
		t.Errorf("READ status = %s", read.Raw)
	}

	replyID, err := alice.SendText(ctx, businessPhone, "Obrigada!", id)
	if err != nil {
		t.Fatalf("Alice replies: %v", err)
	}
	received := hooks.waitFor(t, "received", func(h hook) bool {
		return h.Type == "ReceivedCallback" && h.str("messageId") == replyID
	})
	text, _ := received.Body["text"].(map[string]any)
	if text["message"] != "Obrigada!" || received.str("phone") != alicePhone || received.Body["fromMe"] != false ||
		received.str("referenceMessageId") != id || received.str("senderName") != "Alice" {
		t.Errorf("ReceivedCallback = %s", received.Raw)
	}

	before := len(hooks.hooks())
	srv.restart()
	waitConnected(t, in)
	eventually(t, 30*time.Second, "ConnectedCallback after the restart", func() error {
		for _, h := range hooks.hooks()[before:] {
			if h.Type == "ConnectedCallback" {
				return nil
			}
		}
		return fmt.Errorf("none yet")
	})
	// And it still works after the restart.
	after := sendText(t, in, alicePhone, "still here")
	waitMessage(t, alice, after)
	hooks.waitFor(t, "delivery after restart", delivery(after))

	res := in.call(t, "GET", "status", nil)
	if res.status != http.StatusOK {
		t.Errorf("status: %s", res)
	}
}
