package store

import (
	"context"
	"database/sql/driver"
	"time"
)

// writeGate admits one write transaction of this process at a time to the database file, in arrival order.
//
// SQLite has one writer. Without the gate, a writer that finds the lock taken (the event log's committer
// behind a consumer group's transaction, or the reverse) is parked by SQLite's busy handler, which sleeps 1,
// 2, 5, 10… ms and retries, in no particular order: under load most of an append's latency was those sleeps.
// Queued here instead, the next writer starts the moment the last one ends. Read transactions and the other
// processes on the file (none, normally) are not gated; SQLite's busy handler still covers them. A statement
// run outside a transaction (whatsmeow writes its Signal sessions so, on the send path) passes the gate too:
// ungated, it would lose the lock to a stream of gated transactions, sleeping in the busy handler each time.
type writeGate struct {
	slot chan struct{}
	// wait bounds the queueing: past it the writer goes to SQLite ungated, where the busy timeout decides, so a
	// writer that waits on another writer's transaction while holding its own fails as it would without the
	// gate instead of hanging.
	wait time.Duration
}

func newWriteGate(wait time.Duration) *writeGate {
	return &writeGate{slot: make(chan struct{}, 1), wait: wait}
}

// enter waits for the gate and reports whether it holds it. A nil gate admits everyone at once.
func (g *writeGate) enter(ctx context.Context) (bool, error) {
	if g == nil {
		return false, nil
	}
	select {
	case g.slot <- struct{}{}:
		return true, nil
	default:
	}
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slot <- struct{}{}:
		return true, nil
	case <-t.C:
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

func (g *writeGate) leave() { <-g.slot }

// txOf is a transaction of a gated connection: it tells the connection when it ends, and leaves the gate if
// it holds it.
type txOf struct {
	driver.Tx
	conn  *cachingConn
	gated bool
	done  bool
}

func (t *txOf) Commit() error {
	err := t.Tx.Commit()
	t.end()
	return err
}

func (t *txOf) Rollback() error {
	err := t.Tx.Rollback()
	t.end()
	return err
}

// end runs once: database/sql ends a transaction once, but a failed Commit may be followed by a Rollback.
func (t *txOf) end() {
	if t.done {
		return
	}
	t.done = true
	t.conn.inTx = false
	if t.gated {
		t.conn.gate.leave()
	}
}
