// Package eventstest has helpers for tests of the event log and its consumers: a log on a fresh database in a
// test's temporary directory, a polling wait, and event builders. It is imported by tests only.
package eventstest

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/events"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/store/storetest"
)

// Logger returns a logger that writes warnings and errors to stderr, so failing tests show them.
func Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// OpenDB opens a store in dir (a new temporary directory when empty), on the run's dialect (see
// storetest), and closes it when the test ends.
func OpenDB(t testing.TB, dir string) *store.DB {
	t.Helper()
	return storetest.Open(t, store.Config{Dir: dir})
}

// OpenLog opens the event log on db with cfg and closes it when the test ends.
func OpenLog(t testing.TB, db *store.DB, cfg events.Config) *events.Log {
	t.Helper()
	l, err := events.Open(context.Background(), db, cfg, Logger())
	if err != nil {
		t.Fatalf("open log: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// Consume runs parts as the read models' group, events.ProjectionsGroup, as the server does, until the test ends
// (or the returned consumer is closed: closing again is harmless).
func Consume(tb testing.TB, l *events.Log, parts ...events.Part) *events.Consumer {
	tb.Helper()
	c, err := l.Consume(context.Background(), events.ConsumerOptions{Group: events.ProjectionsGroup}, parts...)
	if err != nil {
		tb.Fatalf("consume: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("close consumer: %v", err)
		}
	})
	return c
}

// WaitFor polls cond every few milliseconds until it is true, failing the test with msg after timeout.
func WaitFor(t testing.TB, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", timeout, msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// CheckGoroutines fails the test if, after everything registered with t.Cleanup before this call ran, more
// goroutines are alive than before it (allowing them a moment to exit). Call it first in a test.
func CheckGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				n := runtime.Stack(buf, true)
				t.Errorf("goroutines leaked: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:n])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// Append appends evs to the instance after its current last seq and returns the stored events.
func Append(t testing.TB, l *events.Log, instanceID string, evs ...*eventsv1.Event) []*eventsv1.Event {
	t.Helper()
	ctx := context.Background()
	last, err := l.LastSeq(ctx, instanceID)
	if err != nil {
		t.Fatalf("last seq: %v", err)
	}
	stored, err := l.Append(ctx, instanceID, last, evs, nil)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return stored
}

// Connected is a Connected event.
func Connected(phone string) *eventsv1.Event {
	return &eventsv1.Event{Payload: &eventsv1.Event_Connected{Connected: &eventsv1.Connected{Phone: phone}}}
}

// Queued is a MessageQueued event.
func Queued(zaapID, messageID, phone string) *eventsv1.Event {
	return &eventsv1.Event{Payload: &eventsv1.Event_MessageQueued{MessageQueued: &messagesv1.Outbound{
		ZaapId: zaapID, MessageId: messageID, Phone: phone, Type: messagesv1.Kind_KIND_TEXT,
	}}}
}

// Sent is a MessageSent event.
func Sent(zaapID, messageID, phone string) *eventsv1.Event {
	return &eventsv1.Event{Payload: &eventsv1.Event_MessageSent{MessageSent: &eventsv1.MessageSent{
		ZaapId: zaapID, MessageId: messageID, Phone: phone,
	}}}
}

// Settle waits until every append queued on l so far is committed (or failed): the log commits in order, so a
// write queued after them returns after them.
func Settle(t testing.TB, l *events.Log) {
	t.Helper()
	if err := l.Write(context.Background(), func(context.Context, *sql.Tx) error { return nil }); err != nil {
		t.Fatalf("settle the log: %v", err)
	}
}

// WaitForGroups waits until every consumer group of l has committed past the stream offset latest (for
// benchmarks: a timed wait would measure the timeout).
func WaitForGroups(tb testing.TB, l *events.Log, latest int64) {
	tb.Helper()
	for {
		_, groups, err := l.Lag(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		caughtUp := len(groups) > 0
		for _, g := range groups {
			caughtUp = caughtUp && g.Acked >= latest
		}
		if caughtUp {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
