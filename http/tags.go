package httpapi

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/events/chats"
)

// The tag routes: labels of a WhatsApp Business account. The labels are answered by the chats read model; putting
// one on a chat goes to WhatsApp (account.Labels). A personal account has none: 501 unsupported.

// maxTagIDLen bounds a label ID (WhatsApp's are small numbers).
const maxTagIDLen = 64

// tagJSON is a label as PlugZapi lists it; color is WhatsApp's color index.
type tagJSON struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Color int32  `json:"color"`
}

// tags answers GET tags.
func (a *api) tags(w http.ResponseWriter, r *http.Request) {
	labels, err := a.deps.Chats.Labels(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		a.respondError(w, r, fmt.Errorf("list tags: %w", err))
		return
	}
	out := make([]tagJSON, 0, len(labels))
	for _, l := range labels {
		out = append(out, tagJSON{ID: l.ID, Name: l.Name, Color: l.Color})
	}
	writeJSON(w, http.StatusOK, out)
}

// addChatTag answers PUT chats/{phone}/tags/{tag}/add.
func (a *api) addChatTag(w http.ResponseWriter, r *http.Request) { a.labelChat(w, r, true) }

// removeChatTag answers chats/{phone}/tags/{tag}/remove: GET as PlugZapi documents it, PUT as Z-API does.
func (a *api) removeChatTag(w http.ResponseWriter, r *http.Request) { a.labelChat(w, r, false) }

func (a *api) labelChat(w http.ResponseWriter, r *http.Request, labeled bool) {
	phone, err := chatPhone(r)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	tag := chi.URLParam(r, "tag")
	if !validMessageID(tag) || len(tag) > maxTagIDLen {
		a.respondError(w, r, badRequest(codeInvalidField, "tag must be the id of a label (GET tags lists them)", "tag"))
		return
	}
	// The account's labels come from the read model, which also tells a personal account (501).
	labels, err := a.deps.Chats.Labels(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		a.respondError(w, r, fmt.Errorf("tag chat: %w", err))
		return
	}
	if !slices.ContainsFunc(labels, func(l chats.Label) bool { return l.ID == tag }) {
		a.respondError(w, r, fmt.Errorf("tag chat: label %s: %w", tag, account.ErrNotFound))
		return
	}
	a.withAccount(w, r, func(c account.Client) error {
		if _, err := a.deps.Chats.Chat(r.Context(), chi.URLParam(r, "id"), phone); err != nil {
			return fmt.Errorf("tag chat: %w", err)
		}
		if err := c.LabelChat(r.Context(), phone, tag, labeled); err != nil {
			return fmt.Errorf("tag chat: %w", err)
		}
		writeJSON(w, http.StatusOK, valueResponse{Value: true})
		return nil
	})
}
