package whatsapp

import (
	"go.mau.fi/whatsmeow"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// waFile is what every media message of WhatsApp's has to download and decrypt its file.
type waFile interface {
	GetDirectPath() string
	GetMediaKey() []byte
	GetFileSHA256() []byte
	GetFileEncSHA256() []byte
	GetFileLength() uint64
	GetMimetype() string
}

// receivedMedia is the common part of a received file: its type, and where WhatsApp keeps it (the server
// downloads it before the message becomes an event; see Conn.keepFiles).
func receivedMedia(f waFile, mediaType whatsmeow.MediaType) *messagesv1.Media {
	return &messagesv1.Media{
		MimeType: f.GetMimetype(),
		Size:     f.GetFileLength(),
		File: &messagesv1.WhatsAppFile{
			DirectPath: f.GetDirectPath(), MediaKey: f.GetMediaKey(), FileSha256: f.GetFileSHA256(),
			FileEncSha256: f.GetFileEncSHA256(), FileLength: f.GetFileLength(), MediaType: string(mediaType),
		},
	}
}
