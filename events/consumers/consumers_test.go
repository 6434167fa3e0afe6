package consumers_test

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/consumers"
	"github.com/plugzapi/plugzapi/events/eventstest"
	"github.com/plugzapi/plugzapi/events/webhooks"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
)

// TestServerFlow runs the consumers the way the server does: an instance is created (its row and its events
// in one append), configured, connects, queues and sends a message; the view, the webhooks and /metrics all
// reflect it, and Close leaves no goroutine behind.
func TestServerFlow(t *testing.T) {
	eventstest.CheckGoroutines(t)
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	log := eventstest.OpenLog(t, db, events.Config{})

	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)

	c, err := consumers.Start(ctx, db, log, consumers.Config{Webhooks: webhooks.Config{AllowInsecure: true}}, eventstest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})

	// The instance row and its first event commit together, as the server creates instances.
	id, err := store.NewInstanceID()
	if err != nil {
		t.Fatal(err)
	}
	var token string
	created := []*eventsv1.Event{{Payload: &eventsv1.Event_InstanceCreated{InstanceCreated: &eventsv1.InstanceCreated{Name: "Shop"}}}}
	_, err = log.Append(ctx, id, 0, created, func(tx *sql.Tx) error {
		_, token, err = store.CreateInstance(ctx, tx, id, "Shop", "", time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Authenticate(ctx, db.SQL(), id, token); err != nil {
		t.Fatalf("created instance does not authenticate: %v", err)
	}
	eventstest.Append(t, log, id,
		&eventsv1.Event{Payload: &eventsv1.Event_WebhookConfigured{WebhookConfigured: &eventsv1.WebhookConfigured{
			Kind: eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, Url: srv.URL + "/delivery"}}},
		&eventsv1.Event{Payload: &eventsv1.Event_WebhookConfigured{WebhookConfigured: &eventsv1.WebhookConfigured{
			Kind: eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED, Url: srv.URL + "/connected"}}},
		eventstest.Connected("5511999990000"),
		eventstest.Queued("z1", "m1", "5511999990001"),
		eventstest.Sent("z1", "m1", "5511999990001"),
	)
	eventstest.WaitFor(t, 10*time.Second, "two webhooks", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(bodies) == 2
	})
	mu.Lock()
	if !strings.Contains(bodies[0], `"type":"ConnectedCallback"`) || !strings.Contains(bodies[1], `"type":"DeliveryCallback"`) {
		t.Fatalf("webhooks out of order or wrong: %v", bodies)
	}
	mu.Unlock()

	eventstest.WaitFor(t, 5*time.Second, "view", func() bool {
		v, err := c.View.Get(ctx, id)
		return err == nil && v.Connected && v.QueueDepth == 0 && v.Name == "Shop" && v.LastSeq == 6
	})
	targets, err := c.Webhooks.Targets(ctx, id)
	if err != nil || len(targets) != 2 {
		t.Fatalf("targets = %v, %v", targets, err)
	}
	eventstest.WaitFor(t, 5*time.Second, "metrics", func() bool {
		rec := httptest.NewRecorder()
		c.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body := rec.Body.String()
		return strings.Contains(body, "plugzapi_messages_sent_total 1") &&
			strings.Contains(body, "plugzapi_instances_connected 1") &&
			strings.Contains(body, `plugzapi_webhook_attempts_total{callback="DeliveryCallback"} 1`) &&
			strings.Contains(body, `plugzapi_webhook_backlog{state="pending"} 0`)
	})
}

func TestStartRejectsBadConfig(t *testing.T) {
	db := eventstest.OpenDB(t, "")
	log := eventstest.OpenLog(t, db, events.Config{})
	_, err := consumers.Start(context.Background(), db, log, consumers.Config{Webhooks: webhooks.Config{MaxInFlight: -1}}, nil)
	if err == nil {
		t.Fatal("bad config accepted")
	}
}

// TestStartTakesOverTheFormerGroups: a database of a version that ran the read models as groups of their own
// has their offsets; the read models' one group takes them over and removes them, so that none holds back the
// stream's pruning, and each view goes on from its own offset.
func TestStartTakesOverTheFormerGroups(t *testing.T) {
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	log := eventstest.OpenLog(t, db, events.Config{})
	eventstest.Append(t, log, "A", eventstest.Queued("z1", "m1", "5511999990001"))
	latest, _, err := log.Lag(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The instance view had handled the queued message, the other two nothing yet.
	for g, o := range map[string]int64{"instance_view": latest, "chats_view": 0, "webhooks": 0} {
		if _, err := db.SQL().Exec(`INSERT INTO watermill_offsets_instance_events (consumer_group, offset_acked) VALUES (?, ?)`, g, o); err != nil {
			t.Fatal(err)
		}
	}
	eventstest.Append(t, log, "A", eventstest.Queued("z2", "m2", "5511999990001"), eventstest.Sent("z2", "m2", "5511999990001"))
	c, err := consumers.Start(ctx, db, log, consumers.Config{Webhooks: webhooks.Config{AllowInsecure: true}}, eventstest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	latest, _, err = log.Lag(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eventstest.WaitForGroups(t, log, latest)
	_, groups, err := log.Lag(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || groups[0].Group != events.ProjectionsGroup {
		t.Fatalf("groups = %+v, want the projections group alone", groups)
	}
	// The instance view got only the events past its former offset (the first message, applied again, would
	// show as queued), and the chats view, which had nothing, got the chat of the sent message.
	if v, err := c.View.Get(ctx, "A"); err != nil || v.QueueDepth != 0 || v.LastSeq != 3 {
		t.Fatalf("instance view of A = %+v, %v: want the events after its offset applied once", v, err)
	}
	if chats, err := c.Chats.Chats(ctx, "A", 0, 10); err != nil || len(chats) != 1 {
		t.Fatalf("chats of A = %+v, %v: want the chat of the sent message", chats, err)
	}
}
