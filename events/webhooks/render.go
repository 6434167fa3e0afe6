package webhooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// The callback types: the "type" field of each payload, as PlugZapi spells them.
const (
	DeliveryCallback      = "DeliveryCallback"
	ReceivedCallback      = "ReceivedCallback"
	MessageStatusCallback = "MessageStatusCallback"
	ConnectedCallback     = "ConnectedCallback"
	DisconnectedCallback  = "DisconnectedCallback"
	PresenceChatCallback  = "PresenceChatCallback"
)

// defaultDisconnectError is PlugZapi's text when the event gives no reason.
const defaultDisconnectError = "Device has been disconnected"

// route is one webhook an event produces: which configured URL gets which payload.
type route struct {
	kind     eventsv1.WebhookKind
	callback string
}

// routes says which webhooks an event produces (before looking at which URLs are configured):
//
//	MessageSent          → DeliveryCallback (delivery URL), MessageStatusCallback SENT (message-status URL)
//	MessageFailed        → DeliveryCallback with "error" (delivery URL), as Z-API reports failures
//	MessageStatusChanged → MessageStatusCallback RECEIVED | READ | PLAYED | READ-SELF (message-status URL)
//	MessageReceived      → ReceivedCallback to the received URL (not for fromMe) and the received-delivery URL;
//	                       a content not rendered yet as a notification naming its type
//	Connected            → ConnectedCallback
//	Disconnected         → DisconnectedCallback
//	LoggedOut            → DisconnectedCallback
//	ChatPresenceChanged  → PresenceChatCallback
//
// Other events produce none.
func routes(ev *eventsv1.Event) []route {
	switch p := ev.GetPayload().(type) {
	case *eventsv1.Event_MessageSent:
		return []route{
			{eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, DeliveryCallback},
			{eventsv1.WebhookKind_WEBHOOK_KIND_MESSAGE_STATUS, MessageStatusCallback},
		}
	case *eventsv1.Event_MessageFailed:
		return []route{{eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, DeliveryCallback}}
	case *eventsv1.Event_MessageStatusChanged:
		if statusName(p.MessageStatusChanged.GetStatus()) == "" || len(p.MessageStatusChanged.GetMessageIds()) == 0 {
			return nil
		}
		return []route{{eventsv1.WebhookKind_WEBHOOK_KIND_MESSAGE_STATUS, MessageStatusCallback}}
	case *eventsv1.Event_MessageReceived:
		if p.MessageReceived.GetType() == messagesv1.Kind_KIND_UNSPECIFIED {
			return nil
		}
		out := make([]route, 0, 2)
		if !p.MessageReceived.GetFromMe() {
			out = append(out, route{eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, ReceivedCallback})
		}
		return append(out, route{eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY, ReceivedCallback})
	case *eventsv1.Event_Connected:
		return []route{{eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED, ConnectedCallback}}
	case *eventsv1.Event_Disconnected, *eventsv1.Event_LoggedOut:
		return []route{{eventsv1.WebhookKind_WEBHOOK_KIND_DISCONNECTED, DisconnectedCallback}}
	case *eventsv1.Event_ChatPresenceChanged:
		if presenceName(p.ChatPresenceChanged.GetPresence()) == "" {
			return nil
		}
		return []route{{eventsv1.WebhookKind_WEBHOOK_KIND_CHAT_PRESENCE, PresenceChatCallback}}
	}
	return nil
}

func statusName(s eventsv1.MessageStatus) string {
	switch s {
	case eventsv1.MessageStatus_MESSAGE_STATUS_RECEIVED:
		return "RECEIVED"
	case eventsv1.MessageStatus_MESSAGE_STATUS_READ:
		return "READ"
	case eventsv1.MessageStatus_MESSAGE_STATUS_PLAYED:
		return "PLAYED"
	case eventsv1.MessageStatus_MESSAGE_STATUS_READ_SELF:
		return "READ-SELF"
	}
	return ""
}

func presenceName(p eventsv1.ChatPresence) string {
	switch p {
	case eventsv1.ChatPresence_CHAT_PRESENCE_AVAILABLE:
		return "AVAILABLE"
	case eventsv1.ChatPresence_CHAT_PRESENCE_UNAVAILABLE:
		return "UNAVAILABLE"
	case eventsv1.ChatPresence_CHAT_PRESENCE_COMPOSING:
		return "COMPOSING"
	case eventsv1.ChatPresence_CHAT_PRESENCE_PAUSED:
		return "PAUSED"
	case eventsv1.ChatPresence_CHAT_PRESENCE_RECORDING:
		return "RECORDING"
	}
	return ""
}

// Payloads. Field order follows PlugZapi's documented examples; "instanceId" is in every one.

type deliveryPayload struct {
	Phone      string `json:"phone"`
	ZaapID     string `json:"zaapId"`
	MessageID  string `json:"messageId"`
	Type       string `json:"type"`
	InstanceID string `json:"instanceId"`
	Momment    int64  `json:"momment"`
	Error      string `json:"error,omitempty"`
}

type statusPayload struct {
	InstanceID string   `json:"instanceId"`
	Status     string   `json:"status"`
	IDs        []string `json:"ids"`
	Momment    int64    `json:"momment"`
	Phone      string   `json:"phone"`
	Type       string   `json:"type"`
}

type receivedPayload struct {
	WaitingMessage     bool    `json:"waitingMessage"`
	IsGroup            bool    `json:"isGroup"`
	InstanceID         string  `json:"instanceId"`
	MessageID          string  `json:"messageId"`
	Phone              string  `json:"phone"`
	FromMe             bool    `json:"fromMe"`
	Momment            int64   `json:"momment"`
	Status             string  `json:"status"`
	ChatName           string  `json:"chatName"`
	SenderPhoto        *string `json:"senderPhoto"`
	SenderName         string  `json:"senderName"`
	ParticipantPhone   *string `json:"participantPhone"`
	Photo              *string `json:"photo"`
	Broadcast          bool    `json:"broadcast"`
	ReferenceMessageID string  `json:"referenceMessageId,omitempty"`
	Forwarded          bool    `json:"forwarded"`
	// Z-API's: the message answers one of the account's statuses; it replaces an earlier message's content.
	IsStatusReply bool `json:"isStatusReply"`
	IsEdit        bool `json:"isEdit"`
	// MessageExpirationSeconds is the chat's disappearing-messages timer (0: none).
	MessageExpirationSeconds uint32           `json:"messageExpirationSeconds"`
	ExternalAdReply          *externalAdReply `json:"externalAdReply,omitempty"`
	Type                     string           `json:"type"`
	// Z-API's LID fields, when the LIDs are known: the contact's in a one-to-one chat, the sender's, and in a
	// group the participant's.
	ChatLid        string `json:"chatLid,omitempty"`
	SenderLid      string `json:"senderLid,omitempty"`
	ParticipantLid string `json:"participantLid,omitempty"`
	// The content: one of these (see content.go).
	receivedContent
}

type connectedPayload struct {
	Type       string `json:"type"`
	Connected  bool   `json:"connected"`
	Momment    int64  `json:"momment"`
	Phone      string `json:"phone"`
	InstanceID string `json:"instanceId"`
}

type disconnectedPayload struct {
	Momment      int64  `json:"momment"`
	Error        string `json:"error"`
	Disconnected bool   `json:"disconnected"`
	Type         string `json:"type"`
	InstanceID   string `json:"instanceId"`
}

type presencePayload struct {
	Type       string `json:"type"`
	Phone      string `json:"phone"`
	Status     string `json:"status"`
	LastSeen   *int64 `json:"lastSeen"`
	InstanceID string `json:"instanceId"`
}

// errNoPayload: the event does not render as that callback (a routing bug, or a stored row from an older
// version); such a delivery is dead-lettered, not retried.
var errNoPayload = errors.New("event does not render as this callback")

// Render returns the JSON body of a webhook of the given callback type for ev. A MessageReceived event must
// hold the whole message, its private part unsealed from the vault (events.Unseal). Rendering is deterministic:
// a retry sends the same bytes.
func Render(callback string, ev *eventsv1.Event) ([]byte, error) {
	return render(callback, ev, false)
}

// render is Render, for a received message whose content is gone too (contentGone): then its webhook carries
// what its event says — who, when, which chat, what type — and the notification MESSAGE_CONTENT_UNAVAILABLE
// in place of the content.
func render(callback string, ev *eventsv1.Event, withoutContent bool) ([]byte, error) {
	v, err := payload(callback, ev, withoutContent)
	if err != nil {
		return nil, fmt.Errorf("render %s for event %s: %w", callback, ev.GetId(), err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Message text goes out as written: no \u003c for "<" and friends.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("render %s for event %s: %w", callback, ev.GetId(), err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func payload(callback string, ev *eventsv1.Event, withoutContent bool) (any, error) {
	inst, at := ev.GetInstanceId(), ev.GetTimeMs()
	switch p := ev.GetPayload().(type) {
	case *eventsv1.Event_MessageSent:
		m := p.MessageSent
		if ts := m.GetServerTimeMs(); ts != 0 {
			at = ts
		}
		switch callback {
		case DeliveryCallback:
			return deliveryPayload{Phone: m.GetPhone(), ZaapID: m.GetZaapId(), MessageID: m.GetMessageId(),
				Type: DeliveryCallback, InstanceID: inst, Momment: at}, nil
		case MessageStatusCallback:
			return statusPayload{InstanceID: inst, Status: "SENT", IDs: []string{m.GetMessageId()}, Momment: at,
				Phone: m.GetPhone(), Type: MessageStatusCallback}, nil
		}
	case *eventsv1.Event_MessageFailed:
		m := p.MessageFailed
		if callback == DeliveryCallback {
			errText := m.GetError()
			if errText == "" {
				errText = "Message not sent"
			}
			return deliveryPayload{Phone: m.GetPhone(), ZaapID: m.GetZaapId(), MessageID: m.GetMessageId(),
				Type: DeliveryCallback, InstanceID: inst, Momment: at, Error: errText}, nil
		}
	case *eventsv1.Event_MessageStatusChanged:
		m := p.MessageStatusChanged
		if status := statusName(m.GetStatus()); callback == MessageStatusCallback && status != "" {
			ids := append([]string{}, m.GetMessageIds()...)
			return statusPayload{InstanceID: inst, Status: status, IDs: ids, Momment: at, Phone: m.GetPhone(),
				Type: MessageStatusCallback}, nil
		}
	case *eventsv1.Event_MessageReceived:
		m := p.MessageReceived
		if callback != ReceivedCallback {
			break
		}
		if ts := m.GetSentTimeMs(); ts != 0 {
			at = ts
		}
		status := "RECEIVED"
		if m.GetFromMe() {
			status = "SENT"
		}
		var participant *string
		if m.GetParticipant() != "" {
			participant = new(m.GetParticipant())
		}
		var photo, senderPhoto *string
		if m.GetPhoto() != "" {
			photo = new(m.GetPhoto())
		}
		if m.GetSenderPhoto() != "" {
			senderPhoto = new(m.GetSenderPhoto())
		}
		var participantLid string
		if m.GetIsGroup() {
			participantLid = m.GetSenderLid()
		}
		out := receivedPayload{
			WaitingMessage: m.GetWaitingMessage(), Broadcast: m.GetBroadcast(), Forwarded: m.GetForwarded(),
			IsStatusReply: m.GetStatusReply(), IsEdit: m.GetIsEdit(), MessageExpirationSeconds: m.GetExpirationSeconds(),
			IsGroup: m.GetIsGroup(), InstanceID: inst, MessageID: m.GetMessageId(), Phone: m.GetPhone(),
			FromMe: m.GetFromMe(), Momment: at, Status: status, ChatName: m.GetChatName(),
			SenderName: m.GetSenderName(), ParticipantPhone: participant, Photo: photo, SenderPhoto: senderPhoto,
			ReferenceMessageID: m.GetReplyTo(), Type: ReceivedCallback,
			ChatLid: m.GetChatLid(), SenderLid: m.GetSenderLid(), ParticipantLid: participantLid,
		}
		if withoutContent {
			out.Notification, out.NotificationParameters = notificationContentGone, []string{kindName(m)}
			return out, nil
		}
		if err := renderContent(&out, m); err != nil {
			return nil, err
		}
		return out, nil
	case *eventsv1.Event_Connected:
		if callback == ConnectedCallback {
			return connectedPayload{Type: ConnectedCallback, Connected: true, Momment: at,
				Phone: p.Connected.GetPhone(), InstanceID: inst}, nil
		}
	case *eventsv1.Event_Disconnected:
		if callback == DisconnectedCallback {
			return disconnected(at, p.Disconnected.GetReason(), inst), nil
		}
	case *eventsv1.Event_LoggedOut:
		if callback == DisconnectedCallback {
			return disconnected(at, p.LoggedOut.GetReason(), inst), nil
		}
	case *eventsv1.Event_ChatPresenceChanged:
		m := p.ChatPresenceChanged
		if status := presenceName(m.GetPresence()); callback == PresenceChatCallback && status != "" {
			var lastSeen *int64
			if m.GetLastSeenMs() != 0 {
				lastSeen = new(m.GetLastSeenMs())
			}
			return presencePayload{Type: PresenceChatCallback, Phone: m.GetPhone(), Status: status,
				LastSeen: lastSeen, InstanceID: inst}, nil
		}
	}
	return nil, errNoPayload
}

func disconnected(at int64, reason, inst string) disconnectedPayload {
	if reason == "" {
		reason = defaultDisconnectError
	}
	return disconnectedPayload{Momment: at, Error: reason, Disconnected: true, Type: DisconnectedCallback, InstanceID: inst}
}
