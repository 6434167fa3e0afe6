package httpapi

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/recipient"
)

// The message actions: delete for everyone and forward (queued, after what was queued before them) and read (at
// once).

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

// forwardMessageRequest is the body of POST forward-message: messageId is the message to forward, messagePhone
// the chat it is in, phone where it goes.
type forwardMessageRequest struct {
	envelope
	MessagePhone string `json:"messagePhone"`
}

func (req *forwardMessageRequest) messageIDIsTarget() bool { return true }

func (req *forwardMessageRequest) missing() []string {
	return append(required("messageId", req.MessageID), required("messagePhone", req.MessagePhone)...)
}

func (req *forwardMessageRequest) content() (*messagesv1.Content, error) {
	if !validRecipient(req.MessagePhone) {
		return nil, invalidPhone("messagePhone", true)
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_Forward{Forward: &messagesv1.Forward{
		Source: &messagesv1.MessageRef{MessageId: req.MessageID, Phone: req.MessagePhone},
	}}}, nil
}

// forwardMessage queues a forward like any send (its IDs at once; durable, in order, paced): the message goes
// to phone again as WhatsApp carried it, marked forwarded. Forwarding needs the message's content, which the
// server keeps only when PLUGZAPI_FORWARD_WINDOW is set, and for that long (messages are not stored, otherwise):
// without it the answer is a 422 cannot_forward; a message not kept in messagePhone's chat (never sent or
// received there, of a kind that cannot be forwarded, edited or deleted since, or older than the window) is a
// 404 message_not_found.
func (a *api) forwardMessage(w http.ResponseWriter, r *http.Request) {
	a.queueMessage(w, r, &forwardMessageRequest{}, false)
}
