package events

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
)

// Topic is the stream's watermill topic: every instance's events, in append order.
const Topic = "instance_events"

// ErrConcurrency is returned by [Log.Append] when the instance's last sequence number is not the expected one:
// another writer appended first. Nothing was written; reload and decide again.
var ErrConcurrency = errors.New("events: concurrent append")

// MaxAppend is the most events one Append takes. The stream insert binds four values per event, and SQLite
// allows 32766 bound values per statement (Postgres 65535); a larger batch is a bug in the caller anyway.
const MaxAppend = 1000

// ErrClosed is returned by writes to a closed Log.
var ErrClosed = errors.New("events: log closed")

// Log is the event log and the publishing side of the stream. It is safe for concurrent use.
type Log struct {
	db      *sql.DB
	dialect store.Dialect
	cfg     Config
	log     *slog.Logger
	wlog    watermill.LoggerAdapter
	schema  StreamSchema
	offsets StreamOffsets
	// node tells this Log's appends apart from other nodes' in the stream's notifications, which pgConfig's
	// connection listens for (Postgres; see listen).
	node     string
	pgConfig *pgx.ConnConfig

	// The committer (commitLoop) runs the queued writes in shared transactions: group commit. See write.
	queueMu sync.Mutex
	queue   []*writeReq
	closed  bool
	queued  chan struct{} // a token when the queue may have work

	mu      sync.Mutex
	waiters map[chan struct{}]struct{}
	taps    taps

	stop      chan struct{}
	loops     sync.WaitGroup
	closeOnce sync.Once
}

// migrations are the package's tables, per dialect (see store.DB.Migrate).
//
//go:embed migrations
var migrations embed.FS

// Open migrates the log's tables and returns the log. Close it to stop its stream pruning.
func Open(ctx context.Context, db *store.DB, cfg Config, log *slog.Logger) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.Default()
	}
	if err := db.Migrate(ctx, "events", migrations); err != nil {
		return nil, err
	}
	l := &Log{
		db:      db.SQL(),
		dialect: db.Dialect(),
		cfg:     cfg,
		log:     log,
		// watermill logs every subscriber start and stop at Info; those are routine here.
		wlog: watermill.NewSlogLoggerWithLevelMapping(log, map[slog.Level]slog.Level{
			slog.LevelInfo: slog.LevelDebug,
		}),
		schema:   StreamSchema{Dialect: db.Dialect(), BatchSize: cfg.BatchSize, StallTimeout: cfg.StallTimeout},
		offsets:  StreamOffsets{Dialect: db.Dialect()},
		node:     watermill.NewULID(),
		pgConfig: db.PostgresConfig(),
		queued:   make(chan struct{}, 1),
		waiters:  make(map[chan struct{}]struct{}),
		stop:     make(chan struct{}),
	}
	l.loops.Add(1)
	go l.commitLoop()
	if l.dialect == store.Postgres {
		l.loops.Add(1)
		go l.listenLoop()
	}
	return l, nil
}

// Close stops the committer and, on Postgres, the listener for other nodes' appends; appends after Close fail
// with [ErrClosed]. Consumers and the sweeper are closed by their owners.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		close(l.stop)
		l.loops.Wait()
	})
	return nil
}

// Append appends events to an instance's stream, in one transaction that:
//
//  1. checks that the instance's last sequence number is expectedSeq (0 for a new instance), and fails with
//     [ErrConcurrency] otherwise — a lost race is never a silent overwrite;
//  2. numbers the events expectedSeq+1, expectedSeq+2… and fills in instance_id, a unique ID (ULID) and the
//     time (now) where they are unset;
//  3. inserts them into the log;
//  4. publishes the same events to the stream's topic;
//  5. runs inTx, when not nil, for the state change the events describe (vault writes and deletes, instance
//     rows…); an error from it rolls everything back and is returned.
//
// It returns the stored events once they are committed. The caller's events are not modified.
//
// Concurrent appends share transactions (group commit: one fsync for many appends), each isolated in its own
// savepoint, so one append's failure does not affect the others. inTx must therefore use only the given
// transaction, must not commit or roll it back, and must return every error it meets: an error it swallows
// may leave the shared transaction in a state it cannot see. Once queued, an append completes even if ctx
// is cancelled; statements inTx runs with a cancelled ctx fail (which fails this append only).
func (l *Log) Append(ctx context.Context, instanceID string, expectedSeq int64, evs []*eventsv1.Event, inTx func(*sql.Tx) error) ([]*eventsv1.Event, error) {
	a, err := l.prepare(instanceID, expectedSeq, evs, inTx)
	if err != nil {
		return nil, err
	}
	if err := l.await(ctx, &writeReq{fn: a.run, evs: a.stored}); err != nil {
		return nil, a.failed(err)
	}
	return a.stored, nil
}

// AppendAsync is Append for a writer that goes on while its events become durable: it checks, numbers and
// returns the events at once (an error here means nothing was queued), and calls done with the commit's
// outcome later, on the committer's goroutine (done must not block). Appends queued by one goroutine commit in
// the order they were queued, so an instance can queue its next events, numbered after these, before these
// are durable; if an append fails, the ones queued after it fail too (their expected seq is never reached).
func (l *Log) AppendAsync(instanceID string, expectedSeq int64, evs []*eventsv1.Event, inTx func(*sql.Tx) error, done func(error)) ([]*eventsv1.Event, error) {
	a, err := l.prepare(instanceID, expectedSeq, evs, inTx)
	if err != nil {
		return nil, err
	}
	l.writeAsync(&writeReq{fn: a.run, evs: a.stored}, func(err error) {
		if err != nil {
			err = a.failed(err)
		}
		done(err)
	})
	return a.stored, nil
}

// appendReq is an append checked and encoded, ready for the committer.
type appendReq struct {
	l           *Log
	instanceID  string
	expectedSeq int64
	stored      []*eventsv1.Event
	payloads    [][]byte
	msgs        message.Messages
	inTx        func(*sql.Tx) error
}

func (l *Log) prepare(instanceID string, expectedSeq int64, evs []*eventsv1.Event, inTx func(*sql.Tx) error) (*appendReq, error) {
	if instanceID == "" {
		return nil, errors.New("events: append: empty instance ID")
	}
	if len(evs) == 0 || len(evs) > MaxAppend {
		return nil, fmt.Errorf("events: append to %s: %d events, want 1 to %d", instanceID, len(evs), MaxAppend)
	}
	if expectedSeq < 0 {
		return nil, fmt.Errorf("events: append to %s: negative expected seq %d", instanceID, expectedSeq)
	}
	now := time.Now().UnixMilli()
	a := &appendReq{
		l: l, instanceID: instanceID, expectedSeq: expectedSeq, inTx: inTx,
		stored:   make([]*eventsv1.Event, len(evs)),
		payloads: make([][]byte, len(evs)),
		msgs:     make(message.Messages, len(evs)),
	}
	for i, in := range evs {
		if in == nil {
			return nil, fmt.Errorf("events: append to %s: event %d is nil", instanceID, i)
		}
		ev := proto.Clone(in).(*eventsv1.Event)
		seq := expectedSeq + int64(i) + 1
		switch {
		case TypeName(ev) == "":
			return nil, fmt.Errorf("events: append to %s: event %d has no payload", instanceID, i)
		case ev.InstanceId != "" && ev.InstanceId != instanceID:
			return nil, fmt.Errorf("events: append to %s: event %d belongs to instance %s", instanceID, i, ev.InstanceId)
		case ev.Seq != 0 && ev.Seq != seq:
			return nil, fmt.Errorf("events: append to %s: event %d has seq %d, want %d", instanceID, i, ev.Seq, seq)
		}
		ev.InstanceId, ev.Seq = instanceID, seq
		if ev.Id == "" {
			ev.Id = watermill.NewULID()
		}
		if ev.TimeMs == 0 {
			ev.TimeMs = now
		}
		b, err := proto.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("events: append to %s: marshal event %d: %w", instanceID, i, err)
		}
		a.stored[i], a.payloads[i] = ev, b
		// No metadata: the payload carries the instance, seq and type, and consumers decode it anyway.
		a.msgs[i] = message.NewMessage(ev.Id, b)
	}
	return a, nil
}

func (a *appendReq) failed(err error) error {
	return fmt.Errorf("events: append to %s after seq %d: %w", a.instanceID, a.expectedSeq, err)
}

// run is the append's part of the committer's transaction.
func (a *appendReq) run(ctx context.Context, tx *sql.Tx) error {
	var last int64
	if err := tx.QueryRowContext(ctx, lastSeqQuery, a.instanceID).Scan(&last); err != nil {
		return fmt.Errorf("read last seq: %w", err)
	}
	if last != a.expectedSeq {
		return fmt.Errorf("%w: instance %s is at seq %d, expected %d", ErrConcurrency, a.instanceID, last, a.expectedSeq)
	}
	for i, ev := range a.stored {
		var messageID any
		if id := MessageID(ev); id != "" {
			messageID = id
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO instance_events (instance_id, seq, id, type, time_ms, message_id, payload)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, a.instanceID, ev.Seq, ev.Id, TypeName(ev), ev.TimeMs, messageID, a.payloads[i])
		if store.IsUniqueViolation(err) {
			// Another writer took this seq (or the caller reused an event ID): a lost race either way.
			return fmt.Errorf("%w: insert %s seq %d: %v", ErrConcurrency, a.instanceID, ev.Seq, err)
		}
		if err != nil {
			return fmt.Errorf("insert seq %d: %w", ev.Seq, err)
		}
	}
	for _, msg := range a.msgs {
		msg.SetContext(ctx)
	}
	// Publish before inTx: after the caller's code only RELEASE runs, see write.
	pub, err := wsql.NewPublisher(wsql.TxFromStdSQL(tx), wsql.PublisherConfig{SchemaAdapter: a.l.schema}, a.l.wlog)
	if err != nil {
		return fmt.Errorf("publisher: %w", err)
	}
	if err := pub.Publish(Topic, a.msgs...); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if a.inTx != nil {
		return a.inTx(tx)
	}
	return nil
}

const lastSeqQuery = `SELECT COALESCE(MAX(seq), 0) FROM instance_events WHERE instance_id = ?`

// loadPage bounds how many events one read transaction returns, so a long replay does not hold one snapshot
// (which keeps checkpoints from completing) for its whole duration.
const loadPage = 500

// Load calls fn with the instance's events after afterSeq, in sequence order, until fn returns an error (which
// Load returns) or the events run out. Use it with a snapshot's seq to rebuild an actor's state.
func (l *Log) Load(ctx context.Context, instanceID string, afterSeq int64, fn func(*eventsv1.Event) error) error {
	for {
		page, err := l.loadPage(ctx, instanceID, afterSeq)
		if err != nil {
			return err
		}
		for _, ev := range page {
			if err := fn(ev); err != nil {
				return err
			}
			afterSeq = ev.Seq
		}
		if len(page) < loadPage {
			return nil
		}
	}
}

func (l *Log) loadPage(ctx context.Context, instanceID string, afterSeq int64) ([]*eventsv1.Event, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT seq, payload FROM instance_events WHERE instance_id = ? AND seq > ?
		ORDER BY seq LIMIT ?`, instanceID, afterSeq, loadPage)
	if err != nil {
		return nil, fmt.Errorf("events: load %s after %d: %w", instanceID, afterSeq, err)
	}
	defer rows.Close()
	var out []*eventsv1.Event
	for rows.Next() {
		var seq int64
		var payload []byte
		if err := rows.Scan(&seq, &payload); err != nil {
			return nil, fmt.Errorf("events: load %s: %w", instanceID, err)
		}
		ev := &eventsv1.Event{}
		if err := proto.Unmarshal(payload, ev); err != nil {
			return nil, fmt.Errorf("events: load %s seq %d: %w", instanceID, seq, err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: load %s: %w", instanceID, err)
	}
	return out, nil
}

// LastSeq returns the instance's last sequence number, 0 when it has no events.
func (l *Log) LastSeq(ctx context.Context, instanceID string) (int64, error) {
	var last int64
	if err := l.db.QueryRowContext(ctx, lastSeqQuery, instanceID).Scan(&last); err != nil {
		return 0, fmt.Errorf("events: last seq of %s: %w", instanceID, err)
	}
	return last, nil
}

// Snapshot is an actor's serialized state as of an event sequence number.
type Snapshot struct {
	Seq   int64
	State []byte
	Saved time.Time
}

// SaveSnapshot stores the instance's state as of seq, replacing an older snapshot. The event at seq must be the
// one with ID lastEventID: a writer that runs ahead of the log (see AppendAsync) may take a snapshot of events
// that then fail to commit, and their seqs may later be taken by other events. A snapshot older than the stored
// one is refused too: it would throw away work.
func (l *Log) SaveSnapshot(ctx context.Context, instanceID string, seq int64, lastEventID string, state []byte) error {
	// Replayable: a snapshot a power failure takes back is only a longer replay of the events.
	err := l.WriteReplayable(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, `SELECT id FROM instance_events WHERE instance_id = ? AND seq = ?`, instanceID, seq).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && id != lastEventID) {
			return fmt.Errorf("the log has no event %s at seq %d", lastEventID, seq)
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO instance_snapshots (instance_id, seq, state, saved_ms) VALUES (?, ?, ?, ?)
			ON CONFLICT (instance_id) DO UPDATE SET seq = excluded.seq, state = excluded.state, saved_ms = excluded.saved_ms
			WHERE excluded.seq >= instance_snapshots.seq`, instanceID, seq, state, time.Now().UnixMilli())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("a snapshot newer than seq %d exists", seq)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("events: save snapshot of %s at %d: %w", instanceID, seq, err)
	}
	return nil
}

// LoadSnapshot returns the instance's latest snapshot; ok is false when there is none.
func (l *Log) LoadSnapshot(ctx context.Context, instanceID string) (snap Snapshot, ok bool, err error) {
	var saved int64
	err = l.db.QueryRowContext(ctx, `SELECT seq, state, saved_ms FROM instance_snapshots WHERE instance_id = ?`, instanceID).
		Scan(&snap.Seq, &snap.State, &saved)
	if errors.Is(err, sql.ErrNoRows) {
		return Snapshot{}, false, nil
	}
	if err != nil {
		return Snapshot{}, false, fmt.Errorf("events: load snapshot of %s: %w", instanceID, err)
	}
	snap.Saved = time.UnixMilli(saved)
	return snap, true, nil
}

// ForgetHistory deletes, in the caller's transaction, an instance's events up to and including throughSeq and
// its snapshot. It is for deleted instances: their history names every number they talked to and must not
// outlive them. The events after throughSeq (the deletion) stay, so the log keeps the instance's last seq. The
// stream's copies go with the stream's retention.
func ForgetHistory(ctx context.Context, q store.Querier, instanceID string, throughSeq int64) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM instance_events WHERE instance_id = ? AND seq <= ?`, instanceID, throughSeq); err != nil {
		return fmt.Errorf("events: forget history of %s: %w", instanceID, err)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM instance_snapshots WHERE instance_id = ?`, instanceID); err != nil {
		return fmt.Errorf("events: forget snapshot of %s: %w", instanceID, err)
	}
	return nil
}

// register returns a channel that receives a token (without blocking the sender; one pending token at most)
// whenever events were appended through this Log.
func (l *Log) register() chan struct{} {
	ch := make(chan struct{}, 1)
	l.mu.Lock()
	l.waiters[ch] = struct{}{}
	l.mu.Unlock()
	return ch
}

func (l *Log) unregister(ch chan struct{}) {
	l.mu.Lock()
	delete(l.waiters, ch)
	l.mu.Unlock()
}

func (l *Log) wake() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch := range l.waiters {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
