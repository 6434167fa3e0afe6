package whatsapp

import (
	"context"
	"errors"
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// TestForwardTranslation: what can be forwarded is kept without its message secret, and its forward carries
// the content unchanged with only the mark of a forward as its context; what WhatsApp's apps do not forward is
// not kept.
func TestForwardTranslation(t *testing.T) {
	secret := &waE2E.MessageContextInfo{MessageSecret: make([]byte, 32)}
	quote := &waE2E.ContextInfo{StanzaID: proto.String("Q1"), MentionedJID: []string{"5511999990009@s.whatsapp.net"}}
	image := &waE2E.ImageMessage{DirectPath: proto.String("/v/t62.7118-24/1"), MediaKey: []byte("key"), FileSHA256: []byte("sha"),
		Caption: proto.String("look"), ContextInfo: &waE2E.ContextInfo{IsForwarded: proto.Bool(true), ForwardingScore: proto.Uint32(3), StanzaID: proto.String("Q2")}}
	doc := &waE2E.DocumentMessage{FileName: proto.String("a.pdf"), Caption: proto.String("sign"), ContextInfo: quote}
	for _, c := range []struct {
		name string
		in   *waE2E.Message
		want *waE2E.Message // nil: not kept
	}{
		{"a text becomes a text with a context", &waE2E.Message{Conversation: proto.String("hi"), MessageContextInfo: secret},
			&waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("hi"),
				ContextInfo: &waE2E.ContextInfo{IsForwarded: proto.Bool(true), ForwardingScore: proto.Uint32(1)}}}},
		{"a forwarded image forwarded again, many times", &waE2E.Message{ImageMessage: image, MessageContextInfo: secret},
			&waE2E.Message{ImageMessage: &waE2E.ImageMessage{DirectPath: image.DirectPath, MediaKey: image.MediaKey,
				FileSHA256: image.FileSHA256, Caption: image.Caption,
				ContextInfo: &waE2E.ContextInfo{IsForwarded: proto.Bool(true), ForwardingScore: proto.Uint32(4)}}}},
		{"a document with a caption stays wrapped", &waE2E.Message{DocumentWithCaptionMessage: &waE2E.FutureProofMessage{
			Message: &waE2E.Message{DocumentMessage: doc, MessageContextInfo: secret}}},
			&waE2E.Message{DocumentWithCaptionMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
				FileName: doc.FileName, Caption: doc.Caption, ContextInfo: &waE2E.ContextInfo{IsForwarded: proto.Bool(true), ForwardingScore: proto.Uint32(1)}}}}}},
		{"a reaction", &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Text: proto.String("👍")}}, nil},
		{"a poll", &waE2E.Message{PollCreationMessageV3: &waE2E.PollCreationMessage{Name: proto.String("?")}, MessageContextInfo: secret}, nil},
		{"a view-once image", &waE2E.Message{ImageMessage: &waE2E.ImageMessage{ViewOnce: proto.Bool(true)}}, nil},
		{"a view-once wrapper", &waE2E.Message{ViewOnceMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{ImageMessage: image}}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			kept := keepable(c.in)
			if c.want == nil {
				if kept != nil {
					t.Fatalf("kept %v", c.in)
				}
				return
			}
			fwd := &messagesv1.Content{Kind: &messagesv1.Content_Forward{Forward: &messagesv1.Forward{Message: kept}}}
			got, err := buildForward(context.Background(), nil, contactChat, fwd, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, c.want) {
				t.Errorf("forward =\n%v\nwant\n%v", got, c.want)
			}
		})
	}
	if _, err := buildForward(context.Background(), nil, contactChat, &messagesv1.Content{Kind: &messagesv1.Content_Forward{Forward: &messagesv1.Forward{}}}, nil); !errors.Is(err, ErrUnsendable) {
		t.Errorf("forward of nothing: %v, want ErrUnsendable", err)
	}
}
