package whatsapp

import (
	"context"

	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// buildText makes a plain conversation message, or an extended text when it quotes.
func buildText(_ context.Context, _ *Conn, c *messagesv1.Content, info *waE2E.ContextInfo) (*waE2E.Message, error) {
	body := c.GetText().GetBody()
	if info == nil {
		return &waE2E.Message{Conversation: &body}, nil
	}
	return &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: &body, ContextInfo: info}}, nil
}
