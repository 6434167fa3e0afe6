package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// hook is one webhook request the receiver accepted.
type hook struct {
	Type string
	// WebhookID identifies the webhook across retries: receivers de-duplicate on it.
	WebhookID string
	Body      map[string]any
	Raw       []byte
	Header    http.Header
}

func (h hook) str(field string) string {
	s, _ := h.Body[field].(string)
	return s
}

// ids returns the MessageStatusCallback's message IDs.
func (h hook) ids() []string {
	raw, _ := h.Body["ids"].([]any)
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// receiver is a webhook endpoint that records what it accepts and can be told to fail.
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	accepted []hook
	attempts int
	// refused holds the callback types of the requests failed on purpose, in arrival order.
	refused []string
	// failing makes every request fail: with 503, or by not answering for hang.
	failing bool
	hang    time.Duration
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) url() string { return r.srv.URL + "/hook" }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	raw, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.attempts++
	failing, hang := r.failing, r.hang
	if failing {
		var probe struct{ Type string }
		_ = json.Unmarshal(raw, &probe)
		r.refused = append(r.refused, probe.Type)
	}
	r.mu.Unlock()
	if failing {
		if hang > 0 {
			select {
			case <-time.After(hang):
			case <-req.Context().Done():
			}
		}
		http.Error(w, "receiver is down", http.StatusServiceUnavailable)
		return
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	h := hook{Body: body, Raw: raw, Header: req.Header.Clone(), WebhookID: req.Header.Get("X-Plugzapi-Webhook-Id")}
	h.Type, _ = body["type"].(string)
	r.mu.Lock()
	r.accepted = append(r.accepted, h)
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// fail makes the receiver refuse every request (hang > 0: after holding it that long) until recover.
func (r *receiver) fail(hang time.Duration) {
	r.mu.Lock()
	r.failing, r.hang = true, hang
	r.mu.Unlock()
}

func (r *receiver) recover() {
	r.mu.Lock()
	r.failing = false
	r.mu.Unlock()
}

func (r *receiver) refusedTypes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.refused...)
}

func (r *receiver) attemptCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts
}

// hooks returns the accepted webhooks, in arrival order.
func (r *receiver) hooks() []hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hook(nil), r.accepted...)
}

// waitFor waits for an accepted webhook that match accepts and returns the first.
func (r *receiver) waitFor(t testing.TB, what string, match func(hook) bool) hook {
	t.Helper()
	var found hook
	eventually(t, 30*time.Second, "webhook "+what, func() error {
		for _, h := range r.hooks() {
			if match(h) {
				found = h
				return nil
			}
		}
		return fmt.Errorf("%d webhooks, none matches", len(r.hooks()))
	})
	return found
}

// status matches a MessageStatusCallback with the given status for messageID.
func status(st, messageID string) func(hook) bool {
	return func(h hook) bool {
		if h.Type != "MessageStatusCallback" || h.str("status") != st {
			return false
		}
		for _, id := range h.ids() {
			if id == messageID {
				return true
			}
		}
		return false
	}
}

func ofType(typ string) func(hook) bool { return func(h hook) bool { return h.Type == typ } }

func delivery(messageID string) func(hook) bool {
	return func(h hook) bool { return h.Type == "DeliveryCallback" && h.str("messageId") == messageID }
}
