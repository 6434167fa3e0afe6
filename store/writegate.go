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
// processes on the file (none, normally) are not gated; SQLite's busy handler still covers them.
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

// enter waits for the gate and reports whether it holds it.
func (g *writeGate) enter(ctx context.Context) (bool, error) {
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

// begin starts a transaction through the gate: a read-only one at once, a read-write one when the gate admits it.
func (g *writeGate) begin(ctx context.Context, opts driver.TxOptions, begin func() (driver.Tx, error)) (driver.Tx, error) {
	if g == nil || opts.ReadOnly {
		return begin()
	}
	held, err := g.enter(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := begin()
	if err != nil || !held {
		if held {
			g.leave()
		}
		return tx, err
	}
	return &gatedTx{Tx: tx, gate: g}, nil
}

// gatedTx leaves the gate when the transaction ends.
type gatedTx struct {
	driver.Tx
	gate *writeGate
	done bool
}

func (t *gatedTx) Commit() error {
	err := t.Tx.Commit()
	t.end()
	return err
}

func (t *gatedTx) Rollback() error {
	err := t.Tx.Rollback()
	t.end()
	return err
}

// end leaves the gate once: database/sql ends a transaction once, but a failed Commit may be followed by nothing.
func (t *gatedTx) end() {
	if !t.done {
		t.done = true
		t.gate.leave()
	}
}
