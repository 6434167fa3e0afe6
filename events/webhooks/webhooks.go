package webhooks

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/plugzapi/plugzapi/events"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
)

// ConsumerGroup is the projection's consumer group name.
const ConsumerGroup = "webhooks"

// Observer is told about delivery attempts, for metrics. Implementations must be safe for concurrent use and
// must not block.
type Observer interface {
	// ObserveAttempt reports one HTTP attempt of a webhook of the given callback type: whether it succeeded
	// (any 2xx) and how long it took.
	ObserveAttempt(callback string, ok bool, latency time.Duration)
	// ObserveDeadLetter reports a delivery given up on.
	ObserveDeadLetter(callback string)
	// ObserveRequeued reports n deliveries queued again through the admin API, by source: SourceRedelivery
	// (dead letters) or SourceReplay.
	ObserveRequeued(source string, n int)
}

// The sources of deliveries queued again, for Observer.ObserveRequeued.
const (
	SourceRedelivery = "redelivery"
	SourceReplay     = "replay"
)

type nopObserver struct{}

func (nopObserver) ObserveAttempt(string, bool, time.Duration) {}
func (nopObserver) ObserveDeadLetter(string)                   {}
func (nopObserver) ObserveRequeued(string, int)                {}

// migrations are the package's tables, per dialect (see store.DB.Migrate).
//
//go:embed migrations
var migrations embed.FS

// Webhooks is the webhook projection and dispatcher. Create it with [New], start it with [Webhooks.Start]
// and stop it with [Webhooks.Close].
type Webhooks struct {
	db     *store.DB
	events *events.Log
	cfg    Config
	log    *slog.Logger

	mu       sync.Mutex
	started  bool
	consumer *events.Consumer
	disp     *dispatcher
}

// New migrates the webhook tables and returns a stopped Webhooks.
func New(ctx context.Context, db *store.DB, evlog *events.Log, cfg Config, log *slog.Logger) (*Webhooks, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	if err := db.Migrate(ctx, "webhooks", migrations); err != nil {
		return nil, err
	}
	return &Webhooks{db: db, events: evlog, cfg: cfg.withDefaults(), log: log.With("part", "webhooks")}, nil
}

// Start starts the dispatcher, which reports its attempts to obs (may be nil), and the projection's consumer
// group. They run until Close (or until ctx is done, for the projection).
func (w *Webhooks) Start(ctx context.Context, obs Observer) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return errors.New("webhooks: already started")
	}
	if obs == nil {
		obs = nopObserver{}
	}
	w.disp = newDispatcher(w.db, w.events, w.cfg, obs, w.log)
	w.disp.start()
	c, err := w.events.Consume(ctx, events.ConsumerOptions{
		Group:       ConsumerGroup,
		AfterCommit: w.disp.poke,
	}, w.project)
	if err != nil {
		w.disp.close()
		return fmt.Errorf("webhooks: start projection: %w", err)
	}
	w.consumer = c
	w.started = true
	return nil
}

// Close stops the projection (committing the batch in hand) and the dispatcher (aborting requests in flight;
// they are retried at the next start). It is safe to call more than once.
func (w *Webhooks) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started {
		return nil
	}
	w.started = false
	err := w.consumer.Close()
	w.disp.close()
	return err
}

// Targets returns the instance's configured webhook URLs by kind, as the projection has applied them.
func (w *Webhooks) Targets(ctx context.Context, instanceID string) (map[eventsv1.WebhookKind]string, error) {
	return loadTargets(ctx, w.db.SQL(), instanceID)
}

// Backlog counts pending and dead-lettered deliveries.
func (w *Webhooks) Backlog(ctx context.Context) (pending, dead int64, err error) {
	err = w.db.SQL().QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0)
		FROM webhook_deliveries`).Scan(&pending, &dead)
	if err != nil {
		return 0, 0, fmt.Errorf("webhooks: backlog: %w", err)
	}
	return pending, dead, nil
}
