package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeConn is a driver connection whose transactions and statements do nothing but tell note they began (a
// statement by its text).
type fakeConn struct{ note func(string) }

func (c fakeConn) Prepare(query string) (driver.Stmt, error) { return fakeStmt{c.note, query}, nil }
func (fakeConn) Close() error                                { return nil }
func (c fakeConn) Begin() (driver.Tx, error) {
	c.note("transaction")
	return fakeTx{}, nil
}

type fakeTx struct{}

func (fakeTx) Commit() error   { return nil }
func (fakeTx) Rollback() error { return nil }

type fakeStmt struct {
	note  func(string)
	query string
}

func (fakeStmt) Close() error  { return nil }
func (fakeStmt) NumInput() int { return -1 }
func (s fakeStmt) Exec([]driver.Value) (driver.Result, error) {
	s.note(s.query)
	return driver.RowsAffected(0), nil
}
func (fakeStmt) Query([]driver.Value) (driver.Rows, error) { return nil, errors.New("no rows here") }

// gatedConns returns n connections sharing a gate, and what they began, in order.
func gatedConns(wait time.Duration, n int) ([]*cachingConn, func() []string) {
	g := newWriteGate(wait)
	var mu sync.Mutex
	var began []string
	note := func(s string) { mu.Lock(); began = append(began, s); mu.Unlock() }
	conns := make([]*cachingConn, n)
	for i := range conns {
		conns[i] = newCachingConn(fakeConn{note}, 8)
		conns[i].gate = g
	}
	return conns, func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(began) }
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
	c, _ := gatedConns(time.Minute, 3)
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

// When the gate frees, a statement outside any transaction goes before the transactions waiting.
func TestWriteGateLetsStatementsFirst(t *testing.T) {
	ctx := context.Background()
	c, began := gatedConns(time.Minute, 3)
	holder, err := c[0].BeginTx(ctx, driver.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitTx, _ := blocked(func() {
		tx, _ := c[1].BeginTx(ctx, driver.TxOptions{})
		_ = tx.Commit()
	})
	st, _ := c[2].PrepareContext(ctx, "UPDATE t SET x = 1")
	waitStmt, _ := blocked(func() { _, _ = st.(driver.StmtExecContext).ExecContext(ctx, nil) })
	_ = holder.Commit()
	waitTx()
	waitStmt()
	if got := fmt.Sprint(began()); got != "[transaction UPDATE t SET x = 1 transaction]" {
		t.Errorf("began %s, want the waiting statement before the waiting transaction though it came second", got)
	}
}

// A transaction begun with an Urgent context goes before the transactions waiting, as a statement does.
func TestWriteGateLetsUrgentTransactionsFirst(t *testing.T) {
	ctx := context.Background()
	c, began := gatedConns(time.Minute, 3)
	holder, err := c[0].BeginTx(ctx, driver.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitNormal, _ := blocked(func() {
		tx, _ := c[1].BeginTx(ctx, driver.TxOptions{})
		st, _ := c[1].PrepareContext(ctx, "normal")
		_, _ = st.(driver.StmtExecContext).ExecContext(ctx, nil)
		_ = tx.Commit()
	})
	waitUrgent, _ := blocked(func() {
		tx, _ := c[2].BeginTx(Urgent(ctx), driver.TxOptions{})
		st, _ := c[2].PrepareContext(ctx, "urgent")
		_, _ = st.(driver.StmtExecContext).ExecContext(ctx, nil)
		_ = tx.Commit()
	})
	_ = holder.Commit()
	waitNormal()
	waitUrgent()
	// The urgent transaction, which came second, began and wrote before the other began.
	if got := fmt.Sprint(began()); got != "[transaction transaction urgent transaction normal]" {
		t.Errorf("began %s", got)
	}
}

// A writer that waited its longest goes on ungated (SQLite's busy timeout decides then), and its end does not
// open the gate for the writer that holds it.
func TestWriteGateGivesUpWithoutStealing(t *testing.T) {
	ctx := context.Background()
	c, _ := gatedConns(10*time.Millisecond, 2)
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
	if !c[0].gate.busy {
		t.Fatal("the late writer's end opened the gate")
	}
	_ = holder.Commit()
}
