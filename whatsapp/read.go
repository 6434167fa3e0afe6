package whatsapp

import (
	"context"
	"fmt"
	"time"

	"go.mau.fi/whatsmeow/types"
)

// MarkRead sends a read receipt for a message received in the chat phone (see package recipient): WhatsApp
// shows its sender the blue ticks. In a group, and for a status update, the receipt names the message's sender, participant.
func (c *Conn) MarkRead(ctx context.Context, phone, messageID, participant string) error {
	chat, err := c.recipient(ctx, phone)
	if err != nil {
		return fmt.Errorf("mark %s read: %w", messageID, err)
	}
	sender := chat
	if isGroup(chat) || chat == types.StatusBroadcastJID {
		if sender, err = recipientJID(participant); err != nil {
			return fmt.Errorf("mark %s read: the sender: %w", messageID, err)
		}
	}
	if err := c.cli.MarkRead(ctx, []types.MessageID{messageID}, time.Now(), chat, sender); err != nil {
		return fmt.Errorf("mark %s read: %w", messageID, err)
	}
	return nil
}
