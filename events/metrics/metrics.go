// Package metrics is the Prometheus projection of the event stream: counters fed by a tap on the event log
// (the events this process appends, as they become durable), gauges read from current state (the instance view, the stream's offsets, the webhook queue) at scrape time,
// and the webhook dispatcher's attempt reports. Everything is registered on the package's own registry, never
// on prometheus.DefaultRegisterer; serve it with [Metrics.Handler].
//
// Labels are bounded: callback types, receipt statuses, event types, consumer groups. No metric is labelled
// per message or per instance.
//
// Counters count from when the process started, and history is never replayed into them: Prometheus sees an
// ordinary counter reset at a restart. On a cluster each node counts the events of the instances it runs, so
// the sum over the nodes counts each event once.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/instanceview"
	"github.com/plugzapi/plugzapi/events/webhooks"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// formerGroup is the consumer group the counters were fed by before the tap. Start drops it: its offset would
// otherwise hold back the stream's pruning for ever.
const formerGroup = "metrics"

const namespace = "plugzapi"

// InstanceView is the instance read model: its summary and its rows (instanceview.View satisfies it).
type InstanceView interface {
	Totals(ctx context.Context) (instanceview.Totals, error)
	List(ctx context.Context) ([]instanceview.Instance, error)
}

// StreamLag reports the stream's latest offset and each consumer group's position (events.Log satisfies it).
type StreamLag interface {
	Lag(ctx context.Context) (latest int64, groups []events.GroupLag, err error)
}

// WebhookBacklog counts queued and dead-lettered webhooks (webhooks.Webhooks satisfies it).
type WebhookBacklog interface {
	Backlog(ctx context.Context) (pending, dead int64, err error)
}

// Sources are where the gauges come from; a nil source leaves its gauges out.
type Sources struct {
	View     InstanceView
	Stream   StreamLag
	Webhooks WebhookBacklog
}

// scrapeTimeout bounds the database reads of one scrape.
const scrapeTimeout = 3 * time.Second

// Metrics holds the server's Prometheus metrics.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	events      *prometheus.CounterVec
	queued      prometheus.Counter
	sent        prometheus.Counter
	failed      prometheus.Counter
	cancelled   prometheus.Counter
	received    *prometheus.CounterVec
	statuses    *prometheus.CounterVec
	connects    prometheus.Counter
	disconnects *prometheus.CounterVec
	sendLatency prometheus.Histogram

	whAttempts *prometheus.CounterVec
	whFailures *prometheus.CounterVec
	whLatency  *prometheus.HistogramVec
	whDead     *prometheus.CounterVec
	whRequeued *prometheus.CounterVec

	mu    sync.Mutex
	untap func()
}

// Callback types the dispatcher reports; pre-declared so their series exist (at zero) from the start.
var callbacks = []string{"DeliveryCallback", "ReceivedCallback", "MessageStatusCallback", "ConnectedCallback",
	"DisconnectedCallback", "PresenceChatCallback"}

// New creates the metrics on a fresh registry, with Go runtime and process metrics alongside.
func New(src Sources, log *slog.Logger) *Metrics {
	if log == nil {
		log = slog.Default()
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help})
	}
	counterVec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	}
	m := &Metrics{
		reg:       prometheus.NewRegistry(),
		log:       log,
		events:    counterVec("events_total", "Events appended to instance streams, by type.", "type"),
		queued:    counter("messages_queued_total", "Messages accepted into an instance's queue."),
		sent:      counter("messages_sent_total", "Messages WhatsApp's server acknowledged."),
		failed:    counter("messages_failed_total", "Messages that left the queue unsent because sending failed for good."),
		cancelled: counter("messages_cancelled_total", "Messages removed from a queue through the API before sending."),
		received:  counterVec("messages_received_total", "Messages that arrived in an instance's chats; from_me=true for messages its own phone sent.", "from_me"),
		statuses:  counterVec("message_status_total", "Receipts for messages, by status (received, read, played, read_self).", "status"),
		connects:  counter("connects_total", "Times an instance connected to WhatsApp."),
		disconnects: counterVec("disconnects_total",
			"Times an instance lost its connection (reason=disconnected) or its link (reason=logged_out).", "reason"),
		sendLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "send_latency_seconds",
			Help:    "Time from a message being queued to WhatsApp acknowledging it (event times), pacing and waiting while disconnected included.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300, 900, 3600},
		}),
		whAttempts: counterVec("webhook_attempts_total", "Webhook HTTP attempts, by callback type.", "callback"),
		whFailures: counterVec("webhook_failures_total", "Webhook HTTP attempts that did not get a 2xx answer, by callback type.", "callback"),
		whLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "webhook_latency_seconds", Help: "Duration of webhook HTTP attempts, by callback type.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
		}, []string{"callback"}),
		whDead: counterVec("webhook_dead_letters_total", "Webhooks given up on after retrying for the configured time, by callback type.", "callback"),
		whRequeued: counterVec("webhook_requeued_total",
			"Webhooks queued again through the admin API: dead letters sent again (source=redelivery) and replayed ones (source=replay).", "source"),
	}
	for _, v := range []string{"true", "false"} {
		m.received.WithLabelValues(v)
	}
	for _, v := range []string{"received", "read", "played", "read_self"} {
		m.statuses.WithLabelValues(v)
	}
	for _, v := range []string{"disconnected", "logged_out"} {
		m.disconnects.WithLabelValues(v)
	}
	for _, cb := range callbacks {
		m.whAttempts.WithLabelValues(cb)
		m.whFailures.WithLabelValues(cb)
		m.whDead.WithLabelValues(cb)
	}
	for _, source := range []string{webhooks.SourceRedelivery, webhooks.SourceReplay} {
		m.whRequeued.WithLabelValues(source)
	}
	m.reg.MustRegister(m.events, m.queued, m.sent, m.failed, m.cancelled, m.received, m.statuses, m.connects,
		m.disconnects, m.sendLatency, m.whAttempts, m.whFailures, m.whLatency, m.whDead,
		m.whRequeued,
		&stateCollector{src: src},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry returns the registry the metrics live on, for adding more (watermill's, protoactor's).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format, for GET /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:          m.reg,
		ErrorHandling:     promhttp.ContinueOnError,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		EnableOpenMetrics: true,
	})
}

// Start feeds the counters from log's appends until Close.
func (m *Metrics) Start(ctx context.Context, log *events.Log) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.untap != nil {
		return errors.New("metrics: already started")
	}
	if err := log.DropGroup(ctx, formerGroup); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	m.untap = log.Tap(m.countAll)
	return nil
}

// Close stops counting. It is safe to call more than once.
func (m *Metrics) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.untap != nil {
		m.untap()
		m.untap = nil
	}
	return nil
}

// countAll is the tap: it runs on the event log's committer, so it only counts.
func (m *Metrics) countAll(evs []*eventsv1.Event) {
	for _, ev := range evs {
		m.count(ev)
	}
}

func (m *Metrics) count(ev *eventsv1.Event) {
	m.events.WithLabelValues(events.TypeName(ev)).Inc()
	switch p := ev.GetPayload().(type) {
	case *eventsv1.Event_MessageQueued:
		m.queued.Inc()
	case *eventsv1.Event_MessageSent:
		m.sent.Inc()
		if queued := p.MessageSent.GetQueuedTimeMs(); queued > 0 {
			m.sendLatency.Observe(max(time.UnixMilli(ev.GetTimeMs()).Sub(time.UnixMilli(queued)).Seconds(), 0))
		}
	case *eventsv1.Event_MessageFailed:
		m.failed.Inc()
	case *eventsv1.Event_MessageCancelled:
		m.cancelled.Inc()
	case *eventsv1.Event_MessageReceived:
		if p.MessageReceived.GetFromMe() {
			m.received.WithLabelValues("true").Inc()
		} else {
			m.received.WithLabelValues("false").Inc()
		}
	case *eventsv1.Event_MessageStatusChanged:
		if s := statusLabel(p.MessageStatusChanged.GetStatus()); s != "" {
			// One receipt can cover several messages; each message made the transition.
			m.statuses.WithLabelValues(s).Add(float64(max(len(p.MessageStatusChanged.GetMessageIds()), 1)))
		}
	case *eventsv1.Event_Connected:
		m.connects.Inc()
	case *eventsv1.Event_Disconnected:
		m.disconnects.WithLabelValues("disconnected").Inc()
	case *eventsv1.Event_LoggedOut:
		m.disconnects.WithLabelValues("logged_out").Inc()
	}
}

func statusLabel(s eventsv1.MessageStatus) string {
	switch s {
	case eventsv1.MessageStatus_MESSAGE_STATUS_RECEIVED:
		return "received"
	case eventsv1.MessageStatus_MESSAGE_STATUS_READ:
		return "read"
	case eventsv1.MessageStatus_MESSAGE_STATUS_PLAYED:
		return "played"
	case eventsv1.MessageStatus_MESSAGE_STATUS_READ_SELF:
		return "read_self"
	}
	return ""
}

// ObserveAttempt records a webhook attempt (webhooks.Observer).
func (m *Metrics) ObserveAttempt(callback string, ok bool, latency time.Duration) {
	m.whAttempts.WithLabelValues(callback).Inc()
	if !ok {
		m.whFailures.WithLabelValues(callback).Inc()
	}
	m.whLatency.WithLabelValues(callback).Observe(latency.Seconds())
}

// ObserveDeadLetter records a webhook given up on (webhooks.Observer).
func (m *Metrics) ObserveDeadLetter(callback string) {
	m.whDead.WithLabelValues(callback).Inc()
}

// ObserveRequeued records webhooks queued again (webhooks.Observer).
func (m *Metrics) ObserveRequeued(source string, n int) {
	m.whRequeued.WithLabelValues(source).Add(float64(n))
}

// stateCollector reads the gauges from current state at scrape time, so they are right after a restart
// without replaying anything.
type stateCollector struct {
	src Sources
}

var (
	descInstances  = prometheus.NewDesc(namespace+"_instances", "Instances that exist.", nil, nil)
	descConnected  = prometheus.NewDesc(namespace+"_instances_connected", "Instances connected to WhatsApp.", nil, nil)
	descQueueDepth = prometheus.NewDesc(namespace+"_queue_depth", "Messages queued and not yet sent, over all instances.", nil, nil)
	descOffset     = prometheus.NewDesc(namespace+"_event_stream_offset", "Offset of the newest event in the stream.", nil, nil)
	descLag        = prometheus.NewDesc(namespace+"_event_consumer_lag", "Events in the stream a consumer group has not processed yet.", []string{"group"}, nil)
	descBacklog    = prometheus.NewDesc(namespace+"_webhook_backlog", "Webhooks waiting to be delivered (state=pending) or given up on and kept (state=dead).", []string{"state"}, nil)

	// The gauges below tell an operator what the totals cannot: whether a linked instance has been cut off for
	// long (a never-linked one is not an outage), and whether messages wait on instances able to send them.
	descByState          = prometheus.NewDesc(namespace+"_instances_by_state", "Instances in each connection state (new, pairing, paired, connected, disconnected, logged_out).", []string{"state"}, nil)
	descLongestDown      = prometheus.NewDesc(namespace+"_instance_longest_disconnection_seconds", "How long the instance disconnected the longest (linked, connection lost) has been so; 0 when none is.", nil, nil)
	descQueueOnConnected = prometheus.NewDesc(namespace+"_queue_depth_connected", "Messages queued on instances connected to WhatsApp: they should be leaving.", nil, nil)
)

// instanceStates are the states instances_by_state reports, each even at zero so that a panel or an alert
// sees a series rather than none.
var instanceStates = []string{instanceview.StateNew, instanceview.StatePairing, instanceview.StatePaired,
	instanceview.StateConnected, instanceview.StateDisconnected, instanceview.StateLoggedOut}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInstances, descConnected, descQueueDepth, descOffset, descLag, descBacklog,
		descByState, descLongestDown, descQueueOnConnected} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	if c.src.View != nil {
		if t, err := c.src.View.Totals(ctx); err != nil {
			ch <- prometheus.NewInvalidMetric(descInstances, err)
		} else {
			ch <- prometheus.MustNewConstMetric(descInstances, prometheus.GaugeValue, float64(t.Instances))
			ch <- prometheus.MustNewConstMetric(descConnected, prometheus.GaugeValue, float64(t.Connected))
			ch <- prometheus.MustNewConstMetric(descQueueDepth, prometheus.GaugeValue, float64(t.QueueDepth))
		}
		c.collectStates(ctx, ch)
	}
	if c.src.Stream != nil {
		if latest, groups, err := c.src.Stream.Lag(ctx); err != nil {
			ch <- prometheus.NewInvalidMetric(descOffset, err)
		} else {
			ch <- prometheus.MustNewConstMetric(descOffset, prometheus.GaugeValue, float64(latest))
			for _, g := range groups {
				ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(g.Lag), g.Group)
			}
		}
	}
	if c.src.Webhooks != nil {
		if pending, dead, err := c.src.Webhooks.Backlog(ctx); err != nil {
			ch <- prometheus.NewInvalidMetric(descBacklog, err)
		} else {
			ch <- prometheus.MustNewConstMetric(descBacklog, prometheus.GaugeValue, float64(pending), "pending")
			ch <- prometheus.MustNewConstMetric(descBacklog, prometheus.GaugeValue, float64(dead), "dead")
		}
	}
}

// collectStates reports the gauges computed over the view's rows.
func (c *stateCollector) collectStates(ctx context.Context, ch chan<- prometheus.Metric) {
	list, err := c.src.View.List(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descByState, err)
		return
	}
	byState := make(map[string]int, len(instanceStates))
	var longest time.Duration
	var queuedOnConnected int64
	now := time.Now()
	for _, in := range list {
		byState[in.State]++
		if in.State == instanceview.StateDisconnected {
			longest = max(longest, now.Sub(in.StateChanged))
		}
		if in.Connected {
			queuedOnConnected += in.QueueDepth
		}
	}
	for _, s := range instanceStates {
		ch <- prometheus.MustNewConstMetric(descByState, prometheus.GaugeValue, float64(byState[s]), s)
	}
	ch <- prometheus.MustNewConstMetric(descLongestDown, prometheus.GaugeValue, longest.Seconds())
	ch <- prometheus.MustNewConstMetric(descQueueOnConnected, prometheus.GaugeValue, float64(queuedOnConnected))
}
