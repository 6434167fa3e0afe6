package events_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/store/storetest"
)

// received collects what a consumer saw, safely across goroutines.
type received struct {
	mu  sync.Mutex
	evs []*eventsv1.Event
}

func (r *received) add(ev *eventsv1.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
}

func (r *received) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.evs)
}

func (r *received) snapshot() []*eventsv1.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*eventsv1.Event(nil), r.evs...)
}

// consume runs a group of one part whose handler is h.
func consume(t *testing.T, l *events.Log, opts events.ConsumerOptions, h events.Handler) *events.Consumer {
	t.Helper()
	c, err := l.Consume(context.Background(), opts, events.Part{Name: "part", Handle: h})
	if err != nil {
		t.Fatalf("Consume(%s): %v", opts.Group, err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close consumer %s: %v", opts.Group, err)
		}
	})
	return c
}

// checkPerInstanceOrder fails unless, for every instance, the events' seqs are exactly from+1, from+2, … .
func checkPerInstanceOrder(t *testing.T, evs []*eventsv1.Event, from map[string]int64, want map[string]int64) {
	t.Helper()
	next := map[string]int64{}
	for id, f := range from {
		next[id] = f
	}
	for _, ev := range evs {
		next[ev.InstanceId]++
		if ev.Seq != next[ev.InstanceId] {
			t.Fatalf("instance %s: got seq %d, want %d (out of order or duplicate)", ev.InstanceId, ev.Seq, next[ev.InstanceId])
		}
	}
	for id, w := range want {
		if next[id] != w {
			t.Fatalf("instance %s: last seq %d, want %d", id, next[id], w)
		}
	}
}

func TestConsumersGetAllEventsInOrderAndResume(t *testing.T) {
	eventstest.CheckGoroutines(t)
	ctx := context.Background()
	dir := t.TempDir()
	db := eventstest.OpenDB(t, dir)
	// An hour-long poll interval: delivery must come from the append's wake-up, not from polling.
	l := eventstest.OpenLog(t, db, events.Config{PollInterval: time.Hour, BatchSize: 7})

	var a, b received
	ca := consume(t, l, events.ConsumerOptions{Group: "a"}, func(_ context.Context, _ *sql.Tx, ev *eventsv1.Event) error {
		a.add(ev)
		return nil
	})
	consume(t, l, events.ConsumerOptions{Group: "b"}, func(_ context.Context, _ *sql.Tx, ev *eventsv1.Event) error {
		b.add(ev)
		return nil
	})

	// Five instances appending concurrently, each in its own order.
	const instances, perInstance = 5, 40
	var wg sync.WaitGroup
	for i := range instances {
		id := fmt.Sprint("inst", i)
		wg.Go(func() {
			for n := range perInstance {
				last := int64(n)
				// Alternate single and double appends.
				evs := []*eventsv1.Event{eventstest.Queued(fmt.Sprint(id, "z", n), fmt.Sprint(id, "m", n), "1")}
				if _, err := l.Append(ctx, id, last, evs, nil); err != nil {
					t.Errorf("append %s: %v", id, err)
					return
				}
			}
		})
	}
	wg.Wait()
	want := map[string]int64{}
	for i := range instances {
		want[fmt.Sprint("inst", i)] = perInstance
	}
	total := instances * perInstance
	eventstest.WaitFor(t, 10*time.Second, "both groups got every event", func() bool {
		return a.len() == total && b.len() == total
	})
	checkPerInstanceOrder(t, a.snapshot(), nil, want)
	checkPerInstanceOrder(t, b.snapshot(), nil, want)

	// Group a restarts: it resumes after its committed offset, and sees only what came later.
	if err := ca.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range instances {
		eventstest.Append(t, l, fmt.Sprint("inst", i), eventstest.Connected("1"), eventstest.Connected("2"))
	}
	var a2 received
	consume(t, l, events.ConsumerOptions{Group: "a"}, func(_ context.Context, _ *sql.Tx, ev *eventsv1.Event) error {
		a2.add(ev)
		return nil
	})
	eventstest.WaitFor(t, 10*time.Second, "restarted group got the new events", func() bool { return a2.len() == 2*instances })
	from, want2 := map[string]int64{}, map[string]int64{}
	for i := range instances {
		from[fmt.Sprint("inst", i)] = perInstance
		want2[fmt.Sprint("inst", i)] = perInstance + 2
	}
	checkPerInstanceOrder(t, a2.snapshot(), from, want2)
	eventstest.WaitFor(t, 10*time.Second, "group b got the new events too", func() bool { return b.len() == total+2*instances })

	_, groups, err := l.Lag(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eventstest.WaitFor(t, 10*time.Second, "lag drops to zero", func() bool {
		_, groups, err = l.Lag(ctx)
		return err == nil && len(groups) == 2 && groups[0].Lag == 0 && groups[1].Lag == 0
	})
	if groups[0].Group != "a" || groups[1].Group != "b" {
		t.Fatalf("groups = %+v", groups)
	}
}

func TestConsumerStartAtEnd(t *testing.T) {
	l := eventstest.OpenLog(t, eventstest.OpenDB(t, ""), events.Config{})
	eventstest.Append(t, l, "old", eventstest.Connected("1"), eventstest.Connected("1"))
	var r received
	consume(t, l, events.ConsumerOptions{Group: "live", StartAtEnd: true}, func(_ context.Context, _ *sql.Tx, ev *eventsv1.Event) error {
		r.add(ev)
		return nil
	})
	eventstest.Append(t, l, "new", eventstest.Connected("1"))
	eventstest.WaitFor(t, 5*time.Second, "the new event", func() bool { return r.len() == 1 })
	if got := r.snapshot()[0]; got.InstanceId != "new" {
		t.Fatalf("first event from %s, want only events after the start", got.InstanceId)
	}
}

// TestHandlerErrorRetriesBatch: a failing handler rolls back its batch (its projection writes and the offset)
// and the batch is retried; the projection ends with every event exactly once, in order.
func TestHandlerErrorRetriesBatch(t *testing.T) {
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	l := eventstest.OpenLog(t, db, events.Config{BatchSize: 10, RetryMax: 20 * time.Millisecond})
	// n numbers the rows in insertion order.
	n := `n INTEGER PRIMARY KEY`
	if db.Dialect() == store.Postgres {
		n = `n BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY`
	}
	if _, err := db.SQL().Exec(`CREATE TABLE proj (` + n + `, instance_id TEXT, seq INTEGER)`); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	failuresLeft := 3
	var calls int
	consume(t, l, events.ConsumerOptions{Group: "proj"}, func(ctx context.Context, tx *sql.Tx, ev *eventsv1.Event) error {
		mu.Lock()
		calls++
		fail := ev.Seq == 5 && failuresLeft > 0
		if fail {
			failuresLeft--
		}
		mu.Unlock()
		if _, err := tx.ExecContext(ctx, `INSERT INTO proj (instance_id, seq) VALUES (?, ?)`, ev.InstanceId, ev.Seq); err != nil {
			return err
		}
		if fail {
			return errors.New("transient failure")
		}
		return nil
	})
	evs := make([]*eventsv1.Event, 8)
	for i := range evs {
		evs[i] = eventstest.Connected("1")
	}
	if _, err := l.Append(ctx, "inst", 0, evs, nil); err != nil {
		t.Fatal(err)
	}
	eventstest.WaitFor(t, 10*time.Second, "projection complete", func() bool {
		return countRows(t, db.SQL(), `SELECT COUNT(*) FROM proj`) == 8
	})
	rows, err := db.SQL().Query(`SELECT seq FROM proj ORDER BY n`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var want int64 = 1
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			t.Fatal(err)
		}
		if seq != want {
			t.Fatalf("projection row seq %d, want %d", seq, want)
		}
		want++
	}
	mu.Lock()
	defer mu.Unlock()
	if failuresLeft != 0 || calls != 8+3*5 {
		t.Fatalf("calls = %d (failures left %d), want 8 + 3 retried prefixes of 5", calls, failuresLeft)
	}
}

func TestConsumerSkipsUndecodableEvents(t *testing.T) {
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	l := eventstest.OpenLog(t, db, events.Config{})
	eventstest.Append(t, l, "inst", eventstest.Connected("1"))
	// A row no binary could decode (as if written by a broken or future writer).
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO watermill_instance_events (uuid, payload, metadata, created_ms)
		VALUES ('garbage', ?, '{}', 0)`, []byte{0xff, 0xff, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	eventstest.Append(t, l, "inst", eventstest.Connected("2"))
	var r received
	consume(t, l, events.ConsumerOptions{Group: "g"}, func(_ context.Context, _ *sql.Tx, ev *eventsv1.Event) error {
		r.add(ev)
		return nil
	})
	eventstest.WaitFor(t, 5*time.Second, "both good events", func() bool { return r.len() == 2 })
	checkPerInstanceOrder(t, r.snapshot(), nil, map[string]int64{"inst": 2})
}

func TestPruneStream(t *testing.T) {
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	l := eventstest.OpenLog(t, db, events.Config{})
	for range 5 {
		eventstest.Append(t, l, "inst", eventstest.Connected("1"))
	}
	var r received
	c := consume(t, l, events.ConsumerOptions{Group: "g"}, func(_ context.Context, _ *sql.Tx, ev *eventsv1.Event) error {
		r.add(ev)
		return nil
	})
	eventstest.WaitFor(t, 5*time.Second, "all consumed", func() bool { return r.len() == 5 })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// A second group that has read nothing holds everything back.
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO watermill_offsets_instance_events VALUES ('slow', 2)`); err != nil {
		t.Fatal(err)
	}
	n, err := l.PruneStream(ctx, time.Now().Add(time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("PruneStream with a slow group = %d, %v; want 2", n, err)
	}
	if err := l.DropGroup(ctx, "slow"); err != nil {
		t.Fatal(err)
	}
	n, err = l.PruneStream(ctx, time.Now().Add(time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("PruneStream = %d, %v; want 2 (the newest row stays)", n, err)
	}
	latest, _, err := l.Lag(ctx)
	if err != nil || latest != 5 {
		t.Fatalf("latest offset after pruning = %d, %v", latest, err)
	}
	// The log is untouched, and offsets keep counting from where they were.
	if n := countRows(t, db.SQL(), `SELECT COUNT(*) FROM instance_events`); n != 5 {
		t.Fatalf("event log has %d events after pruning the stream", n)
	}
	eventstest.Append(t, l, "inst", eventstest.Connected("1"))
	if latest, _, _ := l.Lag(ctx); latest != 6 {
		t.Fatalf("offset after pruning = %d, want 6", latest)
	}
}

// The crash test runs a consumer in a child process (this test binary, re-executed) that exits in the middle
// of a batch, after its handler wrote to the projection but before the batch committed. The restarted consumer
// must leave the projection with every event exactly once.

const crashEnvDir, crashEnvURL, crashEnvAfter = "PLUGZAPI_TEST_CRASH_DIR", "PLUGZAPI_TEST_CRASH_DATABASE_URL", "PLUGZAPI_TEST_CRASH_AFTER"

func TestProjectionExactlyOnceAcrossCrash(t *testing.T) {
	if dir := os.Getenv(crashEnvDir); dir != "" {
		crashingConsumer(t, dir)
		return
	}
	dir := t.TempDir()
	const total, batch, crashAfter = 60, 10, 25

	// The child must open this database, not a fresh one of its own (on Postgres, storetest gives each
	// process's data directory a new database).
	cfg := storetest.Config(t, store.Config{Dir: dir})
	db := storetest.Open(t, cfg)
	l := eventstest.OpenLog(t, db, events.Config{BatchSize: batch})
	if _, err := db.SQL().Exec(`CREATE TABLE proj (event_id TEXT NOT NULL, seq INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i := range total {
		eventstest.Append(t, l, fmt.Sprint("inst", i%3), eventstest.Connected("1"))
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestProjectionExactlyOnceAcrossCrash$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnvDir+"="+dir, crashEnvURL+"="+cfg.DatabaseURL, crashEnvAfter+"="+strconv.Itoa(crashAfter))
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
		t.Fatalf("child did not crash as planned: %v\n%s", err, out)
	}
	handled := -1
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "handled="); ok {
			handled, _ = strconv.Atoi(v)
		}
	}
	committed := countRows(t, db.SQL(), `SELECT COUNT(*) FROM proj`)
	// The child handled crashAfter events; only whole batches before the crash committed.
	if handled != crashAfter || committed != (crashAfter/batch)*batch {
		t.Fatalf("child handled %d, projection has %d rows: want %d handled and %d committed", handled, committed, crashAfter, (crashAfter/batch)*batch)
	}

	consume(t, l, events.ConsumerOptions{Group: "proj"}, func(ctx context.Context, tx *sql.Tx, ev *eventsv1.Event) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO proj VALUES (?, ?)`, ev.Id, ev.Seq)
		return err
	})
	eventstest.WaitFor(t, 10*time.Second, "projection complete", func() bool {
		return countRows(t, db.SQL(), `SELECT COUNT(*) FROM proj`) >= total
	})
	if n := countRows(t, db.SQL(), `SELECT COUNT(DISTINCT event_id) FROM proj`); n != total {
		t.Fatalf("%d distinct events projected, want %d", n, total)
	}
	if n := countRows(t, db.SQL(), `SELECT COUNT(*) FROM proj`); n != total {
		t.Fatalf("%d projection rows for %d events: some event was applied twice", n, total)
	}
}

func crashingConsumer(t *testing.T, dir string) {
	crashAfter, _ := strconv.Atoi(os.Getenv(crashEnvAfter))
	db := storetest.Open(t, store.Config{Dir: dir, DatabaseURL: os.Getenv(crashEnvURL)})
	// The group commits unsynced, as the server's do: a process crash must not lose a committed batch either.
	l := eventstest.OpenLog(t, db, events.Config{BatchSize: 10, ConsumerDB: db.Unsynced()})
	handled := 0
	c, err := l.Consume(context.Background(), events.ConsumerOptions{Group: "proj"}, events.Part{Name: "part", Handle: func(ctx context.Context, tx *sql.Tx, ev *eventsv1.Event) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO proj VALUES (?, ?)`, ev.Id, ev.Seq); err != nil {
			return err
		}
		handled++
		if handled == crashAfter {
			fmt.Printf("handled=%d\n", handled)
			// Die the way a killed process does: no deferred functions, no commit.
			os.Exit(3)
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The handler exits the process; reaching the end of this wait means it never did.
	<-time.After(30 * time.Second)
	t.Fatal("child never reached the crash point")
}
