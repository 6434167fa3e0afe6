package whatsapp

import (
	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// readText reads a plain conversation message or an extended text.
func readText(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool) {
	switch {
	case msg.Conversation != nil:
		return textContent(msg.GetConversation()), nil, true
	case msg.ExtendedTextMessage != nil:
		ext := msg.GetExtendedTextMessage()
		return textContent(ext.GetText()), ext.GetContextInfo(), true
	}
	return nil, nil, false
}

func textContent(body string) *messagesv1.Content {
	return &messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: body}}}
}
