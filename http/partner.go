package httpapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
)

// Subscriptions is PlugZapi's partner subscription of an instance. A self-hosted instance needs no subscription;
// cancelling one stops it and deletes it after a grace, unless it is subscribed again before.
type Subscriptions interface {
	// Subscribe undoes a pending cancellation (a no-op for an instance that was not cancelled).
	Subscribe(ctx context.Context, id string) error
	// Cancel refuses the instance's routes from now on and schedules its deletion; it returns when.
	Cancel(ctx context.Context, id string) (deleteAt time.Time, err error)
	// Cancelled reports whether the instance is cancelled and when it is to be deleted.
	Cancelled(id string) (deleteAt time.Time, ok bool)
}

// deleteAtHeader tells, on the answer to a cancellation, when the instance will be deleted (RFC 3339).
const deleteAtHeader = "X-Delete-At"

// writeCreatedOK is PlugZapi's answer to the partner routes: 201 with the text "OK".
func writeCreatedOK(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, "OK")
}

// subscribe is POST integrator/on-demand/subscription: Z-API's optional withCalls is accepted and ignored (the
// body is not read).
func (a *api) subscribe(w http.ResponseWriter, r *http.Request) {
	if err := a.deps.Subscriptions.Subscribe(r.Context(), chi.URLParam(r, "id")); err != nil {
		a.respondError(w, r, fmt.Errorf("subscribe: %w", err))
		return
	}
	writeCreatedOK(w)
}

// cancelSubscription is POST integrator/on-demand/cancel.
func (a *api) cancelSubscription(w http.ResponseWriter, r *http.Request) {
	at, err := a.deps.Subscriptions.Cancel(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		a.respondError(w, r, fmt.Errorf("cancel subscription: %w", err))
		return
	}
	w.Header().Set(deleteAtHeader, at.UTC().Format(time.RFC3339))
	writeCreatedOK(w)
}
