package whatsapp

import (
	"strings"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/reflect/protoreflect"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// reader reads one kind of content from a received message: the content and the message's context (what it
// quotes), or false when msg does not hold that kind. Each kind has its own file, in_<kind>.go.
type reader func(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool)

// readers are the kinds the server renders, in the order a received message is tried against them.
var readers = []reader{readText, readImage, readAudio, readVideo, readDocument, readSticker, readLocation,
	readContacts, readReaction, readPoll, readPollVote, readButtonReply, readListReply, readRevoke, readProduct,
	readPaymentRequest}

// readContent reads a received message: its content (nil when the server does not render the kind; typ names
// it then), and its context. ok is false for a message with no content a person sent (sender keys, the phone's
// app state keys and history syncs). whatsmeow has taken off the wrappers (ephemeral, view once, document with
// caption, device sent) already.
func readContent(msg *waE2E.Message) (c *messagesv1.Content, info *waE2E.ContextInfo, typ string, ok bool) {
	for _, read := range readers {
		if c, info, ok := read(msg); ok {
			return c, info, "", true
		}
	}
	typ, ok = contentType(msg)
	return nil, nil, typ, ok
}

// edited is, for an edit, the ID of the message it changes and the new message; ok is false for anything else.
// WhatsApp sends an edit as a protocol message holding the new content (older clients wrapped it in an
// editedMessage, which whatsmeow takes off and reports as IsEdit).
func edited(msg *waE2E.Message) (target string, content *waE2E.Message, ok bool) {
	pm := msg.GetProtocolMessage()
	if pm.GetType() != waE2E.ProtocolMessage_MESSAGE_EDIT || pm.GetEditedMessage() == nil {
		return "", nil, false
	}
	return pm.GetKey().GetID(), pm.GetEditedMessage(), true
}

// notContent are the fields of a message that carry no content of their own.
var notContent = map[protoreflect.Name]bool{
	"senderKeyDistributionMessage": true, // the sender key of a group, before its first message
	"messageContextInfo":           true,
}

// contentType names the content of a message: "image", "audio", "reaction", "revoke", "edit"… (WhatsApp's field
// name without "Message"), or reports false for a message with no content a person sent.
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
