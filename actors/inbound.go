package actors

import (
	"context"
	"database/sql"
	"time"

	"github.com/plugzapi/plugzapi/events"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/whatsapp"
)

// handleWhatsApp turns what the WhatsApp client reports into the instance's events. An error means the event is
// not stored; for messages and receipts WhatsApp then delivers it again.
func (a *instance) handleWhatsApp(e whatsapp.Event) error {
	switch e := e.(type) {
	case whatsapp.QRCode:
		a.qr = e
		for _, w := range a.qrWaiters {
			a.system.Root.Send(w, reply{value: e.Code})
		}
		a.qrWaiters = nil
		return a.persist(nil, &eventsv1.Event{Payload: &eventsv1.Event_QrCodeIssued{
			QrCodeIssued: &eventsv1.QRCodeIssued{ExpiresMs: e.Expires.UnixMilli()}}})
	case whatsapp.PairingEnded:
		a.endLinking(errString(e.Reason))
	case whatsapp.Paired:
		a.linking = false
		a.qr = whatsapp.QRCode{}
		return a.persist(nil, &eventsv1.Event{Payload: &eventsv1.Event_Paired{Paired: &eventsv1.Paired{
			Jid: e.JID.String(), Platform: e.Platform, BusinessName: e.BusinessName}}})
	case whatsapp.Connected:
		a.linking = false
		a.sendErrors = 0
		a.nextSendAt = time.Time{}
		if !a.st.connected {
			if err := a.persist(nil, &eventsv1.Event{Payload: &eventsv1.Event_Connected{
				Connected: &eventsv1.Connected{Phone: e.JID.User}}}); err != nil {
				return err
			}
		}
		a.trySend()
	case whatsapp.Disconnected:
		if a.st.connected {
			return a.persist(nil, &eventsv1.Event{Payload: &eventsv1.Event_Disconnected{
				Disconnected: &eventsv1.Disconnected{Reason: e.Reason}}})
		}
	case whatsapp.LoggedOut:
		a.closeConn()
		return a.recordLoggedOut(e.Reason, false)
	case whatsapp.MessageReceived:
		return a.received(e)
	case whatsapp.ReceiptReceived:
		return a.persist(nil, &eventsv1.Event{Payload: &eventsv1.Event_MessageStatusChanged{
			MessageStatusChanged: &eventsv1.MessageStatusChanged{
				MessageIds:  e.IDs,
				Status:      messageStatus[e.Status],
				Phone:       whatsapp.PhoneOf(e.Chat),
				Participant: participant(e.Chat, e.Sender),
			}}})
	case whatsapp.ChatPresence:
		return a.persist(nil, &eventsv1.Event{Payload: &eventsv1.Event_ChatPresenceChanged{
			ChatPresenceChanged: &eventsv1.ChatPresenceChanged{
				Phone:      whatsapp.PhoneOf(e.Chat),
				Presence:   chatPresence[e.State],
				LastSeenMs: unixMilli(e.LastSeen),
			}}})
	}
	return nil
}

// received stores an incoming message: its event, and its content in the vault until its webhooks are done.
// A message WhatsApp delivers again (it was not acknowledged before a crash) is recognised and not stored twice.
func (a *instance) received(m whatsapp.MessageReceived) error {
	if a.st.received(m.ID) {
		return nil
	}
	key := events.InboundVaultKey(a.id, m.ID)
	content, err := events.ReceivedContent{Text: m.Text, SenderName: m.SenderName, ChatName: chatName(m)}.Marshal()
	if err != nil {
		return err
	}
	typ, contentType := eventsv1.MessageType_MESSAGE_TYPE_TEXT, ""
	if m.Kind != "text" {
		typ, contentType = eventsv1.MessageType_MESSAGE_TYPE_OTHER, m.Kind
	}
	return a.persist(func(tx *sql.Tx) error { return a.deps.vault.Put(context.Background(), tx, key, content) },
		&eventsv1.Event{Payload: &eventsv1.Event_MessageReceived{MessageReceived: &eventsv1.MessageReceived{
			MessageId:   m.ID,
			Phone:       whatsapp.PhoneOf(m.Chat),
			Participant: participant(m.Chat, m.Sender),
			FromMe:      m.FromMe,
			IsGroup:     m.IsGroup,
			Type:        typ,
			ContentType: contentType,
			SentTimeMs:  unixMilli(m.Time),
			ReplyTo:     m.ReplyTo,
			VaultKey:    key,
			Size:        int64(len(m.Text)),
			ChatLid:     lidOf(m.ChatLID),
			SenderLid:   lidOf(m.SenderLID),
		}}})
}

var messageStatus = map[whatsapp.Status]eventsv1.MessageStatus{
	whatsapp.StatusReceived: eventsv1.MessageStatus_MESSAGE_STATUS_RECEIVED,
	whatsapp.StatusRead:     eventsv1.MessageStatus_MESSAGE_STATUS_READ,
	whatsapp.StatusPlayed:   eventsv1.MessageStatus_MESSAGE_STATUS_PLAYED,
	whatsapp.StatusReadSelf: eventsv1.MessageStatus_MESSAGE_STATUS_READ_SELF,
}

var chatPresence = map[whatsapp.ChatState]eventsv1.ChatPresence{
	whatsapp.ChatAvailable:   eventsv1.ChatPresence_CHAT_PRESENCE_AVAILABLE,
	whatsapp.ChatUnavailable: eventsv1.ChatPresence_CHAT_PRESENCE_UNAVAILABLE,
	whatsapp.ChatComposing:   eventsv1.ChatPresence_CHAT_PRESENCE_COMPOSING,
	whatsapp.ChatPaused:      eventsv1.ChatPresence_CHAT_PRESENCE_PAUSED,
	whatsapp.ChatRecording:   eventsv1.ChatPresence_CHAT_PRESENCE_RECORDING,
}

// chatName is the chat's name as far as the message tells: in a one-to-one chat, the contact's own name.
func chatName(m whatsapp.MessageReceived) string {
	if m.IsGroup || m.FromMe {
		return ""
	}
	return m.SenderName
}

// participant is, in a group chat, the phone of the member concerned; empty elsewhere.
func participant(chat, sender whatsapp.JID) string {
	if !whatsapp.IsGroup(chat) || sender.IsEmpty() {
		return ""
	}
	return whatsapp.PhoneOf(sender)
}

// lidOf writes a LID as the API shows it ("<digits>@lid"), or "" when it is not known.
func lidOf(lid whatsapp.JID) string {
	if lid.IsEmpty() {
		return ""
	}
	return whatsapp.PhoneOf(lid)
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

type errString string

func (e errString) Error() string { return string(e) }
