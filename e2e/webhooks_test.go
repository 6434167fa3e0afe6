package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestWebhooksSurviveReceiverOutageAndRestart: the receiver fails (errors, then requests it never answers) while
// events happen, and the server restarts meanwhile; once the receiver is back, every event is delivered (at
// least once: a retry may repeat a webhook, with the same webhook ID) and in the order the events happened.
func TestWebhooksSurviveReceiverOutageAndRestart(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	// Webhook requests time out after a second here, so that the hanging phase costs little.
	srv := startServer(t, sim, withEnv("PLUGZAPI_WEBHOOK_TIMEOUT", "1s"), withEnv("PLUGZAPI_WEBHOOK_RETRY_MAX", "2s"))
	in := createInstance(t, srv, "outage", hooks)
	link(t, in, business)
	hooks.waitFor(t, "connected", ofType("ConnectedCallback"))

	hooks.fail(0)
	var ids []string
	for i := range 3 {
		id := sendText(t, in, alicePhone, fmt.Sprintf("during the outage %d", i))
		ids = append(ids, id)
		waitMessage(t, alice, id)
	}
	eventually(t, 20*time.Second, "failed attempts", func() error {
		if n := hooks.attemptCount(); n < 3 {
			return fmt.Errorf("%d attempts", n)
		}
		return nil
	})
	hooks.fail(3 * time.Second) // now requests hang until the server gives up on them
	for i := range 2 {
		id := sendText(t, in, alicePhone, fmt.Sprintf("while the receiver hangs %d", i))
		ids = append(ids, id)
		waitMessage(t, alice, id)
	}
	// The restart comes after the server recorded every send: the contact having the message does not mean the
	// server took in WhatsApp's ack yet, and a send cut short by the stop is sent again after the restart.
	eventually(t, 20*time.Second, "every message sent", func() error {
		if n := queueCount(t, in); n != 0 {
			return fmt.Errorf("%d queued", n)
		}
		return nil
	})
	srv.restart()
	waitConnected(t, in)
	id := sendText(t, in, alicePhone, "after the restart")
	ids = append(ids, id)
	waitMessage(t, alice, id)
	hooks.recover()

	for _, id := range ids {
		hooks.waitFor(t, "delivery of "+id, delivery(id))
	}
	// One sequence across the delivery and connection URLs: the instance's webhooks arrive in the order of its
	// events, whichever URL they go to. Retries may repeat a webhook; its ID says so.
	var story []string
	seen := map[string]bool{}
	for _, h := range hooks.hooks() {
		if h.WebhookID == "" {
			t.Fatalf("webhook without a webhook ID: %s", h.Raw)
		}
		if seen[h.WebhookID] {
			continue
		}
		seen[h.WebhookID] = true
		switch h.Type {
		case "DeliveryCallback":
			story = append(story, h.str("messageId"))
		case "ConnectedCallback", "DisconnectedCallback":
			story = append(story, h.Type)
		}
	}
	want := append([]string{"ConnectedCallback"}, ids[:5]...)
	want = append(want, "DisconnectedCallback", "ConnectedCallback", ids[5])
	if strings.Join(story, ",") != strings.Join(want, ",") {
		t.Errorf("webhooks arrived as\n%v\nwant\n%v", story, want)
	}
}

// TestWebhookSignature: an instance with a webhook secret signs every webhook (HMAC-SHA256 over the timestamp
// and the body), and the receiver can check it.
func TestWebhookSignature(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "signed", nil)
	const secret = "s3cret-for-hmac"
	if res := in.call(t, "PUT", "update-webhook-secret", map[string]string{"value": secret}); res.status != 200 {
		t.Fatalf("set secret: %s", res)
	}
	if res := in.call(t, "PUT", "update-webhook-connected", map[string]string{"value": hooks.url()}); res.status != 200 {
		t.Fatalf("set webhook: %s", res)
	}
	link(t, in, business)
	h := hooks.waitFor(t, "connected", ofType("ConnectedCallback"))
	ts := h.Header.Get("X-Plugzapi-Timestamp")
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(h.Raw)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if got := h.Header.Get("X-Plugzapi-Signature"); ts == "" || got != want {
		t.Errorf("signature %q (timestamp %q), want %q", got, ts, want)
	}
}

// TestWebhookBacklogFollowsANewURL: while the receiver is down, the instance's webhooks wait; pointing the
// webhooks at another receiver sends that backlog there, in order. A message
// received meanwhile reaches the new receiver too, though it now comes through the other "received" webhook
// (notifySentByMe removes the received URL and sets the received-delivery one).
func TestWebhookBacklogFollowsANewURL(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	old, fixed := newReceiver(t), newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "moving", old)
	link(t, in, business)
	old.waitFor(t, "connected", ofType("ConnectedCallback"))

	// The message Alice writes first heads the instance's webhooks, failing at the old received URL; the
	// sends queue behind it.
	old.fail(0)
	incoming, err := alice.SendText(context.Background(), businessPhone, "sent while the receiver was down", "")
	if err != nil {
		t.Fatalf("Alice writes: %v", err)
	}
	eventually(t, 20*time.Second, "the received message failing at the old URL", func() error {
		if refused := old.refusedTypes(); !slices.Contains(refused, "ReceivedCallback") {
			return fmt.Errorf("refused %v", refused)
		}
		return nil
	})
	var ids []string
	for i := range 2 {
		id := sendText(t, in, alicePhone, fmt.Sprintf("while the old receiver is down %d", i))
		ids = append(ids, id)
		waitMessage(t, alice, id)
	}
	res := in.call(t, "PUT", "update-every-webhooks", map[string]any{"value": fixed.url(), "notifySentByMe": true})
	if res.status != 200 {
		t.Fatalf("update-every-webhooks: %s", res)
	}
	for _, id := range ids {
		fixed.waitFor(t, "delivery of "+id, delivery(id))
		fixed.waitFor(t, "SENT of "+id, status("SENT", id))
	}
	got := fixed.waitFor(t, "the message received during the outage", func(h hook) bool {
		return h.Type == "ReceivedCallback" && h.str("messageId") == incoming
	})
	if text, _ := got.Body["text"].(map[string]any); text["message"] != "sent while the receiver was down" {
		t.Errorf("ReceivedCallback = %s", got.Raw)
	}
	var deliveries []string
	for _, h := range fixed.hooks() {
		if h.Type == "DeliveryCallback" {
			deliveries = append(deliveries, h.str("messageId"))
		}
	}
	if strings.Join(deliveries, ",") != strings.Join(ids, ",") {
		t.Errorf("deliveries at the new URL %v, want %v", deliveries, ids)
	}
}
