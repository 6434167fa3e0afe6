package httpapi

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/plugzapi/plugzapi/actors"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// queueItemJSON is one element of PlugZapi's GET /queue answer, whose field names are PascalCase (and "_id").
// _id is the zaapId; delays are in seconds, 0 for the default pacing; Created is in epoch milliseconds.
type queueItemJSON struct {
	ID           string `json:"_id"`
	ZaapID       string `json:"ZaapId"`
	MessageID    string `json:"MessageId"`
	Phone        string `json:"Phone"`
	Message      string `json:"Message"`
	DelayMessage int64  `json:"DelayMessage"`
	DelayTyping  int64  `json:"DelayTyping"`
	Created      int64  `json:"Created"`
	InstanceID   string `json:"InstanceId"`
}

func newQueueItemJSON(instanceID string, it actors.QueueItem) queueItemJSON {
	m := it.Message
	return queueItemJSON{
		ID:           m.GetZaapId(),
		ZaapID:       m.GetZaapId(),
		MessageID:    m.GetMessageId(),
		Phone:        m.GetPhone(),
		Message:      queuedText(m.GetContent()),
		DelayMessage: int64(m.GetDelayMessageS()),
		DelayTyping:  int64(m.GetDelayTypingS()),
		Created:      unixMilli(it.Queued),
		InstanceID:   instanceID,
	}
}

// queuedText is what GET /queue shows as a queued message's Message: its text (an edit's new text, a poll's
// question, a location's name, a reaction's emoji), or a file's caption.
func queuedText(c *messagesv1.Content) string {
	switch k := c.GetKind().(type) {
	case *messagesv1.Content_Text:
		return k.Text.GetBody()
	case *messagesv1.Content_Image:
		return k.Image.GetCaption()
	case *messagesv1.Content_Video:
		return k.Video.GetCaption()
	case *messagesv1.Content_Document:
		return k.Document.GetCaption()
	case *messagesv1.Content_Edit:
		return k.Edit.GetText().GetBody()
	case *messagesv1.Content_Location:
		return k.Location.GetName()
	case *messagesv1.Content_Poll:
		return k.Poll.GetQuestion()
	case *messagesv1.Content_Buttons:
		return k.Buttons.GetText()
	case *messagesv1.Content_OptionList:
		return k.OptionList.GetText()
	case *messagesv1.Content_Reaction:
		return k.Reaction.GetEmoji()
	}
	return ""
}

// queue answers with a bare array, as PlugZapi's example shows (not the {"messages": …} its table mentions).
func (a *api) queue(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	items, err := a.deps.QueueView.Queue(r.Context(), id)
	if err != nil {
		a.respondError(w, r, fmt.Errorf("list queue: %w", err))
		return
	}
	out := make([]queueItemJSON, 0, len(items))
	for _, it := range items {
		out = append(out, newQueueItemJSON(id, it))
	}
	writeJSON(w, http.StatusOK, out)
}

type countResponse struct {
	Count int `json:"count"`
}

// queueCount answers {"count": N}; PlugZapi does not document the shape.
func (a *api) queueCount(w http.ResponseWriter, r *http.Request) {
	n, err := a.deps.QueueView.QueueCount(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		a.respondError(w, r, fmt.Errorf("count queue: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, countResponse{Count: n})
}

func (a *api) clearQueue(w http.ResponseWriter, r *http.Request) {
	if err := a.deps.QueueEditor.ClearQueue(r.Context(), chi.URLParam(r, "id")); err != nil {
		a.respondError(w, r, fmt.Errorf("clear queue: %w", err))
		return
	}
	writeValueTrue(w)
}

// maxZaapIDLen bounds a zaapId taken from the path; a longer one cannot be in any queue.
const maxZaapIDLen = 128

func (a *api) cancelQueued(w http.ResponseWriter, r *http.Request) {
	zaapID := chi.URLParam(r, "zaapId")
	if len(zaapID) > maxZaapIDLen {
		a.respondError(w, r, actors.ErrQueueItemNotFound)
		return
	}
	if err := a.deps.QueueEditor.CancelQueued(r.Context(), chi.URLParam(r, "id"), zaapID); err != nil {
		a.respondError(w, r, fmt.Errorf("cancel queued message: %w", err))
		return
	}
	writeValueTrue(w)
}
