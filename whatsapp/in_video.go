package whatsapp

import (
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// readVideo reads a video; a GIF is a video that plays as one.
func readVideo(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool) {
	v := msg.GetVideoMessage()
	if v == nil {
		return nil, nil, false
	}
	m := receivedMedia(v, whatsmeow.MediaVideo)
	m.Caption, m.Thumbnail, m.ViewOnce, m.Gif = v.GetCaption(), v.GetJPEGThumbnail(), v.GetViewOnce(), v.GetGifPlayback()
	m.Seconds, m.Width, m.Height = v.GetSeconds(), v.GetWidth(), v.GetHeight()
	return &messagesv1.Content{Kind: &messagesv1.Content_Video{Video: m}}, v.GetContextInfo(), true
}
