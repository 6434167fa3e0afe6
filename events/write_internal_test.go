package events

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/store/storetest"
)

func newInternalLog(t *testing.T) (*Log, *sql.DB) {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{Dir: t.TempDir(), CheckpointInterval: -1}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l, err := Open(context.Background(), db, Config{}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if _, err := db.SQL().Exec(`CREATE TABLE t (v TEXT)`); err != nil {
		t.Fatal(err)
	}
	return l, db.SQL()
}

func insertReq(ctx context.Context, v string) *writeReq {
	return &writeReq{ctx: ctx, done: make(chan error, 1), fn: func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (?)`, v)
		return err
	}}
}

func rows(t *testing.T, db *sql.DB) map[string]bool {
	t.Helper()
	r, err := db.Query(`SELECT v FROM t`)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := map[string]bool{}
	for r.Next() {
		var v string
		if err := r.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out[v] = true
	}
	return out
}

func TestGroupCommitIsolatesFailures(t *testing.T) {
	l, db := newInternalLog(t)
	ctx := context.Background()
	boom := errors.New("boom")
	failing := &writeReq{ctx: ctx, done: make(chan error, 1), fn: func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES ('failing')`); err != nil {
			return err
		}
		return boom
	}}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	batch := []*writeReq{insertReq(ctx, "a"), failing, insertReq(cancelled, "cancelled"), insertReq(ctx, "b")}
	l.commitBatch(batch)
	if err := <-batch[0].done; err != nil {
		t.Fatalf("a: %v", err)
	}
	if err := <-failing.done; !errors.Is(err, boom) {
		t.Fatalf("failing: %v", err)
	}
	if err := <-batch[2].done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before start: %v", err)
	}
	if err := <-batch[3].done; err != nil {
		t.Fatalf("b: %v", err)
	}
	got := rows(t, db)
	if !got["a"] || !got["b"] || got["failing"] || got["cancelled"] || len(got) != 2 {
		t.Fatalf("rows = %v, want a and b only", got)
	}
}

// TestGroupCommitSurvivesLostTransaction: when one request's work makes SQLite abandon the whole transaction,
// that request fails and the others are committed in a fresh transaction.
func TestGroupCommitSurvivesLostTransaction(t *testing.T) {
	ctx := context.Background()
	for name, killer := range map[string]func(ctx context.Context, tx *sql.Tx) error{
		// A rollback behind database/sql's back, then more work that must not be autocommitted unnoticed.
		"rollback statement, error returned": func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `ROLLBACK`); err != nil {
				return err
			}
			return errors.New("gave up")
		},
		"rollback statement, error swallowed": func(ctx context.Context, tx *sql.Tx) error {
			_, _ = tx.ExecContext(ctx, `ROLLBACK`)
			return nil
		},
		// The real-world case: the caller's context ends during a long write inside the shared transaction;
		// SQLite's interrupt rolls the whole transaction back.
		"interrupted write": func(_ context.Context, tx *sql.Tx) error {
			ictx, cancel := context.WithCancel(context.Background())
			defer cancel()
			time.AfterFunc(50*time.Millisecond, cancel)
			_, err := tx.ExecContext(ictx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)
				INSERT INTO t SELECT 'killer' FROM c`)
			if err == nil {
				return errors.New("endless insert ended")
			}
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			l, db := newInternalLog(t)
			k := &writeReq{ctx: ctx, done: make(chan error, 1), fn: killer}
			batch := []*writeReq{insertReq(ctx, "before"), k, insertReq(ctx, "after")}
			l.commitBatch(batch)
			if err := <-batch[0].done; err != nil {
				t.Fatalf("before: %v", err)
			}
			if err := <-k.done; err == nil {
				t.Fatal("the request that lost the transaction reported success")
			}
			if err := <-batch[2].done; err != nil {
				t.Fatalf("after: %v", err)
			}
			got := rows(t, db)
			if !got["before"] || !got["after"] || got["killer"] || len(got) != 2 {
				t.Fatalf("rows = %v, want before and after only", got)
			}
			// The log keeps working.
			l.commitBatch([]*writeReq{insertReq(ctx, "later")})
			if !rows(t, db)["later"] {
				t.Fatal("write after a lost transaction did not commit")
			}
		})
	}
}

func TestWriteAfterClose(t *testing.T) {
	l, _ := newInternalLog(t)
	l.Close()
	err := l.write(context.Background(), func(context.Context, *sql.Tx) error { return nil }, false)
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("write after Close = %v, want ErrClosed", err)
	}
}

// TestReplayableWritesCommitUnsynced: a batch of replayable writes only commits without an fsync (SQLite:
// through the replayable pool, synchronous=NORMAL; Postgres: synchronous_commit off); a batch with any other
// write commits synced, its replayable writes with it.
func TestReplayableWritesCommitUnsynced(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.Config{})
	l, err := Open(ctx, db, Config{ConsumerDB: db.Unsynced()}, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	// synced records whether the transaction fn runs in will commit synced.
	synced := func(got *bool) func(ctx context.Context, tx *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			if db.Dialect() == store.Postgres {
				var mode string
				err := tx.QueryRowContext(ctx, `SHOW synchronous_commit`).Scan(&mode)
				*got = mode != "off"
				return err
			}
			var level int
			err := tx.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&level)
			*got = level >= 2 // FULL or EXTRA
			return err
		}
	}
	req := func(fn func(context.Context, *sql.Tx) error, replayable bool) *writeReq {
		return &writeReq{ctx: ctx, done: make(chan error, 1), fn: fn, replayable: replayable}
	}
	var alone, besidePlain, plain bool
	for _, batch := range [][]*writeReq{
		{req(synced(&alone), true)},
		{req(synced(&besidePlain), true), req(synced(&plain), false)},
	} {
		l.commitBatch(batch)
		for _, r := range batch {
			if err := <-r.done; err != nil {
				t.Fatal(err)
			}
		}
	}
	if alone {
		t.Error("a batch of replayable writes only committed synced")
	}
	if !besidePlain || !plain {
		t.Errorf("a batch with a plain write: replayable synced %v, plain synced %v; want both synced", besidePlain, plain)
	}
	// Through the committer as callers use it.
	if err := l.WriteReplayable(ctx, synced(&alone)); err != nil || alone {
		t.Errorf("WriteReplayable: synced %v, err %v; want unsynced", alone, err)
	}
}
