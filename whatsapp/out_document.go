package whatsapp

import (
	"context"
	"path"
	"strings"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/media"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// buildDocument uploads a document and makes its message. Its type is what its bytes tell, else what its name's
// extension names. A document with a caption is wrapped as WhatsApp's clients send one.
func buildDocument(ctx context.Context, conn *Conn, _ types.JID, c *messagesv1.Content, info *waE2E.ContextInfo) (*waE2E.Message, error) {
	m := c.GetDocument()
	f, err := conn.file(ctx, media.Document, m)
	if err != nil {
		return nil, err
	}
	up, err := conn.upload(ctx, f.Data, whatsmeow.MediaDocument)
	if err != nil {
		return nil, err
	}
	name := m.GetFileName()
	doc := &waE2E.DocumentMessage{
		URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
		FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		Mimetype: proto.String(media.DocumentType(f.Data, strings.TrimPrefix(path.Ext(name), "."))),
		FileName: optional(name), Title: optional(m.GetTitle()), Caption: optional(m.GetCaption()), ContextInfo: info,
	}
	msg := &waE2E.Message{DocumentMessage: doc}
	if m.GetCaption() != "" {
		msg = &waE2E.Message{DocumentWithCaptionMessage: &waE2E.FutureProofMessage{Message: msg}}
	}
	return msg, nil
}
