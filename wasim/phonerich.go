package wasim

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// What a phone shows of the messages that are neither text nor media, and what it does with those that change
// an earlier message (edits, deletes, reactions).

// Location is the pin of a location message.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	URL       string  `json:"url,omitempty"`
}

// Contact is a contact card: its name and the vCard.
type Contact struct {
	Name  string `json:"name"`
	VCard string `json:"vcard"`
}

// Poll is a poll's question and options; Selectable is how many options one may choose (0: any number).
type Poll struct {
	Question   string   `json:"question"`
	Options    []string `json:"options"`
	Selectable uint32   `json:"selectable"`
}

// Interactive is an interactive message: a text with a header, a footer and native flow buttons.
type Interactive struct {
	Title string `json:"title,omitempty"`
	// HeaderMedia is the picture or video above the text: its MIME type as the sender declared it.
	HeaderMedia string              `json:"headerMedia,omitempty"`
	Footer      string              `json:"footer,omitempty"`
	Buttons     []InteractiveButton `json:"buttons"`
	// Flow is the native flow the stanza's <biz> node declared ("mixed", "payment_info"); empty when it had
	// none, in which case WhatsApp's apps show nothing (Hidden).
	Flow   string `json:"flow,omitempty"`
	Hidden bool   `json:"hidden,omitempty"`
}

// InteractiveButton is a native flow button: its name (quick_reply, cta_url, cta_call, cta_copy,
// single_select, payment_info…) and its parameters as the sender wrote them in JSON.
type InteractiveButton struct {
	Name   string         `json:"name"`
	Params map[string]any `json:"params"`
}

// describeRich fills in what a message of the other kinds shows.
func (s *Simulator) describeRich(evt *events.Message, m *Message) {
	msg := evt.Message
	if ci := contextOf(msg); ci.GetIsForwarded() {
		m.Forwarded, m.ForwardingScore = true, ci.GetForwardingScore()
	}
	switch {
	case msg.GetLocationMessage() != nil:
		l := msg.GetLocationMessage()
		m.Location = &Location{Latitude: l.GetDegreesLatitude(), Longitude: l.GetDegreesLongitude(),
			Name: l.GetName(), Address: l.GetAddress(), URL: l.GetURL()}
	case msg.GetContactMessage() != nil:
		c := msg.GetContactMessage()
		m.Contacts = []Contact{{Name: c.GetDisplayName(), VCard: c.GetVcard()}}
	case msg.GetContactsArrayMessage() != nil:
		for _, c := range msg.GetContactsArrayMessage().GetContacts() {
			m.Contacts = append(m.Contacts, Contact{Name: c.GetDisplayName(), VCard: c.GetVcard()})
		}
	case msg.GetPollCreationMessage() != nil, msg.GetPollCreationMessageV2() != nil, msg.GetPollCreationMessageV3() != nil:
		p := msg.GetPollCreationMessage()
		if p == nil {
			p = msg.GetPollCreationMessageV2()
		}
		if p == nil {
			p = msg.GetPollCreationMessageV3()
		}
		m.Poll = &Poll{Question: p.GetName(), Selectable: p.GetSelectableOptionsCount()}
		for _, o := range p.GetOptions() {
			m.Poll.Options = append(m.Poll.Options, o.GetOptionName())
		}
	case msg.GetInteractiveMessage() != nil:
		im := msg.GetInteractiveMessage()
		in := &Interactive{Title: im.GetHeader().GetTitle(), Footer: im.GetFooter().GetText(), Flow: s.flows.flow(evt.Info.ID)}
		if h := im.GetHeader(); h.GetHasMediaAttachment() {
			in.HeaderMedia = h.GetImageMessage().GetMimetype() + h.GetVideoMessage().GetMimetype()
		}
		in.Hidden = in.Flow == ""
		for _, b := range im.GetNativeFlowMessage().GetButtons() {
			btn := InteractiveButton{Name: b.GetName()}
			if err := json.Unmarshal([]byte(b.GetButtonParamsJSON()), &btn.Params); err != nil {
				btn.Params = map[string]any{"unreadable": b.GetButtonParamsJSON()}
			}
			in.Buttons = append(in.Buttons, btn)
		}
		m.Interactive = in
	case msg.GetExtendedTextMessage() != nil:
		ci := msg.GetExtendedTextMessage().GetContextInfo()
		for _, jid := range ci.GetMentionedJID() {
			if parsed, err := types.ParseJID(jid); err == nil {
				m.Mentioned = append(m.Mentioned, s.chatName(parsed))
			}
		}
		for _, g := range ci.GetGroupMentions() {
			m.GroupMentioned = append(m.GroupMentioned, g.GetGroupJID())
		}
	}
}

// applyLocked does to the phone's earlier messages what a message does to them, as WhatsApp's apps do: an edit
// changes the text of the message it names (only its sender may edit it), a delete for everyone empties it
// (its sender may, or a group admin), a reaction sets or, empty, removes the reactor's emoji. What its sender
// may not do is ignored, as the apps ignore it.
func (e *engine) applyLocked(evt *events.Message, m Message) {
	if r := evt.Message.GetReactionMessage(); r != nil {
		target := r.GetKey().GetID()
		if !e.knowsLocked(r.GetKey(), m) {
			return // a reaction to a message the phone does not have shows nowhere
		}
		next := maps.Clone(e.reactions[target])
		if next == nil {
			next = map[string]string{}
		}
		if r.GetText() == "" {
			delete(next, m.From)
		} else {
			next[m.From] = r.GetText()
		}
		e.reactions[target] = next
		return
	}
	pm := evt.Message.GetProtocolMessage()
	if pm == nil {
		return
	}
	i := slices.IndexFunc(e.inbox, func(old Message) bool { return old.ID == pm.GetKey().GetID() && old.Chat == m.Chat })
	if i < 0 {
		return
	}
	original := &e.inbox[i]
	switch pm.GetType() {
	case waE2E.ProtocolMessage_MESSAGE_EDIT:
		if original.From != m.From || original.Revoked {
			return
		}
		_, text, _ := describeMessage(pm.GetEditedMessage())
		original.Text, original.Edited = text, true
	case waE2E.ProtocolMessage_REVOKE:
		mayRevoke := original.From == m.From
		if !mayRevoke && m.chat.Server == types.GroupServer {
			author, err := types.ParseJID(pm.GetKey().GetParticipant())
			mayRevoke = err == nil && e.a.s.chatName(author.ToNonAD()) == original.From && e.a.s.isGroupAdmin(m.chat, m.sender)
		}
		if !mayRevoke {
			return
		}
		*original = Message{ID: original.ID, Chat: original.Chat, From: original.From, FromMe: original.FromMe,
			Type: original.Type, Time: original.Time, Addressing: original.Addressing, Revoked: true,
			chat: original.chat, sender: original.sender}
	}
}

// knowsLocked reports whether the phone has the message key names, as m's sender named it: the sender's own
// (FromMe), one of this phone's, or in a group a member's.
func (e *engine) knowsLocked(key *waCommon.MessageKey, m Message) bool {
	author := m.From
	if !key.GetFromMe() {
		author = e.a.phone
		if p := key.GetParticipant(); p != "" {
			jid, err := types.ParseJID(p)
			if err != nil {
				return false
			}
			author = e.a.s.chatName(jid.ToNonAD())
		}
	}
	if author == e.a.phone {
		_, ok := e.sent[key.GetID()]
		return ok
	}
	return slices.ContainsFunc(e.inbox, func(o Message) bool { return o.ID == key.GetID() && o.From == author })
}

// isGroupAdmin reports whether who (a phone number or LID) is an admin of the group.
func (s *Simulator) isGroupAdmin(group, who types.JID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[group.User]
	a := s.accountByJIDLocked(who)
	if g == nil || a == nil {
		return false
	}
	m := g.member(a)
	return m != nil && m.admin
}

// Reactions returns the reactions the account's phone shows on a message (its own sent ones or received
// ones): each reactor's phone number and emoji.
func (a *Account) Reactions(messageID string) map[string]string {
	e := a.runningEngine()
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.reactions[messageID])
}

// VotePoll votes on a poll the account's phone received in chat, choosing options by name (none withdraws the
// vote), as its owner tapping them would: the vote is encrypted with the poll's secret. It returns the vote
// message's id once the server acknowledged it.
func (a *Account) VotePoll(ctx context.Context, chat, pollID string, options ...string) (string, error) {
	chatJID, err := parseChat(chat)
	if err != nil {
		return "", fmt.Errorf("vote: %w", err)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return "", fmt.Errorf("vote: %w", err)
	}
	name := a.s.chatName(chatJID)
	e.mu.Lock()
	i := slices.IndexFunc(e.inbox, func(m Message) bool { return m.ID == pollID && m.Chat == name && m.Poll != nil })
	var poll Message
	if i >= 0 {
		poll = e.inbox[i]
	}
	e.mu.Unlock()
	if i < 0 {
		return "", fmt.Errorf("vote: %w: no poll %s received in %s", ErrUnknownMessage, pollID, chat)
	}
	info := &types.MessageInfo{ID: pollID, MessageSource: types.MessageSource{Chat: poll.chat, Sender: poll.sender}}
	vote, err := e.cli.BuildPollVote(ctx, info, options)
	if err != nil {
		return "", fmt.Errorf("vote on %s: %w", pollID, err)
	}
	resp, err := e.send(ctx, poll.chat, vote)
	if err != nil {
		return "", fmt.Errorf("vote on %s: %w", pollID, err)
	}
	return resp.ID, nil
}

// contextOf is the context of a message's content (what it quotes, mentions, whether it was forwarded), or nil:
// every kind of content carries it in a field of that name.
func contextOf(msg *waE2E.Message) *waE2E.ContextInfo {
	var ci *waE2E.ContextInfo
	msg.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind {
			return true
		}
		if f := fd.Message().Fields().ByName("contextInfo"); f != nil && v.Message().Has(f) {
			ci, _ = v.Message().Get(f).Message().Interface().(*waE2E.ContextInfo)
			return false
		}
		return true
	})
	return ci
}
