package events

import (
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

var payloadOneof = (&eventsv1.Event{}).ProtoReflect().Descriptor().Oneofs().ByName("payload")

// TypeName returns the name of an event's payload as the proto field spells it ("message_queued",
// "connected"…), or "" when the event has no payload (or one this binary does not know).
func TypeName(ev *eventsv1.Event) string {
	if ev == nil {
		return ""
	}
	fd := ev.ProtoReflect().WhichOneof(payloadOneof)
	if fd == nil {
		return ""
	}
	return string(fd.Name())
}

// MessageID returns the WhatsApp message ID an event is about, for the events that are about one message.
func MessageID(ev *eventsv1.Event) string {
	switch p := ev.GetPayload().(type) {
	case *eventsv1.Event_MessageQueued:
		return p.MessageQueued.GetMessageId()
	case *eventsv1.Event_MessageSent:
		return p.MessageSent.GetMessageId()
	case *eventsv1.Event_MessageFailed:
		return p.MessageFailed.GetMessageId()
	case *eventsv1.Event_MessageCancelled:
		return p.MessageCancelled.GetMessageId()
	case *eventsv1.Event_MessageReceived:
		return p.MessageReceived.GetMessageId()
	}
	return ""
}
