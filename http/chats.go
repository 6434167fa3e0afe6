package httpapi

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/events/chats"
)

// The chat routes: the chat list is answered by the chats read model (what WhatsApp told the instance: the
// phone's history, the account's synced app state, the messages), changes go to WhatsApp through the instance's
// connection (account.Chats), and a read that follows a change sees it.

// ChatsView answers about an instance's chats and labels from the chats read model. A read waits until the model
// holds every event of the instance recorded before it (a change the same client just made).
type ChatsView interface {
	// Chats is a page of the instance's chats, pinned ones first, then the latest message first.
	Chats(ctx context.Context, id string, offset, limit int) ([]chats.Chat, error)
	// Chat is one chat (account.ErrNotFound when the instance has no chat with phone).
	Chat(ctx context.Context, id, phone string) (chats.Chat, error)
	// Labels are the labels of a business account (account.ErrUnsupported for a personal one).
	Labels(ctx context.Context, id string) ([]chats.Label, error)
}

// maxChatsPage bounds pageSize of GET chats.
const maxChatsPage = 1000

// chatJSON is a chat as PlugZapi and Z-API list them, with Z-API's types: counts, times and isMuted are strings.
// The server keeps no profile thumbnails (null); tags are the IDs of the chat's labels (business accounts).
type chatJSON struct {
	Name             string   `json:"name,omitempty"`
	Phone            string   `json:"phone"`
	Unread           string   `json:"unread"`
	LastMessageTime  string   `json:"lastMessageTime"`
	IsMuted          string   `json:"isMuted"`
	MuteEndTime      *int64   `json:"muteEndTime"`
	IsMarkedSpam     bool     `json:"isMarkedSpam"`
	ProfileThumbnail *string  `json:"profileThumbnail"`
	Archived         bool     `json:"archived"`
	Pinned           bool     `json:"pinned"`
	IsGroup          bool     `json:"isGroup"`
	MessagesUnread   int64    `json:"messagesUnread"`
	Tags             []string `json:"tags"`
}

// newChatJSON renders a chat; name is shown by GET chats (the chat's phone when no name is known), not by GET
// chats/{phone}.
func newChatJSON(c chats.Chat, name *string) chatJSON {
	out := chatJSON{Phone: c.Phone, Unread: strconv.FormatInt(c.Unread, 10), LastMessageTime: "0", IsMuted: "0",
		Archived: c.Archived, Pinned: c.Pinned, IsGroup: isGroupRecipient(c.Phone), MessagesUnread: c.Unread,
		Tags: c.Labels}
	if c.MarkedUnread && c.Unread == 0 {
		// A chat marked unread shows as one unread message, as WhatsApp's apps show it.
		out.Unread, out.MessagesUnread = "1", 1
	}
	if !c.LastMessage.IsZero() {
		out.LastMessageTime = strconv.FormatInt(c.LastMessage.UnixMilli(), 10)
	}
	if c.Muted(time.Now()) {
		out.IsMuted, out.MuteEndTime = "1", &c.MutedUntil
	}
	if name != nil {
		out.Name = cmp.Or(*name, c.Phone)
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	return out
}

// listChats answers GET chats?page=&pageSize=: every chat when neither is given (clients omit them to mean
// everything), else the page (from 1) of pageSize (default 20).
func (a *api) listChats(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, err := intParam(q.Get("page"), "page", 1, math.MaxInt32)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	pageSize, err := intParam(q.Get("pageSize"), "pageSize", defaultPageSize, maxChatsPage)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	offset, limit := (page-1)*pageSize, pageSize // no overflow: page ≤ MaxInt32, pageSize ≤ 1000
	if !q.Has("page") && !q.Has("pageSize") {
		offset, limit = 0, math.MaxInt32
	}
	found, err := a.deps.Chats.Chats(r.Context(), chi.URLParam(r, "id"), offset, limit)
	if err != nil {
		a.respondError(w, r, fmt.Errorf("list chats: %w", err))
		return
	}
	names := a.chatNames(r, found)
	out := make([]chatJSON, 0, len(found))
	for _, c := range found {
		name := names[c.Phone]
		out = append(out, newChatJSON(c, &name))
	}
	writeJSON(w, http.StatusOK, out)
}

// chatNames names the chats from the linked account's store. The list does not fail for want of names: while
// the instance is not connected the chats are named by their phones.
func (a *api) chatNames(r *http.Request, found []chats.Chat) map[string]string {
	if len(found) == 0 {
		return nil
	}
	c, err := a.deps.Accounts.Account(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return nil
	}
	phones := make([]string, len(found))
	for i, ch := range found {
		phones[i] = ch.Phone
	}
	names, err := c.ChatNames(r.Context(), phones)
	if err != nil {
		a.log.WarnContext(r.Context(), "chats are listed without names", "instance", chi.URLParam(r, "id"), "err", err)
	}
	return names
}

// chatPhone is the {phone} of a chat route, or the 400 for it.
func chatPhone(r *http.Request) (string, error) {
	phone := chi.URLParam(r, "phone")
	if !validRecipient(phone) {
		return "", invalidPhone("phone", true)
	}
	return phone, nil
}

// getChat answers GET chats/{phone}: the chat's metadata, without its name as PlugZapi documents it.
func (a *api) getChat(w http.ResponseWriter, r *http.Request) {
	phone, err := chatPhone(r)
	if err == nil {
		var c chats.Chat
		if c, err = a.deps.Chats.Chat(r.Context(), chi.URLParam(r, "id"), phone); err == nil {
			writeJSON(w, http.StatusOK, newChatJSON(c, nil))
			return
		}
		err = fmt.Errorf("get chat: %w", err)
	}
	a.respondError(w, r, err)
}

// chatMessages answers GET chat-messages/{phone} with an empty array: the server keeps no message content (it
// is deleted once sent or delivered to the webhooks), and a linked device cannot ask the phone for a chat's
// history on demand reliably (the phone answers when and if it is online). The webhooks are where messages go.
func (a *api) chatMessages(w http.ResponseWriter, r *http.Request) {
	phone, err := chatPhone(r)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	if _, err := a.deps.Chats.Chat(r.Context(), chi.URLParam(r, "id"), phone); err != nil {
		a.respondError(w, r, fmt.Errorf("chat messages: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, []struct{}{})
}

// phoneActionRequest is the body of POST modify-chat and of Z-API's POST contacts/modify-blocked: an action on a
// chat or a person.
type phoneActionRequest struct {
	Phone  string `json:"phone"`
	Action string `json:"action"`
}

// modifyChat answers POST modify-chat: the action is written to the account's app state, where the phone and
// the account's other devices apply it. As in WhatsApp's apps, only a chat the account has can be changed: a
// phone the instance has no chat with (a typo, a number without its ninth digit) is 404 not_found, and nothing
// is written.
func (a *api) modifyChat(w http.ResponseWriter, r *http.Request) {
	var req phoneActionRequest
	if err := decodeJSON(r, &req); err != nil {
		a.respondError(w, r, err)
		return
	}
	if missing := append(required("phone", req.Phone), required("action", req.Action)...); len(missing) > 0 {
		a.respondError(w, r, missingFields(missing...))
		return
	}
	if !validRecipient(req.Phone) {
		a.respondError(w, r, invalidPhone("phone", true))
		return
	}
	action := account.ChatAction(strings.ToLower(req.Action))
	if !slices.Contains(account.ChatActions, action) {
		names := make([]string, len(account.ChatActions))
		for i, c := range account.ChatActions {
			names[i] = string(c)
		}
		a.respondError(w, r, badRequest(codeInvalidField, "action must be one of "+strings.Join(names, ", "), "action"))
		return
	}
	a.withAccount(w, r, func(c account.Client) error {
		if _, err := a.deps.Chats.Chat(r.Context(), chi.URLParam(r, "id"), req.Phone); err != nil {
			return fmt.Errorf("modify chat: %w", err)
		}
		if err := c.ModifyChat(r.Context(), req.Phone, action); err != nil {
			return fmt.Errorf("modify chat: %w", err)
		}
		writeJSON(w, http.StatusOK, valueResponse{Value: true})
		return nil
	})
}
