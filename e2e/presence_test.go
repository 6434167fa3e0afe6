package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestPresenceOfContacts: with the chat-presence webhook set, the instance follows the presence of whoever
// writes to it (WhatsApp tells online and last seen only to subscribers), so going offline and online shows.
func TestPresenceOfContacts(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "presence", hooks)
	dev := link(t, in, business)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := alice.SendText(ctx, businessPhone, "oi", ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the instance follows Alice's presence", func() error {
		if subs := alice.PresenceSubscribers(); !slices.Contains(subs, dev) {
			return fmt.Errorf("Alice's presence subscribers: %v", subs)
		}
		return nil
	})
	if err := alice.SetPresence(ctx, false); err != nil {
		t.Fatal(err)
	}
	away := hooks.waitFor(t, "Alice unavailable", func(h hook) bool {
		return h.Type == "PresenceChatCallback" && h.str("phone") == alicePhone && h.str("status") == "UNAVAILABLE"
	})
	if _, ok := away.Body["lastSeen"].(float64); !ok {
		t.Errorf("UNAVAILABLE without lastSeen: %s", away.Raw)
	}
	available := func() (n int) {
		for _, h := range hooks.hooks() {
			if h.Type == "PresenceChatCallback" && h.str("phone") == alicePhone && h.str("status") == "AVAILABLE" {
				n++
			}
		}
		return n
	}
	before := available() // the subscription itself tells the current presence
	if err := alice.SetPresence(ctx, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "Alice available again", func() error {
		if available() == before {
			return fmt.Errorf("no new AVAILABLE webhook after %d", before)
		}
		return nil
	})
}

// TestHiddenOnline: with PLUGZAPI_SHOW_ONLINE=0 an instance never shows as online; it still receives, and
// WhatsApp counts its receipts as inactive (the phone keeps being notified). Without the chat-presence webhook
// it follows no one's presence.
func TestHiddenOnline(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim, withEnv("PLUGZAPI_SHOW_ONLINE", "0"))
	in := createInstance(t, srv, "hidden", hooks)
	if res := in.call(t, "PUT", "update-webhook-chat-presence", map[string]any{"value": ""}); res.status != 200 {
		t.Fatalf("remove the chat-presence webhook: %s", res)
	}
	dev := linkDevice(t, in, business, false)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id, err := alice.SendText(ctx, businessPhone, "are you there?", "")
	if err != nil {
		t.Fatal(err)
	}
	hooks.waitFor(t, "the message", func(h hook) bool { return h.Type == "ReceivedCallback" && h.str("messageId") == id })
	// The business phone's own receipt says delivered; the instance's, inactive.
	eventually(t, 30*time.Second, "Alice's phone gets the instance's inactive receipt", func() error {
		for _, r := range alice.Receipts() {
			if slices.Contains(r.IDs, id) && r.From == businessPhone && r.Type == "inactive" {
				return nil
			}
		}
		return fmt.Errorf("receipts %+v", alice.Receipts())
	})
	for _, d := range business.DeviceInfos() {
		if d.JID == dev && d.Available {
			t.Errorf("the instance announced itself available: %+v", d)
		}
	}
	if subs := alice.PresenceSubscribers(); slices.Contains(subs, dev) {
		t.Errorf("the instance follows Alice's presence without a chat-presence webhook")
	}
}
