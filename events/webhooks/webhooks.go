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

// partName is the projection's part name; it was the projection's own consumer group's name before the read
// models shared one (see events.Part).
const partName = "webhooks"

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

// Webhooks is the webhook projection and dispatcher. Create it with [New]; its [Webhooks.Part] keeps the
// projection up to date, and [Webhooks.Start] and [Webhooks.Close] start and stop the dispatcher.
type Webhooks struct {
	db     *store.DB
	events *events.Log
	cfg    Config
	log    *slog.Logger

	mu   sync.Mutex
	disp *dispatcher // nil while stopped
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

// Part is the webhook projection's part of a consumer group (see events.Log.Consume): it turns events into
// deliveries, and wakes the dispatcher after each batch that committed.
func (w *Webhooks) Part() events.Part {
	return events.Part{Name: partName, Handle: w.project, AfterCommit: w.poke}
}

// Start starts the dispatcher, which reports its attempts to obs (may be nil). It runs until Close.
func (w *Webhooks) Start(obs Observer) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.disp != nil {
		return errors.New("webhooks: already started")
	}
	if obs == nil {
		obs = nopObserver{}
	}
	w.disp = newDispatcher(w.db, w.events, w.cfg, obs, w.log)
	w.disp.start()
	return nil
}

// Close stops the dispatcher, aborting requests in flight (they are retried at the next start). It is safe to
// call more than once.
func (w *Webhooks) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.disp != nil {
		w.disp.close()
		w.disp = nil
	}
	return nil
}

// poke wakes the dispatcher, when it runs, for deliveries just queued.
func (w *Webhooks) poke() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.disp != nil {
		w.disp.poke()
	}
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
