package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// webhookDelivery is a delivery as GET /instances/{id}/webhook-deliveries lists it.
type webhookDelivery struct {
	ID        int64
	WebhookID string
	EventID   string
	Callback  string
	State     string
}

// deadLetters returns the instance's dead letters, oldest first (the list is newest first, by pages).
func deadLetters(t *testing.T, in instance) []webhookDelivery {
	t.Helper()
	var out []webhookDelivery
	for before := ""; ; {
		res := in.srv.admin(t, "GET", "/instances/"+in.id+"/webhook-deliveries?state=dead&limit=3"+before, nil)
		if res.status != http.StatusOK {
			t.Fatalf("list dead letters: %s", res)
		}
		var page struct {
			Deliveries []webhookDelivery
			Next       *int64
		}
		res.decode(t, &page)
		out = append(out, page.Deliveries...)
		if page.Next == nil {
			break
		}
		before = fmt.Sprintf("&before=%d", *page.Next)
	}
	slices.Reverse(out)
	return out
}

// acceptedSince returns the webhook IDs the receiver accepted after its first n, in arrival order.
func acceptedSince(hooks *receiver, n int) []string {
	var ids []string
	for _, h := range hooks.hooks()[n:] {
		ids = append(ids, h.WebhookID)
	}
	return ids
}

// waitAccepted waits until the receiver has accepted want more webhooks after its first n, and returns their IDs.
func waitAccepted(t *testing.T, hooks *receiver, n int, want []string) []string {
	t.Helper()
	var got []string
	eventually(t, 30*time.Second, fmt.Sprintf("%d webhooks sent again", len(want)), func() error {
		if got = acceptedSince(hooks, n); len(got) < len(want) {
			return fmt.Errorf("got %d: %q", len(got), got)
		}
		return nil
	})
	return got
}

// TestWebhookRedeliveryAndReplay: a receiver down past the dead-letter age (PLUGZAPI_WEBHOOK_DEAD_AFTER) loses
// an instance's webhooks to the dead letters; sending them again through the admin API delivers each once more,
// in order, under the same webhook IDs; replaying from the first dead letter's event, and then from the time
// the receiver went down, delivers the same webhooks again in the same order. The received message goes
// without its content (deleted once its webhook died: the server keeps no messages). The routes refuse
// requests without the admin token and bad starting points.
func TestWebhookRedeliveryAndReplay(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim, withEnv("PLUGZAPI_WEBHOOK_DEAD_AFTER", "2s"))
	in := createInstance(t, srv, "replay", hooks)
	link(t, in, business)
	hooks.waitFor(t, "connected", ofType("ConnectedCallback"))
	admin := "/instances/" + in.id

	// Webhooks lost to a receiver that is down: a delivery, message statuses and a received message.
	down := time.Now()
	hooks.fail(0)
	sentID := sendText(t, in, alicePhone, "while the receiver is down")
	waitMessage(t, alice, sentID)
	text := marker("received-while-down")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	receivedID, err := alice.SendText(ctx, businessPhone, text, "")
	if err != nil {
		t.Fatal(err)
	}
	var dead []webhookDelivery
	eventually(t, 30*time.Second, "the lost webhooks dead-lettered", func() error {
		var st struct {
			Pending, Dead int
			SecretSet     bool
			Targets       map[string]string
		}
		res := srv.admin(t, "GET", admin+"/webhooks", nil)
		res.decode(t, &st)
		if res.status != http.StatusOK || st.Targets["received"] != hooks.url()+"/receivedCallbackUrl" {
			return fmt.Errorf("GET webhooks: %s", res)
		}
		if !slices.Contains(hooks.refusedTypes(), "ReceivedCallback") || st.Pending > 0 {
			return fmt.Errorf("%d pending, %d dead; refused %q", st.Pending, st.Dead, hooks.refusedTypes())
		}
		dead = deadLetters(t, in)
		return nil
	})
	var want []string
	for _, d := range dead {
		want = append(want, d.WebhookID)
	}
	for _, cb := range []string{"DeliveryCallback", "MessageStatusCallback", "ReceivedCallback"} {
		if !slices.ContainsFunc(dead, func(d webhookDelivery) bool { return d.Callback == cb }) {
			t.Fatalf("no %s among the dead letters %+v", cb, dead)
		}
	}

	// Every admin route refuses a request without the admin token (or with the instance's).
	for _, r := range []struct{ method, path, body string }{
		{"GET", admin + "/webhooks", ""},
		{"GET", admin + "/webhook-deliveries", ""},
		{"POST", admin + "/webhook-deliveries/redeliver", "{}"},
		{"POST", admin + "/webhook-replay", `{"fromEventId":"` + dead[0].EventID + `"}`},
	} {
		var body any
		if r.body != "" {
			body = r.body
		}
		srv.call(t, r.method, r.path, body).wantError(t, http.StatusUnauthorized, "unauthorized")
		srv.call(t, r.method, r.path, body, "Authorization", "Bearer "+in.token).wantError(t, http.StatusUnauthorized, "unauthorized")
	}

	// Sent again: each once more, in order, under the same webhook IDs.
	hooks.recover()
	seen := len(hooks.hooks())
	res := srv.admin(t, "POST", admin+"/webhook-deliveries/redeliver", map[string]any{})
	var redelivered struct{ Redelivered, WithoutContent int }
	res.decode(t, &redelivered)
	if res.status != http.StatusOK || redelivered.Redelivered != len(dead) || redelivered.WithoutContent != 1 {
		t.Fatalf("redeliver %d dead letters: %s", len(dead), res)
	}
	got := waitAccepted(t, hooks, seen, want)
	if !slices.Equal(got[:len(want)], want) {
		t.Fatalf("sent again\n %q\nwant the dead letters in order\n %q", got, want)
	}
	received := hooks.waitFor(t, "the received message, again", func(h hook) bool {
		return h.Type == "ReceivedCallback" && h.str("messageId") == receivedID
	})
	if received.str("notification") != "MESSAGE_CONTENT_UNAVAILABLE" || received.Body["text"] != nil ||
		strings.Contains(string(received.Raw), text) || received.str("phone") != alicePhone {
		t.Fatalf("received message sent again: %s", received.Raw)
	}
	if len(deadLetters(t, in)) != 0 {
		t.Fatal("dead letters left after they were delivered")
	}
	// What the receiver has from the first dead letter's event on (the instance is idle since): a replay
	// sends the same again, in order.
	want = acceptedSince(hooks, seen)

	for _, from := range []map[string]any{
		{"fromEventId": dead[0].EventID},
		{"from": down.UTC().Format(time.RFC3339Nano)},
	} {
		seen = len(hooks.hooks())
		res := srv.admin(t, "POST", admin+"/webhook-replay", from)
		var replayed struct{ Replayed, WithoutContent int }
		res.decode(t, &replayed)
		if res.status != http.StatusOK || replayed.Replayed != len(want) || replayed.WithoutContent != 1 {
			t.Fatalf("replay %v (want %d webhooks): %s", from, len(want), res)
		}
		if got := waitAccepted(t, hooks, seen, want); !slices.Equal(got, want) {
			t.Fatalf("replay %v sent\n %q\nwant\n %q", from, got, want)
		}
	}

	srv.admin(t, "POST", admin+"/webhook-replay", map[string]any{"fromEventId": "no-such-event"}).
		wantError(t, http.StatusNotFound, "event_not_found")
	srv.admin(t, "POST", admin+"/webhook-replay", map[string]any{"from": time.Now().Add(-8 * 24 * time.Hour).Format(time.RFC3339)}).
		wantError(t, http.StatusUnprocessableEntity, "beyond_retention")
	srv.admin(t, "POST", admin+"/webhook-replay", map[string]any{"from": down.Format(time.RFC3339), "fromEventId": dead[0].EventID}).
		wantError(t, http.StatusBadRequest, "conflicting_options")
	srv.admin(t, "GET", "/instances/no-such-instance/webhooks", nil).wantError(t, http.StatusNotFound, "instance_not_found")
}
