package whatsapp

import (
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
)

// A text status is a card: the text in white on a coloured background, as WhatsApp's phones post one.
const (
	statusBackground = 0xFF128C7E // WhatsApp's teal
	statusTextColour = 0xFFFFFFFF
)

// asStatusUpdate makes a message into a status update: a text becomes a coloured card; a picture or a video
// posts as it is.
func asStatusUpdate(msg *waE2E.Message) *waE2E.Message {
	ext := msg.GetExtendedTextMessage()
	if msg.Conversation != nil {
		ext = &waE2E.ExtendedTextMessage{Text: msg.Conversation}
	}
	if ext == nil {
		return msg
	}
	ext.BackgroundArgb = proto.Uint32(statusBackground)
	ext.TextArgb = proto.Uint32(statusTextColour)
	ext.Font = waE2E.ExtendedTextMessage_SYSTEM.Enum()
	return &waE2E.Message{ExtendedTextMessage: ext}
}
