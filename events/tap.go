package events

import (
	"slices"
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

// taps are the registered TapFuncs. The committer reads the list on every commit; registration replaces it
// (copy on write), so the committer holds the lock only to take it.
type taps struct {
	mu   sync.Mutex
	list []*TapFunc
}

func (t *taps) add(fn TapFunc) func() {
	entry := &fn
	t.mu.Lock()
	defer t.mu.Unlock()
	t.list = append(slices.Clone(t.list), entry)
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.list = slices.DeleteFunc(slices.Clone(t.list), func(e *TapFunc) bool { return e == entry })
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
		(*fn)(evs)
	}
}
