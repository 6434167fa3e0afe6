package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/plugzapi/plugzapi/access"
	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/actors"
	"github.com/plugzapi/plugzapi/events/webhooks"
)

// Error codes are part of the API contract: clients may switch on them, so they never change meaning.
const (
	codeNotFound             = "not_found"
	codeMethodNotAllowed     = "method_not_allowed"
	codeUnsupportedMediaType = "unsupported_media_type"
	codeBodyTooLarge         = "body_too_large"
	codeMalformedJSON        = "malformed_json"
	codeInvalidField         = "invalid_field"
	codeMissingFields        = "missing_fields"
	codeInvalidPhone         = "invalid_phone"
	codeInvalidWebhookURL    = "invalid_webhook_url"
	codeInvalidMedia         = "invalid_media"
	codeInvalidQuery         = "invalid_query"
	codeUnauthorized         = "unauthorized"
	codeInstanceNotFound     = "instance_not_found"
	codeQueueFull            = "queue_full"
	codeQueueItemNotFound    = "queue_item_not_found"
	codeAlreadyConnected     = "already_connected"
	codeNotLinked            = "not_linked"
	codeQRNotReady           = "qr_not_ready"
	codeNotConnected         = "not_connected"
	codeMessageNotFound      = "message_not_found"
	codeCannotForward        = "cannot_forward"
	codeNotOnWhatsApp        = "not_on_whatsapp"
	codeNotParticipant       = "not_participant"
	codeNotAdmin             = "not_admin"
	codeRefused              = "refused_by_whatsapp"
	codeUnsupported          = "unsupported"
	codeTimeout              = "timeout"
	codeCancelled            = "cancelled"
	codeUnavailable          = "unavailable"
	codeInternal             = "internal"

	// The settings' (settings.go).
	codeNoReceivedWebhook      = "no_received_webhook"
	codeReceivedWebhooksDiffer = "received_webhooks_differ"
	codeConflictingOptions     = "conflicting_options"

	// The Idempotency-Key header's (idempotency.go).
	codeInvalidIdempotencyKey = "invalid_idempotency_key"
	codeIdempotencyKeyReused  = "idempotency_key_reused"

	// The access policy's (security.go, partner.go).
	codeClientTokenMissing    = "client_token_missing"
	codeClientTokenInvalid    = "client_token_invalid"
	codeIPNotAllowed          = "ip_not_allowed"
	codeSubscriptionCancelled = "subscription_cancelled"

	// The webhook admin API's (webhook_admin.go).
	codeEventNotFound   = "event_not_found"
	codeBeyondRetention = "beyond_retention"
	codeReplayTooLarge  = "replay_too_large"
)

// apiError is an error with its HTTP answer. Handlers return it for bad requests; respondError turns domain
// errors into one.
type apiError struct {
	status  int
	code    string
	message string
	// fields names the request fields at fault, when there are any.
	fields []string
	// retryAfter, when positive, is sent as a Retry-After header (seconds).
	retryAfter int
}

func (e *apiError) Error() string { return e.message }

// errorBody is the JSON of every error answer. "error" is PlugZapi's field; the others are ours.
type errorBody struct {
	Error     string   `json:"error"`
	Code      string   `json:"code,omitempty"`
	Fields    []string `json:"fields,omitempty"`
	RequestID string   `json:"requestId,omitempty"`
}

func badRequest(code, message string, fields ...string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, message: message, fields: fields}
}

// domainErrors maps the application's errors to HTTP, in one place. A wrong instance token is reported as
// actors.ErrInstanceNotFound by the authenticator, so a wrong ID and a wrong token get the same 404.
var domainErrors = []struct {
	err   error
	reply apiError
}{
	{actors.ErrInstanceNotFound, apiError{status: http.StatusNotFound, code: codeInstanceNotFound,
		message: "instance not found"}},
	// 429 rather than 409: the request is fine and the same request succeeds later, once the instance is
	// connected again and its queue drains; clients' retry-with-backoff logic is built for 429.
	{actors.ErrQueueFull, apiError{status: http.StatusTooManyRequests, code: codeQueueFull,
		message: "the instance is disconnected and its queue is full; retry once it is connected"}},
	{actors.ErrQueueItemNotFound, apiError{status: http.StatusNotFound, code: codeQueueItemNotFound,
		message: "no queued message with that zaapId"}},
	{actors.ErrAlreadyConnected, apiError{status: http.StatusConflict, code: codeAlreadyConnected,
		message: "instance is already connected"}},
	{actors.ErrNotLinked, apiError{status: http.StatusConflict, code: codeNotLinked,
		message: "instance is not linked to a phone"}},
	{actors.ErrQRNotReady, apiError{status: http.StatusServiceUnavailable, code: codeQRNotReady,
		message: "the QR code is not ready yet, try again in a moment", retryAfter: 1}},
	{actors.ErrInvalidPhone, apiError{status: http.StatusBadRequest, code: codeInvalidPhone,
		message: "invalid phone number"}},
	{actors.ErrNotConnected, apiError{status: http.StatusConflict, code: codeNotConnected,
		message: "the instance is not connected to WhatsApp"}},
	{actors.ErrMessageNotFound, apiError{status: http.StatusNotFound, code: codeMessageNotFound,
		message: "the instance knows no message with that messageId in that chat, so it cannot name its sender"}},
	{actors.ErrForwardingOff, apiError{status: http.StatusUnprocessableEntity, code: codeCannotForward,
		message: "this server keeps no messages to forward (messages are not stored): its operator can keep them, encrypted, for a while with PLUGZAPI_FORWARD_WINDOW"}},
	{actors.ErrNotKept, apiError{status: http.StatusNotFound, code: codeMessageNotFound,
		message: "no message with that messageId is kept for forwarding in the chat messagePhone: it was not sent or received there, cannot be forwarded (a reaction, a poll, a view-once file…), was edited or deleted since, or is older than the forward window",
		fields:  []string{"messageId", "messagePhone"}}},
	{actors.ErrIdempotencyKeyReused, apiError{status: http.StatusUnprocessableEntity, code: codeIdempotencyKeyReused,
		message: "this Idempotency-Key came with another request (another route or body) in the last 24 hours: a new request needs a new key",
		fields:  []string{idempotencyHeader}}},
	{account.ErrNotFound, apiError{status: http.StatusNotFound, code: codeNotFound,
		message: "WhatsApp knows no such group, contact, invitation, label, product or catalog"}},
	{account.ErrNotOnWhatsApp, apiError{status: http.StatusNotFound, code: codeNotOnWhatsApp,
		message: "the phone number does not exist on WhatsApp"}},
	{account.ErrNotParticipant, apiError{status: http.StatusForbidden, code: codeNotParticipant,
		message: "the instance's number is not a participant of the group"}},
	{account.ErrNotAdmin, apiError{status: http.StatusForbidden, code: codeNotAdmin,
		message: "the instance's number is not an admin of the group"}},
	{account.ErrUnsupported, apiError{status: http.StatusNotImplemented, code: codeUnsupported,
		message: "WhatsApp does not offer this to this instance's account, or not to a linked device"}},
	// Its message is the error's own: it says what WhatsApp refused and why.
	{account.ErrRefused, apiError{status: http.StatusUnprocessableEntity, code: codeRefused}},
	{account.ErrBadPicture, apiError{status: http.StatusBadRequest, code: codeInvalidMedia,
		message: "the picture is not an image (JPEG, PNG, GIF or WebP)"}},
	{actors.ErrNoReceivedWebhook, apiError{status: http.StatusConflict, code: codeNoReceivedWebhook,
		message: "notifySentByMe needs a received webhook: set one with update-webhook-received first"}},
	{actors.ErrReceivedWebhooksDiffer, apiError{status: http.StatusConflict, code: codeReceivedWebhooksDiffer,
		message: "the received and received-delivery webhooks go to different URLs: set them one by one with update-webhook-received and update-webhook-received-delivery"}},
	// The access policy's: Z-API's texts ("null not allowed" is what Z-API answers without the header, "<ip> not
	// allowed" to an address off the list; the cancelled text is the one Z-API clients match).
	{access.ErrClientTokenMissing, apiError{status: http.StatusUnauthorized, code: codeClientTokenMissing,
		message: "null not allowed"}},
	{access.ErrClientTokenInvalid, apiError{status: http.StatusUnauthorized, code: codeClientTokenInvalid,
		message: "client-token not allowed"}},
	{access.ErrIPNotAllowed, apiError{status: http.StatusForbidden, code: codeIPNotAllowed}},
	{access.ErrSubscriptionCancelled, apiError{status: http.StatusBadRequest, code: codeSubscriptionCancelled,
		message: "To continue sending a message, you must subscribe to this instance again"}},
	{actors.ErrUnavailable, apiError{status: http.StatusServiceUnavailable, code: codeUnavailable,
		message: "the instance is busy or restarting; try again in a moment", retryAfter: 1}},
	// The webhook admin API's.
	{webhooks.ErrInstanceNotFound, apiError{status: http.StatusNotFound, code: codeInstanceNotFound,
		message: "instance not found"}},
	{webhooks.ErrEventNotFound, apiError{status: http.StatusNotFound, code: codeEventNotFound,
		message: "the instance has no event with that ID in its history: it is another instance's, or older than the retention (PLUGZAPI_RETENTION)",
		fields:  []string{"fromEventId"}}},
	{webhooks.ErrBeyondRetention, apiError{status: http.StatusUnprocessableEntity, code: codeBeyondRetention,
		message: "from is older than the retention (PLUGZAPI_RETENTION): the history before it is not kept; start later",
		fields:  []string{"from"}}},
	{webhooks.ErrReplayTooLarge, apiError{status: http.StatusUnprocessableEntity, code: codeReplayTooLarge,
		message: fmt.Sprintf("the replay would go through more than %d events (a replay runs to the instance's last event): start it later", webhooks.MaxReplayEvents)}},
	{webhooks.ErrBehind, apiError{status: http.StatusServiceUnavailable, code: codeUnavailable,
		message: "the webhooks have not caught up with the instance's events yet; try again in a moment", retryAfter: 1}},
}

// classify finds the HTTP answer to an error returned by the application.
func classify(err error) (reply *apiError, known bool) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae, true
	}
	for _, d := range domainErrors {
		if errors.Is(err, d.err) {
			r := d.reply
			if r.message == "" {
				r.message = err.Error()
			}
			return &r, true
		}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{status: http.StatusGatewayTimeout, code: codeTimeout,
			message: "the instance did not answer in time"}, true
	case errors.Is(err, context.Canceled):
		return &apiError{status: http.StatusServiceUnavailable, code: codeCancelled,
			message: "the request was cancelled"}, true
	}
	return &apiError{status: http.StatusInternalServerError, code: codeInternal,
		message: "internal server error"}, false
}

// respondError answers a request with the JSON form of err. Errors the API does not know are logged with the
// request ID, which the answer carries so that an operator can find the log line.
func (a *api) respondError(w http.ResponseWriter, r *http.Request, err error) {
	reply, known := classify(err)
	if !known {
		a.log.ErrorContext(r.Context(), "request failed",
			slog.String("request_id", requestID(r.Context())),
			slog.String("route", routePattern(r)),
			slog.Any("error", err))
	}
	writeError(w, r, reply)
}

// writeError writes an apiError as JSON.
func writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	writeJSON(w, e.status, errorBody{
		Error:     e.message,
		Code:      e.code,
		Fields:    e.fields,
		RequestID: requestID(r.Context()),
	})
}

// writeJSON writes v as the JSON body of an answer with the given status. Answers may carry tokens and QR
// codes, so no cache may keep them.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only a programming error gets here (every answer type marshals); say so without a second failure.
		status = http.StatusInternalServerError
		body = fmt.Appendf(nil, `{"error":"internal server error","code":%q}`, codeInternal)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
