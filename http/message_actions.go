package httpapi

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/recipient"
)

// The message actions: delete for everyone (queued, after what was queued before it), read (at once) and
// forward (not possible: no content is kept).

// deleteMessage is DELETE /messages?messageId&phone&owner: the message is deleted for everyone (revoked), by a
// message on the queue like any other, so that it follows what was queued before it (its target, often).
// owner=true: the instance sent it; owner=false: a member's message in a group the instance is an admin of.
func (a *api) deleteMessage(w http.ResponseWriter, r *http.Request) {
	key, err := idempotencyKey(r)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	q := r.URL.Query()
	messageID, phone, owner := q.Get("messageId"), q.Get("phone"), q.Get("owner")
	var missing []string
	for _, f := range []struct{ name, value string }{{"messageId", messageID}, {"phone", phone}, {"owner", owner}} {
		missing = append(missing, required(f.name, f.value)...)
	}
	if len(missing) > 0 {
		a.respondError(w, r, missingFields(missing...))
		return
	}
	if !validRecipient(phone) {
		a.respondError(w, r, invalidPhone("phone", true))
		return
	}
	if err := checkMessageID("messageId", messageID); err != nil {
		a.respondError(w, r, err)
		return
	}
	mine, err := strconv.ParseBool(owner)
	if err != nil {
		a.respondError(w, r, badRequest(codeInvalidField, "owner must be true (you sent the message) or false", "owner"))
		return
	}
	if !mine && !isGroupRecipient(phone) {
		a.respondError(w, r, badRequest(codeInvalidField,
			"owner=false deletes a member's message as a group admin: phone must be a group; in a one-to-one chat only your own messages can be deleted for everyone",
			"owner"))
		return
	}
	m := &messagesv1.Outbound{Phone: phone, Content: &messagesv1.Content{Kind: &messagesv1.Content_Revoke{Revoke: &messagesv1.Revoke{
		Target: &messagesv1.MessageRef{MessageId: messageID, FromMe: mine},
	}}}}
	if err := bindIdempotencyKey(r, m, key); err != nil {
		a.respondError(w, r, err)
		return
	}
	if _, err := a.deps.Sender.Send(r.Context(), chi.URLParam(r, "id"), m); err != nil {
		a.respondError(w, r, fmt.Errorf("queue revoke: %w", err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func isGroupRecipient(phone string) bool {
	rc, err := recipient.Parse(phone)
	return err == nil && rc.Kind == recipient.Group
}

// readMessageRequest is the body of POST read-message.
type readMessageRequest struct {
	Phone     string `json:"phone"`
	MessageID string `json:"messageId"`
}

// readMessage marks a received message read: its sender sees the blue ticks. 204 once WhatsApp took the receipt.
func (a *api) readMessage(w http.ResponseWriter, r *http.Request) {
	var req readMessageRequest
	if err := decodeJSON(r, &req); err != nil {
		a.respondError(w, r, err)
		return
	}
	if err := checkChatAndMessage(req.Phone, req.MessageID); err != nil {
		a.respondError(w, r, err)
		return
	}
	if err := a.deps.Reader.MarkRead(r.Context(), chi.URLParam(r, "id"), req.Phone, req.MessageID); err != nil {
		a.respondError(w, r, fmt.Errorf("mark read: %w", err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// checkChatAndMessage checks the phone and messageId fields that name a message of a chat.
func checkChatAndMessage(phone, messageID string) error {
	missing := append(required("phone", phone), required("messageId", messageID)...)
	if len(missing) > 0 {
		return missingFields(missing...)
	}
	if !validRecipient(phone) {
		return invalidPhone("phone", true)
	}
	return checkMessageID("messageId", messageID)
}

// forwardMessageRequest is the body of POST forward-message.
type forwardMessageRequest struct {
	Phone        string `json:"phone"`
	MessageID    string `json:"messageId"`
	MessagePhone string `json:"messagePhone"`
	DelayMessage *int   `json:"delayMessage"`
}

// forwardMessage cannot forward: forwarding sends the message's content again, and the server keeps no content
// once a message is sent or its webhooks are delivered (messages are not stored, PlugZapi's promise), while
// WhatsApp gives a linked device no way to fetch an old message's content. A valid request is therefore a 422
// that says so; sending the content again with the route of its kind does what a forward would, without the
// "forwarded" label.
func (a *api) forwardMessage(w http.ResponseWriter, r *http.Request) {
	var req forwardMessageRequest
	if err := decodeJSON(r, &req); err != nil {
		a.respondError(w, r, err)
		return
	}
	if req.MessagePhone == "" {
		a.respondError(w, r, missingFields(append(append(required("phone", req.Phone), required("messageId", req.MessageID)...), "messagePhone")...))
		return
	}
	if err := checkChatAndMessage(req.Phone, req.MessageID); err != nil {
		a.respondError(w, r, err)
		return
	}
	if !validRecipient(req.MessagePhone) {
		a.respondError(w, r, invalidPhone("messagePhone", true))
		return
	}
	if _, err := delaySeconds("delayMessage", req.DelayMessage); err != nil {
		a.respondError(w, r, err)
		return
	}
	writeError(w, r, &apiError{status: http.StatusUnprocessableEntity, code: codeCannotForward,
		message: "this server cannot forward: it keeps no message content once a message is sent or delivered " +
			"(messages are not stored), so it has nothing to forward; send the content again with the route of its kind"})
}
