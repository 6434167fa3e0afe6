package whatsapp

import (
	"context"
	"fmt"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// Forwarding sends a message again as WhatsApp carried it — a file by its media key and path on WhatsApp's
// servers, not uploaded again — marked forwarded, as WhatsApp's apps do. The message is kept, for the forward
// window, in WhatsApp's own encoding: Sent.Forwardable for what this account sent, MessageReceived.Forwardable
// for what it received; the instance keeps it and hands it back in Forward.message.

// forwardable are the contents WhatsApp's apps forward: what a person wrote or shared. Reactions, edits,
// deletions, polls, interactive messages and view-once files are not.
var forwardable = map[protoreflect.Name]bool{
	"conversation": true, "extendedTextMessage": true, "imageMessage": true, "videoMessage": true,
	"audioMessage": true, "documentMessage": true, "stickerMessage": true, "locationMessage": true,
	"contactMessage": true, "contactsArrayMessage": true,
}

// forwardedContent finds the one content of a message that can be forwarded: the message that holds it (a
// document with a caption is wrapped in a message of its own) and its field. ok is false for anything else.
func forwardedContent(msg *waE2E.Message) (holder *waE2E.Message, field protoreflect.FieldDescriptor, ok bool) {
	if inner := msg.GetDocumentWithCaptionMessage().GetMessage(); inner != nil {
		msg = inner
	}
	msg.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.Name() == "messageContextInfo":
			return true
		case field != nil || !forwardable[fd.Name()]:
			ok = false
			return false
		}
		field, ok = fd, true
		if fd.Kind() == protoreflect.MessageKind {
			inner := v.Message()
			if once := inner.Descriptor().Fields().ByName("viewOnce"); once != nil && inner.Get(once).Bool() {
				ok = false
				return false
			}
		}
		return true
	})
	return msg, field, ok
}

// keepable is msg in protobuf's encoding when it can be forwarded, without its message secret (the keys of
// its reporting token and poll votes are its own, never a forward's); nil otherwise.
func keepable(msg *waE2E.Message) []byte {
	if _, _, ok := forwardedContent(msg); !ok {
		return nil
	}
	kept := proto.Clone(msg).(*waE2E.Message)
	if inner := kept.GetDocumentWithCaptionMessage().GetMessage(); inner != nil {
		inner.MessageContextInfo = nil
	}
	kept.MessageContextInfo = nil
	raw, err := proto.Marshal(kept)
	if err != nil {
		return nil
	}
	return raw
}

// buildForward makes the forward of a kept message: its content as it was, its context (what it quoted, whom
// it mentioned, the ad it came from) replaced by the mark of a forward, whose score counts the forwards it went
// through: WhatsApp's apps show "Forwarded", and "Forwarded many times" from a score of 4.
func buildForward(_ context.Context, _ *Conn, _ types.JID, c *messagesv1.Content, _ *waE2E.ContextInfo) (*waE2E.Message, error) {
	raw := c.GetForward().GetMessage()
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: the message to forward was not kept", ErrUnsendable)
	}
	msg := &waE2E.Message{}
	if err := proto.Unmarshal(raw, msg); err != nil {
		return nil, fmt.Errorf("%w: the message to forward: %v", ErrUnsendable, err)
	}
	holder, field, ok := forwardedContent(msg)
	if !ok {
		return nil, fmt.Errorf("%w: a message of this kind cannot be forwarded", ErrUnsendable)
	}
	if field.Name() == "conversation" {
		// A plain text has no context to carry the mark: it goes as the text with a context it is.
		holder.ExtendedTextMessage, holder.Conversation = &waE2E.ExtendedTextMessage{Text: holder.Conversation}, nil
		field = holder.ProtoReflect().Descriptor().Fields().ByName("extendedTextMessage")
	}
	holder.MessageContextInfo = nil
	msg.MessageContextInfo = nil
	content := holder.ProtoReflect().Mutable(field).Message()
	info := content.Descriptor().Fields().ByName("contextInfo")
	score := content.Get(info).Message().Interface().(*waE2E.ContextInfo).GetForwardingScore() + 1
	content.Set(info, protoreflect.ValueOfMessage((&waE2E.ContextInfo{
		IsForwarded: proto.Bool(true), ForwardingScore: proto.Uint32(score)}).ProtoReflect()))
	return msg, nil
}
