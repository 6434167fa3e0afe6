package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/store/pgtest"
)

// BenchmarkRetentionDisk: the database's live bytes per sent message once the event retention
// (PLUGZAPI_RETENTION) has passed, with a short retention. The live bytes (see measureDatabase) are measured
// with the server stopped gracefully: once after linking, once after sending and waiting out the retention;
// each measure comes after the retention and a few sweeps, so that what linking wrote has been compacted in
// both. It also reports the rows left in the event log (event-rows) and in its stream (stream-rows).
func BenchmarkRetentionDisk(b *testing.B) {
	for range b.N {
		benchRetentionDisk(b, 500, 2*time.Second)
	}
}

func benchRetentionDisk(b *testing.B, messages int, retention time.Duration) {
	sim := startSimulator(b)
	hooks := newReceiver(b)
	srv := startServer(b, sim, withEnv("PLUGZAPI_RETENTION", retention.String()))
	business := addAccount(b, sim, "5511980000001", "Business")
	contact := addAccount(b, sim, "5511980000002", "Contact")
	in := createInstance(b, srv, "retention", hooks)
	link(b, in, business)
	time.Sleep(pastRetention(retention))
	srv.stop()
	before := measureDatabase(b, srv)

	srv.start()
	waitConnected(b, in)
	sent := make(map[string]bool, messages)
	for i := range messages {
		sent[sendText(b, in, contact.Phone(), fmt.Sprintf("message %d of the benchmark", i))] = true
	}
	eventually(b, 10*time.Minute, "every message received", func() error {
		seen := map[string]bool{}
		for _, h := range hooks.hooks() {
			if h.Type == "MessageStatusCallback" && h.str("status") == "RECEIVED" {
				for _, id := range h.ids() {
					if sent[id] {
						seen[id] = true
					}
				}
			}
		}
		if len(seen) < messages {
			return fmt.Errorf("%d of %d", len(seen), messages)
		}
		return nil
	})
	time.Sleep(pastRetention(retention))
	srv.stop()
	after := measureDatabase(b, srv)

	b.ReportMetric(float64(after.liveBytes-before.liveBytes)/float64(messages), "bytes/msg")
	b.ReportMetric(float64(after.eventRows), "event-rows")
	b.ReportMetric(float64(after.streamRows), "stream-rows")
}

// pastRetention is how long to wait for the retention to have passed and the sweep, which runs every quarter
// of the retention (at least every second, at most every hour), to have run twice since.
func pastRetention(retention time.Duration) time.Duration {
	sweep := min(max(retention/4, time.Second), time.Hour)
	return retention + 3*sweep
}

// databaseMeasure is what the server's database holds.
type databaseMeasure struct {
	liveBytes             int64 // the bytes in use (see measureDatabase)
	eventRows, streamRows int64 // rows of instance_events and watermill_instance_events
}

// measureDatabase measures the stopped server's database. On SQLite its live bytes are the pages in use,
// (page_count − freelist_count) × page_size; on Postgres, the tables' and indexes' sizes after VACUUM FULL has
// rewritten them without their dead rows and free space.
func measureDatabase(b *testing.B, srv *server) databaseMeasure {
	b.Helper()
	db := srv.database(b)
	ctx := context.Background()
	scan := func(query string, into *int64) {
		b.Helper()
		if err := db.QueryRowContext(ctx, query).Scan(into); err != nil {
			b.Fatalf("%s: %v", query, err)
		}
	}
	var m databaseMeasure
	scan("SELECT COUNT(*) FROM instance_events", &m.eventRows)
	scan("SELECT COUNT(*) FROM watermill_instance_events", &m.streamRows)
	if pgtest.Enabled() {
		if _, err := db.ExecContext(ctx, "VACUUM FULL"); err != nil {
			b.Fatalf("VACUUM FULL: %v", err)
		}
		scan(`SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'`, &m.liveBytes)
		return m
	}
	var pages, free, pageSize int64
	scan("PRAGMA page_count", &pages)
	scan("PRAGMA freelist_count", &free)
	scan("PRAGMA page_size", &pageSize)
	m.liveBytes = (pages - free) * pageSize
	return m
}
