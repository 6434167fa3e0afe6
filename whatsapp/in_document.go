package whatsapp

import (
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// readDocument reads a document (with its caption, when it came wrapped in documentWithCaptionMessage: the
// wrapper is taken off before the readers run).
func readDocument(msg *waE2E.Message) (*messagesv1.Content, *waE2E.ContextInfo, bool) {
	d := msg.GetDocumentMessage()
	if d == nil {
		return nil, nil, false
	}
	m := receivedMedia(d, whatsmeow.MediaDocument)
	m.Caption, m.FileName, m.Title, m.PageCount, m.Thumbnail = d.GetCaption(), d.GetFileName(), d.GetTitle(),
		d.GetPageCount(), d.GetJPEGThumbnail()
	return &messagesv1.Content{Kind: &messagesv1.Content_Document{Document: m}}, d.GetContextInfo(), true
}
