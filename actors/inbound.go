package actors

import (
	"context"
	"database/sql"
	"time"

	"github.com/plugzapi/plugzapi/events"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/whatsapp"
)

// handleWhatsApp turns what the WhatsApp client reports into the instance's events, and calls done once they
// are durable. An error means the event is not stored; for messages and receipts WhatsApp then delivers it again.
func (a *instance) handleWhatsApp(e whatsapp.Event, done func(error)) {
	switch e := e.(type) {
	case whatsapp.QRCode:
		a.qr = e
		for _, w := range a.qrWaiters {
			a.system.Root.Send(w, reply{value: e.Code})
		}
		a.qrWaiters = nil
		a.persist(nil, done, &eventsv1.Event{Payload: &eventsv1.Event_QrCodeIssued{
			QrCodeIssued: &eventsv1.QRCodeIssued{ExpiresMs: e.Expires.UnixMilli()}}})
	case whatsapp.PairingEnded:
		a.endLinking(errString(e.Reason))
		done(nil)
	case whatsapp.Paired:
		a.linking = false
		a.qr = whatsapp.QRCode{}
		a.persist(nil, done, &eventsv1.Event{Payload: &eventsv1.Event_Paired{Paired: &eventsv1.Paired{
			Jid: e.JID, Platform: e.Platform, BusinessName: e.BusinessName}}})
	case whatsapp.Connected:
		a.linking = false
		a.sendErrors = 0
		a.nextSendAt = time.Time{}
		if a.st.connected {
			done(nil)
		} else {
			a.persist(nil, done, &eventsv1.Event{Payload: &eventsv1.Event_Connected{
				Connected: &eventsv1.Connected{Phone: e.Phone}}})
		}
		a.trySend()
	case whatsapp.Disconnected:
		if !a.st.connected {
			done(nil)
			return
		}
		a.persist(nil, done, &eventsv1.Event{Payload: &eventsv1.Event_Disconnected{
			Disconnected: &eventsv1.Disconnected{Reason: e.Reason}}})
	case whatsapp.LoggedOut:
		a.closeConn()
		a.recordLoggedOut(e.Reason, false, done)
	case whatsapp.MessageReceived:
		a.received(e.Message, e.Forwardable, done)
	case whatsapp.ReceiptReceived:
		a.persist(nil, done, &eventsv1.Event{Payload: &eventsv1.Event_MessageStatusChanged{MessageStatusChanged: e.Receipt}})
	case whatsapp.CallOffered:
		a.callOffered(e, done)
	case whatsapp.CallMissed:
		a.received(e.Notification.Message, nil, done)
	case whatsapp.ChatPresence:
		a.persist(nil, done, &eventsv1.Event{Payload: &eventsv1.Event_ChatPresenceChanged{ChatPresenceChanged: e.Presence}})
	case whatsapp.ChatsChanged:
		a.persist(nil, done, &eventsv1.Event{Payload: &eventsv1.Event_ChatsChanged{ChatsChanged: e.Chats}})
	case whatsapp.LabelsChanged:
		a.persist(nil, done, &eventsv1.Event{Payload: &eventsv1.Event_LabelsChanged{LabelsChanged: e.Labels}})
	case whatsapp.ChatLabeled:
		a.persist(nil, done, &eventsv1.Event{Payload: &eventsv1.Event_ChatLabeled{ChatLabeled: e.Labeled}})
	default:
		done(nil)
	}
}

// received records an incoming message: its event, and its private part in the vault until its webhooks are
// done; with a forward window, the message as WhatsApp carried it (forwardable) for the window too. A message
// WhatsApp delivers again (it was not acknowledged before a crash) is recognised and not stored twice; it is
// acknowledged once the first copy is durable.
func (a *instance) received(m *messagesv1.Inbound, forwardable []byte, done func(error)) {
	if a.st.received(events.InboundID(m)) {
		a.then(done)
		return
	}
	key := events.InboundVaultKey(a.id, events.InboundID(m))
	public, record, err := events.Seal(m)
	if err != nil {
		done(err)
		return
	}
	public.VaultKey, public.Size = key, int64(len(record))
	keep := a.keepForForward(m.GetPhone(), m.GetMessageId(), forwardable)
	inTx := func(tx *sql.Tx) error {
		if err := a.deps.vault.Put(context.Background(), tx, key, record); err != nil {
			return err
		}
		edited := ""
		if m.GetIsEdit() {
			edited = m.GetMessageId()
		}
		if err := a.forgetChanged(tx, m.GetPhone(), m.GetContent(), edited); err != nil {
			return err
		}
		return keep(tx)
	}
	a.persist(inTx, func(err error) {
		done(err)
		if err == nil {
			a.autoRead(m)
		}
	},
		&eventsv1.Event{Payload: &eventsv1.Event_MessageReceived{MessageReceived: public}})
}

type errString string

func (e errString) Error() string { return string(e) }
