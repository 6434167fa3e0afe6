package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/plugzapi/plugzapi/actors"
)

// sendTextRequest is the body of POST send-text and POST reply-message.
type sendTextRequest struct {
	Phone     string `json:"phone"`
	Message   string `json:"message"`
	MessageID string `json:"messageId"`
	// Pointers tell an absent delay from a given one.
	DelayMessage *int `json:"delayMessage"`
	DelayTyping  *int `json:"delayTyping"`
}

// sendResponse is the answer of every send route. id repeats messageId, as Z-API does for Zapier.
type sendResponse struct {
	ZaapID    string `json:"zaapId"`
	MessageID string `json:"messageId"`
	ID        string `json:"id"`
}

func (a *api) sendText(w http.ResponseWriter, r *http.Request) {
	a.queueText(w, r, false)
}

// replyMessage is PlugZapi's dedicated reply route: send-text with messageId required.
func (a *api) replyMessage(w http.ResponseWriter, r *http.Request) {
	a.queueText(w, r, true)
}

func (a *api) queueText(w http.ResponseWriter, r *http.Request, reply bool) {
	var req sendTextRequest
	if err := decodeJSON(r, &req); err != nil {
		a.respondError(w, r, err)
		return
	}
	msg, err := req.command(reply)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	queued, err := a.deps.Sender.SendText(r.Context(), chi.URLParam(r, "id"), msg)
	if err != nil {
		a.respondError(w, r, fmt.Errorf("queue text message: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, sendResponse{ZaapID: queued.ZaapID, MessageID: queued.MessageID, ID: queued.MessageID})
}

// command validates the request and turns it into the application's command.
func (req *sendTextRequest) command(reply bool) (actors.SendText, error) {
	var missing []string
	if req.Phone == "" {
		missing = append(missing, "phone")
	}
	if req.Message == "" {
		missing = append(missing, "message")
	}
	if reply && req.MessageID == "" {
		missing = append(missing, "messageId")
	}
	if len(missing) > 0 {
		return actors.SendText{}, missingFields(missing...)
	}
	if !validRecipient(req.Phone) {
		return actors.SendText{}, invalidPhone("phone", true)
	}
	if strings.TrimSpace(req.Message) == "" {
		return actors.SendText{}, badRequest(codeInvalidField, "message must not be blank", "message")
	}
	if tooLong(req.Message, maxMessageChars) {
		return actors.SendText{}, badRequest(codeInvalidField,
			fmt.Sprintf("message must be at most %d characters", maxMessageChars), "message")
	}
	if req.MessageID != "" && !validMessageID(req.MessageID) {
		return actors.SendText{}, badRequest(codeInvalidField,
			fmt.Sprintf("messageId must be a WhatsApp message ID: printable characters without spaces, at most %d", maxMessageIDLen),
			"messageId")
	}
	delayMessage, err := delaySeconds("delayMessage", req.DelayMessage)
	if err != nil {
		return actors.SendText{}, err
	}
	delayTyping, err := delaySeconds("delayTyping", req.DelayTyping)
	if err != nil {
		return actors.SendText{}, err
	}
	return actors.SendText{
		Phone:        req.Phone,
		Message:      req.Message,
		ReplyTo:      req.MessageID,
		DelayMessage: delayMessage,
		DelayTyping:  delayTyping,
	}, nil
}

// delaySeconds validates an optional delay given in seconds. 0 counts as absent, since PlugZapi documents 0 as
// delayTyping's default and clients send it for "no delay" in both fields.
func delaySeconds(field string, v *int) (time.Duration, error) {
	if v == nil || *v == 0 {
		return 0, nil
	}
	if *v < minDelay || *v > maxDelay {
		return 0, badRequest(codeInvalidField,
			fmt.Sprintf("%s must be an integer number of seconds from %d to %d", field, minDelay, maxDelay), field)
	}
	return time.Duration(*v) * time.Second, nil
}
