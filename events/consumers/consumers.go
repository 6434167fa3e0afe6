// Package consumers starts and stops the event stream's consumers of the embedded server in one call: the
// instance view, the Prometheus projection, and the webhook projection and dispatcher (reporting to the
// metrics). It only wires; each consumer lives in its own package.
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
	view, err := instanceview.New(ctx, db)
	if err != nil {
		return nil, err
	}
	if err := view.Start(ctx, log); err != nil {
		return nil, err
	}
	c.View = view
	hooks, err := webhooks.New(ctx, db, log, cfg.Webhooks, logger)
	if err != nil {
		return nil, err
	}
	m := metrics.New(metrics.Sources{View: view, Stream: log, Webhooks: hooks}, logger)
	if err := m.Start(ctx, log); err != nil {
		return nil, err
	}
	c.Metrics = m
	if err := hooks.Start(ctx, m); err != nil {
		return nil, err
	}
	c.Webhooks = hooks
	cv, err := chats.New(ctx, db)
	if err != nil {
		return nil, err
	}
	if err := cv.Start(ctx, log); err != nil {
		return nil, err
	}
	c.Chats = cv
	return c, nil
}

// MetricsHandler serves GET /metrics.
func (c *Consumers) MetricsHandler() http.Handler { return c.Metrics.Handler() }

// Close stops the consumers: the webhook dispatcher (requests in flight are abandoned and retried at the next
// start) and every consumer group (each commits the batch in hand). It is safe to call more than once.
func (c *Consumers) Close() error {
	var errs []error
	if c.Webhooks != nil {
		errs = append(errs, c.Webhooks.Close())
	}
	if c.Metrics != nil {
		errs = append(errs, c.Metrics.Close())
	}
	if c.Chats != nil {
		errs = append(errs, c.Chats.Close())
	}
	if c.View != nil {
		errs = append(errs, c.View.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("consumers: close: %w", err)
	}
	return nil
}
