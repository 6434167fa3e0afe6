package whatsapp

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/proto/waSyncAction"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/account"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// Chats as WhatsApp's own apps keep them: the phone hands a new device its chat list in the history sync, and
// every device writes what its user does to a chat (archive, pin, mute, mark read, delete, clear) into the
// account's app state, which the others apply. Both become ChatsChanged events.

// ChatsChanged says chats of the account changed (see eventsv1.ChatsChanged).
type ChatsChanged struct{ Chats *eventsv1.ChatsChanged }

func (ChatsChanged) isEvent() {}

// ModifyChat writes action on the chat phone into the account's app state. It returns once the change is stored
// as an event, so that a read that follows sees it (see writeAppState).
func (c *Conn) ModifyChat(ctx context.Context, phone string, action account.ChatAction) error {
	doing := fmt.Sprintf("%s chat %s", action, phone)
	if !c.cli.IsLoggedIn() {
		return accountError(doing, account.ErrNotConnected)
	}
	chat, name, err := c.appStateChat(ctx, phone)
	if err != nil {
		return fmt.Errorf("%s: %w", doing, err)
	}
	now := time.Now()
	change := &eventsv1.ChatChange{Phone: name}
	var patch appstate.PatchInfo
	var kind string // of the whatsmeow event the patch comes back as (changeKey)
	switch action {
	case account.ChatRead, account.ChatUnread:
		read := action == account.ChatRead
		patch, change.Read, kind = appstate.BuildMarkChatAsRead(chat, read, now, nil), &read, appstate.IndexMarkChatAsRead
	case account.ChatArchive, account.ChatUnarchive:
		archived := action == account.ChatArchive
		patch, change.Archived, kind = appstate.BuildArchive(chat, archived, now, nil), &archived, appstate.IndexArchive
		if archived {
			change.Pinned = proto.Bool(false) // an archived chat is unpinned, as the patch says
		}
	case account.ChatPin, account.ChatUnpin:
		pinned := action == account.ChatPin
		patch, change.Pinned, kind = appstate.BuildPin(chat, pinned), &pinned, appstate.IndexPin
	case account.ChatMute, account.ChatUnmute:
		until := int64(0)
		if action == account.ChatMute {
			until = -1 // for ever, as Z-API's mute does
		}
		patch, change.MutedUntilMs, kind = appstate.BuildMute(chat, action == account.ChatMute, 0), &until, appstate.IndexMute
	case account.ChatDelete:
		patch, change.Deleted, kind = appstate.BuildDeleteChat(chat, now, nil), true, appstate.IndexDeleteChat
	case account.ChatClear:
		patch, change.Cleared, kind = buildClearChat(chat, now), true, appstate.IndexClearChat
	default:
		return fmt.Errorf("%s: unknown action", doing)
	}
	return c.writeAppState(ctx, doing, patch, kind+" "+chat.String(),
		ChatsChanged{&eventsv1.ChatsChanged{Chats: []*eventsv1.ChatChange{change}}})
}

// appStateChat is the JID the account's app state names the chat phone by — once the account moved its chats
// to LIDs (as WhatsApp does), a person by their LID where it is known — and the chat as the API names it.
func (c *Conn) appStateChat(ctx context.Context, phone string) (types.JID, string, error) {
	jid, err := recipientJID(phone)
	if err != nil {
		return jid, "", err
	}
	name := phoneOf(jid)
	if jid.Server == types.DefaultUserServer && c.cli.Store.LIDMigrationTimestamp != 0 {
		if lid, err := c.cli.Store.LIDs.GetLIDForPN(ctx, jid); err == nil && !lid.IsEmpty() {
			return lid, name, nil
		}
	}
	return jid, name, nil
}

// storeWait bounds how long a change to the app state waits to come back from WhatsApp as an event.
const storeWait = 5 * time.Second

// writeAppState sends patch and returns once the change is stored as the instance's event. whatsmeow reports a
// change this device made as it reports the others' — as an event, once it fetched the patch back — but on a
// goroutine of its own, after SendAppState returned. So the call waits for that event (named key, see changeKey)
// to be stored: one event per change, in the order WhatsApp numbered them. Should it not come in time, the
// change is stored as made (change), and whatsmeow's event, when it comes, changes nothing.
func (c *Conn) writeAppState(ctx context.Context, doing string, patch appstate.PatchInfo, key string, change Event) error {
	stored := c.changes.expect(key)
	defer c.changes.forget(key, stored)
	if err := c.cli.SendAppState(ctx, patch); err != nil {
		return accountError(doing, err)
	}
	timer := time.NewTimer(storeWait)
	defer timer.Stop()
	select {
	case <-stored:
		return nil
	case <-timer.C:
	case <-ctx.Done():
	}
	if !c.report(change) {
		return fmt.Errorf("%s: WhatsApp took the change but it could not be stored", doing)
	}
	return nil
}

// pendingChanges are the changes this connection wrote to the app state and waits to see stored, by changeKey.
type pendingChanges struct {
	mu      sync.Mutex
	waiters map[string][]chan struct{}
}

func (p *pendingChanges) expect(key string) chan struct{} {
	ch := make(chan struct{})
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waiters == nil {
		p.waiters = map[string][]chan struct{}{}
	}
	p.waiters[key] = append(p.waiters[key], ch)
	return ch
}

func (p *pendingChanges) forget(key string, ch chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waiters[key] = slices.DeleteFunc(p.waiters[key], func(w chan struct{}) bool { return w == ch })
	if len(p.waiters[key]) == 0 {
		delete(p.waiters, key)
	}
}

// stored tells the waiters of the change whatsmeow reported as evt that it is stored.
func (p *pendingChanges) stored(evt any) {
	key := changeKey(evt)
	if key == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ch := range p.waiters[key] {
		close(ch)
	}
	delete(p.waiters, key)
}

// changeKey names the change a whatsmeow app state event reports as writeAppState waits for it: the mutation's
// index kind and its chat (and label), "" for other events.
func changeKey(evt any) string {
	switch e := evt.(type) {
	case *events.Archive:
		return appstate.IndexArchive + " " + e.JID.String()
	case *events.Pin:
		return appstate.IndexPin + " " + e.JID.String()
	case *events.Mute:
		return appstate.IndexMute + " " + e.JID.String()
	case *events.MarkChatAsRead:
		return appstate.IndexMarkChatAsRead + " " + e.JID.String()
	case *events.DeleteChat:
		return appstate.IndexDeleteChat + " " + e.JID.String()
	case *events.ClearChat:
		return appstate.IndexClearChat + " " + e.JID.String()
	case *events.LabelAssociationChat:
		return labelChatKey(e.LabelID, e.JID)
	}
	return ""
}

func labelChatKey(labelID string, chat types.JID) string {
	return appstate.IndexLabelAssociationChat + " " + labelID + " " + chat.String()
}

// ChatNames names chats from whatsmeow's contact store (saved names from the phone's app state, push names from
// messages and the phone's history) and from the group subjects this connection saw.
func (c *Conn) ChatNames(ctx context.Context, phones []string) (map[string]string, error) {
	names := make(map[string]string, len(phones))
	known, err := c.knownContacts(ctx)
	if err != nil {
		return nil, err
	}
	for _, phone := range phones {
		jid, err := recipientJID(phone)
		if err != nil {
			continue
		}
		var name string
		if isGroup(jid) {
			name = c.groupSubject(ctx, jid)
		} else if ct, ok := known[jid]; ok {
			name = cmp.Or(ct.FullName, ct.FirstName, ct.BusinessName, ct.PushName)
		}
		if name != "" {
			names[phone] = name
		}
	}
	return names, ctx.Err()
}

// buildClearChat is the app state patch that deletes a chat's messages and keeps the chat, as WhatsApp's apps
// write it (whatsmeow has no builder for it): index clearChat, chat, delete starred ("1"), delete media ("0").
func buildClearChat(chat types.JID, last time.Time) appstate.PatchInfo {
	return appstate.PatchInfo{
		Type: appstate.WAPatchRegularHigh,
		Mutations: []appstate.MutationInfo{{
			Index:   []string{appstate.IndexClearChat, chat.String(), "1", "0"},
			Version: 6,
			Value: &waSyncAction.SyncActionValue{ClearChatAction: &waSyncAction.ClearChatAction{
				MessageRange: &waSyncAction.SyncActionMessageRange{LastMessageTimestamp: proto.Int64(last.Unix())},
			}},
		}},
	}
}

// chatChange translates what the app state or the history sync says about chats, false for what is not about
// chats.
func (tr translator) chatChange(evt any) (Event, bool) {
	one := func(jid types.JID, fill func(*eventsv1.ChatChange)) (Event, bool) {
		if jid.IsEmpty() {
			return nil, false
		}
		chat, _ := tr.person(jid, types.EmptyJID)
		ch := &eventsv1.ChatChange{Phone: phoneOf(chat)}
		fill(ch)
		return ChatsChanged{&eventsv1.ChatsChanged{Chats: []*eventsv1.ChatChange{ch}}}, true
	}
	switch e := evt.(type) {
	case *events.Archive:
		return one(e.JID, func(ch *eventsv1.ChatChange) {
			ch.Archived = proto.Bool(e.Action.GetArchived())
			if e.Action.GetArchived() {
				ch.Pinned = proto.Bool(false)
			}
		})
	case *events.Pin:
		return one(e.JID, func(ch *eventsv1.ChatChange) { ch.Pinned = proto.Bool(e.Action.GetPinned()) })
	case *events.Mute:
		return one(e.JID, func(ch *eventsv1.ChatChange) {
			until := int64(0)
			if e.Action.GetMuted() {
				until = e.Action.GetMuteEndTimestamp()
			}
			ch.MutedUntilMs = &until
		})
	case *events.MarkChatAsRead:
		return one(e.JID, func(ch *eventsv1.ChatChange) { ch.Read = proto.Bool(e.Action.GetRead()) })
	case *events.DeleteChat:
		return one(e.JID, func(ch *eventsv1.ChatChange) { ch.Deleted = true })
	case *events.ClearChat:
		return one(e.JID, func(ch *eventsv1.ChatChange) { ch.Cleared = true })
	case *events.HistorySync:
		return tr.historyChats(e.Data)
	}
	return nil, false
}

// historyChats is the chat list the phone's history sync carries.
func (tr translator) historyChats(h *waHistorySync.HistorySync) (Event, bool) {
	var chats []*eventsv1.ChatChange
	for _, conv := range h.GetConversations() {
		jid, err := types.ParseJID(conv.GetID())
		if err != nil || jid.IsEmpty() || jid == types.StatusBroadcastJID {
			continue
		}
		alt, _ := types.ParseJID(conv.GetPnJID())
		jid, _ = tr.person(jid, alt)
		ch := &eventsv1.ChatChange{
			Phone:         phoneOf(jid),
			Archived:      proto.Bool(conv.GetArchived()),
			Pinned:        proto.Bool(conv.GetPinned() > 0),
			UnreadCount:   proto.Int64(int64(conv.GetUnreadCount())),
			LastMessageMs: int64(conv.GetConversationTimestamp()) * 1000,
		}
		if conv.GetMarkedAsUnread() {
			ch.Read = proto.Bool(false)
		}
		if end := conv.GetMuteEndTime(); end != 0 {
			ch.MutedUntilMs = proto.Int64(muteEnd(end))
		}
		chats = append(chats, ch)
	}
	if len(chats) == 0 {
		return nil, false
	}
	return ChatsChanged{&eventsv1.ChatsChanged{Chats: chats, History: true}}, true
}

// muteEnd turns the history's mute end (Unix seconds; the largest value means for ever) into milliseconds.
func muteEnd(end uint64) int64 {
	if end > uint64(1<<53)/1000 {
		return -1
	}
	return int64(end) * 1000
}
