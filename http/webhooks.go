package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// webhookRoutes are the PUT routes that set one webhook each. PlugZapi's docs spell two of them two ways
// (received/receive, message-status/status); both spellings are served.
var webhookRoutes = []struct {
	path string
	kind eventsv1.WebhookKind
}{
	{"update-webhook-delivery", eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY},
	{"update-webhook-received", eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED},
	{"update-webhook-receive", eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED},
	{"update-webhook-received-delivery", eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY},
	{"update-webhook-message-status", eventsv1.WebhookKind_WEBHOOK_KIND_MESSAGE_STATUS},
	{"update-webhook-status", eventsv1.WebhookKind_WEBHOOK_KIND_MESSAGE_STATUS},
	{"update-webhook-connected", eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED},
	{"update-webhook-disconnected", eventsv1.WebhookKind_WEBHOOK_KIND_DISCONNECTED},
	{"update-webhook-chat-presence", eventsv1.WebhookKind_WEBHOOK_KIND_CHAT_PRESENCE},
}

// valueRequest is PlugZapi's {"value": …} body. A pointer tells an absent value from an empty one.
type valueRequest struct {
	Value *string `json:"value"`
}

// decodeValue reads a {"value": "…"} body. A missing value is missing_fields; so is a blank one unless
// blankOK (an empty value that turns something off).
func decodeValue(r *http.Request, blankOK bool) (string, error) {
	var req valueRequest
	if err := decodeJSON(r, &req); err != nil {
		return "", err
	}
	if req.Value == nil || !blankOK && strings.TrimSpace(*req.Value) == "" {
		return "", missingFields("value")
	}
	return *req.Value, nil
}

// webhookURL validates the URL of a {"value": url} body: empty (remove the webhook) or a URL the server
// will call.
func (a *api) webhookURL(req valueRequest) (string, error) {
	if req.Value == nil {
		return "", missingFields("value")
	}
	url := strings.TrimSpace(*req.Value)
	if url == "" {
		return "", nil
	}
	if err := a.checkWebhookURL("value", url); err != nil {
		return "", err
	}
	return url, nil
}

// updateWebhook sets (or, with an empty value, removes) the webhook of one kind.
func (a *api) updateWebhook(kind eventsv1.WebhookKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req valueRequest
		if err := decodeJSON(r, &req); err != nil {
			a.respondError(w, r, err)
			return
		}
		url, err := a.webhookURL(req)
		if err != nil {
			a.respondError(w, r, err)
			return
		}
		urls := map[eventsv1.WebhookKind]string{kind: url}
		if err := a.deps.Webhooks.SetWebhooks(r.Context(), chi.URLParam(r, "id"), urls); err != nil {
			a.respondError(w, r, fmt.Errorf("set %s webhook: %w", kind, err))
			return
		}
		writeValueTrue(w)
	}
}

// everyWebhookRequest is Z-API's body of PUT update-every-webhooks.
type everyWebhookRequest struct {
	Value          *string `json:"value"`
	NotifySentByMe *bool   `json:"notifySentByMe"`
}

// updateEveryWebhook points every webhook at one URL (or removes them all). Incoming messages go to exactly
// one of the two "received" kinds, so that they are not posted twice: received-delivery (which adds the
// messages sent by the connected number) when notifySentByMe is true, received otherwise.
func (a *api) updateEveryWebhook(w http.ResponseWriter, r *http.Request) {
	var req everyWebhookRequest
	if err := decodeJSON(r, &req); err != nil {
		a.respondError(w, r, err)
		return
	}
	url, err := a.webhookURL(valueRequest{Value: req.Value})
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	received, receivedDelivery := url, ""
	if req.NotifySentByMe != nil && *req.NotifySentByMe {
		received, receivedDelivery = "", url
	}
	urls := map[eventsv1.WebhookKind]string{
		eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY:          url,
		eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED:          received,
		eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY: receivedDelivery,
		eventsv1.WebhookKind_WEBHOOK_KIND_MESSAGE_STATUS:    url,
		eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED:         url,
		eventsv1.WebhookKind_WEBHOOK_KIND_DISCONNECTED:      url,
		eventsv1.WebhookKind_WEBHOOK_KIND_CHAT_PRESENCE:     url,
	}
	if err := a.deps.Webhooks.SetWebhooks(r.Context(), chi.URLParam(r, "id"), urls); err != nil {
		a.respondError(w, r, fmt.Errorf("set every webhook: %w", err))
		return
	}
	writeValueTrue(w)
}

// updateWebhookSecret sets the key of the webhooks' HMAC signature header (our extension); empty turns
// signing off.
func (a *api) updateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	value, err := decodeValue(r, true)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	if len(value) > maxSecretLen {
		a.respondError(w, r, badRequest(codeInvalidField,
			fmt.Sprintf("value must be at most %d bytes", maxSecretLen), "value"))
		return
	}
	if err := a.deps.Webhooks.SetWebhookSecret(r.Context(), chi.URLParam(r, "id"), value); err != nil {
		a.respondError(w, r, fmt.Errorf("set webhook secret: %w", err))
		return
	}
	writeValueTrue(w)
}
