// Package consumers starts and stops the event stream's consumers of the embedded server in one call: the
// read models — the instance view, the chats view and the webhook projection, parts of one consumer group
// (events.ProjectionsGroup) — the webhook dispatcher, and the Prometheus metrics (which the dispatcher reports
// to). It only wires; each consumer lives in its own package.
package consumers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/chats"
	"github.com/plugzapi/plugzapi/events/instanceview"
	"github.com/plugzapi/plugzapi/events/metrics"
	"github.com/plugzapi/plugzapi/events/webhooks"
	"github.com/plugzapi/plugzapi/store"
)

// Config gathers the consumers' settings.
type Config struct {
	Webhooks webhooks.Config
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	return c.Webhooks.Validate()
}

// Consumers are the running consumers. Their read sides (View.List, Webhooks.Targets, Metrics.Handler) are
// safe for concurrent use.
type Consumers struct {
	View     *instanceview.View
	Metrics  *metrics.Metrics
	Webhooks *webhooks.Webhooks
	// Chats is the chats and labels read model.
	Chats *chats.View

	projections *events.Consumer
}

// Start migrates the consumers' tables and starts them. They run until Close, or until ctx is done. On error,
// whatever was started is stopped again.
func Start(ctx context.Context, db *store.DB, log *events.Log, cfg Config, logger *slog.Logger) (_ *Consumers, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.Default()
	}
	c := &Consumers{}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Close())
		}
	}()
	if c.View, err = instanceview.New(ctx, db); err != nil {
		return nil, err
	}
	if c.Chats, err = chats.New(ctx, db, log); err != nil {
		return nil, err
	}
	hooks, err := webhooks.New(ctx, db, log, cfg.Webhooks, logger)
	if err != nil {
		return nil, err
	}
	m := metrics.New(metrics.Sources{View: c.View, Stream: log, Webhooks: hooks}, logger)
	if err := m.Start(ctx, log); err != nil {
		return nil, err
	}
	c.Metrics = m
	if err := hooks.Start(m); err != nil {
		return nil, err
	}
	c.Webhooks = hooks
	// One group for the read models: one read of the stream and one transaction per batch for all three, where
	// a group each read every event thrice and took SQLite's write lock thrice. The order is fixed; the parts
	// write only their own tables.
	if c.projections, err = log.Consume(ctx, events.ConsumerOptions{Group: events.ProjectionsGroup},
		c.View.Part(), c.Chats.Part(), hooks.Part()); err != nil {
		return nil, fmt.Errorf("consumers: %w", err)
	}
	return c, nil
}

// MetricsHandler serves GET /metrics.
func (c *Consumers) MetricsHandler() http.Handler { return c.Metrics.Handler() }

// Close stops the consumers: the read models' group (which commits the batch in hand), the webhook dispatcher
// (requests in flight are abandoned and retried at the next start) and the metrics. It is safe to call more
// than once.
func (c *Consumers) Close() error {
	var errs []error
	if c.projections != nil {
		errs = append(errs, c.projections.Close())
	}
	if c.Webhooks != nil {
		errs = append(errs, c.Webhooks.Close())
	}
	if c.Metrics != nil {
		errs = append(errs, c.Metrics.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("consumers: close: %w", err)
	}
	return nil
}
