package events_test

import (
	"context"
	"database/sql"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
)

// TestConsumerRunsOnConsumerDB: with Config.ConsumerDB set, a group's transactions run on that pool (here the
// store's replayable one, whose commits are not synced), and what they commit is the database's like any
// other write.
func TestConsumerRunsOnConsumerDB(t *testing.T) {
	db := eventstest.OpenDB(t, "")
	l := eventstest.OpenLog(t, db, events.Config{ConsumerDB: db.Unsynced()})
	if _, err := db.SQL().Exec(`CREATE TABLE proj (event_id TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	// The replayable pool's sessions: synchronous=NORMAL (1) on SQLite, synchronous_commit=off on Postgres.
	query, want := `PRAGMA synchronous`, "1"
	if db.Dialect() == store.Postgres {
		query, want = `SHOW synchronous_commit`, "off"
	}
	var wrongPool atomic.Int32
	consume(t, l, events.ConsumerOptions{Group: "g"}, func(ctx context.Context, tx *sql.Tx, ev *eventsv1.Event) error {
		var sync string
		if err := tx.QueryRowContext(ctx, query).Scan(&sync); err != nil {
			return err
		}
		if sync != want {
			wrongPool.Add(1)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO proj VALUES (?)`, ev.Id)
		return err
	})
	for range 5 {
		eventstest.Append(t, l, "inst", eventstest.Connected("1"))
	}
	eventstest.WaitFor(t, 10*time.Second, "all projected", func() bool {
		return countRows(t, db.SQL(), `SELECT COUNT(*) FROM proj`) == 5
	})
	if n := wrongPool.Load(); n > 0 {
		t.Fatalf("%d events handled in a transaction with synced commits, want the consumer pool's", n)
	}
}
