package events

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// Handler handles one event of a consumer group inside the group's transaction tx, which also commits the
// group's offset: whatever the handler writes through tx is applied exactly once. It must not write through
// any other connection: that write would not be undone with a rolled-back batch, and on SQLite it would wait
// for the write lock tx holds.
//
// An error rolls back the whole batch the event belongs to — its writes in every part of the group, and its
// offset — and the batch is retried from the last committed offset after a backoff. So a handler error stalls
// the group until the cause is fixed: return one only for failures that can heal (I/O); log and return nil for
// an event that can never be handled.
type Handler func(ctx context.Context, tx *sql.Tx, ev *eventsv1.Event) error

// ConsumerOptions configures a consumer group.
type ConsumerOptions struct {
	// Group names the consumer group; its offset is kept in the database under this name. Required. A name
	// that starts with TransientPrefix makes a transient group.
	Group string
	// StartAtEnd makes a group that has no offset yet start after the newest event instead of at the first.
	// A projection that rebuilds state from the log starts at the beginning; one that only counts what happens
	// from now on starts at the end.
	StartAtEnd bool
}

// TransientPrefix starts the names of transient consumer groups: views of what happens from now on (the
// dashboard's live events), whose offsets hold nothing back from stream pruning. A transient group that lags
// behind the retention misses what was pruned; a durable group never does. A node that dies for good leaves
// its transient group's offset behind harmlessly.
const TransientPrefix = "~"

// Consumer is a running consumer group member. Close it to stop.
type Consumer struct {
	group   string
	log     *slog.Logger
	parts   []Part
	sub     *wsql.Subscriber
	wake    chan struct{}
	stop    chan struct{}
	cancel  context.CancelFunc
	loop    sync.WaitGroup
	release func()
	gate    *idleGate

	// floors and floorsDropped: see Consumer.apply.
	floors        []int64
	floorsDropped bool

	// failedTx is the transaction last rolled back by a handler error; later messages of its batch are
	// passed over (see handle).
	failedTx *sql.Tx

	closeOnce sync.Once
	closeErr  error
}

// Consume starts a member of a consumer group of parts: each event after the group's committed offset is
// handed, in stream order, to every part in the order given, all in the one transaction per batch that commits
// the group's offset; after each batch that committed, the parts' AfterCommit are called. It runs until ctx is
// done or Close is called. Closing waits for the event in hand to be handled and its batch committed;
// cancelling ctx instead rolls the batch in hand back (nothing is lost either way: uncommitted events are
// delivered again).
//
// On the group's first start, parts that were consumer groups of their own before (see [Part]) are taken
// over where they left off, exactly once (see Log.takeOver).
func (l *Log) Consume(ctx context.Context, opts ConsumerOptions, parts ...Part) (*Consumer, error) {
	if opts.Group == "" {
		return nil, errors.New("events: consume: empty group name")
	}
	if err := checkParts(opts.Group, parts); err != nil {
		return nil, fmt.Errorf("events: consume %s: %w", opts.Group, err)
	}
	floors, err := l.takeOver(ctx, opts, parts)
	if err != nil {
		return nil, fmt.Errorf("events: consume %s: %w", opts.Group, err)
	}
	db := l.cfg.ConsumerDB
	if db == nil {
		db = l.db
	}
	c := &Consumer{
		group:  opts.Group,
		log:    l.log.With("consumer_group", opts.Group),
		parts:  parts,
		floors: floors,
		stop:   make(chan struct{}),
	}
	c.wake = l.register()
	c.release = func() { l.unregister(c.wake) }
	gate := &idleGate{
		ctx:         ctx,
		wake:        c.wake,
		stop:        c.stop,
		idle:        l.cfg.PollInterval,
		gather:      l.cfg.Gather,
		batch:       l.cfg.BatchSize,
		retryMax:    l.cfg.RetryMax,
		afterCommit: c.afterCommit,
		log:         c.log,
	}
	c.gate = gate
	zero := time.Duration(0)
	sub, err := wsql.NewSubscriber(wsql.BeginnerFromStdSQL(db), wsql.SubscriberConfig{
		ConsumerGroup: opts.Group,
		// No ack deadline: on expiry watermill-sql commits the batch without the event in hand while its
		// handler may still be writing to the transaction. Handlers are bounded by their own contexts instead.
		AckDeadline: &zero,
		// Handlers never nack (a failure rolls the transaction back instead), so this only satisfies validation.
		ResendInterval: time.Second,
		BackoffManager: gate,
		SchemaAdapter:  l.schema,
		OffsetsAdapter: l.offsets,
	}, l.wlog.With(watermill.LogFields{"consumer_group": opts.Group}))
	if err != nil {
		c.release()
		return nil, fmt.Errorf("events: consume %s: %w", opts.Group, err)
	}
	c.sub = sub
	subCtx, cancel := context.WithCancel(ctx)
	c.cancel = cancel
	msgs, err := sub.Subscribe(subCtx, Topic)
	if err != nil {
		cancel()
		c.release()
		return nil, fmt.Errorf("events: consume %s: subscribe: %w", opts.Group, err)
	}
	c.loop.Add(1)
	go c.run(subCtx, msgs)
	return c, nil
}

func (c *Consumer) run(ctx context.Context, msgs <-chan *message.Message) {
	defer c.loop.Done()
	for {
		select {
		case <-c.stop:
			return
		case msg, ok := <-msgs:
			if !ok {
				return
			}
			c.handle(ctx, msg)
		}
	}
}

func (c *Consumer) handle(ctx context.Context, msg *message.Message) {
	c.gate.handled.Add(1)
	// watermill-sql hands over the transaction it will commit the offset in.
	wtx, ok := wsql.TxFromContext(msg.Context())
	std, isStd := wtx.(*wsql.StdSQLTx)
	if !ok || !isStd {
		// Cannot happen with BeginnerFromStdSQL; refuse to handle outside a transaction.
		c.log.Error("event consumer: message without a database/sql transaction; not handled", "uuid", msg.UUID)
		msg.Nack()
		return
	}
	tx := std.Tx
	if tx == c.failedTx {
		// The batch was rolled back by an earlier handler error. Let the subscriber run through the batch: its
		// offset commit will fail on the finished transaction and the whole batch is retried after a backoff.
		msg.Ack()
		return
	}
	ev := &eventsv1.Event{}
	if err := proto.Unmarshal(msg.Payload, ev); err != nil || TypeName(ev) == "" {
		// An event this binary cannot read will never become readable by retrying; skipping it is the only way
		// forward. It stays in the event log. An unknown payload (a newer binary's) still decodes its instance
		// and seq.
		c.log.Error("event consumer: skipping undecodable or unknown event", "uuid", msg.UUID,
			"instance_id", ev.GetInstanceId(), "seq", ev.GetSeq(), "err", err)
		msg.Ack()
		return
	}
	offset, err := strconv.ParseInt(msg.Metadata.Get(offsetMetadata), 10, 64)
	if err != nil {
		// Cannot happen with StreamSchema, which numbers every message it reads; refuse to guess.
		c.log.Error("event consumer: message without its stream offset; not handled", "uuid", msg.UUID)
		msg.Nack()
		return
	}
	if err := c.apply(msg.Context(), tx, offset, ev); err != nil {
		c.log.Warn("event consumer: handler failed; rolling back the batch to retry it",
			"instance_id", ev.InstanceId, "seq", ev.Seq, "type", TypeName(ev), "err", err)
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			c.log.Error("event consumer: rollback failed", "err", rbErr)
		}
		c.failedTx = tx
		// The floors' deletion, if this batch made it, is undone with it.
		c.floorsDropped = false
		msg.Ack()
		return
	}
	msg.Ack()
}

// Close stops the consumer: the event in hand is finished and its batch committed, then the subscriber stops.
// It is safe to call more than once.
func (c *Consumer) Close() error {
	c.closeOnce.Do(func() {
		close(c.stop)
		c.loop.Wait()
		c.closeErr = c.sub.Close()
		c.cancel()
		c.release()
	})
	return c.closeErr
}

// idleGate is the subscriber's BackoffManager. Besides computing the backoff after errors, it makes an idle
// subscriber wait for an append instead of polling the database: watermill-sql's subscriber begins a
// transaction for every poll, which on SQLite (IMMEDIATE transactions) takes the write lock, and on Postgres
// locks the group's offset row. An append through this Log wakes it, and on Postgres so does another node's
// (see Log.listen).
// HandleError is called synchronously by the subscriber's loop, so blocking here is waiting between polls.
type idleGate struct {
	ctx  context.Context
	wake <-chan struct{}
	stop <-chan struct{}
	idle time.Duration
	// gather is the pause after a batch that was not full: the events appended meanwhile are read together,
	// and the group takes the write lock once for them instead of once per append.
	gather      time.Duration
	batch       int
	handled     atomic.Int64 // events of the batch in hand (Consumer.handle counts them)
	retryMax    time.Duration
	afterCommit func()
	log         *slog.Logger
	failures    int
}

func (g *idleGate) HandleError(_ watermill.LoggerAdapter, noMsg bool, err error) time.Duration {
	if err != nil {
		g.failures++
		d := min(50*time.Millisecond<<min(g.failures, 16), g.retryMax)
		// A failed handler's rollback shows up here as the offset commit failing; it was logged already.
		if !errors.Is(err, sql.ErrTxDone) {
			g.log.Warn("event consumer: query failed; retrying", "err", err, "retry_in", d)
		}
		return d
	}
	g.failures = 0
	if !noMsg {
		if g.afterCommit != nil {
			g.afterCommit()
		}
		if g.handled.Swap(0) < int64(g.batch) {
			return g.gather
		}
		return 0
	}
	t := time.NewTimer(g.idle)
	defer t.Stop()
	select {
	case <-g.wake:
	case <-t.C:
	case <-g.stop:
	case <-g.ctx.Done():
	}
	return 0
}
