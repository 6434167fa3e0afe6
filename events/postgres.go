package events

import (
	"context"
	"database/sql"
	"fmt"
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

// lockStream makes an append on Postgres take its stream offsets in commit order, and tells the other nodes'
// consumers about it. It runs first in every append, inside the append's savepoint.
//
// The stream's offsets are an identity column. Postgres hands out identity values when rows are inserted, not
// when they commit, so without care two nodes' transactions can commit offsets out of order: node B takes 11
// and commits while node A, which took 10, is still running; a consumer reads 11, commits its offset past it,
// and never reads 10 (watermill-sql #311). The transaction-scoped advisory lock taken here is held from before
// the append takes its offsets until its transaction ends. Postgres makes a commit visible before it releases
// the transaction's locks (CommitTransaction in xact.c: ProcArrayEndTransaction "must be done _before_
// releasing locks we hold"), so the next holder takes its offsets after every earlier holder's rows are visible
// (or rolled back, leaving a gap nobody will ever fill): whoever sees an offset sees every offset below it.
// SQLite needs none of this: it has one writer at a time.
//
// Taking the lock before anything else the append does (reading the instance's last seq, inserting its
// events) also keeps two nodes' batches from deadlocking on each other's event rows while waiting for it. The
// lock is reentrant, so every append of a group-committed batch takes it again; if an append is rolled back to
// its savepoint, its hold goes with it (and so do the offsets it took), while the earlier appends' holds
// keep the lock to commit. Appends from all nodes thus commit one transaction at a time, which is what SQLite
// does on one node anyway.
//
// The same statement queues a notification, which Postgres delivers at commit (once per transaction and
// payload): other nodes' listeners wake their consumers on it (see listen).
func (l *Log) lockStream(ctx context.Context, tx *sql.Tx) error {
	if l.dialect != store.Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?), pg_notify(?, ?)`, streamLockKey, streamChannel, l.node); err != nil {
		return fmt.Errorf("lock the stream: %w", err)
	}
	return nil
}

// boundStall makes the Postgres server end the write transaction tx if it sits idle for longer than the
// StallTimeout (see Config.StallTimeout): set_config with is_local applies to this transaction only, so the
// pool's connections keep the server's setting for everything else.
func (l *Log) boundStall(ctx context.Context, tx *sql.Tx) error {
	if l.dialect != store.Postgres {
		return nil
	}
	ms := strconv.FormatInt(l.cfg.StallTimeout.Milliseconds(), 10)
	if _, err := tx.ExecContext(ctx, `SELECT set_config('idle_in_transaction_session_timeout', ?, true)`, ms); err != nil {
		return fmt.Errorf("bound the transaction's stall: %w", err)
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
