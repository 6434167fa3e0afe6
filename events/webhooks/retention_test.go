package webhooks

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// TestRetentionDropsOldDeadLetters: once a dead letter is Retention old it is deleted, with the content it held;
// younger ones stay, and a pending delivery stays whatever its age.
func TestRetentionDropsOldDeadLetters(t *testing.T) {
	cfg := testConfig()
	cfg.DeadAfter = 150 * time.Millisecond
	cfg.Retention = time.Hour
	e := newEnv(t, cfg)
	r := newReceiver(t)
	r.setAnswer(func(path string, _ int) int {
		if path == "/connected" {
			return http.StatusOK
		}
		return http.StatusBadGateway
	})
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED, r.url("/connected"))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, r.url("/received"))
	e.received(e.inst, "IN1", "dies", false)
	eventstest.WaitFor(t, 10*time.Second, "dead-lettered", func() bool { return e.deliveries("dead") == 1 })
	// A pending one: retried for an hour before it dies.
	e.stop()
	e.cfg.DeadAfter = time.Hour
	e.start()
	tried := r.attempts("/received")
	key := e.received(e.inst, "IN2", "stuck", false)
	eventstest.WaitFor(t, 10*time.Second, "retried", func() bool {
		return r.attempts("/received") >= tried+2 && e.deliveries("pending") == 1
	})

	e.hooks.disp.pruneOld(time.Now())
	if dead, pending := e.deliveries("dead"), e.deliveries("pending"); dead != 1 || pending != 1 {
		t.Fatalf("within the retention: %d dead, %d pending; want both kept", dead, pending)
	}
	e.hooks.disp.pruneOld(time.Now().Add(2 * time.Hour))
	// A pending delivery is never dropped by age: it is delivered, or dead-lettered by its own deadline.
	if dead, pending := e.deliveries("dead"), e.deliveries("pending"); dead != 0 || pending != 1 {
		t.Fatalf("past the retention: %d dead, %d pending; want the dead letter gone and the pending one kept", dead, pending)
	}
	if !e.vaultHas(key) {
		t.Fatal("the pending delivery's content left the vault")
	}
}

// TestDispatcherPrunesByItself: the dispatcher's own loop applies the retention.
func TestDispatcherPrunesByItself(t *testing.T) {
	cfg := testConfig()
	cfg.DeadAfter = 150 * time.Millisecond
	cfg.Retention = time.Second
	e := newEnv(t, cfg)
	r := newReceiver(t)
	r.setAnswer(func(string, int) int { return http.StatusBadGateway })
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED, r.url("/connected"))
	eventstest.Append(t, e.log, e.inst, eventstest.Connected("1"))
	eventstest.WaitFor(t, 10*time.Second, "dead-lettered", func() bool { return e.deliveries("dead") == 1 })
	eventstest.WaitFor(t, 10*time.Second, "dead letter deleted after the retention", func() bool {
		var n int
		if err := e.db.SQL().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM webhook_deliveries`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
}
