package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	"github.com/plugzapi/plugzapi/events/live"
)

func startFeed(t *testing.T, ctx context.Context, l *events.Log) *live.Feed {
	t.Helper()
	f, err := live.Start(ctx, l, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	return f
}

func next(t *testing.T, w *live.Watch) live.Event {
	t.Helper()
	select {
	case e, ok := <-w.Events():
		if !ok {
			t.Fatal("watch closed")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return live.Event{}
}

// TestWatchSeesOnlyItsInstance: two instances' events interleave on the stream; each watcher gets exactly its
// own, in order, summarised without content; events from before the feed started are not replayed.
func TestWatchSeesOnlyItsInstance(t *testing.T) {
	eventstest.CheckGoroutines(t)
	l := eventstest.OpenLog(t, eventstest.OpenDB(t, ""), events.Config{})
	eventstest.Append(t, l, "a", eventstest.Connected("5511900000001")) // before the feed: not seen
	f := startFeed(t, context.Background(), l)
	wa, err := f.Watch("a", 16)
	if err != nil {
		t.Fatal(err)
	}
	defer wa.Close()
	wb, err := f.Watch("b", 16)
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()

	eventstest.Append(t, l, "b", eventstest.Connected("5511900000002"))
	eventstest.Append(t, l, "a", eventstest.Queued("z1", "m1", "5511988887777"))
	eventstest.Append(t, l, "b", eventstest.Queued("z2", "m2", "5511966665555"))
	eventstest.Append(t, l, "a", eventstest.Sent("z1", "m1", "5511988887777"))

	if e := next(t, wa); e.Type != "message_queued" || e.MessageID != "m1" || e.Phone != "5511988887777" || e.Seq != 2 || e.TimeMs == 0 {
		t.Errorf("a's first event = %+v", e)
	}
	if e := next(t, wa); e.Type != "message_sent" || e.MessageID != "m1" || e.Seq != 3 {
		t.Errorf("a's second event = %+v", e)
	}
	if e := next(t, wb); e.Type != "connected" || e.Phone != "5511900000002" {
		t.Errorf("b's first event = %+v", e)
	}
	if e := next(t, wb); e.Type != "message_queued" || e.MessageID != "m2" {
		t.Errorf("b's second event = %+v", e)
	}
	// A last event of b's, seen by b, proves a's channel had its chance at everything before it.
	eventstest.Append(t, l, "b", eventstest.Sent("z2", "m2", "5511966665555"))
	next(t, wb)
	select {
	case e := <-wa.Events():
		t.Errorf("a got another event: %+v", e)
	default:
	}
}

// TestSlowWatcherIsDropped: a watcher that does not read is dropped once its buffer is full, and the others go
// on receiving.
func TestSlowWatcherIsDropped(t *testing.T) {
	eventstest.CheckGoroutines(t)
	l := eventstest.OpenLog(t, eventstest.OpenDB(t, ""), events.Config{})
	f := startFeed(t, context.Background(), l)
	slow, err := f.Watch("a", 2)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := f.Watch("a", 64)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	for i := range 5 {
		eventstest.Append(t, l, "a", eventstest.Queued("z", "m"+string(rune('0'+i)), "5511988887777"))
	}
	for range 5 {
		next(t, fast)
	}
	n := 0
	for range slow.Events() {
		n++
	}
	if n != 2 || !slow.Dropped() {
		t.Errorf("slow watcher got %d events (dropped %v), want its buffer of 2 and then dropped", n, slow.Dropped())
	}
}

// TestShutdownClosesWatches: when the server's context ends, every watch ends (so streaming responses end and
// the HTTP server can shut down), and no new watch starts.
func TestShutdownClosesWatches(t *testing.T) {
	eventstest.CheckGoroutines(t)
	l := eventstest.OpenLog(t, eventstest.OpenDB(t, ""), events.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	f := startFeed(t, ctx, l)
	w, err := f.Watch("a", 4)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, ok := <-w.Events():
		if ok {
			t.Fatal("an event instead of the end")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch still open 5s after shutdown began")
	}
	if w.Dropped() {
		t.Error("a watch ended by shutdown reports it was dropped")
	}
	if _, err := f.Watch("a", 4); err == nil {
		t.Error("Watch after shutdown succeeded")
	}
}
