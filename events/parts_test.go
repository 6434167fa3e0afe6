package events_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/store/pgtest"
	"github.com/plugzapi/plugzapi/store/storetest"
)

// recorder is a group of parts that each record, in the group's transaction, every event they are handed:
// table applied then holds one row per part and event applied, and a rolled-back batch leaves no row.
type recorder struct {
	t      *testing.T
	db     *store.DB
	offset map[string]int64 // event ID → stream offset

	mu sync.Mutex
	// fail, when set, makes a part's handler fail on the event at the given offset (after recording it, so
	// that the rollback must undo the record).
	fail   func(part string, offset int64) bool
	tries  int // handler calls, failed or not
	failed int
}

func newRecorder(t *testing.T, db *store.DB) *recorder {
	t.Helper()
	if _, err := db.SQL().Exec(`CREATE TABLE applied (part TEXT NOT NULL, event_id TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return &recorder{t: t, db: db, offset: map[string]int64{}}
}

// learnOffsets reads which offset each event of the stream has (event IDs are the stream's message UUIDs).
func (r *recorder) learnOffsets() []int64 {
	r.t.Helper()
	rows, err := r.db.SQL().Query(`SELECT "offset", uuid FROM watermill_instance_events ORDER BY "offset"`)
	if err != nil {
		r.t.Fatal(err)
	}
	defer rows.Close()
	var offsets []int64
	for rows.Next() {
		var o int64
		var id string
		if err := rows.Scan(&o, &id); err != nil {
			r.t.Fatal(err)
		}
		r.offset[id] = o
		offsets = append(offsets, o)
	}
	if err := rows.Err(); err != nil {
		r.t.Fatal(err)
	}
	return offsets
}

func (r *recorder) part(name string) events.Part {
	return events.Part{Name: name, Handle: func(ctx context.Context, tx *sql.Tx, ev *eventsv1.Event) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO applied (part, event_id) VALUES (?, ?)`, name, ev.Id); err != nil {
			return err
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.tries++
		if r.fail != nil && r.fail(name, r.offset[ev.Id]) {
			r.failed++
			return errors.New("transient failure")
		}
		return nil
	}}
}

// record marks events as applied by a part that ran as a group of its own, as an older version did.
func (r *recorder) record(part string, upTo int64) {
	r.t.Helper()
	for id, o := range r.offset {
		if o <= upTo {
			if _, err := r.db.SQL().Exec(`INSERT INTO applied (part, event_id) VALUES (?, ?)`, part, id); err != nil {
				r.t.Fatal(err)
			}
		}
	}
}

// exactlyOnce fails unless every part has every event of the stream exactly once.
func (r *recorder) exactlyOnce(parts ...string) {
	r.t.Helper()
	for _, p := range parts {
		n := countRows(r.t, r.db.SQL(), `SELECT COUNT(*) FROM applied WHERE part = ?`, p)
		distinct := countRows(r.t, r.db.SQL(), `SELECT COUNT(DISTINCT event_id) FROM applied WHERE part = ?`, p)
		if n != len(r.offset) || distinct != len(r.offset) {
			r.t.Errorf("part %s applied %d events (%d distinct), want each of the %d once", p, n, distinct, len(r.offset))
		}
	}
}

func groupOffsets(t *testing.T, l *events.Log) map[string]int64 {
	t.Helper()
	_, groups, err := l.Lag(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, g := range groups {
		out[g.Group] = g.Acked
	}
	return out
}

// TestPartsTakeOverFormerGroupsExactlyOnce: three read models ran as groups of their own and stand at different
// offsets (a fourth never ran); more events came after each. The group of the four starts at the lowest, and
// each part gets every event it did not have yet, once. The first start fails part-way (a part's handler
// fails from some event on: its batch is rolled back for every part) and the group is closed there, as a
// crash would leave it; the next start finds the floors where the first left them.
func TestPartsTakeOverFormerGroupsExactlyOnce(t *testing.T) {
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	l := eventstest.OpenLog(t, db, events.Config{BatchSize: 5, RetryMax: 20 * time.Millisecond})
	r := newRecorder(t, db)
	for i := range 30 {
		eventstest.Append(t, l, fmt.Sprint("inst", i%3), eventstest.Connected("1"))
	}
	offs := r.learnOffsets()
	// The former groups: a at the 10th event, b at the 25th, c at the 5th; d never ran. A group that is no part
	// of this one must be left alone.
	former := map[string]int64{"a": offs[9], "b": offs[24], "c": offs[4], "other": offs[2]}
	for g, o := range former {
		if _, err := db.SQL().Exec(`INSERT INTO watermill_offsets_instance_events (consumer_group, offset_acked) VALUES (?, ?)`, g, o); err != nil {
			t.Fatal(err)
		}
		if g != "other" {
			r.record(g, o)
		}
	}
	for i := range 10 {
		eventstest.Append(t, l, fmt.Sprint("inst", i%3), eventstest.Connected("2"))
	}
	offs = r.learnOffsets()
	parts := []events.Part{r.part("a"), r.part("b"), r.part("c"), r.part("d")}

	// First start: a fails from the 18th event on, so the group gets stuck in the batch holding it, short of
	// b's floor.
	r.fail = func(part string, o int64) bool { return part == "a" && o >= offs[17] }
	c, err := l.Consume(ctx, events.ConsumerOptions{Group: "views"}, parts...)
	if err != nil {
		t.Fatal(err)
	}
	// Batches of five: the one of the 16th to 20th event fails, again and again.
	eventstest.WaitFor(t, 10*time.Second, "the group to reach a's failure", func() bool {
		r.mu.Lock()
		failed := r.failed
		r.mu.Unlock()
		return failed >= 2 && groupOffsets(t, l)["views"] == offs[14]
	})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	got := groupOffsets(t, l)
	for _, g := range []string{"a", "b", "c"} {
		if _, ok := got[g]; ok {
			t.Errorf("former group %s still registered: %v", g, got)
		}
	}
	if got["other"] != former["other"] || got["views"] != offs[14] {
		t.Fatalf("groups after the takeover = %v: want other untouched and views at %d", got, offs[14])
	}
	// Every part has the first 15 events, each once, from its former group or from the new one (b had 25).
	// Nothing of the failed batch stays, in any part.
	for p, want := range map[string]int{"a": 15, "b": 25, "c": 15, "d": 15} {
		if n := countRows(t, db.SQL(), `SELECT COUNT(DISTINCT event_id) FROM applied WHERE part = ?`, p); n != want {
			t.Errorf("part %s has %d distinct events, want %d", p, n, want)
		}
		if n := countRows(t, db.SQL(), `SELECT COUNT(*) FROM applied WHERE part = ?`, p); n != want {
			t.Errorf("part %s has %d events, want %d", p, n, want)
		}
	}
	if n := countRows(t, db.SQL(), `SELECT COUNT(*) FROM consumer_part_floors WHERE consumer_group = 'views'`); n != 3 {
		t.Fatalf("%d floors kept, want a's, b's and c's", n)
	}

	// Second start, the failure healed.
	r.mu.Lock()
	r.fail = nil
	r.mu.Unlock()
	c, err = l.Consume(ctx, events.ConsumerOptions{Group: "views"}, parts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	latest := offs[len(offs)-1]
	eventstest.WaitFor(t, 10*time.Second, "the group to catch up", func() bool { return groupOffsets(t, l)["views"] == latest })
	r.exactlyOnce("a", "b", "c", "d")
	if n := countRows(t, db.SQL(), `SELECT COUNT(*) FROM consumer_part_floors`); n != 0 {
		t.Fatalf("%d floors left once the group passed them all", n)
	}

	// Later events reach every part, and a restart takes nothing over again. A former group's row that came
	// back meanwhile (a node of the former version still running) is removed, not taken over: it would hold
	// back pruning.
	eventstest.Append(t, l, "inst0", eventstest.Connected("3"))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().Exec(`INSERT INTO watermill_offsets_instance_events (consumer_group, offset_acked) VALUES ('b', 0)`); err != nil {
		t.Fatal(err)
	}
	c, err = l.Consume(ctx, events.ConsumerOptions{Group: "views"}, parts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, back := groupOffsets(t, l)["b"]; back {
		t.Error("the former group b came back after the takeover and is still there after a restart")
	}
	offs = r.learnOffsets()
	eventstest.WaitFor(t, 10*time.Second, "the last event", func() bool { return groupOffsets(t, l)["views"] == offs[len(offs)-1] })
	r.exactlyOnce("a", "b", "c", "d")
}

// TestPartErrorRetriesBatchForAllParts: one part's handler error rolls back what every part wrote in the batch;
// the batch is retried and each part ends with each event once.
func TestPartErrorRetriesBatchForAllParts(t *testing.T) {
	db := eventstest.OpenDB(t, "")
	l := eventstest.OpenLog(t, db, events.Config{BatchSize: 10, RetryMax: 20 * time.Millisecond})
	r := newRecorder(t, db)
	for range 8 {
		eventstest.Append(t, l, "inst", eventstest.Connected("1"))
	}
	offs := r.learnOffsets()
	failuresLeft := 3
	r.fail = func(part string, o int64) bool {
		if part == "second" && o == offs[4] && failuresLeft > 0 {
			failuresLeft--
			return true
		}
		return false
	}
	c, err := l.Consume(context.Background(), events.ConsumerOptions{Group: "g"}, r.part("first"), r.part("second"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	eventstest.WaitFor(t, 10*time.Second, "the group to catch up", func() bool { return groupOffsets(t, l)["g"] == offs[7] })
	r.exactlyOnce("first", "second")
	r.mu.Lock()
	defer r.mu.Unlock()
	// Each try of the batch got as far as the fifth event: both parts handled the first four, and the fifth
	// reached "second" after "first".
	if failuresLeft != 0 || r.tries != 2*8+3*(2*4+2) {
		t.Fatalf("%d handler calls (failures left %d), want 16 and 3 tries of 10", r.tries, failuresLeft)
	}
}

func TestConsumeChecksParts(t *testing.T) {
	l := eventstest.OpenLog(t, eventstest.OpenDB(t, ""), events.Config{})
	h := func(context.Context, *sql.Tx, *eventsv1.Event) error { return nil }
	for _, parts := range [][]events.Part{
		nil,
		{{Name: "", Handle: h}},
		{{Name: "g", Handle: h}},
		{{Name: "x", Handle: h}, {Name: "x", Handle: h}},
		{{Name: "x"}},
	} {
		if c, err := l.Consume(context.Background(), events.ConsumerOptions{Group: "g"}, parts...); err == nil {
			c.Close()
			t.Errorf("Consume accepted parts %+v", parts)
		}
	}
}

// TestTakeOverWaitsForAFormerGroupsBatch: on a cluster, a node of the former version may be handling a batch
// of a former group while the group of parts starts on another: the takeover waits for that batch to commit
// and takes the offset it committed, so the part does not get that batch again. It runs on Postgres whatever
// the run's dialect: on SQLite there is one node, and its transactions take the write lock one at a time.
func TestTakeOverWaitsForAFormerGroupsBatch(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.Config{Dir: t.TempDir(), DatabaseURL: pgtest.NewDatabase(t)})
	l := eventstest.OpenLog(t, db, events.Config{})
	r := newRecorder(t, db)
	for range 10 {
		eventstest.Append(t, l, "inst", eventstest.Connected("1"))
	}
	offs := r.learnOffsets()
	if _, err := db.SQL().Exec(`INSERT INTO watermill_offsets_instance_events (consumer_group, offset_acked) VALUES ('a', ?)`, offs[4]); err != nil {
		t.Fatal(err)
	}
	r.record("a", offs[4])

	// The former group's member handles the next five events, as StreamOffsets has it: its offset row locked
	// from the batch's read to its commit.
	old, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Rollback()
	if _, err := old.Exec(`SELECT offset_acked FROM watermill_offsets_instance_events WHERE consumer_group = 'a' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	for id, o := range r.offset {
		if o > offs[4] {
			if _, err := old.Exec(`INSERT INTO applied (part, event_id) VALUES ('a', ?)`, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := old.Exec(`UPDATE watermill_offsets_instance_events SET offset_acked = ? WHERE consumer_group = 'a'`, offs[9]); err != nil {
		t.Fatal(err)
	}

	type started struct {
		c   *events.Consumer
		err error
	}
	start := make(chan started, 1)
	go func() {
		c, err := l.Consume(ctx, events.ConsumerOptions{Group: "views"}, r.part("a"))
		start <- started{c, err}
	}()
	eventstest.WaitFor(t, 10*time.Second, "the takeover to wait for the former group's row", func() bool {
		return countRows(t, db.SQL(), `SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`) > 0
	})
	if err := old.Commit(); err != nil {
		t.Fatal(err)
	}
	s := <-start
	if s.err != nil {
		t.Fatal(s.err)
	}
	t.Cleanup(func() { s.c.Close() })
	eventstest.Append(t, l, "inst", eventstest.Connected("2"))
	offs = r.learnOffsets()
	eventstest.WaitFor(t, 10*time.Second, "the group to catch up", func() bool { return groupOffsets(t, l)["views"] == offs[len(offs)-1] })
	r.exactlyOnce("a")
}
