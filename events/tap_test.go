package events_test

import (
	"database/sql"
	"errors"
	"sync"
	"testing"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// TestTapSeesWhatBecameDurable: a tap sees every event an append made durable, once, in commit order — appends
// that wait and appends that go on alike — and nothing of an append that failed or of one made after untap.
func TestTapSeesWhatBecameDurable(t *testing.T) {
	l := eventstest.OpenLog(t, eventstest.OpenDB(t, ""), events.Config{})
	eventstest.Append(t, l, "a", eventstest.Connected("1")) // before the tap: not seen

	var mu sync.Mutex
	var seen []string
	untap := l.Tap(func(evs []*eventsv1.Event) {
		mu.Lock()
		defer mu.Unlock()
		for _, ev := range evs {
			seen = append(seen, ev.GetInstanceId()+"/"+events.MessageID(ev))
		}
	})

	// One instance's appends, queued back to back so that they share commits: three that go, a lost race, one
	// whose inTx fails, and one more that goes.
	refused := errors.New("refused")
	appends := []struct {
		expectedSeq int64
		id          string
		inTx        func(*sql.Tx) error
		wantErr     error
	}{
		{1, "m1", nil, nil}, {2, "m2", nil, nil}, {3, "m3", nil, nil},
		{1, "lost", nil, events.ErrConcurrency},
		{4, "rolled-back", func(*sql.Tx) error { return refused }, refused},
		{4, "m4", nil, nil},
	}
	done := make([]chan error, len(appends))
	for i, a := range appends {
		done[i] = make(chan error, 1)
		if _, err := l.AppendAsync("a", a.expectedSeq, []*eventsv1.Event{eventstest.Queued("z"+a.id, a.id, "1")}, a.inTx,
			func(err error) { done[i] <- err }); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for i, a := range appends {
		if err := <-done[i]; !errors.Is(err, a.wantErr) || (err == nil) != (a.wantErr == nil) {
			t.Fatalf("append of %s: %v, want %v", a.id, err, a.wantErr)
		}
		if a.wantErr == nil {
			want = append(want, "a/"+a.id)
		}
	}
	eventstest.Append(t, l, "b", eventstest.Queued("z", "b1", "2"), eventstest.Queued("y", "b2", "2"))
	want = append(want, "b/b1", "b/b2")

	untap()
	eventstest.Append(t, l, "a", eventstest.Queued("z5", "m5", "1"))

	mu.Lock()
	defer mu.Unlock()
	if len(seen) != len(want) {
		t.Fatalf("the tap saw %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("the tap saw %v, want %v", seen, want)
		}
	}
}
