package export

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/plugzapi/plugzapi/events"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// ConsumerGroup is the export's consumer group: its offset is the last event the broker acknowledged.
const ConsumerGroup = "export"

// Exporter publishes the event stream to a broker. Close it to stop.
type Exporter struct {
	cfg     Config
	log     *slog.Logger
	wlog    watermill.LoggerAdapter
	relay   *events.Relay
	metrics exporterMetrics

	// mu guards pub, which the relay's goroutine uses and Close closes.
	mu  sync.Mutex
	pub *publisher

	closeOnce sync.Once
}

type exporterMetrics struct {
	published prometheus.Counter
	failures  prometheus.Counter
}

// Start starts exporting the events of log as cfg says. The broker need not be reachable: the exporter
// connects when it has something to publish, and retries with backoff meanwhile. The export's first start
// begins after the newest event; later starts resume after the last event the broker acknowledged. reg, when
// not nil, gets the export's metrics.
func Start(ctx context.Context, log *events.Log, cfg Config, reg prometheus.Registerer, logger *slog.Logger) (*Exporter, error) {
	if !cfg.Enabled() {
		return nil, errors.New("export: no URL configured")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.Default()
	}
	e := &Exporter{
		cfg: cfg,
		log: logger,
		wlog: watermill.NewSlogLoggerWithLevelMapping(logger, map[slog.Level]slog.Level{
			slog.LevelInfo: slog.LevelDebug,
		}),
		metrics: exporterMetrics{
			published: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "plugzapi", Name: "export_published_total",
				Help: "Events the export's broker acknowledged (a re-publication after a failure counts again)."}),
			failures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "plugzapi", Name: "export_failures_total",
				Help: "Failed attempts to connect to the export's broker or to publish to it; each is retried."}),
		},
	}
	if reg != nil {
		if err := errors.Join(reg.Register(e.metrics.published), reg.Register(e.metrics.failures)); err != nil {
			return nil, fmt.Errorf("export: metrics: %w", err)
		}
	}
	r, err := log.Relay(ctx, events.RelayOptions{Group: ConsumerGroup, StartAtEnd: true, BatchTimeout: cfg.Timeout}, e.deliver)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	e.relay = r
	b, _ := parseURL(cfg.URL)
	logger.Info("exporting events", "broker", b.kind, "host", b.url.Host, "topic", cfg.Topic, "events", len(cfg.Events))
	return e, nil
}

// deliver is the relay's delivery: it publishes one event and returns once the broker acknowledged it.
// Events the filter leaves out are passed over (the offset moves past them).
func (e *Exporter) deliver(ctx context.Context, ev *eventsv1.Event) error {
	typ := events.TypeName(ev)
	if len(e.cfg.Events) > 0 && !slices.Contains(e.cfg.Events, typ) {
		return nil
	}
	err := e.publish(ctx, ev, typ, false)
	if errors.Is(err, errTooLarge) {
		// The broker will never take this body, and retrying it would stop the export for good: publish the
		// event without its data, so that consumers still see it, in order.
		e.log.Warn("export: event too large for the broker; publishing it without its data",
			"instance_id", ev.GetInstanceId(), "seq", ev.GetSeq(), "type", typ)
		err = e.publish(ctx, ev, typ, true)
	}
	return err
}

// errTooLarge marks a message the broker refuses for its size.
var errTooLarge = errors.New("message too large for the broker")

// publish publishes ev's envelope and waits for the broker's acknowledgement.
func (e *Exporter) publish(ctx context.Context, ev *eventsv1.Event, typ string, omitData bool) error {
	body, err := envelope(ev, omitData)
	if err != nil {
		// Cannot heal by retrying (see events.Relay's handling of undecodable events).
		e.log.Error("export: cannot render event; not exported", "instance_id", ev.GetInstanceId(), "seq", ev.GetSeq(), "err", err)
		return nil
	}
	msg := message.NewMessage(ev.GetId(), body)
	msg.Metadata.Set(MetadataInstanceID, ev.GetInstanceId())
	msg.Metadata.Set(MetadataType, typ)
	msg.Metadata.Set(MetadataSeq, strconv.FormatInt(ev.GetSeq(), 10))
	msg.SetContext(ctx)

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pub == nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		pub, err := connect(e.cfg, e.wlog)
		if err != nil {
			e.metrics.failures.Inc()
			return err
		}
		e.pub = pub
	}
	if err := e.pub.Publish(e.pub.topic(ev.GetInstanceId(), typ), msg); err != nil {
		e.metrics.failures.Inc()
		if tooLarge(err) {
			// Refused before it was sent (the clients know the broker's limit): the connection is sound.
			return fmt.Errorf("%w: %w", errTooLarge, err)
		}
		// The next attempt starts over on a new connection: a client that failed once may be wedged.
		e.closePublisher()
		return fmt.Errorf("publish: %w", err)
	}
	e.metrics.published.Inc()
	return nil
}

// tooLarge reports whether a publish failed for the message's size: NATS refuses a payload over the server's
// max_payload, Kafka one over the topic's max.message.bytes.
func tooLarge(err error) bool {
	return errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, kerr.MessageTooLarge)
}

// closePublisher closes the connection to the broker, if any; e.mu is held.
func (e *Exporter) closePublisher() {
	if e.pub == nil {
		return
	}
	if err := e.pub.Close(); err != nil {
		e.log.Debug("export: closing the broker connection", "err", err)
	}
	e.pub = nil
}

// Close stops the export: the event being published is abandoned (it is published again at the next start),
// and the connection to the broker is closed. It is safe to call more than once.
func (e *Exporter) Close() error {
	e.closeOnce.Do(func() {
		e.relay.Close()
		e.mu.Lock()
		e.closePublisher()
		e.mu.Unlock()
	})
	return nil
}
