package whatsapp

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/reflect/protoreflect"
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

// Paired says a phone linked this device.
type Paired struct {
	JID          types.JID
	Platform     string
	BusinessName string
}

// Connected says the device is logged in and can send.
type Connected struct{ JID types.JID }

// Disconnected says the connection is down. Reconnecting tells whether whatsmeow is already trying again.
type Disconnected struct {
	Reason       string
	Reconnecting bool
}

// LoggedOut says the link is gone: the phone removed the device, or WhatsApp refused its login for good. The
// device's session has been deleted.
type LoggedOut struct{ Reason string }

// MessageReceived is a text message that arrived in a chat (FromMe: sent by another device of this account).
// People are named by phone number whenever WhatsApp made it known, by LID otherwise; ChatLID (a one-to-one chat's)
// and SenderLID are the LIDs beside, when known.
type MessageReceived struct {
	ID         string
	Chat       types.JID
	ChatLID    types.JID
	Sender     types.JID
	SenderLID  types.JID
	SenderName string
	FromMe     bool
	IsGroup    bool
	// Kind is "text", or the name of a content the server does not render yet ("image", "reaction"…), whose
	// Text is empty.
	Kind    string
	Text    string
	ReplyTo string
	Time    time.Time
}

// Status is what a receipt says.
type Status int

// The receipt statuses the server reports.
const (
	StatusReceived Status = iota + 1
	StatusRead
	StatusPlayed
	StatusReadSelf
)

// ReceiptReceived says messages in Chat reached a device of Sender, or were read or played there. People are named
// as in MessageReceived.
type ReceiptReceived struct {
	IDs    []string
	Chat   types.JID
	Sender types.JID
	Status Status
	Time   time.Time
}

// ChatState is what a contact is doing in a chat.
type ChatState int

// The chat states WhatsApp relays.
const (
	ChatAvailable ChatState = iota + 1
	ChatUnavailable
	ChatComposing
	ChatPaused
	ChatRecording
)

// ChatPresence says a contact is typing, recording, stopped, or came online or went offline.
type ChatPresence struct {
	Chat     types.JID
	State    ChatState
	LastSeen time.Time
}

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
		return Paired{JID: e.ID, Platform: e.Platform, BusinessName: e.BusinessName}, true
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
		p := ChatPresence{Chat: from, State: ChatAvailable, LastSeen: e.LastSeen}
		if e.Unavailable {
			p.State = ChatUnavailable
		}
		return p, true
	}
	return nil, false
}

func loggedOutReason(e *events.LoggedOut) string {
	if e.OnConnect {
		return fmt.Sprintf("WhatsApp refused the login (%s)", e.Reason.String())
	}
	return fmt.Sprintf("the device was removed (%s)", e.Reason.String())
}

func (tr translator) message(e *events.Message) (Event, bool) {
	msg := e.Message
	var text, replyTo string
	contentKind := "text"
	switch {
	case msg.GetConversation() != "":
		text = msg.GetConversation()
	case msg.GetExtendedTextMessage() != nil:
		text = msg.GetExtendedTextMessage().GetText()
		replyTo = msg.GetExtendedTextMessage().GetContextInfo().GetStanzaID()
	default:
		// Not a text: a type the server does not render yet is still reported, by name, so that nothing a
		// person sent is acknowledged to WhatsApp and dropped. What is no content (sender keys, the phone's
		// protocol messages) is not.
		name, ok := contentType(msg)
		if !ok {
			return nil, false
		}
		contentKind = name
	}
	chat, chatLID := tr.chat(e.Info.MessageSource)
	sender, senderLID := chat, chatLID
	if e.Info.IsGroup || e.Info.IsFromMe {
		sender, senderLID = tr.person(e.Info.Sender, e.Info.SenderAlt)
	}
	return MessageReceived{
		ID:         e.Info.ID,
		Chat:       chat,
		ChatLID:    chatLID,
		Sender:     sender,
		SenderLID:  senderLID,
		SenderName: e.Info.PushName,
		FromMe:     e.Info.IsFromMe,
		IsGroup:    e.Info.IsGroup,
		Kind:       contentKind,
		Text:       text,
		ReplyTo:    replyTo,
		Time:       e.Info.Timestamp,
	}, true
}

// notContent are the fields of a message that carry no content of their own.
var notContent = map[protoreflect.Name]bool{
	"senderKeyDistributionMessage": true, // the sender key of a group, before its first message
	"messageContextInfo":           true,
}

// contentType names the content of a message that is not a text: "image", "audio", "reaction", "revoke",
// "edit"… (WhatsApp's field name without "Message"), or reports false for a message with no content a person
// sent (sender keys, the phone's app state keys and history syncs).
func contentType(msg *waE2E.Message) (string, bool) {
	if pm := msg.GetProtocolMessage(); pm != nil {
		switch pm.GetType() {
		case waE2E.ProtocolMessage_REVOKE:
			return "revoke", true
		case waE2E.ProtocolMessage_MESSAGE_EDIT:
			return "edit", true
		}
		return "", false
	}
	var name string
	msg.ProtoReflect().Range(func(f protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		if notContent[f.Name()] {
			return true
		}
		name = strings.TrimSuffix(f.JSONName(), "Message")
		return false
	})
	return name, name != ""
}

func (tr translator) receipt(e *events.Receipt) (Event, bool) {
	var status Status
	switch e.Type {
	case types.ReceiptTypeDelivered, types.ReceiptTypeInactive:
		status = StatusReceived
	case types.ReceiptTypeRead:
		status = StatusRead
	case types.ReceiptTypePlayed:
		status = StatusPlayed
	case types.ReceiptTypeReadSelf:
		status = StatusReadSelf
	default:
		// sender, retry, server-error, played-self…: nothing a webhook reports.
		return nil, false
	}
	chat, _ := tr.chat(e.MessageSource)
	sender, _ := tr.person(e.Sender, e.SenderAlt)
	return ReceiptReceived{
		IDs:    append([]string(nil), e.MessageIDs...),
		Chat:   chat,
		Sender: sender,
		Status: status,
		Time:   e.Timestamp,
	}, true
}

func (tr translator) chatPresence(e *events.ChatPresence) ChatPresence {
	chat, _ := tr.chat(e.MessageSource)
	p := ChatPresence{Chat: chat, State: ChatPaused}
	if e.State == types.ChatPresenceComposing {
		p.State = ChatComposing
		if e.Media == types.ChatPresenceMediaAudio {
			p.State = ChatRecording
		}
	}
	return p
}
