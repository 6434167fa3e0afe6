package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/plugzapi/plugzapi/actors"
	"github.com/plugzapi/plugzapi/events/webhooks"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// The admin API of an instance's webhooks: its targets and backlog, its deliveries (pending and dead letters),
// dead letters sent again and webhooks replayed from the event log. Redelivered and replayed webhooks keep
// their X-Plugzapi-Webhook-Id and the instance's event order (see package webhooks).

// WebhookBacklog shows an instance's webhooks and what waits to be delivered. An unknown instance is
// webhooks.ErrInstanceNotFound.
type WebhookBacklog interface {
	// WebhookStatus returns the instance's webhook URLs, whether they are signed, and its backlog.
	WebhookStatus(ctx context.Context, id string) (webhooks.Status, error)
	// WebhookDeliveries returns a page of the instance's deliveries, newest first, and the Before of the next
	// page (0: none).
	WebhookDeliveries(ctx context.Context, id string, q webhooks.DeliveryQuery) ([]webhooks.Delivery, int64, error)
}

// WebhookRedelivery sends an instance's webhooks again. An unknown instance is webhooks.ErrInstanceNotFound.
type WebhookRedelivery interface {
	// RedeliverWebhooks queues the dead letters with the given IDs (nil: all of the instance's) again.
	RedeliverWebhooks(ctx context.Context, id string, ids []int64) (webhooks.Redelivered, error)
	// ReplayWebhooks queues the webhooks of the instance's events from a starting point on again
	// (webhooks.ErrEventNotFound, webhooks.ErrBeyondRetention, webhooks.ErrReplayTooLarge, webhooks.ErrBehind).
	ReplayWebhooks(ctx context.Context, id string, from webhooks.ReplayFrom) (webhooks.Replayed, error)
}

// Paging of GET /instances/{id}/webhook-deliveries.
const defaultDeliveryPage = 50

// maxEventIDLen bounds fromEventId: event IDs are UUIDs.
const maxEventIDLen = 100

func (a *api) mountWebhookAdminRoutes(r chi.Router) {
	r.Get("/instances/{id}/webhooks", a.webhookStatus)
	r.Get("/instances/{id}/webhook-deliveries", a.webhookDeliveries)
	r.Post("/instances/{id}/webhook-deliveries/redeliver", a.redeliverWebhooks)
	r.Post("/instances/{id}/webhook-replay", a.replayWebhooks)
}

// webhookKinds names the webhook kinds in the admin API as the *CallbackUrl fields of an instance do, without
// the suffix: delivery, received, receivedAndDelivery, messageStatus, connected, disconnected, presenceChat.
var webhookKinds = func() map[eventsv1.WebhookKind]string {
	names := map[eventsv1.WebhookKind]string{}
	for _, cb := range (&createInstanceRequest{}).callbacks() {
		names[cb.kind] = strings.TrimSuffix(cb.field, "CallbackUrl")
	}
	return names
}()

// deliveryJSON is one delivery. Times are Unix milliseconds; null when they do not apply.
type deliveryJSON struct {
	ID            int64  `json:"id"`
	WebhookID     string `json:"webhookId"`
	EventID       string `json:"eventId"`
	Callback      string `json:"callback"`
	Kind          string `json:"kind"`
	URL           string `json:"url"`
	State         string `json:"state"`
	Attempts      int    `json:"attempts"`
	LastError     string `json:"lastError"`
	CreatedAt     int64  `json:"createdAt"`
	QueuedAt      int64  `json:"queuedAt"`
	NextAttemptAt *int64 `json:"nextAttemptAt"`
	DeadAt        *int64 `json:"deadAt"`
}

func newDeliveryJSON(d webhooks.Delivery) deliveryJSON {
	return deliveryJSON{ID: d.ID, WebhookID: d.WebhookID(), EventID: d.EventID, Callback: d.Callback,
		Kind: webhookKinds[d.Kind], URL: d.URL, State: d.State, Attempts: d.Attempts, LastError: d.LastError,
		CreatedAt: d.Created.UnixMilli(), QueuedAt: d.Queued.UnixMilli(), NextAttemptAt: optionalMilli(d.NextAttempt), DeadAt: optionalMilli(d.Dead)}
}

func optionalMilli(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	return new(t.UnixMilli())
}

type webhookStatusJSON struct {
	Targets         map[string]string `json:"targets"`
	SecretSet       bool              `json:"secretSet"`
	Pending         int               `json:"pending"`
	Dead            int               `json:"dead"`
	OldestPendingAt *int64            `json:"oldestPendingAt"`
	// Next is the pending delivery that goes next: while it fails, it holds up the instance's later webhooks.
	Next *deliveryJSON `json:"next"`
}

func (a *api) webhookStatus(w http.ResponseWriter, r *http.Request) {
	id, ok := adminInstanceID(r)
	if !ok {
		a.respondError(w, r, actors.ErrInstanceNotFound)
		return
	}
	st, err := a.deps.WebhookBacklog.WebhookStatus(r.Context(), id)
	if err != nil {
		a.respondError(w, r, fmt.Errorf("webhook status: %w", err))
		return
	}
	out := webhookStatusJSON{Targets: map[string]string{}, SecretSet: st.SecretSet, Pending: st.Pending, Dead: st.Dead,
		OldestPendingAt: optionalMilli(st.OldestPending)}
	for kind, url := range st.Targets {
		if name, ok := webhookKinds[kind]; ok {
			out.Targets[name] = url
		}
	}
	if st.Next != nil {
		out.Next = new(newDeliveryJSON(*st.Next))
	}
	writeJSON(w, http.StatusOK, out)
}

type deliveryPageJSON struct {
	Deliveries []deliveryJSON `json:"deliveries"`
	Next       *int64         `json:"next"`
}

func (a *api) webhookDeliveries(w http.ResponseWriter, r *http.Request) {
	id, ok := adminInstanceID(r)
	if !ok {
		a.respondError(w, r, actors.ErrInstanceNotFound)
		return
	}
	q, err := deliveryQuery(r)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	page, next, err := a.deps.WebhookBacklog.WebhookDeliveries(r.Context(), id, q)
	if err != nil {
		a.respondError(w, r, fmt.Errorf("webhook deliveries: %w", err))
		return
	}
	out := deliveryPageJSON{Deliveries: make([]deliveryJSON, 0, len(page))}
	for _, d := range page {
		out.Deliveries = append(out.Deliveries, newDeliveryJSON(d))
	}
	if next > 0 {
		out.Next = &next
	}
	writeJSON(w, http.StatusOK, out)
}

// deliveryQuery reads ?state=&limit=&before=.
func deliveryQuery(r *http.Request) (webhooks.DeliveryQuery, error) {
	v := r.URL.Query()
	q := webhooks.DeliveryQuery{State: v.Get("state"), Limit: defaultDeliveryPage}
	if q.State != "" && q.State != webhooks.StatePending && q.State != webhooks.StateDead {
		return q, badRequest(codeInvalidQuery, "state must be pending or dead", "state")
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > webhooks.MaxDeliveryPage {
			return q, badRequest(codeInvalidQuery, fmt.Sprintf("limit must be an integer from 1 to %d", webhooks.MaxDeliveryPage), "limit")
		}
		q.Limit = n
	}
	if s := v.Get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return q, badRequest(codeInvalidQuery, "before must be a delivery ID (a positive integer)", "before")
		}
		q.Before = n
	}
	return q, nil
}

// redeliverRequest is the body of POST webhook-deliveries/redeliver: ids absent means every dead letter.
type redeliverRequest struct {
	IDs *[]int64 `json:"ids"`
}

type notRequeuedJSON struct {
	ID     int64  `json:"id"`
	Reason string `json:"reason"`
}

type redeliveredJSON struct {
	Redelivered    int               `json:"redelivered"`
	WithoutContent int               `json:"withoutContent"`
	NotRequeued    []notRequeuedJSON `json:"skipped"`
	Remaining      int               `json:"remaining"`
}

func (a *api) redeliverWebhooks(w http.ResponseWriter, r *http.Request) {
	id, ok := adminInstanceID(r)
	if !ok {
		a.respondError(w, r, actors.ErrInstanceNotFound)
		return
	}
	var req redeliverRequest
	if err := decodeJSON(r, &req); err != nil {
		a.respondError(w, r, err)
		return
	}
	var ids []int64
	if req.IDs != nil {
		ids = *req.IDs
		if len(ids) == 0 || len(ids) > webhooks.MaxRedeliverIDs {
			a.respondError(w, r, badRequest(codeInvalidField, fmt.Sprintf(
				"ids must name 1 to %d dead letters; leave it out to send every dead letter again", webhooks.MaxRedeliverIDs), "ids"))
			return
		}
		for _, n := range ids {
			if n < 1 {
				a.respondError(w, r, badRequest(codeInvalidField, "ids must be delivery IDs (positive integers)", "ids"))
				return
			}
		}
	}
	res, err := a.deps.WebhookRedelivery.RedeliverWebhooks(r.Context(), id, ids)
	if err != nil {
		a.respondError(w, r, fmt.Errorf("redeliver webhooks: %w", err))
		return
	}
	out := redeliveredJSON{Redelivered: res.Redelivered, WithoutContent: res.WithoutContent, NotRequeued: []notRequeuedJSON{},
		Remaining: res.Remaining}
	for _, s := range res.NotRequeued {
		out.NotRequeued = append(out.NotRequeued, notRequeuedJSON{ID: s.ID, Reason: s.Reason})
	}
	writeJSON(w, http.StatusOK, out)
}

// replayRequest is the body of POST webhook-replay: one of from (RFC 3339) and fromEventId.
type replayRequest struct {
	From        *string `json:"from"`
	FromEventID *string `json:"fromEventId"`
}

type replayedJSON struct {
	Replayed       int `json:"replayed"`
	WithoutContent int `json:"withoutContent"`
	AlreadyPending int `json:"alreadyPending"`
	Events         int `json:"events"`
}

func (a *api) replayWebhooks(w http.ResponseWriter, r *http.Request) {
	id, ok := adminInstanceID(r)
	if !ok {
		a.respondError(w, r, actors.ErrInstanceNotFound)
		return
	}
	var req replayRequest
	if err := decodeJSON(r, &req); err != nil {
		a.respondError(w, r, err)
		return
	}
	from, err := req.start(time.Now())
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	res, err := a.deps.WebhookRedelivery.ReplayWebhooks(r.Context(), id, from)
	if err != nil {
		a.respondError(w, r, fmt.Errorf("replay webhooks: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, replayedJSON{Replayed: res.Replayed, WithoutContent: res.WithoutContent,
		AlreadyPending: res.AlreadyPending, Events: res.Events})
}

// start validates the body: exactly one starting point, a time not in the future.
func (req *replayRequest) start(now time.Time) (webhooks.ReplayFrom, error) {
	switch {
	case req.From != nil && req.FromEventID != nil:
		return webhooks.ReplayFrom{}, badRequest(codeConflictingOptions, "give from or fromEventId, not both", "from", "fromEventId")
	case req.FromEventID != nil:
		eventID := strings.TrimSpace(*req.FromEventID)
		if eventID == "" || len(eventID) > maxEventIDLen {
			return webhooks.ReplayFrom{}, badRequest(codeInvalidField,
				fmt.Sprintf("fromEventId must be an event ID (1 to %d characters)", maxEventIDLen), "fromEventId")
		}
		return webhooks.ReplayFrom{EventID: eventID}, nil
	case req.From != nil:
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(*req.From))
		if err != nil {
			return webhooks.ReplayFrom{}, badRequest(codeInvalidField,
				`from must be an RFC 3339 time, like "2026-12-01T09:30:00Z"`, "from")
		}
		if t.After(now) {
			return webhooks.ReplayFrom{}, badRequest(codeInvalidField, "from is in the future", "from")
		}
		return webhooks.ReplayFrom{Time: t}, nil
	}
	return webhooks.ReplayFrom{}, badRequest(codeMissingFields, "give from (an RFC 3339 time) or fromEventId", "from", "fromEventId")
}
