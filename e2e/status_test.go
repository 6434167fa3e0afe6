package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/media/mediatest"
)

// TestStatusUpdates: send-text-status, send-image-status and send-video-status post status updates that the number's contacts see
// (Alice, saved on the phone) and others do not (Carol, who is not); the DeliveryCallback names status@broadcast
// and a contact's receipt comes back as RECEIVED naming who got it.
func TestStatusUpdates(t *testing.T) {
	const carolPhone = "5511999990003"
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	carol := addAccount(t, sim, carolPhone, "Carol")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The address book is on the phone: the server learns it from the app state it shares with its devices.
	if err := business.SaveContact(ctx, alicePhone, "Alice Souza"); err != nil {
		t.Fatal(err)
	}
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "status", hooks)
	link(t, in, business)

	jpg, mp4 := mediatest.JPEG(320, 240, 1), mediatest.MP4(2*time.Second, 160, 120, true, 1)
	posts := []struct {
		route string
		body  map[string]any
		check func(t *testing.T, id string)
	}{
		{"send-text-status", map[string]any{"message": "Open on Sunday"}, func(t *testing.T, id string) {
			if got := waitMessage(t, alice, id); got.Text != "Open on Sunday" {
				t.Errorf("Alice's phone shows %+v", got)
			}
		}},
		{"send-image-status", map[string]any{"image": dataURI("image/jpeg", jpg), "caption": "New stock"}, func(t *testing.T, id string) {
			got := waitMessage(t, alice, id)
			if got.Type != "image" || got.Caption != "New stock" || got.MediaSHA256 != sha256Hex(jpg) {
				t.Errorf("Alice's phone shows %+v", got)
			}
		}},
		{"send-video-status", map[string]any{"video": dataURI("video/mp4", mp4)}, func(t *testing.T, id string) {
			got := waitMessage(t, alice, id)
			if got.Type != "video" || got.Seconds != 2 || got.MediaSHA256 != sha256Hex(mp4) {
				t.Errorf("Alice's phone shows %+v", got)
			}
		}},
	}
	for _, p := range posts {
		res := in.call(t, "POST", p.route, p.body)
		if res.status != http.StatusOK {
			t.Fatalf("%s: %s", p.route, res)
		}
		var q struct{ ZaapID, MessageID string }
		res.decode(t, &q)
		p.check(t, q.MessageID)
		if got := waitMessage(t, alice, q.MessageID); got.Chat != "status@broadcast" || got.From != businessPhone {
			t.Errorf("%s: Alice's phone shows %+v, want the business's status update", p.route, got)
		}
		if d := hooks.waitFor(t, p.route+" delivered", delivery(q.MessageID)); d.str("phone") != "status@broadcast" || d.Body["error"] != nil {
			t.Errorf("%s: DeliveryCallback = %s", p.route, d.Raw)
		}
		if r := hooks.waitFor(t, p.route+" RECEIVED", status("RECEIVED", q.MessageID)); r.str("phone") != "status@broadcast" {
			t.Errorf("%s: MessageStatusCallback = %s", p.route, r.Raw)
		}
		if n := len(carol.Messages("")); n != 0 {
			t.Errorf("%s: Carol, who is not a contact, got %d messages", p.route, n)
		}
	}
}
