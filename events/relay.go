package events

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
)

// Deliver hands one event to something outside the database (a message broker). It returns nil only once the
// outside has taken the event for good: the group's offset moves past the event after that, never before.
type Deliver func(ctx context.Context, ev *eventsv1.Event) error

// RelayOptions configures a relay (see [Log.Relay]).
type RelayOptions struct {
	// Group names the consumer group; its offset is kept with the other groups' (it shows in [Log.Lag] and holds
	// back stream pruning like theirs). Required.
	Group string
	// StartAtEnd makes a group that has no offset yet start after the newest event instead of at the first.
	StartAtEnd bool
	// BatchTimeout bounds the deliveries of one batch. What was delivered within it is committed; the rest is
	// tried again after a backoff. Default 10s.
	BatchTimeout time.Duration
}

// Relay is a running relay; Close it to stop.
type Relay struct {
	l       *Log
	db      *sql.DB
	opts    RelayOptions
	deliver Deliver
	log     *slog.Logger
	wake    chan struct{}
	stop    chan struct{}
	cancel  context.CancelFunc
	done    sync.WaitGroup
	once    sync.Once
}

// Relay starts a consumer group whose handler's effect is outside the database, for at-least-once delivery to
// a message broker. Unlike [Log.Consume], whose handler runs inside the transaction that commits the offset
// (and holds SQLite's write lock meanwhile), deliver runs outside any write: the relay reads a batch after the
// group's offset, delivers its events one by one in stream order, and then commits the offset of the last one
// delivered. A failed delivery stops the batch there; it is retried from that event after a backoff (doubling
// up to Config.RetryMax), so a broker outage stalls this group alone and loses nothing. An event is delivered
// again when the process stops between the broker's acknowledgement and the commit.
//
// On Postgres the relay holds its group's offset row (SELECT … FOR UPDATE) from reading a batch until its
// offset is committed, so on a cluster exactly one node relays at a time, each batch after the previous
// holder's commit, and the events reach the broker in stream order. On SQLite there is one node, and it reads
// without a transaction: only the offset commit writes.
func (l *Log) Relay(ctx context.Context, opts RelayOptions, deliver Deliver) (*Relay, error) {
	if opts.Group == "" {
		return nil, errors.New("events: relay: empty group name")
	}
	if deliver == nil {
		return nil, errors.New("events: relay: nil deliver")
	}
	if opts.BatchTimeout <= 0 {
		opts.BatchTimeout = 10 * time.Second
	}
	db := l.cfg.ConsumerDB
	if db == nil || l.dialect == store.Postgres {
		// On Postgres the relay holds a connection for as long as the broker takes to answer: not one of the
		// consumer groups' few.
		db = l.db
	}
	r := &Relay{
		l: l, db: db, opts: opts, deliver: deliver,
		log:  l.log.With("consumer_group", opts.Group),
		stop: make(chan struct{}),
	}
	if err := r.register(ctx); err != nil {
		return nil, err
	}
	r.wake = l.register()
	runCtx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	r.done.Add(1)
	go r.run(runCtx)
	return r, nil
}

// register gives the group its offset row unless it has one: 0, or the newest offset with StartAtEnd.
func (r *Relay) register(ctx context.Context) error {
	start := `0`
	if r.opts.StartAtEnd {
		start = `(SELECT COALESCE(MAX("offset"), 0) FROM ` + r.l.schema.MessagesTable(Topic) + `)`
	}
	_, err := r.db.ExecContext(ctx, `INSERT INTO `+r.l.offsets.MessagesOffsetsTable(Topic)+` (consumer_group, offset_acked)
		VALUES (?, `+start+`) ON CONFLICT (consumer_group) DO NOTHING`, r.opts.Group)
	if err != nil {
		return fmt.Errorf("events: relay %s: register the group: %w", r.opts.Group, err)
	}
	return nil
}

// Close stops the relay. A delivery in flight is abandoned (it is delivered again at the next start); what
// was delivered before it is committed first. It is safe to call more than once.
func (r *Relay) Close() error {
	r.once.Do(func() {
		close(r.stop)
		r.cancel()
		r.done.Wait()
		r.l.unregister(r.wake)
	})
	return nil
}

func (r *Relay) run(ctx context.Context) {
	defer r.done.Done()
	failures := 0
	for {
		n, err := r.batch(ctx)
		var pause time.Duration
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			failures++
			pause = min(50*time.Millisecond<<min(failures, 16), r.l.cfg.RetryMax)
			r.log.Warn("event relay: delivery failed; retrying from the event that failed", "err", err, "retry_in", pause)
		case n >= r.l.cfg.BatchSize:
			failures = 0
			continue
		default:
			failures = 0
			pause = r.l.cfg.PollInterval
		}
		t := time.NewTimer(pause)
		select {
		case <-r.stop:
			t.Stop()
			return
		case <-r.wake:
			// An append does not cut a backoff short: the broker is what failed.
			if err != nil {
				select {
				case <-t.C:
				case <-r.stop:
					t.Stop()
					return
				}
			}
		case <-t.C:
		}
		t.Stop()
	}
}

// relayed is a stream row read by a relay.
type relayed struct {
	offset  int64
	payload []byte
}

// batch relays the next batch after the group's offset and returns how many events it read.
func (r *Relay) batch(ctx context.Context) (int, error) {
	if r.l.dialect != store.Postgres {
		var acked int64
		if err := r.db.QueryRowContext(ctx, `SELECT offset_acked FROM `+r.l.offsets.MessagesOffsetsTable(Topic)+
			` WHERE consumer_group = ?`, r.opts.Group).Scan(&acked); err != nil {
			return 0, r.lost(ctx, err)
		}
		rows, err := r.read(ctx, r.db, acked)
		if err != nil {
			return 0, err
		}
		last, err := r.deliverAll(ctx, rows)
		if last > acked {
			// Monotonic: a commit never moves the offset back, whoever else committed meanwhile.
			commit := func(tx *sql.Tx) error {
				_, err := tx.ExecContext(context.WithoutCancel(ctx), `UPDATE `+r.l.offsets.MessagesOffsetsTable(Topic)+
					` SET offset_acked = ? WHERE consumer_group = ? AND offset_acked < ?`, last, r.opts.Group, last)
				return err
			}
			if cerr := store.InTx(context.WithoutCancel(ctx), r.db, commit); cerr != nil {
				return len(rows), errors.Join(err, fmt.Errorf("commit offset %d: %w", last, cerr))
			}
		}
		return len(rows), err
	}

	// Not ctx: database/sql rolls a transaction back when its context ends, and Close (which ends ctx) must
	// still commit what was delivered. Each statement below still takes ctx.
	tx, err := r.db.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	// The row lock below holds up the group's other members while this one delivers: bound how long it may sit
	// idle (a node paused mid-batch) beyond the deliveries' own bound.
	stall := strconv.FormatInt((r.opts.BatchTimeout + r.l.cfg.StallTimeout).Milliseconds(), 10)
	if _, err := tx.ExecContext(ctx, `SELECT set_config('idle_in_transaction_session_timeout', ?, true)`, stall); err != nil {
		return 0, fmt.Errorf("start the transaction: %w", err)
	}
	var acked int64
	err = tx.QueryRowContext(ctx, `SELECT offset_acked FROM `+r.l.offsets.MessagesOffsetsTable(Topic)+
		` WHERE consumer_group = ? FOR UPDATE`, r.opts.Group).Scan(&acked)
	if err != nil {
		return 0, r.lost(ctx, err)
	}
	rows, err := r.read(ctx, tx, acked)
	if err != nil {
		return 0, err
	}
	last, err := r.deliverAll(ctx, rows)
	if last > acked {
		_, cerr := tx.ExecContext(context.WithoutCancel(ctx), `UPDATE `+r.l.offsets.MessagesOffsetsTable(Topic)+
			` SET offset_acked = ? WHERE consumer_group = ?`, last, r.opts.Group)
		if cerr == nil {
			cerr = tx.Commit()
		}
		if cerr != nil {
			return len(rows), errors.Join(err, fmt.Errorf("commit offset %d: %w", last, cerr))
		}
	}
	return len(rows), err
}

// lost handles a failed read of the group's offset: a missing row (the group was dropped while the relay ran,
// see [Log.DropGroup]) is registered again.
func (r *Relay) lost(ctx context.Context, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		r.log.Warn("event relay: the group's offset was dropped while it ran; registering it again")
		return r.register(ctx)
	}
	return fmt.Errorf("read the group's offset: %w", err)
}

// read returns the next batch of stream rows after offset.
func (r *Relay) read(ctx context.Context, q store.Querier, after int64) ([]relayed, error) {
	rows, err := q.QueryContext(ctx, `SELECT "offset", payload FROM `+r.l.schema.MessagesTable(Topic)+
		` WHERE "offset" > ? ORDER BY "offset" LIMIT ?`, after, r.l.cfg.BatchSize)
	if err != nil {
		return nil, fmt.Errorf("read the stream after %d: %w", after, err)
	}
	defer rows.Close()
	var out []relayed
	for rows.Next() {
		var row relayed
		if err := rows.Scan(&row.offset, &row.payload); err != nil {
			return nil, fmt.Errorf("read the stream after %d: %w", after, err)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the stream after %d: %w", after, err)
	}
	return out, nil
}

// deliverAll delivers rows in order until one fails, and returns the offset of the last row handled (0 when
// none was).
func (r *Relay) deliverAll(ctx context.Context, rows []relayed) (last int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.BatchTimeout)
	defer cancel()
	for _, row := range rows {
		ev := &eventsv1.Event{}
		if err := proto.Unmarshal(row.payload, ev); err != nil || TypeName(ev) == "" {
			// As in Consume: an event this binary cannot read never becomes readable; it stays in the log.
			r.log.Error("event relay: skipping undecodable or unknown event", "offset", row.offset, "err", err)
			last = row.offset
			continue
		}
		if err := r.deliver(ctx, ev); err != nil {
			return last, fmt.Errorf("deliver event %s (instance %s, seq %d): %w", ev.GetId(), ev.GetInstanceId(), ev.GetSeq(), err)
		}
		last = row.offset
	}
	return last, nil
}
