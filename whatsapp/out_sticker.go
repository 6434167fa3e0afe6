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

// buildSticker uploads a WebP sticker (encrypted as an image, as WhatsApp does) and makes its message.
func buildSticker(ctx context.Context, conn *Conn, _ types.JID, c *messagesv1.Content, info *waE2E.ContextInfo) (*waE2E.Message, error) {
	f, err := conn.file(ctx, media.Sticker, c.GetSticker())
	if err != nil {
		return nil, err
	}
	up, err := conn.upload(ctx, f.Data, whatsmeow.MediaImage)
	if err != nil {
		return nil, err
	}
	return &waE2E.Message{StickerMessage: &waE2E.StickerMessage{
		URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
		FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		Mimetype: proto.String(f.MimeType), Width: dimension(f.Width), Height: dimension(f.Height), ContextInfo: info,
	}}, nil
}
