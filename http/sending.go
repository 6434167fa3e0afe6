package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/recipient"
)

// envelope holds the fields every send route takes beside its content.
type envelope struct {
	Phone     string `json:"phone"`
	MessageID string `json:"messageId"`
	// Pointers tell an absent delay from a given one.
	DelayMessage *int `json:"delayMessage"`
	DelayTyping  *int `json:"delayTyping"`
	// status is set by the status routes: the message is a status update, to status@broadcast, and quotes
	// nothing, shows no typing and is not view-once.
	status bool
}

func (e *envelope) env() *envelope { return e }

// sendBody is the body of a send route: the envelope, and the route's own content fields.
type sendBody interface {
	env() *envelope
	// missing lists the route's own required fields that are absent or empty.
	missing() []string
	// content validates the route's own fields and makes the message's content.
	content() (*messagesv1.Content, error)
}

// targetBody is a send body whose messageId names the message it acts on (a reaction's), not one to quote.
type targetBody interface {
	messageIDIsTarget() bool
}

// sendResponse is the answer of every send route. id repeats messageId, as Z-API does for Zapier.
type sendResponse struct {
	ZaapID    string `json:"zaapId"`
	MessageID string `json:"messageId"`
	ID        string `json:"id"`
}

// queueMessage is every send route: it reads the body into body, makes the message, queues it and answers with
// its IDs (a retry with the same Idempotency-Key: the first request's). quoteRequired makes messageId (the
// message to quote) required.
func (a *api) queueMessage(w http.ResponseWriter, r *http.Request, body sendBody, quoteRequired bool) {
	key, err := idempotencyKey(r)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	if err := decodeJSON(r, body); err != nil {
		a.respondError(w, r, err)
		return
	}
	m, err := outbound(body, quoteRequired)
	if err == nil {
		err = bindIdempotencyKey(r, m, key)
	}
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	queued, err := a.deps.Sender.Send(r.Context(), chi.URLParam(r, "id"), m)
	if err != nil {
		a.respondError(w, r, fmt.Errorf("queue message: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, sendResponse{ZaapID: queued.ZaapID, MessageID: queued.MessageID, ID: queued.MessageID})
}

// outbound validates a send route's body and makes the message to queue: missing fields first (all of them),
// then the recipient, the content, the quote and the delays.
func outbound(body sendBody, quoteRequired bool) (*messagesv1.Outbound, error) {
	env := body.env()
	if env.status {
		env.Phone, env.MessageID, env.DelayTyping = recipient.StatusBroadcast, "", nil
	}
	var missing []string
	if env.Phone == "" {
		missing = append(missing, "phone")
	}
	missing = append(missing, body.missing()...)
	if quoteRequired && env.MessageID == "" {
		missing = append(missing, "messageId")
	}
	if len(missing) > 0 {
		return nil, missingFields(missing...)
	}
	if !env.status && !validRecipient(env.Phone) {
		return nil, invalidPhone("phone", true)
	}
	content, err := body.content()
	if err != nil {
		return nil, err
	}
	if env.status {
		for _, m := range []*messagesv1.Media{content.GetImage(), content.GetVideo()} {
			if m != nil {
				m.ViewOnce = false
			}
		}
	}
	if env.MessageID != "" {
		if err := checkMessageID("messageId", env.MessageID); err != nil {
			return nil, err
		}
	}
	delayMessage, err := delaySeconds("delayMessage", env.DelayMessage)
	if err != nil {
		return nil, err
	}
	delayTyping, err := delaySeconds("delayTyping", env.DelayTyping)
	if err != nil {
		return nil, err
	}
	replyTo := env.MessageID
	if t, ok := body.(targetBody); ok && t.messageIDIsTarget() {
		replyTo = ""
	}
	return &messagesv1.Outbound{
		Phone:         env.Phone,
		ReplyTo:       replyTo,
		DelayMessageS: delayMessage,
		DelayTypingS:  delayTyping,
		Content:       content,
	}, nil
}

// delaySeconds validates an optional delay given in seconds. 0 counts as absent, since PlugZapi documents 0 as
// delayTyping's default and clients send it for "no delay" in both fields.
func delaySeconds(field string, v *int) (int32, error) {
	if v == nil || *v == 0 {
		return 0, nil
	}
	if *v < minDelay || *v > maxDelay {
		return 0, badRequest(codeInvalidField,
			fmt.Sprintf("%s must be an integer number of seconds from %d to %d", field, minDelay, maxDelay), field)
	}
	return int32(*v), nil
}

// sendTextRequest is the body of POST send-text and POST reply-message. With editMessageId it replaces the
// text of a message sent before instead of sending a new one.
type sendTextRequest struct {
	envelope
	Message        string         `json:"message"`
	Mentioned      []string       `json:"mentioned"`
	GroupMentioned []groupMention `json:"groupMentioned"`
	EditMessageID  string         `json:"editMessageId"`
}

// groupMention is a group a text mentions (Z-API's groupMentioned).
type groupMention struct {
	Phone   string `json:"phone"`
	Subject string `json:"subject"`
}

func (req *sendTextRequest) missing() []string { return required("message", req.Message) }

func (req *sendTextRequest) content() (*messagesv1.Content, error) {
	if err := checkText("message", req.Message, maxMessageChars); err != nil {
		return nil, err
	}
	text := &messagesv1.Text{Body: req.Message}
	for _, p := range req.Mentioned {
		if r, err := recipient.Parse(p); err != nil || r.Kind == recipient.Group {
			return nil, badRequest(codeInvalidPhone, "mentioned must hold phone numbers (digits with country code) or LIDs", "mentioned")
		}
		text.Mentioned = append(text.Mentioned, p)
	}
	for _, g := range req.GroupMentioned {
		if r, err := recipient.Parse(g.Phone); err != nil || r.Kind != recipient.Group {
			return nil, badRequest(codeInvalidPhone, "groupMentioned[].phone must be a group ID such as 120363019502650977-group", "groupMentioned")
		}
		if tooLong(g.Subject, maxNameChars) {
			return nil, badRequest(codeInvalidField, fmt.Sprintf("groupMentioned[].subject must be at most %d characters", maxNameChars), "groupMentioned")
		}
		text.GroupMentions = append(text.GroupMentions, &messagesv1.GroupMention{Phone: g.Phone, Subject: g.Subject})
	}
	if req.EditMessageID == "" {
		return &messagesv1.Content{Kind: &messagesv1.Content_Text{Text: text}}, nil
	}
	if err := checkMessageID("editMessageId", req.EditMessageID); err != nil {
		return nil, err
	}
	if req.MessageID != "" {
		return nil, badRequest(codeInvalidField, "an edit quotes nothing: give editMessageId or messageId, not both", "messageId", "editMessageId")
	}
	return &messagesv1.Content{Kind: &messagesv1.Content_Edit{Edit: &messagesv1.Edit{
		Target: &messagesv1.MessageRef{MessageId: req.EditMessageID, FromMe: true}, Text: text,
	}}}, nil
}

func (a *api) sendText(w http.ResponseWriter, r *http.Request) {
	a.queueMessage(w, r, &sendTextRequest{}, false)
}

// replyMessage is PlugZapi's dedicated reply route: send-text with messageId required.
func (a *api) replyMessage(w http.ResponseWriter, r *http.Request) {
	a.queueMessage(w, r, &sendTextRequest{}, true)
}

// required lists field when its value is empty.
func required(field, value string) []string {
	if value == "" {
		return []string{field}
	}
	return nil
}

// checkText refuses a text that is blank or longer than max characters.
func checkText(field, s string, max int) error {
	if strings.TrimSpace(s) == "" {
		return badRequest(codeInvalidField, field+" must not be blank", field)
	}
	if tooLong(s, max) {
		return badRequest(codeInvalidField, fmt.Sprintf("%s must be at most %d characters", field, max), field)
	}
	return nil
}

// checkMessageID refuses a value that cannot be a WhatsApp message ID.
func checkMessageID(field, id string) error {
	if !validMessageID(id) {
		return badRequest(codeInvalidField,
			fmt.Sprintf("%s must be a WhatsApp message ID: printable characters without spaces, at most %d", field, maxMessageIDLen),
			field)
	}
	return nil
}
