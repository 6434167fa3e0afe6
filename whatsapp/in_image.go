package whatsapp

import (
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// readImage reads a picture.
func readImage(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool) {
	img := msg.GetImageMessage()
	if img == nil {
		return nil, nil, false
	}
	m := receivedMedia(img, whatsmeow.MediaImage)
	m.Caption, m.Thumbnail, m.ViewOnce = img.GetCaption(), img.GetJPEGThumbnail(), img.GetViewOnce()
	m.Width, m.Height = img.GetWidth(), img.GetHeight()
	return &messagesv1.Content{Kind: &messagesv1.Content_Image{Image: m}}, img.GetContextInfo(), true
}
