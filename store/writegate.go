package store

import (
	"context"
	"database/sql/driver"
	"slices"
	"sync"
	"time"
)

// writeGate admits one write transaction of this process at a time to the database file, in arrival order.
//
// SQLite has one writer. Without the gate, a writer that finds the lock taken (the event log's committer
// behind a consumer group's transaction, or the reverse) is parked by SQLite's busy handler, which sleeps 1,
// 2, 5, 10… ms and retries, in no particular order: under load most of an append's latency was those sleeps.
// Queued here instead, the next writer starts the moment the last one ends, single statements first. Read transactions and the other
// processes on the file (none, normally) are not gated; SQLite's busy handler still covers them. A statement
// run outside a transaction (whatsmeow writes its Signal sessions so, on the send path) passes the gate too:
// ungated, it would lose the lock to a stream of gated transactions, sleeping in the busy handler each time.
type writeGate struct {
	mu   sync.Mutex
	busy bool
	// The writers waiting, each a channel closed when it is admitted: single statements (short, and whatsmeow's
	// are on the send path) and Urgent transactions before the other transactions, each lane in arrival order.
	lanes [2][]chan struct{}
	// wait bounds the queueing: past it the writer goes to SQLite ungated, where the busy timeout decides, so a
	// writer that waits on another writer's transaction while holding its own fails as it would without the
	// gate instead of hanging.
	wait time.Duration
}

const (
	urgentLane = iota // single statements, and the transactions of an Urgent context
	transactionLane
)

type urgentKey struct{}

// Urgent marks the writes made with ctx as urgent: at the write gate they go before the transactions waiting,
// as single statements do. It is for the path of a message on its way to WhatsApp, whose writes (whatsmeow's
// Signal session and identity) hold the message up, while appends and consumer groups can wait a moment.
func Urgent(ctx context.Context) context.Context {
	return context.WithValue(ctx, urgentKey{}, true)
}

// laneOf is the lane of a transaction begun with ctx.
func laneOf(ctx context.Context) int {
	if ctx.Value(urgentKey{}) != nil {
		return urgentLane
	}
	return transactionLane
}

func newWriteGate(wait time.Duration) *writeGate {
	return &writeGate{wait: wait}
}

// enter waits for the gate in the given lane and reports whether it holds it. A nil gate admits everyone.
func (g *writeGate) enter(ctx context.Context, lane int) (bool, error) {
	if g == nil {
		return false, nil
	}
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		return true, nil
	}
	admitted := make(chan struct{})
	g.lanes[lane] = append(g.lanes[lane], admitted)
	g.mu.Unlock()
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case <-admitted:
		return true, nil
	case <-t.C:
		// Admitted meanwhile: then it holds the gate after all.
		return !g.withdraw(lane, admitted), nil
	case <-ctx.Done():
		if !g.withdraw(lane, admitted) {
			g.leave()
		}
		return false, ctx.Err()
	}
}

// withdraw takes a waiter out of its lane; false means it was admitted already.
func (g *writeGate) withdraw(lane int, admitted chan struct{}) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if i := slices.Index(g.lanes[lane], admitted); i >= 0 {
		g.lanes[lane] = slices.Delete(g.lanes[lane], i, i+1)
		return true
	}
	return false
}

// leave hands the gate to the next writer waiting, or opens it.
func (g *writeGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for lane := range g.lanes {
		if q := g.lanes[lane]; len(q) > 0 {
			close(q[0])
			g.lanes[lane] = q[1:]
			return
		}
	}
	g.busy = false
}

// txOf is a transaction of a gated connection: it tells the connection when it ends, and leaves the gate if
// it holds it.
type txOf struct {
	driver.Tx
	conn  *cachingConn
	gated bool
	// readOnly transactions write nothing the unsynced pool's syncer would have to sync.
	readOnly bool
	done     bool
}

func (t *txOf) Commit() error {
	err := t.Tx.Commit()
	if !t.readOnly {
		t.conn.unsynced.wrote()
	}
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
