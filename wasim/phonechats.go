package wasim

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
)

// The phone's chat list, as its user sees it: the chats messages came and went in, with what the account's
// devices did to them through the app state (archive, pin, mute, mark read or unread, delete, clear) and, on a
// business account, the labels on them. The phone applies the app state mutations its whatsmeow client
// decrypts, so a test sees on the phone what a linked device did, and it hands its chat list to the devices it
// links in their history sync. Like WhatsApp's apps it ignores what its account cannot have: labels on a
// personal account, and a label on a chat that names no label of the account.

// ErrLabelsNeedBusiness: labels are for WhatsApp Business accounts (SetBusiness).
var ErrLabelsNeedBusiness = errors.New("labels are for WhatsApp Business accounts")

// Chat is a chat on an account's phone.
type Chat struct {
	// Chat is the other person's phone number, or the group's JID.
	Chat string `json:"chat"`
	// Name is the other person's push name, as far as the phone knows it.
	Name string `json:"name,omitempty"`
	// LastMessage is when the last message of the chat came or went.
	LastMessage time.Time `json:"lastMessage"`
	// Unread counts the messages received since the chat was last read.
	Unread       int  `json:"unread"`
	MarkedUnread bool `json:"markedUnread"`
	Archived     bool `json:"archived"`
	Pinned       bool `json:"pinned"`
	// MutedUntil is when the mute ends in Unix milliseconds, -1 for ever, 0 not muted.
	MutedUntil int64 `json:"mutedUntil"`
	// Cleared counts the times the chat's messages were cleared.
	Cleared int `json:"cleared"`
	// Labels are the IDs of the labels on the chat.
	Labels []string `json:"labels,omitempty"`
}

// Label is a label of a WhatsApp Business account.
type Label struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Color int32  `json:"color"`
}

// phoneChats is what the phone keeps of its chats (guarded by engine.mu).
type phoneChats struct {
	chats map[types.JID]*Chat
	// deleted counts the chats deleted, by chat.
	deleted map[types.JID]int
	labels  map[string]Label
}

// initLocked makes the maps on first use.
func (p *phoneChats) initLocked() {
	if p.chats == nil {
		p.chats, p.deleted, p.labels = map[types.JID]*Chat{}, map[types.JID]int{}, map[string]Label{}
	}
}

// chatLocked is the chat jid, made (named name) when the phone has none.
func (p *phoneChats) chatLocked(jid types.JID, name string) *Chat {
	p.initLocked()
	c := p.chats[jid]
	if c == nil {
		c = &Chat{Chat: name}
		p.chats[jid] = c
	}
	return c
}

// chatKey is how the phone keys a chat: once its account moved its chats to LIDs (MoveChatsToLID), a person by
// their LID, as its app state then names them too. It takes the simulator's lock: call it without the phone's.
func (e *engine) chatKey(jid types.JID) types.JID {
	jid = jid.ToNonAD()
	s := e.a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.a.lidChats && jid.Server == types.DefaultUserServer {
		if other := s.accounts[jid.User]; other != nil {
			return other.lid
		}
	}
	return jid
}

// moveChatsToLIDLocked keys the phone's chats with people by their LIDs, as its chat database does once its
// account moved its chats to LIDs. The simulator's lock is held.
func (e *engine) moveChatsToLIDLocked() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for jid, c := range e.chats.chats {
		if other := e.a.s.accounts[jid.User]; other != nil && jid.Server == types.DefaultUserServer {
			delete(e.chats.chats, jid)
			e.chats.chats[other.lid] = c
		}
	}
}

// noteMessageLocked counts a message the phone received or sent into its chat (named name, see chatName).
func (e *engine) noteMessageLocked(chat types.JID, name string, at time.Time, received bool, pushName string) {
	if chat.IsEmpty() || chat == types.StatusBroadcastJID || chat.Server == types.BroadcastServer {
		return
	}
	c := e.chats.chatLocked(chat, name)
	c.LastMessage = at
	if received {
		c.Unread++
		if pushName != "" && chat.Server != types.GroupServer {
			c.Name = pushName
		}
	}
}

// applyChatEvent applies an app state mutation the phone's client decrypted.
func (e *engine) applyChatEvent(evt any) {
	var target types.JID
	switch v := evt.(type) {
	case *events.Archive:
		target = v.JID
	case *events.Pin:
		target = v.JID
	case *events.Mute:
		target = v.JID
	case *events.MarkChatAsRead:
		target = v.JID
	case *events.DeleteChat:
		target = v.JID
	case *events.ClearChat:
		target = v.JID
	case *events.LabelAssociationChat:
		target = v.JID
	case *events.LabelEdit:
	default:
		return
	}
	// Named before the phone's lock is taken: the simulator's lock comes first.
	target = target.ToNonAD()
	if key := e.chatKey(target); key != target {
		// The account moved its chats to LIDs: its app state names people by LID, and a mutation naming one by
		// phone number names no chat of the phone.
		e.a.s.log.Warn("phone whose chats moved to LIDs ignores a chat named by phone number", "phone", e.a.phone,
			"chat", target)
		return
	}
	name, business := e.a.s.chatName(target), e.a.Business()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.chats.initLocked()
	chat := func(types.JID) *Chat { return e.chats.chatLocked(target, name) }
	switch v := evt.(type) {
	case *events.Archive:
		c := chat(v.JID)
		c.Archived = v.Action.GetArchived()
		if c.Archived {
			c.Pinned = false
		}
	case *events.Pin:
		chat(v.JID).Pinned = v.Action.GetPinned()
	case *events.Mute:
		c := chat(v.JID)
		c.MutedUntil = 0
		if v.Action.GetMuted() {
			c.MutedUntil = v.Action.GetMuteEndTimestamp()
		}
	case *events.MarkChatAsRead:
		c := chat(v.JID)
		c.MarkedUnread = !v.Action.GetRead()
		if v.Action.GetRead() {
			c.Unread = 0
		}
	case *events.DeleteChat:
		delete(e.chats.chats, target)
		e.chats.deleted[target]++
	case *events.ClearChat:
		c := chat(v.JID)
		c.Cleared++
		c.Unread, c.MarkedUnread = 0, false
	case *events.LabelEdit:
		if !business {
			e.a.s.log.Warn("personal account's phone ignores a label", "phone", e.a.phone, "label", v.LabelID)
			return
		}
		if v.Action.GetDeleted() {
			delete(e.chats.labels, v.LabelID)
			for _, c := range e.chats.chats {
				c.Labels = slices.DeleteFunc(c.Labels, func(id string) bool { return id == v.LabelID })
			}
			return
		}
		e.chats.labels[v.LabelID] = Label{ID: v.LabelID, Name: v.Action.GetName(), Color: v.Action.GetColor()}
	case *events.LabelAssociationChat:
		if _, ok := e.chats.labels[v.LabelID]; !business || !ok {
			e.a.s.log.Warn("phone ignores a label it does not have on a chat", "phone", e.a.phone, "label", v.LabelID,
				"business", business)
			return
		}
		c := chat(v.JID)
		c.Labels = slices.DeleteFunc(c.Labels, func(id string) bool { return id == v.LabelID })
		if v.Action.GetLabeled() {
			c.Labels = append(c.Labels, v.LabelID)
			slices.Sort(c.Labels)
		}
	}
}

// Chats lists the chats on the account's phone, latest first.
func (a *Account) Chats() []Chat {
	e := a.runningEngine()
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Chat, 0, len(e.chats.chats))
	for _, c := range e.chats.chats {
		cc := *c
		cc.Labels = slices.Clone(c.Labels)
		out = append(out, cc)
	}
	slices.SortFunc(out, func(x, y Chat) int { return y.LastMessage.Compare(x.LastMessage) })
	return out
}

// Chat is one chat on the account's phone (a phone number or a group JID); false when the phone has none (never
// written in, or deleted).
func (a *Account) Chat(chat string) (Chat, bool) {
	jid, err := parseChat(chat)
	e := a.runningEngine()
	if err != nil || e == nil {
		return Chat{}, false
	}
	jid = e.chatKey(jid)
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.chats.chats[jid]
	if !ok {
		return Chat{}, false
	}
	cc := *c
	cc.Labels = slices.Clone(c.Labels)
	return cc, true
}

// DeletedChat counts the times the chat was deleted on the account's phone.
func (a *Account) DeletedChat(chat string) int {
	jid, err := parseChat(chat)
	e := a.runningEngine()
	if err != nil || e == nil {
		return 0
	}
	jid = e.chatKey(jid)
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.chats.deleted[jid]
}

// Labels lists the labels the account's phone has, by ID.
func (a *Account) Labels() []Label {
	e := a.runningEngine()
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Label, 0, len(e.chats.labels))
	for _, l := range e.chats.labels {
		out = append(out, l)
	}
	slices.SortFunc(out, func(x, y Label) int { return compareLabelIDs(x.ID, y.ID) })
	return out
}

// compareLabelIDs orders label IDs as numbers, which WhatsApp's are.
func compareLabelIDs(x, y string) int {
	nx, ex := strconv.Atoi(x)
	ny, ey := strconv.Atoi(y)
	if ex == nil && ey == nil {
		return cmp.Compare(nx, ny)
	}
	return strings.Compare(x, y)
}

// AddLabel has the phone's user create a label, as WhatsApp Business does: a label edit in the account's app
// state, which the linked devices apply. color is WhatsApp's color index (0–19). ErrLabelsNeedBusiness on a
// personal account.
func (a *Account) AddLabel(ctx context.Context, name string, color int32) (Label, error) {
	if !a.Business() {
		return Label{}, fmt.Errorf("add label: %w", ErrLabelsNeedBusiness)
	}
	if name == "" || color < 0 || color > 19 {
		return Label{}, fmt.Errorf("add label: %w: a name and a color from 0 to 19", ErrInvalidArgument)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return Label{}, fmt.Errorf("add label: %w", err)
	}
	e.mu.Lock()
	id := 1
	for _, ok := e.chats.labels[strconv.Itoa(id)]; ok; _, ok = e.chats.labels[strconv.Itoa(id)] {
		id++
	}
	e.mu.Unlock()
	l := Label{ID: strconv.Itoa(id), Name: name, Color: color}
	if err := e.cli.SendAppState(ctx, appstate.BuildLabelEdit(l.ID, name, color, false)); err != nil {
		return Label{}, fmt.Errorf("add label: %w", err)
	}
	e.mu.Lock()
	e.chats.initLocked()
	e.chats.labels[l.ID] = l
	e.mu.Unlock()
	return l, nil
}

// historyConversationsLocked is the phone's chat list as a history sync carries it.
func (e *engine) historyConversationsLocked() []*waHistorySync.Conversation {
	var out []*waHistorySync.Conversation
	for jid, c := range e.chats.chats {
		conv := &waHistorySync.Conversation{
			ID:                    proto.String(jid.String()),
			ConversationTimestamp: proto.Uint64(uint64(c.LastMessage.Unix())),
			UnreadCount:           proto.Uint32(uint32(c.Unread)),
			Archived:              proto.Bool(c.Archived),
			MarkedAsUnread:        proto.Bool(c.MarkedUnread),
		}
		if c.Pinned {
			conv.Pinned = proto.Uint32(uint32(c.LastMessage.Unix()))
		}
		switch {
		case c.MutedUntil == -1:
			conv.MuteEndTime = proto.Uint64(^uint64(0) >> 1)
		case c.MutedUntil > 0:
			conv.MuteEndTime = proto.Uint64(uint64(c.MutedUntil / 1000))
		}
		out = append(out, conv)
	}
	return out
}
