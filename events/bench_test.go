package events_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/store/storetest"
)

// BenchmarkAppend measures appends of one MessageQueued event (log insert + stream insert + commit) on a real
// database with the store's settings (a file, or Postgres with PLUGZAPI_TEST_DATABASE=postgres), synchronous
// FULL (the default) and NORMAL: one instance appending serially,
// and 32 instances appending concurrently (their appends share commits). It reports appends/s and the append
// latency percentiles.
//
//	go test -run='^$' -bench=BenchmarkAppend -benchtime=4000x ./events/
func BenchmarkAppend(b *testing.B) {
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run("sync="+sync+"/one-instance", func(b *testing.B) {
			benchAppend(b, sync, 1)
		})
		b.Run("sync="+sync+"/32-instances", func(b *testing.B) {
			benchAppend(b, sync, 32)
		})
	}
}

func benchAppend(b *testing.B, syncMode string, writers int) {
	// On the run's dialect: Postgres maps NORMAL to synchronous_commit=off.
	db := storetest.Open(b, store.Config{Synchronous: syncMode})
	l := eventstest.OpenLog(b, db, events.Config{})
	ctx := context.Background()
	ev := []*eventsv1.Event{eventstest.Queued("z", "m", "5511999990000")}
	latencies := make([][]time.Duration, writers)
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range writers {
		n := b.N / writers
		if w < b.N%writers {
			n++
		}
		wg.Go(func() {
			id := fmt.Sprint("inst", w)
			lat := make([]time.Duration, 0, n)
			for seq := range n {
				start := time.Now()
				if _, err := l.Append(ctx, id, int64(seq), ev, nil); err != nil {
					b.Error(err)
					return
				}
				lat = append(lat, time.Since(start))
			}
			latencies[w] = lat
		})
	}
	wg.Wait()
	b.StopTimer()
	all := slices.Concat(latencies...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	b.ReportMetric(float64(len(all))/b.Elapsed().Seconds(), "appends/s")
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkConsume measures how fast a consumer group works through a backlog: b.N events (of 32 instances)
// are appended first, then the clock runs from the group's start until it has committed past the last one.
// The handler writes one row per event in the group's transaction, as the projections do. What is measured is
// the subscriber's machinery (select, decode, offset commit, one commit per batch) and the commits' fsyncs.
//
//	go test -run='^$' -bench=BenchmarkConsume -benchtime=5000x -count=6 ./events/
func BenchmarkConsume(b *testing.B) {
	db := eventstest.OpenDB(b, "")
	// As the server runs its groups: on the pool whose commits are not synced.
	l := eventstest.OpenLog(b, db, events.Config{ConsumerDB: db.Unsynced()})
	ctx := context.Background()
	if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE bench_seen (instance_id TEXT PRIMARY KEY, seq BIGINT NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	const instances = 32
	seqs := make([]int64, instances)
	for i := 0; i < b.N; {
		w := i % instances
		n := min(b.N-i, 50)
		evs := make([]*eventsv1.Event, n)
		for j := range evs {
			evs[j] = eventstest.Queued("z", "m", "5511999990000")
		}
		if _, err := l.Append(ctx, fmt.Sprint("inst", w), seqs[w], evs, nil); err != nil {
			b.Fatal(err)
		}
		seqs[w] += int64(n)
		i += n
	}
	latest, _, err := l.Lag(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	c, err := l.Consume(ctx, events.ConsumerOptions{Group: "bench"}, events.Part{Name: "seen", Handle: func(ctx context.Context, tx *sql.Tx, ev *eventsv1.Event) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO bench_seen (instance_id, seq) VALUES (?, ?)
			ON CONFLICT (instance_id) DO UPDATE SET seq = excluded.seq`, ev.InstanceId, ev.Seq)
		return err
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	eventstest.WaitForGroups(b, l, latest)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
