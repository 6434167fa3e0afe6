package webhooks

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
)

// okSince returns what the receiver accepted after its first n requests, as webhook names, and their webhook IDs.
func (r *receiver) okSince(t *testing.T, n int) (names, ids []string) {
	t.Helper()
	for _, h := range r.all()[n:] {
		if h.status >= 200 && h.status < 300 {
			names = append(names, webhookOf(t, h)+notificationOf(t, h))
			ids = append(ids, h.header.Get(HeaderWebhookID))
		}
	}
	return names, ids
}

// notificationOf marks a ReceivedCallback sent without its content.
func notificationOf(t *testing.T, h hit) string {
	if n, _ := field(t, h.body, "notification").(string); n != "" {
		return " " + n
	}
	return ""
}

// idsOf returns the webhook IDs the receiver was sent (accepted or not), first time each, in order.
func idsOf(r *receiver) []string {
	var out []string
	for _, h := range r.all() {
		if id := h.header.Get(HeaderWebhookID); !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func answerAll(status int) func(string, int) int { return func(string, int) int { return status } }

// TestRedeliverDeadLetters: dead letters sent again go out once more under their webhook IDs, in event order,
// ahead of a newer webhook that was pending (failing) meanwhile; a received message whose content was deleted
// when its webhook died goes without it, marked MESSAGE_CONTENT_UNAVAILABLE; a dead letter whose content is
// still kept (its twin is pending) goes with it; unknown IDs are skipped.
func TestRedeliverDeadLetters(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	cfg.DeadAfter = 100 * time.Millisecond
	e := newEnv(t, cfg)
	r := newReceiver(t)
	r.setAnswer(answerAll(http.StatusServiceUnavailable))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, r.url("/d"))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, r.url("/r"))
	eventstest.Append(t, e.log, e.inst, e.sent(0))
	gone := e.received(e.inst, "IN1", "deleted when dead", false)
	eventstest.Append(t, e.log, e.inst, e.sent(1))
	eventstest.WaitFor(t, 10*time.Second, "three dead letters", func() bool { return e.deliveries("dead") == 3 })
	if e.vaultHas(gone) {
		t.Fatal("the dead letter's content was kept")
	}

	// A newer webhook, failing: it waits (pending) when the dead letters are sent again.
	e.stop()
	e.cfg.DeadAfter = time.Hour
	e.start()
	eventstest.Append(t, e.log, e.inst, e.sent(2))
	eventstest.WaitFor(t, 10*time.Second, "the newer webhook failing", func() bool {
		return e.deliveries("pending") == 1 && len(idsOf(r)) == 4
	})
	firstIDs := idsOf(r)
	st, err := e.hooks.WebhookStatus(ctx, e.inst)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != 1 || st.Dead != 3 || st.Next == nil || st.Next.Callback != DeliveryCallback || !st.SecretSet ||
		st.OldestPending.IsZero() || len(st.Targets) != 2 {
		t.Fatalf("status %+v (next %+v)", st, st.Next)
	}

	before, _, err := e.hooks.WebhookDeliveries(ctx, e.inst, DeliveryQuery{State: StateDead, Limit: 10})
	if err != nil || len(before) != 3 {
		t.Fatalf("dead letters: %+v, %v", before, err)
	}
	redelivered := time.Now()
	got, err := e.hooks.RedeliverWebhooks(ctx, e.inst, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Redelivered != 3 || got.WithoutContent != 1 || len(got.NotRequeued) != 0 || e.obs.requeuedBy(SourceRedelivery) != 3 {
		t.Fatalf("redeliver: %+v; observed %d", got, e.obs.requeuedBy(SourceRedelivery))
	}
	// Queued again now (their dead-letter age starts over), created when they were (their retention does not).
	after, _, err := e.hooks.WebhookDeliveries(ctx, e.inst, DeliveryQuery{State: StatePending, Limit: 10})
	if err != nil || len(after) != 4 {
		t.Fatalf("pending after redelivery: %+v, %v", after, err)
	}
	for _, b := range before {
		i := slices.IndexFunc(after, func(d Delivery) bool { return d.ID == b.ID })
		if i < 0 || !after[i].Created.Equal(b.Created) || after[i].Queued.Before(redelivered.Truncate(time.Millisecond)) ||
			after[i].Attempts != 0 || !after[i].Dead.IsZero() || after[i].WebhookID() != b.WebhookID() {
			t.Fatalf("dead letter %+v queued again as %+v", b, after)
		}
	}
	seen := len(r.all())
	r.setAnswer(answerAll(http.StatusOK))
	eventstest.WaitFor(t, 10*time.Second, "everything delivered", func() bool {
		return e.deliveries("pending") == 0 && e.deliveries("dead") == 0
	})
	names, ids := r.okSince(t, seen)
	want := []string{DeliveryCallback + " MSG0", ReceivedCallback + " " + notificationContentGone, DeliveryCallback + " MSG1",
		DeliveryCallback + " MSG2"}
	if !slices.Equal(names, want) {
		t.Fatalf("after redelivery the receiver got\n %q\nwant\n %q", names, want)
	}
	if !slices.Equal(ids, firstIDs) {
		t.Fatalf("webhook IDs %q, want the first attempts' %q", ids, firstIDs)
	}
	for _, h := range r.ok("/r") {
		if field(t, h.body, "text") != nil || field(t, h.body, "messageId") != "IN1" ||
			field(t, h.body, "notificationParameters").([]any)[0] != "text" {
			t.Fatalf("received message without content: %s", h.body)
		}
	}

	// Unknown and delivered IDs are skipped; nothing is queued.
	got, err = e.hooks.RedeliverWebhooks(ctx, e.inst, []int64{1, 99999, 1})
	if err != nil || got.Redelivered != 0 || len(got.NotRequeued) != 2 || got.NotRequeued[0].Reason != ReasonNotFound {
		t.Fatalf("redeliver unknown IDs: %+v, %v", got, err)
	}
	if _, err := e.hooks.RedeliverWebhooks(ctx, "no-such-instance", nil); !errors.Is(err, ErrInstanceNotFound) {
		t.Fatalf("unknown instance: %v", err)
	}
}

// TestRedeliverKeepsContentStillHeld: a received message goes to two URLs (twins); one dies at once (a
// metadata address), the other is pending and holds the content. Once its webhook points somewhere valid, the
// dead twin sent again carries the content, and the content is deleted once both are delivered.
func TestRedeliverKeepsContentStillHeld(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	cfg.DeadAfter = time.Hour
	e := newEnv(t, cfg)
	r := newReceiver(t)
	r.setAnswer(answerAll(http.StatusServiceUnavailable))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, "http://169.254.169.254/hook")
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY, r.url("/rd"))
	key := e.received(e.inst, "IN1", "still held", false)
	eventstest.WaitFor(t, 10*time.Second, "one twin dead, one pending", func() bool {
		return e.deliveries("dead") == 1 && e.deliveries("pending") == 1
	})
	page, next, err := e.hooks.WebhookDeliveries(ctx, e.inst, DeliveryQuery{State: StateDead, Limit: 10})
	if err != nil || len(page) != 1 || next != 0 {
		t.Fatalf("dead letters: %+v, %d, %v", page, next, err)
	}
	// Changing the URL moves pending deliveries only: the dead one keeps its URL until sent again.
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, r.url("/r"))
	eventstest.WaitFor(t, 5*time.Second, "configured", func() bool {
		targets, err := e.hooks.Targets(ctx, e.inst)
		return err == nil && targets[eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED] == r.url("/r")
	})
	got, err := e.hooks.RedeliverWebhooks(ctx, e.inst, []int64{page[0].ID})
	if err != nil || got.Redelivered != 1 || got.WithoutContent != 0 {
		t.Fatalf("redeliver: %+v, %v", got, err)
	}
	r.setAnswer(answerAll(http.StatusOK))
	eventstest.WaitFor(t, 10*time.Second, "both delivered", func() bool { return len(r.ok("/r")) == 1 && len(r.ok("/rd")) == 1 })
	for _, h := range append(r.ok("/r"), r.ok("/rd")...) {
		if text, _ := field(t, h.body, "text").(map[string]any); text["message"] != "still held" {
			t.Fatalf("webhook without its content: %s", h.body)
		}
	}
	eventstest.WaitFor(t, 5*time.Second, "content deleted", func() bool { return !e.vaultHas(key) })
}

// TestReplay: a replay from an event or a time sends the instance's webhooks again, under their webhook IDs,
// to the webhooks it has now (one set since goes too), received messages without their content; in event
// order, ahead of a newer webhook pending meanwhile, which goes once; and refuses what it cannot do.
func TestReplay(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, testConfig())
	r := newReceiver(t)
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, r.url("/d"))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, r.url("/r"))
	start := time.Now().Add(-time.Millisecond)
	first := eventstest.Append(t, e.log, e.inst, e.sent(0))[0]
	key := e.received(e.inst, "IN1", "delivered, then deleted", false)
	eventstest.Append(t, e.log, e.inst, e.sent(1), eventstest.Connected("5511999990000"))
	eventstest.WaitFor(t, 10*time.Second, "delivered", func() bool { return len(r.ok("/d")) == 2 && len(r.ok("/r")) == 1 })
	eventstest.WaitFor(t, 5*time.Second, "content deleted", func() bool { return !e.vaultHas(key) })
	firstIDs := idsOf(r)
	// Set after the fact: the replay sends the Connected event's webhook to it.
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED, r.url("/c"))

	// A newer webhook fails and waits while the replay is queued: it goes after the replayed ones, once.
	r.setAnswer(func(path string, _ int) int {
		if path == "/d" {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	eventstest.Append(t, e.log, e.inst, e.sent(2))
	eventstest.WaitFor(t, 10*time.Second, "the newer webhook failing", func() bool {
		return r.attempts("/d") >= 3 && e.deliveries("pending") == 1
	})
	seen := len(r.all())
	got, err := e.hooks.ReplayWebhooks(ctx, e.inst, ReplayFrom{EventID: first.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if got.Replayed != 4 || got.WithoutContent != 1 || got.AlreadyPending != 1 || got.FirstSeq != first.GetSeq() ||
		e.obs.requeuedBy(SourceReplay) != 4 {
		t.Fatalf("replay: %+v; observed %d", got, e.obs.requeuedBy(SourceReplay))
	}
	// The replayed webhooks go ahead of the newer one (which may have been in flight when they were queued).
	eventstest.WaitFor(t, 10*time.Second, "the replay's first webhook tried", func() bool {
		all := r.all()
		return len(all) > seen && webhookOf(t, all[len(all)-1]) == DeliveryCallback+" MSG0"
	})
	r.setAnswer(answerAll(http.StatusOK))
	want := []string{DeliveryCallback + " MSG0", ReceivedCallback + " " + notificationContentGone, DeliveryCallback + " MSG1",
		ConnectedCallback, DeliveryCallback + " MSG2"}
	eventstest.WaitFor(t, 10*time.Second, "replayed", func() bool { return e.deliveries("pending") == 0 })
	names, ids := r.okSince(t, seen)
	if !slices.Equal(names, want) {
		t.Fatalf("replay sent\n %q\nwant\n %q", names, want)
	}
	if !slices.Equal(ids[:3], firstIDs[:3]) {
		t.Fatalf("replayed webhook IDs %q, want the first time's %q", ids[:3], firstIDs[:3])
	}

	// From a time: the same webhooks again, in the same order.
	seen = len(r.all())
	got, err = e.hooks.ReplayWebhooks(ctx, e.inst, ReplayFrom{Time: start})
	if err != nil || got.Replayed != 5 || got.AlreadyPending != 0 {
		t.Fatalf("replay from a time: %+v, %v", got, err)
	}
	eventstest.WaitFor(t, 10*time.Second, "replayed", func() bool { return e.deliveries("pending") == 0 })
	if names, _ := r.okSince(t, seen); !slices.Equal(names, want) {
		t.Fatalf("replay from a time sent\n %q\nwant\n %q", names, want)
	}

	// Nothing after the start: nothing to do.
	if got, err := e.hooks.ReplayWebhooks(ctx, e.inst, ReplayFrom{Time: time.Now()}); err != nil || got.Replayed != 0 {
		t.Fatalf("replay from now: %+v, %v", got, err)
	}

	other, _, err := store.CreateInstance(ctx, e.db.SQL(), mustID(t), "other", "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	othersEvent := eventstest.Append(t, e.log, other.ID, eventstest.Connected("1"))[0]
	for _, c := range []struct {
		inst string
		from ReplayFrom
		want error
	}{
		{e.inst, ReplayFrom{EventID: "no-such-event"}, ErrEventNotFound},
		{e.inst, ReplayFrom{EventID: othersEvent.GetId()}, ErrEventNotFound},
		{e.inst, ReplayFrom{Time: time.Now().Add(-e.cfg.withDefaults().Retention - time.Minute)}, ErrBeyondRetention},
		{"no-such-instance", ReplayFrom{Time: start}, ErrInstanceNotFound},
	} {
		if _, err := e.hooks.ReplayWebhooks(ctx, c.inst, c.from); !errors.Is(err, c.want) {
			t.Errorf("replay %s from %+v: %v, want %v", c.inst, c.from, err, c.want)
		}
	}
}

// TestRedeliverAllIsBounded: one call queues the oldest dead letters up to the cap again, and says how many
// are left; the next call queues those.
func TestRedeliverAllIsBounded(t *testing.T) {
	ctx := context.Background()
	defer func(n int) { redeliverAllCap = n }(redeliverAllCap)
	redeliverAllCap = 2
	cfg := testConfig()
	cfg.DeadAfter = time.Hour
	e := newEnv(t, cfg)
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, "http://169.254.169.254/dead")
	for i := range 5 {
		eventstest.Append(t, e.log, e.inst, e.sent(i))
	}
	eventstest.WaitFor(t, 10*time.Second, "dead", func() bool { return e.deliveries("dead") == 5 })
	r := newReceiver(t)
	r.setAnswer(answerAll(http.StatusServiceUnavailable))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, r.url("/d"))
	eventstest.WaitFor(t, 5*time.Second, "configured", func() bool {
		targets, err := e.hooks.Targets(ctx, e.inst)
		return err == nil && targets[eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY] == r.url("/d")
	})
	for _, want := range []struct{ redelivered, remaining int }{{2, 3}, {2, 1}, {1, 0}} {
		got, err := e.hooks.RedeliverWebhooks(ctx, e.inst, nil)
		if err != nil || got.Redelivered != want.redelivered || got.Remaining != want.remaining {
			t.Fatalf("redeliver all: %+v, %v; want %+v", got, err, want)
		}
	}
	eventstest.WaitFor(t, 10*time.Second, "the oldest first", func() bool { return r.attempts("/d") > 0 })
	if got := webhookOf(t, r.all()[0]); got != DeliveryCallback+" MSG0" {
		t.Fatalf("first sent again: %s, want MSG0's", got)
	}
}

// TestWebhookDeliveriesPages: the list is newest first, filtered by state, paged by ID.
func TestWebhookDeliveriesPages(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	cfg.DeadAfter = time.Hour
	e := newEnv(t, cfg)
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, "http://169.254.169.254/dead")
	for i := range 3 {
		eventstest.Append(t, e.log, e.inst, e.sent(i))
	}
	eventstest.WaitFor(t, 10*time.Second, "dead", func() bool { return e.deliveries("dead") == 3 })
	r := newReceiver(t)
	r.setAnswer(answerAll(http.StatusServiceUnavailable))
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, r.url("/d"))
	for i := 3; i < 5; i++ {
		eventstest.Append(t, e.log, e.inst, e.sent(i))
	}
	eventstest.WaitFor(t, 10*time.Second, "pending", func() bool { return e.deliveries("pending") == 2 })

	var all []Delivery
	for before := int64(0); ; {
		page, next, err := e.hooks.WebhookDeliveries(ctx, e.inst, DeliveryQuery{Limit: 2, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == 0 {
			break
		}
		before = next
	}
	var states []string
	for i, d := range all {
		states = append(states, d.State)
		if i > 0 && d.ID >= all[i-1].ID {
			t.Fatalf("not newest first: %+v", all)
		}
		if d.WebhookID() != d.EventID+"-"+DeliveryCallback || (d.State == StateDead) == d.Dead.IsZero() {
			t.Fatalf("delivery %+v", d)
		}
	}
	if want := []string{"pending", "pending", "dead", "dead", "dead"}; !slices.Equal(states, want) {
		t.Fatalf("states %q, want %q", states, want)
	}
	dead, next, err := e.hooks.WebhookDeliveries(ctx, e.inst, DeliveryQuery{State: StateDead, Limit: 10})
	if err != nil || len(dead) != 3 || next != 0 {
		t.Fatalf("dead letters: %d, %d, %v", len(dead), next, err)
	}
	if _, _, err := e.hooks.WebhookDeliveries(ctx, "no-such-instance", DeliveryQuery{Limit: 10}); !errors.Is(err, ErrInstanceNotFound) {
		t.Fatalf("unknown instance: %v", err)
	}
}

// TestReplayGoesOutFromTheNodeRunningTheInstance: on a cluster a replay may be asked of any node; its webhooks
// go out from the node that runs the instance (Config.Runs), as the projection's do.
func TestReplayGoesOutFromTheNodeRunningTheInstance(t *testing.T) {
	var runs atomic.Bool
	cfg := testConfig()
	cfg.PollInterval = 50 * time.Millisecond // the instance moving to this node is not a commit: the poll notices it
	cfg.Runs = func(string) bool { return runs.Load() }
	e := newEnv(t, cfg)
	runs.Store(true)
	r := newReceiver(t)
	e.configure(eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, r.url("/d"))
	first := eventstest.Append(t, e.log, e.inst, e.sent(0))[0]
	eventstest.Append(t, e.log, e.inst, e.sent(1))
	eventstest.WaitFor(t, 5*time.Second, "delivered", func() bool { return len(r.ok("/d")) == 2 })

	runs.Store(false) // another node runs the instance now
	got, err := e.hooks.ReplayWebhooks(context.Background(), e.inst, ReplayFrom{EventID: first.GetId()})
	if err != nil || got.Replayed != 2 {
		t.Fatalf("replay: %+v, %v", got, err)
	}
	time.Sleep(300 * time.Millisecond)
	if n := r.attempts("/d"); n != 2 {
		t.Fatalf("%d webhooks replayed from a node that does not run the instance", n-2)
	}
	runs.Store(true)
	eventstest.WaitFor(t, 5*time.Second, "replayed once this node runs the instance", func() bool { return len(r.ok("/d")) == 4 })
}
