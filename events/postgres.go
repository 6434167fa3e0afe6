package events

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/plugzapi/plugzapi/store"
)

// streamLockKey is the Postgres advisory lock that orders the stream's offsets (see lockStream). Advisory lock
// keys are per database; this one is "plugzapi" in ASCII, read as a big-endian int64.
const streamLockKey int64 = 0x706c75677a617069

// streamChannel is the Postgres notification channel an append signals on, with its Log's node ID as payload.
const streamChannel = "plugzapi_instance_events"

// lockStream starts a write transaction of the log on Postgres: it bounds how long the transaction may stall
// (Config.StallTimeout), and, when the batch holds an append, takes the lock that keeps the stream's offsets
// in commit order. It runs first in the transaction, before any request of the batch.
//
// The stream's offsets are an identity column. Postgres hands out identity values when rows are inserted, not
// when they commit, so without care two nodes' transactions can commit offsets out of order: node B takes 11
// and commits while node A, which took 10, is still running; a consumer reads 11, commits its offset past it,
// and never reads 10 (watermill-sql #311). The transaction-scoped advisory lock taken here is held from before
// the transaction takes any offset until it ends. Postgres makes a commit visible before it releases the
// transaction's locks (CommitTransaction in xact.c: ProcArrayEndTransaction "must be done _before_ releasing
// locks we hold"), so the next holder takes its offsets after every earlier holder's rows are visible (or
// rolled back, leaving a gap nobody will ever fill): whoever sees an offset sees every offset below it.
// SQLite needs none of this: it has one writer at a time.
//
// The lock is taken by the transaction itself, outside the requests' savepoints (a lock taken inside one
// would go with its rollback). Appending batches of all nodes thus commit one at a time, which is what SQLite
// does on one node anyway, and because each takes the lock before it touches a row, two of them never
// deadlock on each other's rows; an instance's last seq, read under the lock, is the committed one. Batches
// without an append (snapshots, the webhook dispatcher's writes) do not take it.
//
// set_config with is_local applies to this transaction only: the pool's connections keep the server's
// setting for everything else.
func (l *Log) lockStream(ctx context.Context, tx *sql.Tx, batch []*writeReq) error {
	if l.dialect != store.Postgres {
		return nil
	}
	stall := strconv.FormatInt(l.cfg.StallTimeout.Milliseconds(), 10)
	query, args := `SELECT set_config('idle_in_transaction_session_timeout', ?, true)`, []any{stall}
	if slices.ContainsFunc(batch, func(r *writeReq) bool { return len(r.evs) > 0 }) {
		query, args = query+`, pg_advisory_xact_lock(?)`, append(args, streamLockKey)
	}
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("start the write transaction: %w", err)
	}
	return nil
}

// notifyStream tells the other nodes' consumers, on Postgres, that the transaction tx appended: Postgres
// delivers the notification at commit, to every node's listener (see listen).
func (l *Log) notifyStream(ctx context.Context, tx *sql.Tx) error {
	if l.dialect != store.Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify(?, ?)`, streamChannel, l.node); err != nil {
		return fmt.Errorf("notify the other nodes: %w", err)
	}
	return nil
}

// listenLoop keeps a connection listening for other nodes' appends until the Log closes, reconnecting after
// PollInterval when it fails; meanwhile the consumers' polling covers for it.
func (l *Log) listenLoop() {
	defer l.loops.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-l.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		err := l.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("event stream: listening for other nodes' appends failed; consumers poll until it is back",
			"err", err, "retry_in", l.cfg.PollInterval)
		select {
		case <-time.After(l.cfg.PollInterval):
		case <-ctx.Done():
			return
		}
	}
}

// listen wakes this process's consumers whenever another node commits an append, until ctx is done or the
// connection fails. The connection is its own, outside the store's pools: it is held for as long as the Log
// is open, and a pool that small (the store allows two connections) must not lose one.
func (l *Log) listen(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, l.pgConfig)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+streamChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Appends committed while nobody listened woke no one here.
	l.wake()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for a notification: %w", err)
		}
		// This node's own appends woke its consumers already, at commit.
		if n.Payload != l.node {
			l.wake()
		}
	}
}
