package e2e

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
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
	return waitBaileysFor(t, c, baileysWait, from, what, name, match)
}

func waitBaileysFor(t *testing.T, c *baileys.Client, timeout time.Duration, from int, what, name string, match func(baileys.Event) bool) baileys.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
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

	var qr struct {
		QR string `json:"qr"`
	}
	if err := waitBaileys(t, c, 0, "no QR code", "qr", nil).Decode(&qr); err != nil {
		t.Fatal(err)
	}
	mark := c.Mark()
	dev, err := alice.ScanQR(setup, qr.QR)
	if err != nil {
		t.Fatalf("Alice's phone scans Baileys' QR code: %v", err)
	}
	var open baileys.ConnectionEvent
	if err := waitBaileys(t, c, mark, "no connection \"open\" after pairing", "connection", func(e baileys.Event) bool {
		var ce baileys.ConnectionEvent
		return e.Decode(&ce) == nil && ce.Connection == "open"
	}).Decode(&open); err != nil {
		t.Fatal(err)
	}
	if me, err := c.Me(setup); err != nil || me == nil || me.ID != dev.String() {
		t.Fatalf("Baileys' creds.me = %+v (%v), want the device Alice's phone linked, %s", me, err, dev)
	}
	// Past the initial sync: Baileys gets the offline flush (<ib><offline>) on the connection that opened, then
	// holds its events back until the history sync notification is processed (or 20 s passed, chats.js
	// AwaitingInitialSync), and says it is done with creds.update {accountSyncCounter} and a buffer flush.
	pending := waitBaileys(t, c, 0, "no receivedPendingNotifications on the connection that opened", "connection.update", func(e baileys.Event) bool {
		var u struct {
			Received   bool `json:"receivedPendingNotifications"`
			Generation int  `json:"generation"`
		}
		return e.Decode(&u) == nil && u.Received && u.Generation == open.Generation
	})
	// Longer than the other waits: Baileys' own fallback when no history sync comes is 20 s.
	waitBaileysFor(t, c, baileysWait+20*time.Second, pending.Seq, "not past its initial sync (no creds.update accountSyncCounter)", "creds.update", func(e baileys.Event) bool {
		var u struct {
			Keys []string `json:"keys"`
		}
		return e.Decode(&u) == nil && slices.Equal(u.Keys, []string{"accountSyncCounter"})
	})
	waitBaileys(t, c, pending.Seq, "still buffering its events after the initial sync", "buffering", func(e baileys.Event) bool {
		var b struct {
			Buffering bool `json:"buffering"`
		}
		return e.Decode(&b) == nil && !b.Buffering
	})

	// plugzapi → Baileys.
	const out = "Olá Alice, seu pedido saiu! (via Baileys)"
	mark = c.Mark()
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
