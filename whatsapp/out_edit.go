package whatsapp

import (
	"context"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// buildEdit replaces the text of a message this account sent: a protocol message naming it, which the
// recipients' apps apply to the message they have (marked "edited"), not a new message. WhatsApp takes edits
// for 20 minutes after the message was sent.
func buildEdit(ctx context.Context, conn *Conn, to types.JID, c *messagesv1.Content, _ *waE2E.ContextInfo) (*waE2E.Message, error) {
	e := c.GetEdit()
	key, err := messageKey(to, e.GetTarget())
	if err != nil {
		return nil, err
	}
	text, err := buildText(ctx, conn, to, &messagesv1.Content{Kind: &messagesv1.Content_Text{Text: e.GetText()}}, nil)
	if err != nil {
		return nil, err
	}
	return &waE2E.Message{EditedMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{
		ProtocolMessage: &waE2E.ProtocolMessage{
			Key: key, Type: waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(), EditedMessage: text,
			TimestampMS: proto.Int64(time.Now().UnixMilli()),
		},
	}}}, nil
}
