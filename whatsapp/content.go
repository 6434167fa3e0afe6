package whatsapp

import (
	"context"
	"fmt"
	"strings"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/reflect/protoreflect"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// converter translates one kind of content to and from WhatsApp's messages. Each kind has its own file.
type converter struct {
	kind messagesv1.Kind
	// read returns the content of msg when msg holds this kind, and the message's context (what it quotes).
	read func(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool)
	// build makes WhatsApp's message for c, with info (what it quotes; nil for nothing) as its context.
	build func(ctx context.Context, c *messagesv1.Content, info *waE2E.ContextInfo) (*waE2E.Message, error)
}

// converters are the kinds the server sends and renders, in the order a received message is tried against them.
var converters = []converter{text}

// readContent reads a received message: its content (nil when the server does not render the kind yet; typ
// names it then), and its context. ok is false for a message with no content a person sent (sender keys, the
// phone's app state keys and history syncs).
func readContent(msg *waE2E.Message) (c *messagesv1.Content, info *waE2E.ContextInfo, typ string, ok bool) {
	for _, conv := range converters {
		if c, info, ok := conv.read(msg); ok {
			return c, info, "", true
		}
	}
	typ, ok = contentType(msg)
	return nil, nil, typ, ok
}

// buildMessage makes WhatsApp's message for an accepted one.
func buildMessage(ctx context.Context, to types.JID, m *messagesv1.Outbound) (*waE2E.Message, error) {
	kind := messagesv1.KindOf(m.GetContent())
	for _, conv := range converters {
		if conv.kind == kind {
			return conv.build(ctx, m.GetContent(), quoting(to, m.GetReplyTo()))
		}
	}
	return nil, fmt.Errorf("%w: cannot send a message of kind %s", ErrUnsendable, kind)
}

// quoting is the context of a message that quotes replyTo, or nil.
func quoting(to types.JID, replyTo string) *waE2E.ContextInfo {
	if replyTo == "" {
		return nil
	}
	info := &waE2E.ContextInfo{StanzaID: &replyTo}
	if to.Server != types.GroupServer {
		// In a one-to-one chat the quoted message is most often the contact's.
		info.Participant = new(to.ToNonAD().String())
	}
	return info
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
