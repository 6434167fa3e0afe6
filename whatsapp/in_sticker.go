package whatsapp

import (
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// readSticker reads a sticker (a WebP picture; WhatsApp derives its keys as an image's).
func readSticker(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool) {
	s := msg.GetStickerMessage()
	if s == nil {
		return nil, nil, false
	}
	m := receivedMedia(s, whatsmeow.MediaImage)
	m.Width, m.Height = s.GetWidth(), s.GetHeight()
	return &messagesv1.Content{Kind: &messagesv1.Content_Sticker{Sticker: m}}, s.GetContextInfo(), true
}
