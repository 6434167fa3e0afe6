package events_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/store/pgtest"
)

// The tests in this file run two nodes: two Logs on one database, each through a store (connection pools) of
// its own, as the nodes of a cluster share one Postgres database. On SQLite the two stores share the file, as
// two processes would.

// openNodes opens two nodes' logs on one fresh database, and returns the first node's store too.
func openNodes(t *testing.T, cfg events.Config) (a, b *events.Log, db *store.DB) {
	t.Helper()
	dir := t.TempDir()
	db = eventstest.OpenDB(t, dir)
	a = eventstest.OpenLog(t, db, cfg)
	b = eventstest.OpenLog(t, eventstest.OpenDB(t, dir), cfg)
	return a, b, db
}

// appendFromNodes appends perInstance events, one append at a time, to each of instances instances per node,
// all concurrently, and returns the last seq each instance should reach. inTx, when set, runs in every append.
func appendFromNodes(t *testing.T, nodes []*events.Log, instances, perInstance int, inTx func(*sql.Tx) error) map[string]int64 {
	t.Helper()
	want := map[string]int64{}
	var wg sync.WaitGroup
	for n, l := range nodes {
		for i := range instances {
			id := fmt.Sprintf("node%d-inst%d", n, i)
			want[id] = int64(perInstance)
			wg.Go(func() {
				for seq := range perInstance {
					if _, err := l.Append(context.Background(), id, int64(seq), []*eventsv1.Event{eventstest.Connected("1")}, inTx); err != nil {
						t.Errorf("append to %s: %v", id, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return want
}

// waitCaughtUp waits until every consumer group has committed past the stream's latest offset: what a group
// has not handled by then it has skipped.
func waitCaughtUp(t *testing.T, l *events.Log) {
	t.Helper()
	eventstest.WaitFor(t, 20*time.Second, "every group committed past the latest offset", func() bool {
		latest, groups, err := l.Lag(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups {
			if g.Acked < latest {
				return false
			}
		}
		return len(groups) > 0
	})
}

// TestStreamOffsetsInCommitOrderAcrossNodes: two nodes append concurrently while a consumer group reads; the
// group sees every event exactly once, in per-instance order, none skipped. On Postgres this holds only if
// the nodes' transactions commit stream offsets in offset order (events.lockStream): the appends here hold
// their transactions open after taking their offsets (a slow inTx), so without that lock one node commits
// higher offsets while the other's lower ones are still invisible, the group acknowledges past them, and
// never reads them.
func TestStreamOffsetsInCommitOrderAcrossNodes(t *testing.T) {
	eventstest.CheckGoroutines(t)
	a, b, _ := openNodes(t, events.Config{PollInterval: 20 * time.Millisecond, Gather: -1})
	var r received
	consume(t, a, events.ConsumerOptions{Group: "g"}, func(_ context.Context, _ *sql.Tx, ev *eventsv1.Event) error {
		r.add(ev)
		return nil
	})
	slow := func(*sql.Tx) error {
		time.Sleep(time.Duration(rand.IntN(1500)) * time.Microsecond)
		return nil
	}
	want := appendFromNodes(t, []*events.Log{a, b}, 3, 40, slow)
	waitCaughtUp(t, a)
	got := r.snapshot()
	if total := 2 * 3 * 40; len(got) != total {
		t.Errorf("the group handled %d events of %d: it skipped some", len(got), total)
	}
	checkPerInstanceOrder(t, got, nil, want)
}

// TestConsumerGroupAcrossNodes: one group with a member on each of two nodes handles every event once, in
// per-instance order: the members never read the same batch. On Postgres that takes the lock on the group's
// offset row (events.StreamOffsets.NextOffsetQuery); without it both members read and commit the same batch.
func TestConsumerGroupAcrossNodes(t *testing.T) {
	eventstest.CheckGoroutines(t)
	a, b, _ := openNodes(t, events.Config{PollInterval: 20 * time.Millisecond, Gather: -1, BatchSize: 5})
	var r received
	handle := func(_ context.Context, _ *sql.Tx, ev *eventsv1.Event) error {
		r.add(ev)
		// Long enough that the other member polls while this one holds its batch.
		time.Sleep(time.Millisecond)
		return nil
	}
	consume(t, a, events.ConsumerOptions{Group: "g"}, handle)
	consume(t, b, events.ConsumerOptions{Group: "g"}, handle)
	want := appendFromNodes(t, []*events.Log{a, b}, 3, 30, nil)
	waitCaughtUp(t, a)
	got := r.snapshot()
	if total := 2 * 3 * 30; len(got) != total {
		t.Errorf("the group handled %d events, want each of %d once", len(got), total)
	}
	checkPerInstanceOrder(t, got, nil, want)
}

// TestAppendConcurrencyAcrossNodes: two nodes appending to one instance, each after the last seq it read,
// never overwrite each other: a lost race is ErrConcurrency (nothing written), and the instance's events end
// up numbered 1…n without a gap or a duplicate.
func TestAppendConcurrencyAcrossNodes(t *testing.T) {
	ctx := context.Background()
	a, b, _ := openNodes(t, events.Config{})
	const perNode = 25
	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts := 0
	for _, l := range []*events.Log{a, b} {
		wg.Go(func() {
			for done := 0; done < perNode; {
				last, err := l.LastSeq(ctx, "inst")
				if err != nil {
					t.Error(err)
					return
				}
				_, err = l.Append(ctx, "inst", last, []*eventsv1.Event{eventstest.Connected("1")}, nil)
				switch {
				case errors.Is(err, events.ErrConcurrency):
					mu.Lock()
					conflicts++
					mu.Unlock()
				case err != nil:
					t.Errorf("append after seq %d: %v", last, err)
					return
				default:
					done++
				}
			}
		})
	}
	wg.Wait()
	var seqs []int64
	if err := a.Load(ctx, "inst", 0, func(ev *eventsv1.Event) error {
		seqs = append(seqs, ev.Seq)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i, seq := range seqs {
		if seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, seq)
		}
	}
	if len(seqs) != 2*perNode {
		t.Fatalf("%d events in the log, want %d", len(seqs), 2*perNode)
	}
	t.Logf("%d lost races", conflicts)
}

// TestOtherNodesAppendsWakeConsumers: a consumer on one node handles what another node appends without
// waiting for its poll interval. On Postgres the appending node's commit notifies the others' listeners
// (LISTEN/NOTIFY), so the interval here is an hour; on SQLite nodes do not signal each other and polling is
// the way, so there it is short.
func TestOtherNodesAppendsWakeConsumers(t *testing.T) {
	eventstest.CheckGoroutines(t)
	poll := 50 * time.Millisecond
	if pgtest.Enabled() {
		poll = time.Hour
	}
	a, b, _ := openNodes(t, events.Config{PollInterval: poll})
	var r received
	consume(t, b, events.ConsumerOptions{Group: "g"}, func(_ context.Context, _ *sql.Tx, ev *eventsv1.Event) error {
		r.add(ev)
		return nil
	})
	for n := range 3 {
		eventstest.Append(t, a, "inst", eventstest.Connected("1"))
		eventstest.WaitFor(t, 5*time.Second, "node b's consumer handled node a's append", func() bool { return r.len() == n+1 })
	}
}

// TestStalledNodeDoesNotHoldUpOthers: a node that stops in the middle of an append (here its inTx blocks, as a
// paused process would) holds the lock every node's appends take (Postgres) or the file's write lock (SQLite).
// On Postgres the server ends the stalled transaction after the StallTimeout: the other node's append goes
// through while the first is still stopped, and the stopped one fails once it resumes. On SQLite, which runs
// one node, the other writer waits for it to resume.
func TestStalledNodeDoesNotHoldUpOthers(t *testing.T) {
	ctx := context.Background()
	a, b, _ := openNodes(t, events.Config{StallTimeout: 300 * time.Millisecond})
	stalled, resume := make(chan struct{}), make(chan struct{})
	// Before the logs close (cleanups run last registered first), whichever way the test ends.
	resumeA := sync.OnceFunc(func() { close(resume) })
	t.Cleanup(resumeA)
	aDone := make(chan error, 1)
	go func() {
		_, err := a.Append(ctx, "a", 0, []*eventsv1.Event{eventstest.Connected("1")}, func(*sql.Tx) error {
			close(stalled)
			<-resume
			return nil
		})
		aDone <- err
	}()
	<-stalled
	bDone := make(chan error, 1)
	go func() {
		_, err := b.Append(ctx, "b", 0, []*eventsv1.Event{eventstest.Connected("1")}, nil)
		bDone <- err
	}()
	if !pgtest.Enabled() {
		select {
		case err := <-bDone:
			t.Fatalf("node b appended (%v) while node a held SQLite's write lock", err)
		case <-time.After(500 * time.Millisecond):
		}
		resumeA()
		if err := <-aDone; err != nil {
			t.Fatalf("node a's append after it resumed: %v", err)
		}
		if err := <-bDone; err != nil {
			t.Fatalf("node b's append once node a resumed: %v", err)
		}
		return
	}
	select {
	case err := <-bDone:
		if err != nil {
			t.Fatalf("node b's append: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("node b's append waited for the stalled node a")
	}
	resumeA()
	if err := <-aDone; err == nil {
		t.Fatal("node a's stalled append committed after the server ended its transaction")
	}
	// Node a goes on: its next append, on a fresh connection, commits.
	if _, err := a.Append(ctx, "a", 0, []*eventsv1.Event{eventstest.Connected("1")}, nil); err != nil {
		t.Fatalf("node a's next append: %v", err)
	}
}

// TestStalledMemberDoesNotHoldUpItsGroup: a group's member that stops while it holds a batch (its first handler
// call blocks, as a paused node would) holds the group. On Postgres the server ends its transaction after the
// StallTimeout, and the member on the other node handles the whole backlog while the first is still stopped;
// the stopped member's batch is rolled back, so the projection has every event once. On SQLite the other
// member waits for it to resume.
func TestStalledMemberDoesNotHoldUpItsGroup(t *testing.T) {
	ctx := context.Background()
	a, b, db := openNodes(t, events.Config{StallTimeout: 300 * time.Millisecond, PollInterval: 20 * time.Millisecond})
	if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE proj (event_id TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const total = 5
	for range total {
		eventstest.Append(t, a, "inst", eventstest.Connected("1"))
	}
	stalled, resume := make(chan struct{}), make(chan struct{})
	resumeStalled := sync.OnceFunc(func() { close(resume) })
	// Deferred, not a cleanup: it must run before the consumers' cleanups, which wait for the stalled handler.
	defer resumeStalled()
	var stalling atomic.Bool // (a sync.Once would block the other member's calls too)
	var mu sync.Mutex
	handledBy := map[string]int{}
	member := func(node string) events.Handler {
		return func(ctx context.Context, tx *sql.Tx, ev *eventsv1.Event) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO proj VALUES (?)`, ev.Id); err != nil {
				return err
			}
			if stalling.CompareAndSwap(false, true) {
				close(stalled)
				<-resume
			}
			mu.Lock()
			handledBy[node]++
			mu.Unlock()
			return nil
		}
	}
	// Both members start at once; either may be the one that stalls. (Started from goroutines: on SQLite a
	// member's start waits for the write lock the stalled one holds.)
	var started sync.WaitGroup
	for _, n := range []struct {
		name string
		l    *events.Log
	}{{"a", a}, {"b", b}} {
		started.Go(func() { consume(t, n.l, events.ConsumerOptions{Group: "g"}, member(n.name)) })
	}
	<-stalled
	rows := func() int { return countRows(t, db.SQL(), `SELECT COUNT(*) FROM proj`) }
	if pgtest.Enabled() {
		eventstest.WaitFor(t, 10*time.Second, "the other member handled the backlog", func() bool { return rows() == total })
	} else {
		time.Sleep(300 * time.Millisecond) // what could go wrong here is something happening: give it the time
		mu.Lock()
		n := handledBy["a"] + handledBy["b"]
		mu.Unlock()
		if n != 0 {
			t.Fatalf("%d events handled while a member held SQLite's write lock", n)
		}
	}
	resumeStalled()
	started.Wait()
	waitCaughtUp(t, a)
	if n, distinct := rows(), countRows(t, db.SQL(), `SELECT COUNT(DISTINCT event_id) FROM proj`); n != total || distinct != total {
		t.Fatalf("projection has %d rows of %d distinct events, want each of %d once", n, distinct, total)
	}
	t.Logf("handled by member: %v", handledBy)
}
