package whatsapp

import (
	"fmt"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
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
type MessageReceived struct {
	ID         string
	Chat       types.JID
	Sender     types.JID
	SenderName string
	FromMe     bool
	IsGroup    bool
	Text       string
	ReplyTo    string
	Time       time.Time
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

// ReceiptReceived says messages in Chat reached a device of Sender, or were read or played there.
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

// translate maps a whatsmeow event to an Event. It returns false for what the server does not use.
func translate(evt any) (Event, bool) {
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
		return translateMessage(e)
	case *events.Receipt:
		return translateReceipt(e)
	case *events.ChatPresence:
		return translateChatPresence(e), true
	case *events.Presence:
		p := ChatPresence{Chat: e.From, State: ChatAvailable, LastSeen: e.LastSeen}
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

func translateMessage(e *events.Message) (Event, bool) {
	msg := e.Message
	var text, replyTo string
	switch {
	case msg.GetConversation() != "":
		text = msg.GetConversation()
	case msg.GetExtendedTextMessage() != nil:
		text = msg.GetExtendedTextMessage().GetText()
		replyTo = msg.GetExtendedTextMessage().GetContextInfo().GetStanzaID()
	default:
		// Sender-key distribution, protocol messages and the media types later issues handle.
		return nil, false
	}
	return MessageReceived{
		ID:         e.Info.ID,
		Chat:       e.Info.Chat,
		Sender:     e.Info.Sender.ToNonAD(),
		SenderName: e.Info.PushName,
		FromMe:     e.Info.IsFromMe,
		IsGroup:    e.Info.IsGroup,
		Text:       text,
		ReplyTo:    replyTo,
		Time:       e.Info.Timestamp,
	}, true
}

func translateReceipt(e *events.Receipt) (Event, bool) {
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
	return ReceiptReceived{
		IDs:    append([]string(nil), e.MessageIDs...),
		Chat:   e.Chat,
		Sender: e.Sender.ToNonAD(),
		Status: status,
		Time:   e.Timestamp,
	}, true
}

func translateChatPresence(e *events.ChatPresence) ChatPresence {
	p := ChatPresence{Chat: e.Chat, State: ChatPaused}
	if e.State == types.ChatPresenceComposing {
		p.State = ChatComposing
		if e.Media == types.ChatPresenceMediaAudio {
			p.State = ChatRecording
		}
	}
	return p
}
