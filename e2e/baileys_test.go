package e2e

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/wasim/baileys"
	"github.com/plugzapi/plugzapi/wasim/simclient"
)

// baileysWait bounds each wait on the Baileys client: generous, since the suite runs with -race on busy cores.
const baileysWait = 30 * time.Second

// waitBaileys waits for a Baileys event with Seq >= from.
func waitBaileys(t *testing.T, c *baileys.Client, from int, what, name string, match func(baileys.Event) bool) baileys.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), baileysWait)
	defer cancel()
	e, err := c.WaitEventAfter(ctx, from, name, match)
	if err != nil {
		t.Fatalf("Baileys: %s: %v", what, err)
	}
	return e
}

// upsertOf matches a messages.upsert event holding the message with id, and stores that message in into.
func upsertOf(id string, into *baileys.Message) func(baileys.Event) bool {
	return func(e baileys.Event) bool {
		var u baileys.Upsert
		if e.Decode(&u) != nil {
			return false
		}
		for _, m := range u.Messages {
			if m.Key.ID == id {
				*into = m
				return true
			}
		}
		return false
	}
}

// TestBaileysContactBothWays proves that an independent WhatsApp client implementation interoperates with the
// server through the simulator, in both directions: the instance (linked to the business account) sends a text
// to a contact whose account is linked in Baileys (the Node.js multi-device client, not whatsmeow), Baileys gets
// it with the ID and text the API gave, the delivery becomes the instance's RECEIVED message-status webhook (Alice's
// phone and Baileys both acknowledge it) and Baileys' read receipt its READ webhook (only Baileys reads it), and a
// text Baileys sends becomes a ReceivedCallback with Baileys' message ID, its text and the contact's phone number.
func TestBaileysContactBothWays(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "baileys", hooks)
	link(t, in, business)
	hooks.waitFor(t, "connected", ofType("ConnectedCallback"))
	businessJID := business.JID().String()

	// Alice's account, linked in Baileys as a companion device of her (simulated) phone.
	setup, cancelSetup := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancelSetup()
	c, err := baileys.Start(setup, baileys.Options{
		SimAddr: sim.Addr(),
		AuthDir: t.TempDir(),
		RootKey: simclient.RootPublicKey(),
		Name:    "alice-baileys",
	})
	if err != nil {
		t.Fatalf("start Baileys: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	// Registered after Close, so it runs before it: on failure, show what Baileys said and did.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		var evs []string
		for _, e := range c.Events() {
			data := string(e.Data)
			if len(data) > 400 {
				data = data[:400] + "…"
			}
			evs = append(evs, fmt.Sprintf("#%d %s %s %s", e.Seq, e.Time.Format("15:04:05.000"), e.Name, data))
		}
		t.Logf("Baileys events:\n  %s", strings.Join(evs, "\n  "))
		t.Logf("Baileys stderr (level %q):\n%s", cmp.Or(os.Getenv(baileys.LogEnv), "warn"), tailLines(c.Log(), 150))
	})

	if _, err := c.Link(setup, alice); err != nil {
		t.Fatalf("link Baileys to Alice's account: %v", err)
	}

	// plugzapi → Baileys.
	const out = "Olá Alice, seu pedido saiu! (via Baileys)"
	mark := c.Mark()
	id := sendText(t, in, alicePhone, out)
	if d := hooks.waitFor(t, "delivery", delivery(id)); d.str("phone") != alicePhone || d.Body["error"] != nil {
		t.Errorf("DeliveryCallback = %s", d.Raw)
	}
	var got baileys.Message
	waitBaileys(t, c, mark, "no messages.upsert for "+id, "messages.upsert", upsertOf(id, &got))
	if got.Text != out || got.Key.FromMe || (got.Key.RemoteJID != businessJID && got.Key.RemoteJIDAlt != businessJID) {
		t.Errorf("Baileys received %+v, want the text %q from %s", got, out, businessJID)
	}
	if received := hooks.waitFor(t, "RECEIVED", status("RECEIVED", id)); received.str("phone") != alicePhone {
		t.Errorf("RECEIVED status = %s", received.Raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), baileysWait)
	defer cancel()
	if err := c.ReadMessages(ctx, got.Key); err != nil {
		t.Fatalf("Baileys reads %s: %v", id, err)
	}
	if read := hooks.waitFor(t, "READ", status("READ", id)); read.str("phone") != alicePhone {
		t.Errorf("READ status = %s", read.Raw)
	}

	// Baileys → plugzapi.
	const back = "Obrigada! Respondo pelo Baileys."
	ctx, cancel = context.WithTimeout(context.Background(), baileysWait)
	defer cancel()
	replyID, err := c.SendText(ctx, businessJID, back)
	if err != nil {
		t.Fatalf("Baileys sends to %s: %v", businessJID, err)
	}
	h := hooks.waitFor(t, "received "+replyID, func(h hook) bool {
		return h.Type == "ReceivedCallback" && h.str("messageId") == replyID
	})
	text, _ := h.Body["text"].(map[string]any)
	if text["message"] != back || h.str("phone") != alicePhone || h.Body["fromMe"] != false || h.Body["isGroup"] == true {
		t.Errorf("ReceivedCallback = %s, want the text %q from %s", h.Raw, back, alicePhone)
	}
}

// tailLines returns the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
