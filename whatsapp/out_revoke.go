package whatsapp

import (
	"context"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// buildRevoke deletes a message for everyone: one this account sent, or, as a group admin, a member's (the key
// then names the member, and WhatsApp checks that this account is an admin).
func buildRevoke(_ context.Context, _ *Conn, to types.JID, c *messagesv1.Content, _ *waE2E.ContextInfo) (*waE2E.Message, error) {
	key, err := messageKey(to, c.GetRevoke().GetTarget())
	if err != nil {
		return nil, err
	}
	return &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum(), Key: key}}, nil
}
