package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"testing"
	"time"
)

// fakeConn is a driver connection whose transactions and statements do nothing.
type fakeConn struct{}

func (fakeConn) Prepare(string) (driver.Stmt, error) { return fakeStmt{}, nil }
func (fakeConn) Close() error                        { return nil }
func (fakeConn) Begin() (driver.Tx, error)           { return fakeTx{}, nil }

type fakeTx struct{}

func (fakeTx) Commit() error   { return nil }
func (fakeTx) Rollback() error { return nil }

type fakeStmt struct{}

func (fakeStmt) Close() error                               { return nil }
func (fakeStmt) NumInput() int                              { return -1 }
func (fakeStmt) Exec([]driver.Value) (driver.Result, error) { return driver.RowsAffected(0), nil }
func (fakeStmt) Query([]driver.Value) (driver.Rows, error)  { return nil, errors.New("no rows here") }

func gatedConns(wait time.Duration, n int) []*cachingConn {
	g := newWriteGate(wait)
	conns := make([]*cachingConn, n)
	for i := range conns {
		conns[i] = newCachingConn(fakeConn{}, 8)
		conns[i].gate = g
	}
	return conns
}

// blocked reports whether fn is still waiting after a while (a negative check: it cannot fail by slowness).
func blocked(fn func()) (wait func(), stillBlocked bool) {
	done := make(chan struct{})
	go func() { fn(); close(done) }()
	select {
	case <-done:
		return func() {}, false
	case <-time.After(50 * time.Millisecond):
		return func() { <-done }, true
	}
}

// One write of the process at a time — a read-write transaction, or a statement outside any transaction — and
// the next as soon as it ends; read-only transactions and the statements of the open transaction pass by.
func TestWriteGateAdmitsOneWriterAtATime(t *testing.T) {
	ctx := context.Background()
	c := gatedConns(time.Minute, 3)
	first, err := c[0].BeginTx(ctx, driver.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := c[0].PrepareContext(ctx, "UPDATE t SET x = 1")
	if _, err := st.(driver.StmtExecContext).ExecContext(ctx, nil); err != nil {
		t.Fatalf("a statement of the open transaction waited for its own transaction: %v", err)
	}
	if _, err := c[1].BeginTx(ctx, driver.TxOptions{ReadOnly: true}); err != nil {
		t.Fatalf("a reader waited for the writer: %v", err)
	}
	var second driver.Tx
	waitSecond, isBlocked := blocked(func() { second, _ = c[1].BeginTx(ctx, driver.TxOptions{}) })
	if !isBlocked {
		t.Fatal("a second write transaction began while the first was open")
	}
	outside, _ := c[2].PrepareContext(ctx, "UPDATE t SET x = 2")
	waitOutside, isBlocked := blocked(func() { _, _ = outside.(driver.StmtExecContext).ExecContext(ctx, nil) })
	if !isBlocked {
		t.Fatal("a statement outside any transaction ran while a write transaction was open")
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	waitSecond()
	// Ending a transaction twice (a rollback after a failed commit) leaves the gate once.
	_ = second.Rollback()
	_ = second.Rollback()
	waitOutside()
	third, err := c[0].BeginTx(ctx, driver.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, stillBlocked := blocked(func() { _, _ = c[1].BeginTx(ctx, driver.TxOptions{}) }); !stillBlocked {
		t.Fatal("the gate opened for a second writer after the double rollback")
	}
	_ = third.Commit()
}

// A writer that waited its longest goes on ungated (SQLite's busy timeout decides then), and its end does not
// open the gate for the writer that holds it.
func TestWriteGateGivesUpWithoutStealing(t *testing.T) {
	ctx := context.Background()
	c := gatedConns(10*time.Millisecond, 2)
	holder, err := c[0].BeginTx(ctx, driver.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	late, err := c[1].BeginTx(ctx, driver.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if late.(*txOf).gated {
		t.Fatal("the late writer holds the gate the first one holds")
	}
	_ = late.Commit()
	select {
	case c[0].gate.slot <- struct{}{}:
		t.Fatal("the late writer's end opened the gate")
	default:
	}
	_ = holder.Commit()
}
