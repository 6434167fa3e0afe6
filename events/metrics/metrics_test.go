package metrics_test

import (
	"context"
	"database/sql"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	"github.com/plugzapi/plugzapi/events/instanceview"
	"github.com/plugzapi/plugzapi/events/metrics"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// value returns the value of the series name{labels} (counter, gauge, or a histogram's sample count), and
// whether it exists.
func value(t *testing.T, m *metrics.Metrics, name string, labels ...string) (float64, bool) {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range s.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if got[labels[i]] != labels[i+1] {
					continue series
				}
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return s.GetCounter().GetValue(), true
			case dto.MetricType_GAUGE:
				return s.GetGauge().GetValue(), true
			case dto.MetricType_HISTOGRAM:
				return float64(s.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func histogramSum(t *testing.T, m *metrics.Metrics, name string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetHistogram().GetSampleSum()
		}
	}
	t.Fatalf("no histogram %s", name)
	return 0
}

func TestMetricsAfterKnownEvents(t *testing.T) {
	eventstest.CheckGoroutines(t)
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	log := eventstest.OpenLog(t, db, events.Config{})
	view, err := instanceview.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Consume(t, log, view.Part())

	// History before the metrics start is not counted.
	eventstest.Append(t, log, "old", eventstest.Queued("z", "m", "1"), eventstest.Connected("1"))
	// The consumer group the counters had before the tap is left over by an older version: Start drops it.
	former, err := log.Consume(ctx, events.ConsumerOptions{Group: "metrics"},
		events.Part{Name: "counters", Handle: func(context.Context, *sql.Tx, *eventsv1.Event) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := former.Close(); err != nil {
		t.Fatal(err)
	}

	m := metrics.New(metrics.Sources{View: view, Stream: log}, eventstest.Logger())
	if err := m.Start(ctx, log); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })

	ev := func(ms int64, p any) *eventsv1.Event {
		e := &eventsv1.Event{TimeMs: ms}
		switch p := p.(type) {
		case *messagesv1.Outbound:
			e.Payload = &eventsv1.Event_MessageQueued{MessageQueued: p}
		case *eventsv1.MessageSent:
			e.Payload = &eventsv1.Event_MessageSent{MessageSent: p}
		case *eventsv1.MessageFailed:
			e.Payload = &eventsv1.Event_MessageFailed{MessageFailed: p}
		case *eventsv1.MessageCancelled:
			e.Payload = &eventsv1.Event_MessageCancelled{MessageCancelled: p}
		case *eventsv1.MessageStatusChanged:
			e.Payload = &eventsv1.Event_MessageStatusChanged{MessageStatusChanged: p}
		case *messagesv1.Inbound:
			e.Payload = &eventsv1.Event_MessageReceived{MessageReceived: p}
		case *eventsv1.Connected:
			e.Payload = &eventsv1.Event_Connected{Connected: p}
		case *eventsv1.Disconnected:
			e.Payload = &eventsv1.Event_Disconnected{Disconnected: p}
		case *eventsv1.LoggedOut:
			e.Payload = &eventsv1.Event_LoggedOut{LoggedOut: p}
		}
		return e
	}
	eventstest.Append(t, log, "A",
		ev(1000, &eventsv1.Connected{Phone: "1"}),
		ev(1000, &messagesv1.Outbound{ZaapId: "z1", MessageId: "m1"}),
		ev(1500, &messagesv1.Outbound{ZaapId: "z2", MessageId: "m2"}),
		ev(2000, &messagesv1.Outbound{ZaapId: "z3", MessageId: "m3"}),
		ev(2000, &messagesv1.Outbound{ZaapId: "z4", MessageId: "m4"}),
		ev(3000, &eventsv1.MessageSent{ZaapId: "z1", MessageId: "m1", QueuedTimeMs: 1000}), // 2s after queued
		ev(6500, &eventsv1.MessageSent{ZaapId: "z2", MessageId: "m2"}),                     // recorded by an older version
		ev(7000, &eventsv1.MessageFailed{ZaapId: "z3", MessageId: "m3"}),
		ev(7000, &eventsv1.MessageStatusChanged{MessageIds: []string{"m1", "m2"}, Status: eventsv1.MessageStatus_MESSAGE_STATUS_RECEIVED}),
		ev(8000, &eventsv1.MessageStatusChanged{MessageIds: []string{"m1"}, Status: eventsv1.MessageStatus_MESSAGE_STATUS_READ}),
		ev(8000, &messagesv1.Inbound{MessageId: "in1"}),
		ev(8000, &messagesv1.Inbound{MessageId: "in2", FromMe: true}),
	)
	eventstest.Append(t, log, "B",
		ev(1000, &eventsv1.Connected{Phone: "2"}),
		ev(2000, &eventsv1.Disconnected{}),
		ev(3000, &eventsv1.Connected{Phone: "2"}),
		ev(4000, &eventsv1.LoggedOut{}),
		ev(4000, &messagesv1.Outbound{ZaapId: "z1", MessageId: "m1"}),
		ev(5000, &eventsv1.MessageCancelled{ZaapId: "z1", MessageId: "m1"}),
	)
	eventstest.WaitFor(t, 5*time.Second, "all events counted", func() bool {
		v, _ := value(t, m, "plugzapi_events_total", "type", "message_cancelled")
		return v == 1
	})

	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"plugzapi_messages_queued_total", nil, 5},
		{"plugzapi_messages_sent_total", nil, 2},
		{"plugzapi_messages_failed_total", nil, 1},
		{"plugzapi_messages_cancelled_total", nil, 1},
		{"plugzapi_messages_received_total", []string{"from_me", "false"}, 1},
		{"plugzapi_messages_received_total", []string{"from_me", "true"}, 1},
		{"plugzapi_message_status_total", []string{"status", "received"}, 2},
		{"plugzapi_message_status_total", []string{"status", "read"}, 1},
		{"plugzapi_message_status_total", []string{"status", "played"}, 0},
		{"plugzapi_connects_total", nil, 3},
		{"plugzapi_disconnects_total", []string{"reason", "disconnected"}, 1},
		{"plugzapi_disconnects_total", []string{"reason", "logged_out"}, 1},
		{"plugzapi_events_total", []string{"type", "message_queued"}, 5},
		{"plugzapi_send_latency_seconds", nil, 1}, // sample count: m2's MessageSent does not say when it was queued
	} {
		got, ok := value(t, m, tc.name, tc.labels...)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	if sum := histogramSum(t, m, "plugzapi_send_latency_seconds"); sum != 2 {
		t.Errorf("send latency sum = %v s, want 2", sum)
	}

	// Gauges come from current state: the view (A: connected, m4 still queued; B: logged out; "old": connected
	// with one queued) and the stream's offsets.
	eventstest.WaitFor(t, 5*time.Second, "view caught up", func() bool {
		v, _ := value(t, m, "plugzapi_event_consumer_lag", "group", events.ProjectionsGroup)
		return v == 0
	})
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"plugzapi_instances", nil, 3},
		{"plugzapi_instances_connected", nil, 2},
		{"plugzapi_queue_depth", nil, 2},
		{"plugzapi_event_stream_offset", nil, 20},
	} {
		got, ok := value(t, m, tc.name, tc.labels...)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	if v, ok := value(t, m, "plugzapi_event_consumer_lag", "group", "metrics"); ok {
		t.Errorf("the former metrics group is still there, lagging %v", v)
	}

	// The per-state gauges: A and "old" are connected with a message queued each, B logged out. Then C is
	// linked and loses its connection 90 seconds ago, with a message queued that cannot leave.
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"plugzapi_instances_by_state", []string{"state", "connected"}, 2},
		{"plugzapi_instances_by_state", []string{"state", "logged_out"}, 1},
		{"plugzapi_instances_by_state", []string{"state", "disconnected"}, 0},
		{"plugzapi_instance_longest_disconnection_seconds", nil, 0},
		{"plugzapi_queue_depth_connected", nil, 2},
	} {
		got, ok := value(t, m, tc.name, tc.labels...)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	lost := time.Now().Add(-90 * time.Second).UnixMilli()
	eventstest.Append(t, log, "C",
		ev(1000, &eventsv1.Connected{Phone: "3"}),
		ev(1000, &messagesv1.Outbound{ZaapId: "z1", MessageId: "m1"}),
		ev(lost, &eventsv1.Disconnected{}),
	)
	eventstest.WaitFor(t, 5*time.Second, "C disconnected", func() bool {
		v, _ := value(t, m, "plugzapi_instances_by_state", "state", "disconnected")
		return v == 1
	})
	if got, _ := value(t, m, "plugzapi_instance_longest_disconnection_seconds"); got < 90 || got > 120 {
		t.Errorf("longest disconnection = %vs, want about 90s", got)
	}
	if got, _ := value(t, m, "plugzapi_queue_depth_connected"); got != 2 {
		t.Errorf("queue depth on connected instances = %v, want 2 (C's message waits for a connection)", got)
	}

	// Webhook reports.
	m.ObserveAttempt("DeliveryCallback", true, 30*time.Millisecond)
	m.ObserveAttempt("DeliveryCallback", false, 2*time.Second)
	m.ObserveDeadLetter("DeliveryCallback")
	for _, tc := range []struct {
		name string
		want float64
	}{
		{"plugzapi_webhook_attempts_total", 2},
		{"plugzapi_webhook_failures_total", 1},
		{"plugzapi_webhook_dead_letters_total", 1},
		{"plugzapi_webhook_latency_seconds", 2},
	} {
		if got, _ := value(t, m, tc.name, "callback", "DeliveryCallback"); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
		}
	}
	m.ObserveRequeued("replay", 3)
	if got, _ := value(t, m, "plugzapi_webhook_requeued_total", "source", "replay"); got != 3 {
		t.Errorf("plugzapi_webhook_requeued_total{source=replay} = %v, want 3", got)
	}

	// The handler serves the registry in the text format.
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		"plugzapi_messages_sent_total 2",
		`plugzapi_event_consumer_lag{group="projections"} 0`,
		"go_goroutines",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
