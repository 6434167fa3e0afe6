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

// imageThumbnailSide is the side of the small JPEG an image message carries, which the recipient sees before
// the picture is downloaded.
const imageThumbnailSide = 72

// buildImage uploads a picture and makes its message, with its size and a thumbnail.
func buildImage(ctx context.Context, conn *Conn, _ types.JID, c *messagesv1.Content, info *waE2E.ContextInfo) (*waE2E.Message, error) {
	m := c.GetImage()
	f, err := conn.file(ctx, media.Image, m)
	if err != nil {
		return nil, err
	}
	up, err := conn.upload(ctx, f.Data, whatsmeow.MediaImage)
	if err != nil {
		return nil, err
	}
	img := &waE2E.ImageMessage{
		URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
		FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		Mimetype: proto.String(f.MimeType), Caption: optional(m.GetCaption()),
		Width: dimension(f.Width), Height: dimension(f.Height), ContextInfo: info,
	}
	// The check decoded the picture's header only; a picture that cannot be decoded whole goes without one.
	if thumb, _, _, err := media.Thumbnail(f.Data, imageThumbnailSide); err == nil {
		img.JPEGThumbnail = thumb
	}
	if m.GetViewOnce() {
		img.ViewOnce = proto.Bool(true)
	}
	return viewOnce(&waE2E.Message{ImageMessage: img}, m.GetViewOnce()), nil
}
