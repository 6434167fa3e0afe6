package store

import (
	"context"
	"database/sql/driver"
	"testing"
	"time"
)

type fakeTx struct{}

func (fakeTx) Commit() error   { return nil }
func (fakeTx) Rollback() error { return nil }

func beginFake() (driver.Tx, error) { return fakeTx{}, nil }

// One write transaction at a time passes the gate, the next as soon as it ends; read-only transactions pass by.
func TestWriteGateAdmitsOneWriterAtATime(t *testing.T) {
	ctx := context.Background()
	g := newWriteGate(time.Minute)
	first, err := g.begin(ctx, driver.TxOptions{}, beginFake)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.begin(ctx, driver.TxOptions{ReadOnly: true}, beginFake); err != nil {
		t.Fatalf("a reader waited for the writer: %v", err)
	}
	second := make(chan driver.Tx)
	go func() {
		tx, _ := g.begin(ctx, driver.TxOptions{}, beginFake)
		second <- tx
	}()
	select {
	case <-second:
		t.Fatal("a second writer began while the first was in its transaction")
	case <-time.After(50 * time.Millisecond):
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	tx := <-second
	// Ending a transaction twice (a rollback after a failed commit) leaves the gate once.
	_ = tx.Rollback()
	_ = tx.Rollback()
	third, err := g.begin(ctx, driver.TxOptions{}, beginFake)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case g.slot <- struct{}{}:
		t.Fatal("the gate is open while the third writer is in its transaction")
	default:
	}
	_ = third.Commit()
}

// A writer that waited its longest goes on ungated (SQLite's busy timeout decides then), and its end does not
// open the gate for the writer that holds it.
func TestWriteGateGivesUpWithoutStealing(t *testing.T) {
	ctx := context.Background()
	g := newWriteGate(10 * time.Millisecond)
	holder, err := g.begin(ctx, driver.TxOptions{}, beginFake)
	if err != nil {
		t.Fatal(err)
	}
	late, err := g.begin(ctx, driver.TxOptions{}, beginFake)
	if err != nil {
		t.Fatal(err)
	}
	if _, gated := late.(*gatedTx); gated {
		t.Fatal("the late writer holds the gate the first one holds")
	}
	_ = late.Commit()
	select {
	case g.slot <- struct{}{}:
		t.Fatal("the late writer's end opened the gate")
	default:
	}
	_ = holder.Commit()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := g.begin(cancelled, driver.TxOptions{}, beginFake); err != nil {
		t.Fatalf("a free gate refused a writer whose context ended: %v", err)
	}
}
