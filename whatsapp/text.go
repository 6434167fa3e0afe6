package whatsapp

import (
	"context"

	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// text: a plain conversation message, or an extended text when it quotes or mentions.
var text = converter{
	kind: messagesv1.Kind_KIND_TEXT,
	read: func(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool) {
		switch {
		case msg.Conversation != nil:
			return textContent(msg.GetConversation()), nil, true
		case msg.ExtendedTextMessage != nil:
			ext := msg.GetExtendedTextMessage()
			return textContent(ext.GetText()), ext.GetContextInfo(), true
		}
		return nil, nil, false
	},
	build: func(_ context.Context, c *messagesv1.Content, info *waE2E.ContextInfo) (*waE2E.Message, error) {
		body := c.GetText().GetBody()
		if info == nil {
			return &waE2E.Message{Conversation: &body}, nil
		}
		return &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: &body, ContextInfo: info}}, nil
	},
}

func textContent(body string) *messagesv1.Content {
	return &messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: body}}}
}
