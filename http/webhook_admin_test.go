package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/events/webhooks"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// What the fake's webhook admin methods answer for instID (another instance is not found).
var (
	fakeCreated   = time.UnixMilli(1_764_000_000_000)
	fakeDelivery  = webhooks.Delivery{ID: 7, EventID: "ev7", Seq: 3, Callback: webhooks.ReceivedCallback, Kind: eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, URL: "https://example.com/in", State: webhooks.StateDead, Attempts: 4, LastError: "HTTP 503", Created: fakeCreated, Queued: fakeCreated.Add(time.Second), Dead: fakeCreated.Add(time.Minute)}
	fakeReplayed  = webhooks.Replayed{Replayed: 5, WithoutContent: 2, AlreadyPending: 1, Events: 9, FirstSeq: 3, LastSeq: 11}
	fakeRedeliver = webhooks.Redelivered{Redelivered: 2, WithoutContent: 1, NotRequeued: []webhooks.NotRequeued{{ID: 9, Reason: webhooks.ReasonNotFound}}, Remaining: 4}
)

func (f *fakeApp) WebhookStatus(ctx context.Context, id string) (webhooks.Status, error) {
	if err := f.record(ctx, "WebhookStatus", id); err != nil {
		return webhooks.Status{}, err
	}
	if id != instID {
		return webhooks.Status{}, webhooks.ErrInstanceNotFound
	}
	next := fakeDelivery
	next.State, next.Dead, next.NextAttempt = webhooks.StatePending, time.Time{}, fakeCreated.Add(time.Second)
	return webhooks.Status{Targets: map[eventsv1.WebhookKind]string{eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED: "https://example.com/in"},
		SecretSet: true, Pending: 3, Dead: 1, OldestPending: fakeCreated, Next: &next}, nil
}

func (f *fakeApp) WebhookDeliveries(ctx context.Context, id string, q webhooks.DeliveryQuery) ([]webhooks.Delivery, int64, error) {
	if err := f.record(ctx, "WebhookDeliveries", id, q); err != nil {
		return nil, 0, err
	}
	if id != instID {
		return nil, 0, webhooks.ErrInstanceNotFound
	}
	return []webhooks.Delivery{fakeDelivery}, 7, nil
}

func (f *fakeApp) RedeliverWebhooks(ctx context.Context, id string, ids []int64) (webhooks.Redelivered, error) {
	if err := f.record(ctx, "RedeliverWebhooks", id, ids); err != nil {
		return webhooks.Redelivered{}, err
	}
	if id != instID {
		return webhooks.Redelivered{}, webhooks.ErrInstanceNotFound
	}
	return fakeRedeliver, nil
}

func (f *fakeApp) ReplayWebhooks(ctx context.Context, id string, from webhooks.ReplayFrom) (webhooks.Replayed, error) {
	if err := f.record(ctx, "ReplayWebhooks", id, from); err != nil {
		return webhooks.Replayed{}, err
	}
	if id != instID {
		return webhooks.Replayed{}, webhooks.ErrInstanceNotFound
	}
	return fakeReplayed, nil
}

// TestWebhookAdminAnswers: the four routes answer the shapes of the shared contract from what the application
// returns, and pass the query and body on as parsed.
func TestWebhookAdminAnswers(t *testing.T) {
	s := newTestServer(t, Config{})
	p := "/instances/" + instID
	created, dead := fakeCreated.UnixMilli(), fakeCreated.Add(time.Minute).UnixMilli()
	delivery := map[string]any{"id": 7.0, "webhookId": "ev7-ReceivedCallback", "eventId": "ev7", "callback": "ReceivedCallback",
		"kind": "received", "url": "https://example.com/in", "state": "dead", "attempts": 4.0, "lastError": "HTTP 503",
		"createdAt": float64(created), "queuedAt": float64(created + 1000), "nextAttemptAt": nil, "deadAt": float64(dead)}
	next := map[string]any{}
	for k, v := range delivery {
		next[k] = v
	}
	next["state"], next["deadAt"], next["nextAttemptAt"] = "pending", nil, float64(created+1000)

	cases := []struct {
		name string
		req  req
		want map[string]any
		call []any
	}{
		{"status", admin(http.MethodGet, p+"/webhooks", ""), map[string]any{
			"targets": map[string]any{"received": "https://example.com/in"}, "secretSet": true, "pending": 3.0, "dead": 1.0,
			"oldestPendingAt": float64(created), "next": next}, []any{instID}},
		{"deliveries", admin(http.MethodGet, p+"/webhook-deliveries?state=dead&limit=10&before=99", ""), map[string]any{
			"deliveries": []any{delivery}, "next": 7.0}, []any{instID, webhooks.DeliveryQuery{State: "dead", Limit: 10, Before: 99}}},
		{"deliveries, defaults", admin(http.MethodGet, p+"/webhook-deliveries", ""), map[string]any{
			"deliveries": []any{delivery}, "next": 7.0}, []any{instID, webhooks.DeliveryQuery{Limit: defaultDeliveryPage}}},
		{"redeliver some", admin(http.MethodPost, p+"/webhook-deliveries/redeliver", `{"ids":[7,9,7]}`), map[string]any{
			"redelivered": 2.0, "withoutContent": 1.0, "skipped": []any{map[string]any{"id": 9.0, "reason": "not_found"}}, "remaining": 4.0},
			[]any{instID, []int64{7, 9, 7}}},
		{"redeliver all", admin(http.MethodPost, p+"/webhook-deliveries/redeliver", `{}`), map[string]any{
			"redelivered": 2.0, "withoutContent": 1.0, "skipped": []any{map[string]any{"id": 9.0, "reason": "not_found"}}, "remaining": 4.0},
			[]any{instID, []int64(nil)}},
		{"replay from an event", admin(http.MethodPost, p+"/webhook-replay", `{"fromEventId":" ev7 "}`), map[string]any{
			"replayed": 5.0, "withoutContent": 2.0, "alreadyPending": 1.0, "events": 9.0},
			[]any{instID, webhooks.ReplayFrom{EventID: "ev7"}}},
		{"replay from a time", admin(http.MethodPost, p+"/webhook-replay", `{"from":"2026-12-01T09:30:00-03:00"}`), map[string]any{
			"replayed": 5.0, "withoutContent": 2.0, "alreadyPending": 1.0, "events": 9.0},
			[]any{instID, webhooks.ReplayFrom{Time: time.Date(2026, 12, 1, 12, 30, 0, 0, time.UTC)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := s.do(t, c.req)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			var got map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("answer\n got %v\nwant %v", got, c.want)
			}
			calls := s.app.appCalls()
			last := s.app.calls[len(s.app.calls)-1]
			if len(calls) == 0 || !equalArgs(last.args, c.call) {
				t.Errorf("call %s %#v, want args %#v", last.method, last.args, c.call)
			}
		})
	}
}

// equalArgs compares call arguments, times by instant.
func equalArgs(got, want []any) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, gok := got[i].(webhooks.ReplayFrom)
		w, wok := want[i].(webhooks.ReplayFrom)
		if gok && wok {
			if g.EventID != w.EventID || !g.Time.Equal(w.Time) {
				return false
			}
			continue
		}
		if !reflect.DeepEqual(got[i], want[i]) {
			return false
		}
	}
	return true
}

// TestWebhookAdminRefusesBadInput: bad queries and bodies are 400s that name the field, before the application
// is called; an unknown instance is a 404; the application's errors map to their codes.
func TestWebhookAdminRefusesBadInput(t *testing.T) {
	p := "/instances/" + instID
	bad := []struct {
		name   string
		req    req
		code   string
		fields []string
	}{
		{"unknown state", admin(http.MethodGet, p+"/webhook-deliveries?state=done", ""), codeInvalidQuery, []string{"state"}},
		{"limit 0", admin(http.MethodGet, p+"/webhook-deliveries?limit=0", ""), codeInvalidQuery, []string{"limit"}},
		{"limit too large", admin(http.MethodGet, p+fmt.Sprintf("/webhook-deliveries?limit=%d", webhooks.MaxDeliveryPage+1), ""), codeInvalidQuery, []string{"limit"}},
		{"limit not a number", admin(http.MethodGet, p+"/webhook-deliveries?limit=ten", ""), codeInvalidQuery, []string{"limit"}},
		{"before 0", admin(http.MethodGet, p+"/webhook-deliveries?before=0", ""), codeInvalidQuery, []string{"before"}},
		{"before not a number", admin(http.MethodGet, p+"/webhook-deliveries?before=x", ""), codeInvalidQuery, []string{"before"}},
		{"redeliver: no body", admin(http.MethodPost, p+"/webhook-deliveries/redeliver", ""), codeMalformedJSON, nil},
		{"redeliver: empty ids", admin(http.MethodPost, p+"/webhook-deliveries/redeliver", `{"ids":[]}`), codeInvalidField, []string{"ids"}},
		{"redeliver: ids not numbers", admin(http.MethodPost, p+"/webhook-deliveries/redeliver", `{"ids":["a"]}`), codeInvalidField, []string{"ids"}},
		{"redeliver: id 0", admin(http.MethodPost, p+"/webhook-deliveries/redeliver", `{"ids":[0]}`), codeInvalidField, []string{"ids"}},
		{"redeliver: too many ids", admin(http.MethodPost, p+"/webhook-deliveries/redeliver",
			`{"ids":[`+strings.Repeat("1,", webhooks.MaxRedeliverIDs)+`1]}`), codeInvalidField, []string{"ids"}},
		{"replay: nothing", admin(http.MethodPost, p+"/webhook-replay", `{}`), codeMissingFields, []string{"from", "fromEventId"}},
		{"replay: both", admin(http.MethodPost, p+"/webhook-replay", `{"from":"2026-12-01T09:30:00Z","fromEventId":"e1"}`),
			codeConflictingOptions, []string{"from", "fromEventId"}},
		{"replay: not a time", admin(http.MethodPost, p+"/webhook-replay", `{"from":"yesterday"}`), codeInvalidField, []string{"from"}},
		{"replay: no zone", admin(http.MethodPost, p+"/webhook-replay", `{"from":"2026-12-01T09:30:00"}`), codeInvalidField, []string{"from"}},
		{"replay: in the future", admin(http.MethodPost, p+"/webhook-replay",
			`{"from":"`+time.Now().Add(time.Hour).Format(time.RFC3339)+`"}`), codeInvalidField, []string{"from"}},
		{"replay: empty event ID", admin(http.MethodPost, p+"/webhook-replay", `{"fromEventId":" "}`), codeInvalidField, []string{"fromEventId"}},
		{"replay: event ID too long", admin(http.MethodPost, p+"/webhook-replay",
			`{"fromEventId":"`+strings.Repeat("e", maxEventIDLen+1)+`"}`), codeInvalidField, []string{"fromEventId"}},
		{"replay: from not a string", admin(http.MethodPost, p+"/webhook-replay", `{"from":12}`), codeInvalidField, []string{"from"}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			s := newTestServer(t, Config{})
			q := c.req
			if q.method == http.MethodPost && q.body == "" {
				q.body = " "
			}
			wantError(t, s.do(t, q), http.StatusBadRequest, c.code, c.fields...)
			wantNoAppCalls(t, s.app)
		})
	}

	for _, route := range []req{
		admin(http.MethodGet, "/instances/other/webhooks", ""),
		admin(http.MethodGet, "/instances/other/webhook-deliveries", ""),
		admin(http.MethodPost, "/instances/other/webhook-deliveries/redeliver", `{}`),
		admin(http.MethodPost, "/instances/other/webhook-replay", `{"fromEventId":"e1"}`),
	} {
		t.Run("unknown instance "+route.method+" "+route.path, func(t *testing.T) {
			s := newTestServer(t, Config{})
			wantError(t, s.do(t, route), http.StatusNotFound, codeInstanceNotFound)
		})
	}

	errs := []struct {
		err    error
		status int
		code   string
	}{
		{webhooks.ErrEventNotFound, http.StatusNotFound, codeEventNotFound},
		{webhooks.ErrBeyondRetention, http.StatusUnprocessableEntity, codeBeyondRetention},
		{fmt.Errorf("%w: 60000 events", webhooks.ErrReplayTooLarge), http.StatusUnprocessableEntity, codeReplayTooLarge},
		{webhooks.ErrBehind, http.StatusServiceUnavailable, codeUnavailable},
	}
	for _, c := range errs {
		t.Run(c.code, func(t *testing.T) {
			s := newTestServer(t, Config{})
			s.app.errs["ReplayWebhooks"] = c.err
			w := s.do(t, admin(http.MethodPost, "/instances/"+instID+"/webhook-replay", `{"fromEventId":"e1"}`))
			body := wantError(t, w, c.status, c.code)
			if strings.Contains(body.Error, "webhooks:") {
				t.Errorf("error text %q shows the Go error", body.Error)
			}
		})
	}
}

// TestWebhookKindNames: every webhook kind has the name openapi.yaml documents.
func TestWebhookKindNames(t *testing.T) {
	var got []string
	for _, name := range webhookKinds {
		got = append(got, name)
	}
	want := []string{"connected", "delivery", "disconnected", "messageStatus", "presenceChat", "received", "receivedAndDelivery"}
	if slices.Sort(got); !slices.Equal(got, want) || len(webhookKinds) != len(eventsv1.WebhookKind_name)-1 {
		t.Fatalf("kind names %q, want %q", got, want)
	}
}
