package whatsapp

import (
	"context"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/media"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// buildVideo uploads an MP4 and makes its message: a video, or a GIF (WhatsApp's GIFs are MP4 videos that play
// on a loop, without sound). Length and size come from the file; it carries no thumbnail, since making one
// needs the video decoded (phones show a plain frame until it is downloaded).
func buildVideo(ctx context.Context, conn *Conn, _ types.JID, c *messagesv1.Content, info *waE2E.ContextInfo) (*waE2E.Message, error) {
	m := c.GetVideo()
	kind := media.Video
	if m.GetGif() {
		kind = media.GIF
	}
	f, err := conn.file(ctx, kind, m)
	if err != nil {
		return nil, err
	}
	up, err := conn.upload(ctx, f.Data, whatsmeow.MediaVideo)
	if err != nil {
		return nil, err
	}
	video := &waE2E.VideoMessage{
		URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
		FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		Mimetype: proto.String(f.MimeType), Caption: optional(m.GetCaption()), Seconds: seconds(f.Duration),
		Width: dimension(f.Width), Height: dimension(f.Height), ContextInfo: info,
	}
	if m.GetGif() {
		video.GifPlayback = proto.Bool(true)
	}
	if m.GetViewOnce() {
		video.ViewOnce = proto.Bool(true)
	}
	return viewOnce(&waE2E.Message{VideoMessage: video}, m.GetViewOnce()), nil
}
