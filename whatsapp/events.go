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
type MessageReceived struct{ Message *messagesv1.Inbound }

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
	case *events.Receipt:
		return tr.receipt(e)
	case *events.ChatPresence:
		return tr.chatPresence(e), true
	case *events.Presence:
		from, _ := tr.person(e.From, types.EmptyJID)
		p := &eventsv1.ChatPresenceChanged{Phone: phoneOf(from), Presence: eventsv1.ChatPresence_CHAT_PRESENCE_AVAILABLE,
			LastSeenMs: unixMilli(e.LastSeen)}
		if e.Unavailable {
			p.Presence = eventsv1.ChatPresence_CHAT_PRESENCE_UNAVAILABLE
		}
		return ChatPresence{p}, true
	}
	return nil, false
}

func loggedOutReason(e *events.LoggedOut) string {
	if e.OnConnect {
		return fmt.Sprintf("WhatsApp refused the login (%s)", e.Reason.String())
	}
	return fmt.Sprintf("the device was removed (%s)", e.Reason.String())
}

// message translates a message with a content a person sent. A kind the server does not render yet is still
// reported, by name, so that nothing a person sent is acknowledged to WhatsApp and dropped; what is no content
// (sender keys, the phone's protocol messages) is not reported.
func (tr translator) message(e *events.Message) (Event, bool) {
	content, info, typ, ok := readContent(e.Message)
	if !ok {
		return nil, false
	}
	chat, chatLID := tr.chat(e.Info.MessageSource)
	sender, senderLID := chat, chatLID
	if e.Info.IsGroup || e.Info.IsFromMe {
		sender, senderLID = tr.person(e.Info.Sender, e.Info.SenderAlt)
	}
	m := &messagesv1.Inbound{
		MessageId:  e.Info.ID,
		Phone:      phoneOf(chat),
		FromMe:     e.Info.IsFromMe,
		IsGroup:    e.Info.IsGroup,
		Type:       messagesv1.Kind_KIND_OTHER,
		SentTimeMs: unixMilli(e.Info.Timestamp),
		ReplyTo:    info.GetStanzaID(),
		ChatLid:    lidOf(chatLID),
		SenderLid:  lidOf(senderLID),
		Content:    content,
		SenderName: e.Info.PushName,
	}
	if content != nil {
		m.Type = messagesv1.KindOf(content)
	} else {
		m.ContentType = typ
	}
	if e.Info.IsGroup && !sender.IsEmpty() {
		m.Participant = phoneOf(sender)
	}
	if !e.Info.IsGroup && !e.Info.IsFromMe {
		// In a one-to-one chat the contact's own name is the chat's, as far as the message tells.
		m.ChatName = e.Info.PushName
	}
	return MessageReceived{m}, true
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
