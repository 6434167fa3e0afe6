package events_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

func countRows(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestAppendAndLoad(t *testing.T) {
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	l := eventstest.OpenLog(t, db, events.Config{})

	in := []*eventsv1.Event{
		eventstest.Queued("z1", "m1", "5511999990001"),
		eventstest.Queued("z2", "m2", "5511999990002"),
		{TimeMs: 42, Id: "my-own-id", Payload: &eventsv1.Event_Connected{Connected: &eventsv1.Connected{Phone: "551100"}}},
	}
	before := time.Now().UnixMilli()
	stored, err := l.Append(ctx, "inst", 0, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 3 {
		t.Fatalf("stored %d events", len(stored))
	}
	ids := map[string]bool{}
	for i, ev := range stored {
		if ev.Seq != int64(i+1) || ev.InstanceId != "inst" || ev.Id == "" || ids[ev.Id] {
			t.Fatalf("event %d: %+v", i, ev)
		}
		ids[ev.Id] = true
	}
	if stored[0].TimeMs < before || stored[2].TimeMs != 42 || stored[2].Id != "my-own-id" {
		t.Fatalf("time/id not filled or overwritten: %+v", stored)
	}
	if in[0].Seq != 0 || in[0].Id != "" {
		t.Fatal("Append modified the caller's events")
	}

	more, err := l.Append(ctx, "inst", 3, []*eventsv1.Event{eventstest.Sent("z1", "m1", "5511999990001")}, nil)
	if err != nil || more[0].Seq != 4 {
		t.Fatalf("second append: %v %+v", err, more)
	}
	// Another instance has its own sequence.
	other, err := l.Append(ctx, "other", 0, []*eventsv1.Event{eventstest.Connected("1")}, nil)
	if err != nil || other[0].Seq != 1 {
		t.Fatalf("other instance: %v %+v", err, other)
	}

	var loaded []*eventsv1.Event
	if err := l.Load(ctx, "inst", 1, func(ev *eventsv1.Event) error {
		loaded = append(loaded, ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := append(stored[1:], more...)
	if len(loaded) != len(want) {
		t.Fatalf("loaded %d events, want %d", len(loaded), len(want))
	}
	for i := range want {
		if !proto.Equal(loaded[i], want[i]) {
			t.Fatalf("loaded[%d] = %v, want %v", i, loaded[i], want[i])
		}
	}

	stopErr := errors.New("enough")
	n := 0
	err = l.Load(ctx, "inst", 0, func(*eventsv1.Event) error {
		n++
		return stopErr
	})
	if !errors.Is(err, stopErr) || n != 1 {
		t.Fatalf("Load with failing fn: err=%v n=%d", err, n)
	}

	if last, err := l.LastSeq(ctx, "inst"); err != nil || last != 4 {
		t.Fatalf("LastSeq = %d, %v", last, err)
	}
	if last, err := l.LastSeq(ctx, "nobody"); err != nil || last != 0 {
		t.Fatalf("LastSeq(nobody) = %d, %v", last, err)
	}
}

func TestLoadManyPages(t *testing.T) {
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	l := eventstest.OpenLog(t, db, events.Config{})
	const total = 1234
	for from := 0; from < total; from += events.MaxAppend {
		batch := make([]*eventsv1.Event, min(events.MaxAppend, total-from))
		for i := range batch {
			batch[i] = eventstest.Queued(fmt.Sprint("z", from+i), fmt.Sprint("m", from+i), "1")
		}
		if _, err := l.Append(ctx, "inst", int64(from), batch, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Append(ctx, "inst", total, make([]*eventsv1.Event, events.MaxAppend+1), nil); err == nil {
		t.Fatal("oversized append accepted")
	}
	var next int64 = 101
	if err := l.Load(ctx, "inst", 100, func(ev *eventsv1.Event) error {
		if ev.Seq != next {
			return fmt.Errorf("seq %d, want %d", ev.Seq, next)
		}
		next++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if next != total+1 {
		t.Fatalf("loaded up to %d, want %d", next-1, total)
	}
}

func TestAppendRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	l := eventstest.OpenLog(t, eventstest.OpenDB(t, ""), events.Config{})
	ok := eventstest.Connected("1")
	for name, tc := range map[string]struct {
		instance string
		expected int64
		evs      []*eventsv1.Event
	}{
		"empty instance":     {"", 0, []*eventsv1.Event{ok}},
		"no events":          {"i", 0, nil},
		"negative seq":       {"i", -1, []*eventsv1.Event{ok}},
		"no payload":         {"i", 0, []*eventsv1.Event{{}}},
		"other instance":     {"i", 0, []*eventsv1.Event{{InstanceId: "j", Payload: ok.Payload}}},
		"wrong preset seq":   {"i", 0, []*eventsv1.Event{{Seq: 5, Payload: ok.Payload}}},
		"nil payload member": {"i", 0, []*eventsv1.Event{{Payload: &eventsv1.Event_Connected{}}}},
		"nil event":          {"i", 0, []*eventsv1.Event{nil}},
		"typed nil payload":  {"i", 0, []*eventsv1.Event{{Payload: (*eventsv1.Event_Connected)(nil)}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := l.Append(ctx, tc.instance, tc.expected, tc.evs, nil)
			if name == "nil payload member" {
				// A oneof member without its message is still that member: proto encodes it as empty.
				if err != nil {
					t.Fatalf("Append = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Append accepted bad input")
			}
		})
	}
}

func TestAppendOptimisticConcurrency(t *testing.T) {
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	l := eventstest.OpenLog(t, db, events.Config{})
	if _, err := l.Append(ctx, "inst", 0, []*eventsv1.Event{eventstest.Connected("1")}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := l.Append(ctx, "inst", 0, []*eventsv1.Event{eventstest.Connected("2")}, nil)
	if !errors.Is(err, events.ErrConcurrency) {
		t.Fatalf("stale expected seq: err = %v, want ErrConcurrency", err)
	}
	_, err = l.Append(ctx, "inst", 5, []*eventsv1.Event{eventstest.Connected("2")}, nil)
	if !errors.Is(err, events.ErrConcurrency) {
		t.Fatalf("future expected seq: err = %v, want ErrConcurrency", err)
	}

	// Racing writers with the same expectation: exactly one wins each round.
	const writers = 8
	for round := int64(1); round <= 5; round++ {
		var wins, races atomic.Int32
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				_, err := l.Append(ctx, "inst", round, []*eventsv1.Event{eventstest.Connected(fmt.Sprint(w))}, nil)
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, events.ErrConcurrency):
					races.Add(1)
				default:
					t.Errorf("writer %d: %v", w, err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || races.Load() != writers-1 {
			t.Fatalf("round %d: %d wins, %d lost races", round, wins.Load(), races.Load())
		}
	}
	if n := countRows(t, db.SQL(), `SELECT COUNT(*) FROM instance_events WHERE instance_id = 'inst'`); n != 6 {
		t.Fatalf("%d events stored, want 6", n)
	}
	if n := countRows(t, db.SQL(), `SELECT COUNT(*) FROM watermill_instance_events`); n != 6 {
		t.Fatalf("%d stream rows, want 6", n)
	}
}

// TestAppendIsAtomic is the outbox guarantee: when the caller's state change fails, neither the events nor
// their stream rows nor the change's own writes remain.
func TestAppendIsAtomic(t *testing.T) {
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	l := eventstest.OpenLog(t, db, events.Config{})
	boom := errors.New("state change failed")
	_, err := l.Append(ctx, "inst", 0, []*eventsv1.Event{eventstest.Queued("z", "m", "1")}, func(tx *sql.Tx) error {
		if err := db.Vault().Put(ctx, tx, events.OutboundVaultKey("inst", "m"), []byte("hello")); err != nil {
			return err
		}
		// The events are visible inside the transaction, so inTx could snapshot them.
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM instance_events`).Scan(&n); err != nil || n != 1 {
			t.Errorf("inside inTx: %d events, %v", n, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Append = %v, want the inTx error", err)
	}
	for _, q := range []string{
		`SELECT COUNT(*) FROM instance_events`,
		`SELECT COUNT(*) FROM watermill_instance_events`,
		`SELECT COUNT(*) FROM vault`,
	} {
		if n := countRows(t, db.SQL(), q); n != 0 {
			t.Errorf("%s = %d after a failed append, want 0", q, n)
		}
	}

	// And on success, all three commit together.
	_, err = l.Append(ctx, "inst", 0, []*eventsv1.Event{eventstest.Queued("z", "m", "1")}, func(tx *sql.Tx) error {
		return db.Vault().Put(ctx, tx, events.OutboundVaultKey("inst", "m"), []byte("hello"))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`SELECT COUNT(*) FROM instance_events`,
		`SELECT COUNT(*) FROM watermill_instance_events`,
		`SELECT COUNT(*) FROM vault`,
	} {
		if n := countRows(t, db.SQL(), q); n != 1 {
			t.Errorf("%s = %d after a successful append, want 1", q, n)
		}
	}
}

func TestSnapshots(t *testing.T) {
	ctx := context.Background()
	l := eventstest.OpenLog(t, eventstest.OpenDB(t, ""), events.Config{})
	if _, ok, err := l.LoadSnapshot(ctx, "inst"); ok || err != nil {
		t.Fatalf("LoadSnapshot before any = %v, %v", ok, err)
	}
	evs := eventstest.Append(t, l, "inst", eventstest.Connected("1"), eventstest.Connected("1"), eventstest.Connected("1"))
	if err := l.SaveSnapshot(ctx, "inst", 4, "any", []byte("future")); err == nil {
		t.Fatal("snapshot beyond the log accepted")
	}
	if err := l.SaveSnapshot(ctx, "inst", 2, evs[2].Id, []byte("of events that never were")); err == nil {
		t.Fatal("snapshot naming another event than the log's at its seq accepted")
	}
	if err := l.SaveSnapshot(ctx, "inst", 2, evs[1].Id, []byte("at 2")); err != nil {
		t.Fatal(err)
	}
	if err := l.SaveSnapshot(ctx, "inst", 3, evs[2].Id, []byte("at 3")); err != nil {
		t.Fatal(err)
	}
	if err := l.SaveSnapshot(ctx, "inst", 2, evs[1].Id, []byte("stale")); err == nil {
		t.Fatal("older snapshot replaced a newer one")
	}
	snap, ok, err := l.LoadSnapshot(ctx, "inst")
	if err != nil || !ok || snap.Seq != 3 || string(snap.State) != "at 3" || snap.Saved.IsZero() {
		t.Fatalf("LoadSnapshot = %+v %v %v", snap, ok, err)
	}
}

// TestForgetHistory: a deletion appended with ForgetHistory in its transaction leaves only itself in the log;
// the last seq stands (so the instance cannot start over at 1), and other instances keep their history.
func TestForgetHistory(t *testing.T) {
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	l := eventstest.OpenLog(t, db, events.Config{})
	gone := eventstest.Append(t, l, "gone", eventstest.Queued("z1", "m1", "5511999990001"), eventstest.Connected("1"))
	eventstest.Append(t, l, "kept", eventstest.Connected("2"))
	if err := l.SaveSnapshot(ctx, "gone", 2, gone[1].Id, []byte("state")); err != nil {
		t.Fatal(err)
	}
	deleted := &eventsv1.Event{Payload: &eventsv1.Event_InstanceDeleted{InstanceDeleted: &eventsv1.InstanceDeleted{}}}
	if _, err := l.Append(ctx, "gone", 2, []*eventsv1.Event{deleted}, func(tx *sql.Tx) error {
		return events.ForgetHistory(ctx, tx, "gone", 2)
	}); err != nil {
		t.Fatal(err)
	}
	var left []string
	if err := l.Load(ctx, "gone", 0, func(ev *eventsv1.Event) error {
		left = append(left, fmt.Sprint(ev.GetSeq(), " ", events.TypeName(ev)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(left) != "[3 instance_deleted]" {
		t.Fatalf("log after forgetting = %v", left)
	}
	if last, err := l.LastSeq(ctx, "gone"); err != nil || last != 3 {
		t.Fatalf("LastSeq = %d, %v; want 3", last, err)
	}
	if _, ok, err := l.LoadSnapshot(ctx, "gone"); ok || err != nil {
		t.Fatalf("snapshot kept: %v, %v", ok, err)
	}
	if n := countRows(t, db.SQL(), `SELECT COUNT(*) FROM instance_events WHERE instance_id = 'kept'`); n != 1 {
		t.Fatalf("another instance's history: %d events, want 1", n)
	}
}

// Sealing keeps the private fields out of the event's payload, in the vault record, and unsealing puts the
// message back together whole.
func TestSealKeepsThePrivatePartOutOfTheEvent(t *testing.T) {
	in := &messagesv1.Inbound{MessageId: "M1", Phone: "5511999990001", Type: messagesv1.Kind_KIND_TEXT,
		Content:    &messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: "olá 👋"}}},
		SenderName: "Ana", ChatName: "Ana Souza"}
	public, record, err := events.Seal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := &messagesv1.Inbound{MessageId: "M1", Phone: "5511999990001", Type: messagesv1.Kind_KIND_TEXT}
	if !proto.Equal(public, want) {
		t.Errorf("event payload = %v, want %v", public, want)
	}
	for _, secret := range []string{"olá", "Ana"} {
		if bytes.Contains(mustMarshal(t, public), []byte(secret)) {
			t.Errorf("the event's payload holds %q", secret)
		}
		if !bytes.Contains(record, []byte(secret)) {
			t.Errorf("the vault record lacks %q", secret)
		}
	}
	if in.GetSenderName() != "Ana" || in.GetContent() == nil {
		t.Error("sealing changed the message it was given")
	}
	whole, err := events.Unseal(public, record)
	if err != nil || !proto.Equal(whole, in) {
		t.Fatalf("unsealed = %v, %v; want %v", whole, err, in)
	}

	out := &messagesv1.Outbound{ZaapId: "Z1", Phone: "5511999990001",
		Content: &messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: "segredo"}}}}
	publicOut, recordOut, err := events.Seal(out)
	if err != nil || publicOut.GetContent() != nil || !bytes.Contains(recordOut, []byte("segredo")) {
		t.Fatalf("sealed outbound = %v, record %q, %v", publicOut, recordOut, err)
	}
	if _, err := events.Unseal(publicOut, []byte{0xff}); err == nil {
		t.Error("a broken record unsealed")
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTypeName(t *testing.T) {
	if got := events.TypeName(eventstest.Queued("z", "m", "1")); got != "message_queued" {
		t.Fatalf("TypeName = %q", got)
	}
	if got := events.TypeName(&eventsv1.Event{}); got != "" {
		t.Fatalf("TypeName(empty) = %q", got)
	}
	if got := events.TypeName(nil); got != "" {
		t.Fatalf("TypeName(nil) = %q", got)
	}
}
