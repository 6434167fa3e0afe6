package whatsapp

import (
	"context"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// buildReaction puts an emoji on a message of the chat, or takes the reaction away (an empty emoji).
func buildReaction(_ context.Context, _ *Conn, to types.JID, c *messagesv1.Content, _ *waE2E.ContextInfo) (*waE2E.Message, error) {
	r := c.GetReaction()
	key, err := messageKey(to, r.GetTarget())
	if err != nil {
		return nil, err
	}
	at := r.GetTimeMs()
	if at == 0 {
		at = time.Now().UnixMilli()
	}
	return &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
		Key: key, Text: proto.String(r.GetEmoji()), SenderTimestampMS: proto.Int64(at),
	}}, nil
}

// messageKey names a message of the chat to, as reactions, edits and revokes name theirs: its ID, whether this
// account wrote it, and in a group who did.
func messageKey(to types.JID, ref *messagesv1.MessageRef) (*waCommon.MessageKey, error) {
	key := &waCommon.MessageKey{
		RemoteJID: proto.String(to.ToNonAD().String()),
		FromMe:    proto.Bool(ref.GetFromMe()),
		ID:        proto.String(ref.GetMessageId()),
	}
	if isGroup(to) && !ref.GetFromMe() && ref.GetParticipant() != "" {
		who, err := recipientJID(ref.GetParticipant())
		if err != nil {
			return nil, err
		}
		key.Participant = proto.String(who.String())
	}
	return key, nil
}
