package whatsapp

import (
	"context"
	"fmt"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// Event is something WhatsApp told an instance, in this package's vocabulary. The instance actor receives every
// Event through a Handler.
type Event interface{ isEvent() }

// QRCode is a new code to show for linking; it is valid until Expires.
type QRCode struct {
	Code    string
	Expires time.Time
}

// PairingEnded says the current linking attempt is over without a link: every QR code expired, or the phone
// refused. A new attempt starts from scratch.
type PairingEnded struct{ Reason string }

// Paired says a phone linked this device. JID is the device's own, e.g. 5511999990000:3@s.whatsapp.net.
type Paired struct {
	JID          string
	Platform     string
	BusinessName string
}

// Connected says the device is logged in and can send. Phone is the account's number.
type Connected struct{ Phone string }

// Disconnected says the connection is down. Reconnecting tells whether whatsmeow is already trying again.
type Disconnected struct {
	Reason       string
	Reconnecting bool
}

// LoggedOut says the link is gone: the phone removed the device, or WhatsApp refused its login for good. The
// device's session has been deleted.
type LoggedOut struct{ Reason string }

// MessageReceived is a message that arrived in a chat, or that another device of the account sent (from_me).
type MessageReceived struct {
	Message *messagesv1.Inbound
	// Forwardable is the message as WhatsApp carried it (waE2E.Message in protobuf's encoding), for the
	// instance to keep when it keeps messages for forwarding; nil for one that cannot be forwarded.
	Forwardable []byte
}

// ReceiptReceived says messages reached a device of a contact, or were read or played there.
type ReceiptReceived struct {
	Receipt *eventsv1.MessageStatusChanged
}

// ChatPresence says a contact is typing, recording, stopped, or came online or went offline.
type ChatPresence struct{ Presence *eventsv1.ChatPresenceChanged }

func (QRCode) isEvent()          {}
func (PairingEnded) isEvent()    {}
func (Paired) isEvent()          {}
func (Connected) isEvent()       {}
func (Disconnected) isEvent()    {}
func (LoggedOut) isEvent()       {}
func (MessageReceived) isEvent() {}
func (ReceiptReceived) isEvent() {}
func (ChatPresence) isEvent()    {}

// lidStore is what translating needs of whatsmeow's store: the phone number ↔ LID mappings it learned (from
// messages, usync answers, group lists, the phone's history).
type lidStore interface {
	GetPNForLID(ctx context.Context, lid types.JID) (types.JID, error)
	GetLIDForPN(ctx context.Context, pn types.JID) (types.JID, error)
}

// translator turns whatsmeow's events into Events, naming people by phone number wherever the mapping is known.
type translator struct {
	lids lidStore // nil: only what the events themselves carry
	// own is the account's phone-number JID and LID (nil: unknown), to tell the messages it sent.
	own func() (pn, lid types.JID)
	// calls remembers the calls ringing (in_call.go); nil: calls are not reported.
	calls *callMemory
}

// person names a user (a phone number or a LID, of any device) with its alternate address from the stanza, if
// any: it returns the phone-number JID, or the LID when no number is known, and the LID when one is known.
func (tr translator) person(jid, alt types.JID) (types.JID, types.JID) {
	jid, alt = jid.ToNonAD(), alt.ToNonAD()
	switch jid.Server {
	case types.HiddenUserServer:
		if alt.Server == types.DefaultUserServer {
			return alt, jid
		}
		if pn := tr.lookup(jid, lidStore.GetPNForLID); !pn.IsEmpty() {
			return pn, jid
		}
		return jid, jid
	case types.DefaultUserServer:
		if alt.Server == types.HiddenUserServer {
			return jid, alt
		}
		return jid, tr.lookup(jid, lidStore.GetLIDForPN)
	}
	return jid, types.EmptyJID
}

func (tr translator) lookup(jid types.JID, get func(lidStore, context.Context, types.JID) (types.JID, error)) types.JID {
	if tr.lids == nil {
		return types.EmptyJID
	}
	found, err := get(tr.lids, context.Background(), jid)
	if err != nil {
		return types.EmptyJID
	}
	return found.ToNonAD()
}

// chat names the chat of a message, receipt or chat state: a group as it is, a person as person does, with the
// alternate address the stanza gave for them (the recipient's, for what this account sent).
func (tr translator) chat(src types.MessageSource) (types.JID, types.JID) {
	if src.IsGroup || src.Chat.Server == types.GroupServer {
		return src.Chat, types.EmptyJID
	}
	alt := src.SenderAlt
	if src.IsFromMe {
		alt = src.RecipientAlt
	}
	return tr.person(src.Chat, alt)
}

// translate maps a whatsmeow event to an Event. It returns false for what the server does not use.
func (tr translator) translate(evt any) (Event, bool) {
	switch e := evt.(type) {
	case *events.PairSuccess:
		return Paired{JID: e.ID.String(), Platform: e.Platform, BusinessName: e.BusinessName}, true
	case *events.Connected:
		return Connected{}, true
	case *events.Disconnected:
		return Disconnected{Reason: "connection lost", Reconnecting: true}, true
	case *events.KeepAliveTimeout:
		return nil, false
	case *events.StreamReplaced:
		return Disconnected{Reason: "another client connected with this device"}, true
	case *events.TemporaryBan:
		return Disconnected{Reason: fmt.Sprintf("temporarily banned: %s", e.String())}, true
	case *events.ClientOutdated:
		return Disconnected{Reason: "WhatsApp says this client version is outdated"}, true
	case *events.ConnectFailure:
		return Disconnected{Reason: fmt.Sprintf("connect failure %d: %s", e.Reason, e.Message)}, true
	case *events.LoggedOut:
		return LoggedOut{Reason: loggedOutReason(e)}, true
	case *events.Message:
		return tr.message(e)
	case *events.UndecryptableMessage:
		return tr.undecryptable(e)
	case *events.GroupInfo:
		return tr.groupChange(e)
	case *events.JoinedGroup:
		return tr.joinedGroup(e)
	case *events.Picture:
		return tr.groupPicture(e)
	case *events.Receipt:
		return tr.receipt(e)
	case *events.ChatPresence:
		return tr.chatPresence(e), true
	case *events.CallOffer, *events.CallAccept, *events.CallTerminate:
		return tr.call(e)
	case *events.Presence:
		from, _ := tr.person(e.From, types.EmptyJID)
		p := &eventsv1.ChatPresenceChanged{Phone: phoneOf(from), Presence: eventsv1.ChatPresence_CHAT_PRESENCE_AVAILABLE,
			LastSeenMs: unixMilli(e.LastSeen)}
		if e.Unavailable {
			p.Presence = eventsv1.ChatPresence_CHAT_PRESENCE_UNAVAILABLE
		}
		return ChatPresence{p}, true
	}
	if e, ok := tr.chatChange(evt); ok {
		return e, true
	}
	return tr.labelChange(evt)
}

func loggedOutReason(e *events.LoggedOut) string {
	if e.OnConnect {
		return fmt.Sprintf("WhatsApp refused the login (%s)", e.Reason.String())
	}
	return fmt.Sprintf("the device was removed (%s)", e.Reason.String())
}

// message translates a message with a content a person sent. A kind the server does not render yet is still
// reported, by name, so that nothing a person sent is acknowledged to WhatsApp and dropped; what is no content
// (sender keys, the phone's protocol messages) is not reported. An edit is reported as the new content of the
// message it edits, under that message's ID (as Z-API does), with is_edit.
func (tr translator) message(e *events.Message) (Event, bool) {
	msg, messageID, editID := e.Message, e.Info.ID, ""
	if target, inner, ok := edited(msg); ok {
		msg, messageID, editID = inner, target, e.Info.ID
	}
	content, info, typ, ok := readContent(msg)
	if !ok {
		return nil, false
	}
	m := tr.envelope(e.Info)
	m.MessageId, m.EditId, m.IsEdit = messageID, editID, editID != ""
	m.ReplyTo = info.GetStanzaID()
	m.Forwarded = info.GetIsForwarded()
	m.ExpirationSeconds = info.GetExpiration()
	m.StatusReply = info.GetRemoteJID() == types.StatusBroadcastJID.String()
	m.Content = content
	if content != nil {
		m.Type = messagesv1.KindOf(content)
		tr.resolveRefs(e.Info, m)
		if r := content.GetReaction(); r != nil && !e.Info.Sender.IsEmpty() {
			// The sender, not the chat: on this account's own phone, that is this account.
			by, _ := tr.person(e.Info.Sender, e.Info.SenderAlt)
			r.By = phoneOf(by)
		}
	} else {
		m.ContentType = typ
	}
	if ad := info.GetExternalAdReply(); ad != nil {
		m.ExternalAd = &messagesv1.ExternalAd{Title: ad.GetTitle(), Body: ad.GetBody(), MediaType: int32(ad.GetMediaType()),
			ThumbnailLink: ad.GetThumbnailURL(), SourceType: ad.GetSourceType(), SourceId: ad.GetSourceID(),
			SourceUrl: ad.GetSourceURL(), ContainsAutoReply: ad.GetContainsAutoReply(),
			RenderLargerThumbnail: ad.GetRenderLargerThumbnail(), ShowAdAttribution: ad.GetShowAdAttribution()}
	}
	received := MessageReceived{Message: m}
	if editID == "" && !e.IsViewOnce {
		received.Forwardable = keepable(msg)
	}
	return received, true
}

// envelope is what every received message says of where it comes from: the chat, the sender, when.
func (tr translator) envelope(info types.MessageInfo) *messagesv1.Inbound {
	chat, chatLID := tr.chat(info.MessageSource)
	sender, senderLID := chat, chatLID
	if info.IsGroup || info.IsFromMe {
		sender, senderLID = tr.person(info.Sender, info.SenderAlt)
	}
	m := &messagesv1.Inbound{
		MessageId:  info.ID,
		Phone:      phoneOf(chat),
		FromMe:     info.IsFromMe,
		IsGroup:    info.Chat.Server == types.GroupServer, // whatsmeow also counts broadcasts (statuses) as groups
		Type:       messagesv1.Kind_KIND_OTHER,
		SentTimeMs: unixMilli(info.Timestamp),
		ChatLid:    lidOf(chatLID),
		SenderLid:  lidOf(senderLID),
		SenderName: info.PushName,
		Broadcast:  info.Chat.Server == types.BroadcastServer,
	}
	if info.IsGroup && !sender.IsEmpty() {
		m.Participant = phoneOf(sender)
	}
	if !info.IsGroup && !info.IsFromMe {
		// In a one-to-one chat the contact's own name is the chat's, as far as the message tells.
		m.ChatName = info.PushName
	}
	return m
}

// resolveRefs turns the message keys of a reaction, a poll vote or a revoke into the API's terms. A key is
// written from the point of view of whoever sent the message holding it: from_me there means "sent by that
// sender", which is turned into "sent by this account".
func (tr translator) resolveRefs(info types.MessageInfo, m *messagesv1.Inbound) {
	var ref *messagesv1.MessageRef
	switch c := m.GetContent().GetKind().(type) {
	case *messagesv1.Content_Reaction:
		ref = c.Reaction.GetTarget()
	case *messagesv1.Content_PollVote:
		ref = c.PollVote.GetPoll()
	case *messagesv1.Content_Revoke:
		ref = c.Revoke.GetTarget()
	}
	if ref == nil {
		return
	}
	target := tr.origSender(info, ref)
	ref.Phone = m.GetPhone()
	ref.FromMe = tr.isOwn(target)
	ref.Participant = ""
	if info.IsGroup && !target.IsEmpty() {
		pn, _ := tr.person(target, types.EmptyJID)
		ref.Participant = phoneOf(pn)
	}
}

// origSender is who sent the message a key names: the sender of the message holding the key when its from_me
// is set, else the other party of the chat (or the participant, in a group).
func (tr translator) origSender(info types.MessageInfo, ref *messagesv1.MessageRef) types.JID {
	if ref.GetFromMe() {
		return info.Sender.ToNonAD()
	}
	raw := ref.GetPhone()
	if info.IsGroup {
		raw = ref.GetParticipant()
	}
	jid, err := types.ParseJID(raw)
	if err != nil {
		return types.EmptyJID
	}
	return jid.ToNonAD()
}

// isOwn reports whether jid is this account (by phone number or LID).
func (tr translator) isOwn(jid types.JID) bool {
	if tr.own == nil || jid.IsEmpty() {
		return false
	}
	pn, lid := tr.own()
	return jid.User == pn.User && jid.Server == pn.Server || jid.User == lid.User && jid.Server == lid.Server
}

// undecryptable is a message WhatsApp delivered but this device could not decrypt yet: it is reported at once
// with waiting_message (WhatsApp's "Waiting for this message"), and whatsmeow asks the sender's phone to send it
// again; what arrives then is reported under the same ID.
func (tr translator) undecryptable(e *events.UndecryptableMessage) (Event, bool) {
	m := tr.envelope(e.Info)
	m.WaitingMessage = true
	m.Type = messagesv1.Kind_KIND_NOTIFICATION
	m.Content = notification(notificationCiphertext)
	return MessageReceived{Message: m}, true
}

func (tr translator) receipt(e *events.Receipt) (Event, bool) {
	var status eventsv1.MessageStatus
	switch e.Type {
	case types.ReceiptTypeDelivered, types.ReceiptTypeInactive:
		status = eventsv1.MessageStatus_MESSAGE_STATUS_RECEIVED
	case types.ReceiptTypeRead:
		status = eventsv1.MessageStatus_MESSAGE_STATUS_READ
	case types.ReceiptTypePlayed:
		status = eventsv1.MessageStatus_MESSAGE_STATUS_PLAYED
	case types.ReceiptTypeReadSelf:
		status = eventsv1.MessageStatus_MESSAGE_STATUS_READ_SELF
	default:
		// sender, retry, server-error, played-self…: nothing a webhook reports.
		return nil, false
	}
	chat, _ := tr.chat(e.MessageSource)
	r := &eventsv1.MessageStatusChanged{
		MessageIds: append([]string(nil), e.MessageIDs...),
		Status:     status,
		Phone:      phoneOf(chat),
	}
	// In a group, and for a status update, the receipt names who read or got the message.
	if sender, _ := tr.person(e.Sender, e.SenderAlt); e.IsGroup && !sender.IsEmpty() {
		r.Participant = phoneOf(sender)
	}
	return ReceiptReceived{r}, true
}

func (tr translator) chatPresence(e *events.ChatPresence) ChatPresence {
	chat, _ := tr.chat(e.MessageSource)
	p := &eventsv1.ChatPresenceChanged{Phone: phoneOf(chat), Presence: eventsv1.ChatPresence_CHAT_PRESENCE_PAUSED}
	if e.State == types.ChatPresenceComposing {
		p.Presence = eventsv1.ChatPresence_CHAT_PRESENCE_COMPOSING
		if e.Media == types.ChatPresenceMediaAudio {
			p.Presence = eventsv1.ChatPresence_CHAT_PRESENCE_RECORDING
		}
	}
	return ChatPresence{p}
}

// lidOf writes a LID as the API shows it ("<digits>@lid"), or "" when it is not known.
func lidOf(lid types.JID) string {
	if lid.IsEmpty() {
		return ""
	}
	return phoneOf(lid)
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
