package webhooks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
)

// BenchmarkAppendToWebhook measures the latency from Append returning to the receiver getting the webhook:
// the consumer's wake-up, the projection's transaction, the dispatcher's wake-up and the HTTP request, one
// event at a time (synchronous FULL, real file).
//
//	go test -run='^$' -bench=BenchmarkAppendToWebhook -benchtime=300x ./events/webhooks/
func BenchmarkAppendToWebhook(b *testing.B) {
	ctx := context.Background()
	db := eventstest.OpenDB(b, "")
	log := eventstest.OpenLog(b, db, events.Config{ConsumerDB: db.Unsynced()})
	inst, _, err := store.CreateInstance(ctx, db.SQL(), "BENCH0000000000000000000000000001", "bench", "", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	got := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { got <- struct{}{} }))
	b.Cleanup(srv.Close)
	w, err := New(ctx, db, log, Config{AllowInsecure: true}, eventstest.Logger())
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Start(nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() })
	eventstest.Consume(b, log, w.Part())
	eventstest.Append(b, log, inst.ID, &eventsv1.Event{Payload: &eventsv1.Event_WebhookConfigured{
		WebhookConfigured: &eventsv1.WebhookConfigured{Kind: eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED, Url: srv.URL}}})
	seq := int64(1)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := log.Append(ctx, inst.ID, seq, []*eventsv1.Event{eventstest.Connected("1")}, nil); err != nil {
			b.Fatal(err)
		}
		seq++
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			b.Fatal("webhook did not arrive")
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkInstanceBacklog measures how fast one instance's backlog drains: b.N events are appended at once,
// each causing one webhook, and the clock stops when the receiver (local, answering at once) has them all.
// An instance has one webhook in flight at a time, so this is the ceiling of its webhook rate: one HTTP round
// trip plus one recorded outcome per webhook.
//
//	go test -run='^$' -bench=BenchmarkInstanceBacklog -benchtime=2000x -count=6 ./events/webhooks/
func BenchmarkInstanceBacklog(b *testing.B) {
	ctx := context.Background()
	db := eventstest.OpenDB(b, "")
	log := eventstest.OpenLog(b, db, events.Config{ConsumerDB: db.Unsynced()})
	inst, _, err := store.CreateInstance(ctx, db.SQL(), "BENCH0000000000000000000000000002", "bench", "", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	got := make(chan struct{}, b.N)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { got <- struct{}{} }))
	b.Cleanup(srv.Close)
	eventstest.Append(b, log, inst.ID, &eventsv1.Event{Payload: &eventsv1.Event_WebhookConfigured{
		WebhookConfigured: &eventsv1.WebhookConfigured{Kind: eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED, Url: srv.URL}}})
	for left := b.N; left > 0; left -= 1000 {
		batch := make([]*eventsv1.Event, min(left, 1000)) // Append's limit per call
		for i := range batch {
			batch[i] = eventstest.Connected("1")
		}
		eventstest.Append(b, log, inst.ID, batch...)
	}

	w, err := New(ctx, db, log, Config{AllowInsecure: true}, eventstest.Logger())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if err := w.Start(nil); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() })
	eventstest.Consume(b, log, w.Part())
	for range b.N {
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			b.Fatal("webhooks stopped arriving")
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
}

// BenchmarkProjection measures the webhook projection working through a backlog: b.N Connected events of an
// instance with a connected webhook are appended first; the clock runs from the group's start until it has
// committed past the last one. Each event reads the instance's targets and queues one delivery (the
// dispatcher is not running).
//
//	go test -run='^$' -bench=BenchmarkProjection -benchtime=5000x -count=6 ./events/webhooks/
func BenchmarkProjection(b *testing.B) {
	ctx := context.Background()
	db := eventstest.OpenDB(b, "")
	log := eventstest.OpenLog(b, db, events.Config{ConsumerDB: db.Unsynced()})
	inst, _, err := store.CreateInstance(ctx, db.SQL(), "BENCH0000000000000000000000000003", "bench", "", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	eventstest.Append(b, log, inst.ID, &eventsv1.Event{Payload: &eventsv1.Event_WebhookConfigured{
		WebhookConfigured: &eventsv1.WebhookConfigured{Kind: eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED, Url: "https://example.com/hook"}}})
	for left := b.N; left > 0; left -= 1000 {
		batch := make([]*eventsv1.Event, min(left, 1000))
		for i := range batch {
			batch[i] = eventstest.Connected("1")
		}
		eventstest.Append(b, log, inst.ID, batch...)
	}
	latest, _, err := log.Lag(ctx)
	if err != nil {
		b.Fatal(err)
	}
	w, err := New(ctx, db, log, Config{}, eventstest.Logger())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	eventstest.Consume(b, log, w.Part())
	eventstest.WaitForGroups(b, log, latest)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
