package events_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
)

// appendAt appends n Queued events stamped at the given time.
func appendAt(t *testing.T, l *events.Log, inst string, at time.Time, n int) {
	t.Helper()
	for n > 0 {
		batch := make([]*eventsv1.Event, min(n, events.MaxAppend))
		for i := range batch {
			ev := eventstest.Queued("z", fmt.Sprint("m", n-i), "5511999990000")
			ev.TimeMs = at.UnixMilli()
			batch[i] = ev
		}
		eventstest.Append(t, l, inst, batch...)
		n -= len(batch)
	}
}

// seqs returns an instance's seqs in the event log.
func seqs(t *testing.T, db *sql.DB, inst string) []int64 {
	t.Helper()
	rows, err := db.Query(`SELECT seq FROM instance_events WHERE instance_id = ? ORDER BY seq`, inst)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func seqRange(from, to int64) []int64 {
	var out []int64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// TestCompactLogBehindSnapshotsAndRetention: events go once a snapshot covers them and they are older than the
// retention, and only then; an instance's last event stays; the instance rebuilds from its snapshot and the
// events after it as before, and appends on from its last seq.
func TestCompactLogBehindSnapshotsAndRetention(t *testing.T) {
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	l := eventstest.OpenLog(t, db, events.Config{Retention: time.Hour})
	now := time.Now()
	old, young := now.Add(-2*time.Hour), now.Add(-30*time.Minute)

	// covered: 1200 old events (several chunks), a snapshot at 1100, 5 young events after.
	appendAt(t, l, "covered", old, 1200)
	appendAt(t, l, "covered", young, 5)
	if err := l.SaveSnapshot(ctx, "covered", 1100, idAt(t, l, "covered", 1100), []byte("state")); err != nil {
		t.Fatal(err)
	}
	var before []*eventsv1.Event
	if err := l.Load(ctx, "covered", 1100, func(ev *eventsv1.Event) error { before = append(before, ev); return nil }); err != nil {
		t.Fatal(err)
	}
	// uncovered: old events but no snapshot.
	appendAt(t, l, "uncovered", old, 5)
	// all: old events, snapshot at the last one.
	appendAt(t, l, "all", old, 5)
	if err := l.SaveSnapshot(ctx, "all", 5, idAt(t, l, "all", 5), []byte("state")); err != nil {
		t.Fatal(err)
	}
	// young: covered, but within the retention.
	appendAt(t, l, "young", young, 5)
	if err := l.SaveSnapshot(ctx, "young", 5, idAt(t, l, "young", 5), []byte("state")); err != nil {
		t.Fatal(err)
	}

	swept, err := l.Sweep(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if swept.Events != 1100+4 {
		t.Fatalf("swept %d events, want %d", swept.Events, 1100+4)
	}
	for inst, want := range map[string][]int64{
		"covered":   seqRange(1101, 1205),
		"uncovered": seqRange(1, 5),
		"all":       {5},
		"young":     seqRange(1, 5),
	} {
		if got := seqs(t, db.SQL(), inst); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s keeps seqs %v, want %v", inst, compact(got), compact(want))
		}
	}
	var after []*eventsv1.Event
	if err := l.Load(ctx, "covered", 1100, func(ev *eventsv1.Event) error { after = append(after, ev); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) || after[0].Seq != 1101 || after[len(after)-1].Seq != 1205 {
		t.Fatalf("replay after the snapshot: %d events, want the %d of before", len(after), len(before))
	}
	if last, err := l.LastSeq(ctx, "all"); err != nil || last != 5 {
		t.Fatalf("last seq of a compacted instance = %d, %v; want 5", last, err)
	}
	// A second sweep finds nothing more.
	if swept, err := l.Sweep(ctx, now); err != nil || swept.Events != 0 {
		t.Fatalf("second sweep = %+v, %v; want nothing", swept, err)
	}
	if _, err := l.Append(ctx, "all", 5, []*eventsv1.Event{eventstest.Connected("1")}, nil); err != nil {
		t.Fatalf("append after compaction: %v", err)
	}
}

// compact shortens a long seq list for a failure message.
func compact(s []int64) string {
	if len(s) <= 8 {
		return fmt.Sprint(s)
	}
	return fmt.Sprintf("[%d … %d] (%d)", s[0], s[len(s)-1], len(s))
}

// TestSweepKeepsWhatALaggingGroupHasNotRead: stream rows past the retention go only once every consumer group
// has handled them.
func TestSweepKeepsWhatALaggingGroupHasNotRead(t *testing.T) {
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	l := eventstest.OpenLog(t, db, events.Config{Retention: time.Hour})
	appendAt(t, l, "inst", time.Now(), 1800)
	// "fast" has handled everything, "lagging" the first 700; a transient group's offset holds nothing back.
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO watermill_offsets_instance_events VALUES ('fast', 1800), ('lagging', 700),
		('`+events.TransientPrefix+`view', 100)`); err != nil {
		t.Fatal(err)
	}
	// Within the retention nothing goes.
	if swept, err := l.Sweep(ctx, time.Now()); err != nil || swept.Stream != 0 {
		t.Fatalf("sweep within the retention = %+v, %v; want nothing", swept, err)
	}
	later := time.Now().Add(2 * time.Hour)
	swept, err := l.Sweep(ctx, later)
	if err != nil || swept.Stream != 700 {
		t.Fatalf("sweep with a lagging group = %+v, %v; want 700 stream rows", swept, err)
	}
	if first := countRows(t, db.SQL(), `SELECT MIN("offset") FROM watermill_instance_events`); first != 701 {
		t.Fatalf("stream starts at %d, want 701 (the lagging group's next)", first)
	}
	if _, err := db.SQL().ExecContext(ctx, `UPDATE watermill_offsets_instance_events SET offset_acked = 1800 WHERE consumer_group = 'lagging'`); err != nil {
		t.Fatal(err)
	}
	if swept, err := l.Sweep(ctx, later); err != nil || swept.Stream != 1099 {
		t.Fatalf("sweep once the group caught up = %+v, %v; want 1099 (the newest row stays)", swept, err)
	}
}

// TestSweeperEnforcesRetention: the sweeper, left to run, compacts the log and prunes the stream by itself.
func TestSweeperEnforcesRetention(t *testing.T) {
	eventstest.CheckGoroutines(t)
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	l := eventstest.OpenLog(t, db, events.Config{Retention: events.MinRetention})
	appendAt(t, l, "inst", time.Now().Add(-time.Hour), 10)
	if err := l.SaveSnapshot(ctx, "inst", 10, idAt(t, l, "inst", 10), []byte("state")); err != nil {
		t.Fatal(err)
	}
	consume(t, l, events.ConsumerOptions{Group: "g"}, func(context.Context, *sql.Tx, *eventsv1.Event) error { return nil })
	s := l.StartSweeper(eventstest.Logger())
	t.Cleanup(func() { s.Close() })
	eventstest.WaitFor(t, 20*time.Second, "log compacted and stream pruned to their last rows", func() bool {
		return countRows(t, db.SQL(), `SELECT COUNT(*) FROM instance_events`) == 1 &&
			countRows(t, db.SQL(), `SELECT COUNT(*) FROM watermill_instance_events`) == 1
	})
}

func TestRetentionConfig(t *testing.T) {
	if err := (events.Config{}).Validate(); err != nil {
		t.Fatalf("default retention refused: %v", err)
	}
	for _, r := range []time.Duration{-time.Hour, time.Millisecond, events.MinRetention - 1} {
		if err := (events.Config{Retention: r}).Validate(); err == nil {
			t.Errorf("retention %v accepted", r)
		}
	}
	for r, want := range map[time.Duration]time.Duration{
		time.Second: time.Second, 8 * time.Second: 2 * time.Second, time.Hour: 15 * time.Minute,
		events.DefaultRetention: time.Hour,
	} {
		if got := events.SweepInterval(r); got != want {
			t.Errorf("SweepInterval(%v) = %v, want %v", r, got, want)
		}
	}
}

// TestDiskStopsGrowingAfterRetention: once history is swept, the pages it took are reused, so a steady load
// stops growing the database: each round of messages costs no pages once the previous round is swept.
//
// On Postgres the space of deleted rows is reused once (auto)vacuum has marked it free; the test runs the
// VACUUMs autovacuum would, and measures the log's tables and their indexes. Two: an index page emptied by one
// VACUUM is free for reuse only after a later one (nbtree recycles a deleted page once no transaction can
// still be reading it).
func TestDiskStopsGrowingAfterRetention(t *testing.T) {
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	l := eventstest.OpenLog(t, db, events.Config{Retention: time.Hour})
	pages := func() int { return countRows(t, db.SQL(), `PRAGMA page_count`) }
	if db.Dialect() == store.Postgres {
		tables := []string{"instance_events", "instance_snapshots", "watermill_instance_events", "watermill_offsets_instance_events"}
		pages = func() int {
			for range 2 {
				if _, err := db.SQL().ExecContext(ctx, `VACUUM `+strings.Join(tables, ", ")); err != nil {
					t.Fatal(err)
				}
			}
			return countRows(t, db.SQL(), `SELECT CAST(SUM(pg_total_relation_size(c.oid)) / current_setting('block_size')::int AS BIGINT)
				FROM pg_class c WHERE c.relname IN ('`+strings.Join(tables, "', '")+`')`)
		}
	}
	empty := pages()
	var sizes []int
	for round := range 5 {
		appendAt(t, l, "inst", time.Now().Add(-2*time.Hour), 1000)
		last, err := l.LastSeq(ctx, "inst")
		if err != nil {
			t.Fatal(err)
		}
		if err := l.SaveSnapshot(ctx, "inst", last, idAt(t, l, "inst", last), []byte("state")); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO watermill_offsets_instance_events VALUES ('g', ?)
			ON CONFLICT (consumer_group) DO UPDATE SET offset_acked = excluded.offset_acked`, last); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Sweep(ctx, time.Now().Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, pages())
		t.Logf("round %d: %d pages", round, sizes[round])
	}
	// The first rounds size the file; later ones reuse its free pages. On Postgres a round may still grow it a
	// little where a transaction's snapshot kept a VACUUM from freeing some of them (and an index page is
	// reused two VACUUMs after it emptied), so the measure is the last three rounds together, against what one
	// round takes in an empty database: without reuse, each of them would take that much again.
	if perRound, grown := sizes[0]-empty, sizes[4]-sizes[1]; grown >= perRound {
		t.Fatalf("the database grew by %d pages over three swept rounds of 1000 messages, where one round takes %d: %v",
			grown, perRound, sizes)
	}
}

// idAt is the ID of the instance's event at seq, which a snapshot ending there names.
func idAt(t *testing.T, l *events.Log, instanceID string, seq int64) string {
	t.Helper()
	var id string
	if err := l.Load(context.Background(), instanceID, seq-1, func(ev *eventsv1.Event) error {
		if ev.GetSeq() == seq {
			id = ev.GetId()
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return id
}
