package events

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// maxWriteBatch bounds how many appends share one transaction.
const maxWriteBatch = 256

// writeReq is one append (or snapshot) waiting for the committer. Exactly one of done and then is set: a
// caller that waits reads done; one that goes on is called back with then.
type writeReq struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error
	then func(error)
	// evs are an append's events, which fn inserts into the stream (see lockStream and notifyStream) and the
	// taps see once they are durable; nil for other writes.
	evs []*eventsv1.Event
	// replayable marks a write whose loss to a power failure is harmless (see WriteReplayable).
	replayable bool
}

func (r *writeReq) answer(err error) {
	if r.then != nil {
		r.then(err)
		return
	}
	r.done <- err
}

// Write runs fn in the log's write path: a transaction shared with concurrent appends (group commit), inside
// a savepoint of its own, returning once it committed. Other writers of this process (the webhook dispatcher,
// store changes that go with no event) use it to queue fairly with appends instead of contending for SQLite's
// lock, and to share their commits. fn has the same obligations as Append's inTx.
func (l *Log) Write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return l.write(ctx, fn, false)
}

// WriteReplayable is Write for a write whose loss to a power failure is harmless, because what it records is
// redone or rebuilt (a webhook delivery's outcome: the delivery repeats, under the same webhook ID; a snapshot:
// the state is replayed from the events). A transaction that carries only such writes commits unsynced, on
// Config.ConsumerDB when set (store.DB.Unsynced: synchronous=NORMAL on SQLite, synchronous_commit off on
// Postgres), so it costs no fsync; it is still atomic and survives a crash of the process, and the next synced
// commit makes it durable with everything before it. One that carries any other write commits synced.
func (l *Log) WriteReplayable(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return l.write(ctx, fn, true)
}

// write runs fn in a transaction shared with other writes that arrived meanwhile, inside a savepoint of its
// own, and returns once that transaction committed (nil) or fn's work was rolled back (its error). A
// replayable write may commit unsynced (see WriteReplayable).
//
// Why group commit: every commit of an acknowledged write costs an fsync (synchronous=FULL), and SQLite has
// one writer at a time. Serial commits cap appends at the disk's fsync rate whatever the number of instances;
// sharing the commit lets N waiting appends cost one fsync. On Postgres the same holds for its WAL flush, and
// appends of all nodes commit one transaction at a time (see lockStream), so sharing is what lets a node
// append faster than one commit per append. It also replaces SQLite's busy handler — which sleeps and retries
// (1ms … 100ms) in no particular order, measured at p99 ~50ms and worst 2s with 32 writers — with a queue in
// this process.
func (l *Log) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error, replayable bool) error {
	if err := l.await(ctx, &writeReq{fn: fn, replayable: replayable}); err != nil {
		return fmt.Errorf("events: write: %w", err)
	}
	return nil
}

// await queues the request r (its fn and evs set) and waits for its answer, as write does.
func (l *Log) await(ctx context.Context, r *writeReq) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.ctx, r.done = ctx, make(chan error, 1)
	if !l.submit(r) {
		return ErrClosed
	}
	// The committer answers every request it took, closing or not.
	return <-r.done
}

// writeAsync queues the request r (its fn and evs set) like write but returns at once; then is called
// on the committer's goroutine with the outcome, and must not block. Writes queued by one goroutine commit in
// the order they were queued.
func (l *Log) writeAsync(r *writeReq, then func(error)) {
	r.ctx, r.then = context.Background(), then
	if !l.submit(r) {
		then(ErrClosed)
	}
}

// submit queues a request for the committer without ever blocking: a writer that does not wait for its commit
// (an instance actor) must not wait for the queue either. It reports false once the log is closed.
func (l *Log) submit(r *writeReq) bool {
	l.queueMu.Lock()
	if l.closed {
		l.queueMu.Unlock()
		return false
	}
	l.queue = append(l.queue, r)
	l.queueMu.Unlock()
	select {
	case l.queued <- struct{}{}:
	default:
	}
	return true
}

// take removes up to maxWriteBatch queued requests, oldest first.
func (l *Log) take() []*writeReq {
	l.queueMu.Lock()
	defer l.queueMu.Unlock()
	n := min(len(l.queue), maxWriteBatch)
	batch := slices.Clone(l.queue[:n])
	clear(l.queue[:n])
	l.queue = l.queue[n:]
	if len(l.queue) == 0 {
		l.queue = nil // let the backing array go after a burst
	}
	return batch
}

func (l *Log) commitLoop() {
	defer l.loops.Done()
	for {
		batch := l.take()
		if len(batch) == 0 {
			select {
			case <-l.queued:
				continue
			case <-l.stop:
			}
			// Closing: refuse new requests, answer those that slipped in.
			l.queueMu.Lock()
			l.closed = true
			rest := l.queue
			l.queue = nil
			l.queueMu.Unlock()
			answerAll(rest, ErrClosed)
			return
		}
		l.commitBatch(batch)
	}
}

// commitBatch runs the requests in one transaction and answers each. A request whose fn fails is rolled back
// to its savepoint and answered with its error; the others commit. If the transaction itself is lost (SQLite
// rolls the whole transaction back on some errors, for example an interrupted statement or a full disk;
// Postgres loses it with its connection, for example when it ended a stalled transaction), the request that
// lost it is answered with its error and the rest run again in a fresh transaction.
func (l *Log) commitBatch(batch []*writeReq) {
	for len(batch) > 0 {
		batch = l.tryBatch(batch)
	}
}

// tryBatch returns the requests to run again (empty when every request was answered).
func (l *Log) tryBatch(batch []*writeReq) (retry []*writeReq) {
	// The transaction belongs to the whole batch: no single caller's cancellation may end it.
	ctx := context.Background()
	tx, err := l.begin(ctx, batch)
	if err != nil {
		answerAll(batch, fmt.Errorf("begin transaction: %w", err))
		return nil
	}
	if err := l.lockStream(ctx, tx, batch); err != nil {
		_ = tx.Rollback()
		answerAll(batch, err)
		return nil
	}
	var committed []*writeReq
	var published []*eventsv1.Event
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.answer(err)
			continue
		}
		// Statements of the log itself must not be interrupted by the caller's cancellation: an interrupted
		// write inside a transaction makes SQLite roll back the whole (shared) transaction.
		rctx := context.WithoutCancel(r.ctx)
		if _, err := tx.ExecContext(rctx, "SAVEPOINT write_req"); err != nil {
			_ = tx.Rollback()
			answerAll(batch[i:], fmt.Errorf("savepoint: %w", err))
			return requeue(committed)
		}
		fnErr := r.fn(rctx, tx)
		if fnErr == nil {
			if _, err := tx.ExecContext(rctx, "RELEASE write_req"); err != nil {
				// The transaction is gone under this request's work.
				_ = tx.Rollback()
				r.answer(fmt.Errorf("release savepoint: %w", err))
				return append(requeue(committed), batch[i+1:]...)
			}
			committed = append(committed, r)
			published = append(published, r.evs...)
			continue
		}
		_, rbErr := tx.ExecContext(rctx, "ROLLBACK TO write_req")
		if rbErr == nil {
			_, rbErr = tx.ExecContext(rctx, "RELEASE write_req")
		}
		r.answer(fnErr)
		if rbErr != nil {
			// fn's failure took the shared transaction with it; the others did nothing wrong.
			_ = tx.Rollback()
			return append(requeue(committed), batch[i+1:]...)
		}
	}
	if len(committed) == 0 {
		_ = tx.Rollback()
		return nil
	}
	if len(published) > 0 {
		if err := l.notifyStream(ctx, tx); err != nil {
			_ = tx.Rollback()
			answerAll(committed, err)
			return nil
		}
	}
	if err := tx.Commit(); err != nil {
		answerAll(committed, fmt.Errorf("commit: %w", err))
		return nil
	}
	// The taps first: an append whose caller heard back was seen by every tap registered before.
	l.taps.see(published)
	answerAll(committed, nil)
	l.wake()
	return nil
}

// begin begins the batch's transaction: on Config.ConsumerDB, unsynced, when every request in it is
// replayable (see WriteReplayable).
func (l *Log) begin(ctx context.Context, batch []*writeReq) (*sql.Tx, error) {
	pool := l.cfg.ConsumerDB
	for _, r := range batch {
		if !r.replayable || pool == nil {
			pool = l.db
			break
		}
	}
	return pool.BeginTx(ctx, nil)
}

func answerAll(reqs []*writeReq, err error) {
	for _, r := range reqs {
		r.answer(err)
	}
}

// requeue returns requests whose work was rolled back with a lost transaction, to run again.
func requeue(reqs []*writeReq) []*writeReq {
	return append([]*writeReq(nil), reqs...)
}
