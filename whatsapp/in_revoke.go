package whatsapp

import (
	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// readRevoke reads the deletion of a message for everyone.
func readRevoke(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool) {
	pm := msg.GetProtocolMessage()
	if pm == nil || pm.GetType() != waE2E.ProtocolMessage_REVOKE {
		return nil, nil, false
	}
	revoke := &messagesv1.Revoke{Target: messageRef(pm.GetKey())}
	return &messagesv1.Content{Kind: &messagesv1.Content_Revoke{Revoke: revoke}}, nil, true
}
