// Package live fans the event stream out to the dashboard's browsers: a tap on the event log (events.Log.Tap) sees
// each event this process appends as it becomes durable, and each watcher of an instance gets that instance's
// events, summarised, on a bounded channel. On a cluster an instance's events are appended by the node running
// it, which is where its watchers' requests are forwarded.
//
// It is a view of what happens from now on, not a history: it keeps no state, and a watcher that does not keep up
// is dropped (its channel closed) instead of being buffered without bound. A summary names the event and the IDs
// it is about, never message content (events hold none; see package events).
//
// It must not block the log's committer: it hands each event to the watchers without waiting for any of them.
package live

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/plugzapi/plugzapi/events"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// formerGroup starts the name of the consumer group that fed the feed before the tap: "~live" alone, "~live " and
// the node's URL on a cluster. Start drops the process's own, which would otherwise linger in the consumer lag.
const formerGroup = events.TransientPrefix + "live"

// Event summarises one event for a watcher.
type Event struct {
	// Seq is the event's sequence number in its instance's log: a watcher that sees one twice (a batch the
	// consumer retried) can tell.
	Seq  int64  `json:"seq"`
	Type string `json:"type"` // the payload's name, as events.TypeName spells it
	// TimeMs is when it happened, in Unix milliseconds.
	TimeMs int64 `json:"time"`
	// MessageID and Phone say which message and chat the event is about, when it is about one: what the
	// instance's queue and webhooks show the operator already.
	MessageID string `json:"messageId,omitempty"`
	Phone     string `json:"phone,omitempty"`
	// Status is a message status change's new status ("READ"…).
	Status string `json:"status,omitempty"`
}

// Summarise returns what a watcher sees of ev.
func Summarise(ev *eventsv1.Event) Event {
	e := Event{Seq: ev.GetSeq(), Type: events.TypeName(ev), TimeMs: ev.GetTimeMs(), MessageID: events.MessageID(ev)}
	switch p := ev.GetPayload().(type) {
	case *eventsv1.Event_MessageQueued:
		e.Phone = p.MessageQueued.GetPhone()
	case *eventsv1.Event_MessageSent:
		e.Phone = p.MessageSent.GetPhone()
	case *eventsv1.Event_MessageFailed:
		e.Phone = p.MessageFailed.GetPhone()
	case *eventsv1.Event_MessageStatusChanged:
		e.Phone = p.MessageStatusChanged.GetPhone()
		e.Status = statusName(p.MessageStatusChanged.GetStatus())
		if ids := p.MessageStatusChanged.GetMessageIds(); len(ids) > 0 {
			e.MessageID = ids[0]
		}
	case *eventsv1.Event_Connected:
		e.Phone = p.Connected.GetPhone()
	}
	return e
}

func statusName(s eventsv1.MessageStatus) string {
	return strings.TrimPrefix(s.String(), "MESSAGE_STATUS_")
}

// Feed is the running fan-out. Its methods are safe for concurrent use.
type Feed struct {
	untap func()

	mu       sync.Mutex
	closed   bool
	watchers map[string]map[*Watch]struct{} // by instance ID

	stopWatch chan struct{}
	done      sync.WaitGroup
	closeOnce sync.Once
}

// Start taps log's appends. node (empty when the server runs alone) names the former consumer group to drop.
// Watchers are closed when ctx ends (the server is shutting down, and their streams must end for it to) or at
// Close.
func Start(ctx context.Context, log *events.Log, node string) (*Feed, error) {
	group := formerGroup
	if node != "" {
		group += " " + node
	}
	if err := log.DropGroup(ctx, group); err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	f := &Feed{watchers: map[string]map[*Watch]struct{}{}, stopWatch: make(chan struct{})}
	f.untap = log.Tap(f.fanOut)
	f.done.Add(1)
	go func() {
		defer f.done.Done()
		select {
		case <-ctx.Done():
			f.closeWatchers()
		case <-f.stopWatch:
		}
	}()
	return f, nil
}

// fanOut hands each event to its instance's watchers without waiting: a watcher whose buffer is full is
// dropped.
func (f *Feed) fanOut(evs []*eventsv1.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.watchers) == 0 {
		return
	}
	for _, ev := range evs {
		ws := f.watchers[ev.GetInstanceId()]
		if len(ws) == 0 {
			continue
		}
		e := Summarise(ev)
		for w := range ws {
			select {
			case w.events <- e:
			default:
				f.removeLocked(w, true)
			}
		}
	}
}

// Watch is one watcher of an instance's events.
type Watch struct {
	f          *Feed
	instanceID string
	events     chan Event
	// dropped is set before events is closed when the watcher fell behind (not when it was closed).
	dropped bool
}

// Events delivers the instance's events in stream order. It is closed when the watcher is dropped (see
// Dropped), closed, or the feed stops.
func (w *Watch) Events() <-chan Event { return w.events }

// Dropped reports, once Events is closed, whether the watcher was dropped for falling behind.
func (w *Watch) Dropped() bool {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	return w.dropped
}

// Close stops the watch. It is safe to call more than once.
func (w *Watch) Close() {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	w.f.removeLocked(w, false)
}

// ErrClosed is returned by Watch after the feed has stopped.
var ErrClosed = errors.New("live: feed closed")

// Watch starts watching instanceID's events; buffer is how many events may wait for the watcher before it is
// dropped.
func (f *Feed) Watch(instanceID string, buffer int) (*Watch, error) {
	w := &Watch{f: f, instanceID: instanceID, events: make(chan Event, max(buffer, 1))}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil, ErrClosed
	}
	ws := f.watchers[instanceID]
	if ws == nil {
		ws = map[*Watch]struct{}{}
		f.watchers[instanceID] = ws
	}
	ws[w] = struct{}{}
	return w, nil
}

// removeLocked forgets w and closes its channel, once.
func (f *Feed) removeLocked(w *Watch, dropped bool) {
	ws := f.watchers[w.instanceID]
	if _, ok := ws[w]; !ok {
		return
	}
	delete(ws, w)
	if len(ws) == 0 {
		delete(f.watchers, w.instanceID)
	}
	w.dropped = dropped
	close(w.events)
}

func (f *Feed) closeWatchers() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for _, ws := range f.watchers {
		for w := range ws {
			f.removeLocked(w, false)
		}
	}
}

// Close ends every watch and removes the tap. It is safe to call more than once.
func (f *Feed) Close() error {
	f.closeOnce.Do(func() {
		close(f.stopWatch)
		f.done.Wait()
		f.untap()
		f.closeWatchers()
	})
	return nil
}
