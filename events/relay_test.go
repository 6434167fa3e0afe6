package events_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// TestRelayCommitsOnlyWhatWasDelivered: a failed delivery stops the batch at the event that failed, which is
// retried until it succeeds; what was delivered before it is committed and not delivered again, even by a new
// relay of the group.
func TestRelayCommitsOnlyWhatWasDelivered(t *testing.T) {
	eventstest.CheckGoroutines(t)
	l := eventstest.OpenLog(t, eventstest.OpenDB(t, ""), events.Config{PollInterval: 20 * time.Millisecond, RetryMax: 50 * time.Millisecond, BatchSize: 4})
	var mu sync.Mutex
	var delivered []int64
	failures := 0
	deliver := func(_ context.Context, ev *eventsv1.Event) error {
		mu.Lock()
		defer mu.Unlock()
		if ev.Seq == 6 && failures < 3 {
			failures++
			return errors.New("broker down")
		}
		delivered = append(delivered, ev.Seq)
		return nil
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(delivered) }
	r, err := l.Relay(context.Background(), events.RelayOptions{Group: "relay"}, deliver)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		eventstest.Append(t, l, "inst", eventstest.Connected("1"))
	}
	eventstest.WaitFor(t, 10*time.Second, "10 events delivered", func() bool { return count() == 10 })
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	lag := func() int64 {
		_, groups, err := l.Lag(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups {
			if g.Group == "relay" {
				return g.Lag
			}
		}
		t.Fatal("no relay group")
		return 0
	}
	if n := lag(); n != 0 {
		t.Fatalf("lag %d after every event was delivered", n)
	}

	// A new relay of the group resumes after the last commit.
	r, err = l.Relay(context.Background(), events.RelayOptions{Group: "relay"}, deliver)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	eventstest.Append(t, l, "inst", eventstest.Connected("1"))
	eventstest.WaitFor(t, 10*time.Second, "the 11th event delivered", func() bool { return count() == 11 })
	mu.Lock()
	defer mu.Unlock()
	for i, seq := range delivered {
		if seq != int64(i+1) {
			t.Fatalf("delivered %v: want seqs 1…11 once each, in order", delivered)
		}
	}
	if failures != 3 {
		t.Fatalf("%d failed deliveries, want 3 retries of the same event", failures)
	}
}
