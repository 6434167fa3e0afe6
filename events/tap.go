package events

import (
	"sync"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// TapFunc sees events as they become durable. It runs on the committer's goroutine, so it must be quick and
// must not block or append: every append of the process waits behind it.
type TapFunc func(evs []*eventsv1.Event)

// Tap registers fn to see every event this Log's appends make durable, in commit order, right after each
// commit; the returned func unregisters it. A tap is for in-process views that need neither an offset nor
// the database (Prometheus counters, the dashboard's live feed): unlike a consumer group it costs no polling
// and no offset commit, but it sees only this process's appends (on a cluster, those of the instances this
// node runs) and nothing from before it was registered or across a restart.
func (l *Log) Tap(fn TapFunc) (untap func()) {
	return l.taps.add(fn)
}

// taps are the registered TapFuncs; the committer reads them on every commit, so it takes a copy under a lock
// that only registration holds for long.
type taps struct {
	mu   sync.Mutex
	next int
	fns  map[int]TapFunc
	list []TapFunc // fns, rebuilt on every change
}

func (t *taps) add(fn TapFunc) func() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fns == nil {
		t.fns = map[int]TapFunc{}
	}
	id := t.next
	t.next++
	t.fns[id] = fn
	t.rebuild()
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		delete(t.fns, id)
		t.rebuild()
	}
}

func (t *taps) rebuild() {
	t.list = make([]TapFunc, 0, len(t.fns))
	for _, fn := range t.fns {
		t.list = append(t.list, fn)
	}
}

func (t *taps) see(evs []*eventsv1.Event) {
	if len(evs) == 0 {
		return
	}
	t.mu.Lock()
	list := t.list
	t.mu.Unlock()
	for _, fn := range list {
		fn(evs)
	}
}
