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

// buildAudio uploads a recording and makes its message: a voice note when one was asked for and the file is
// Ogg/Opus (what WhatsApp records and plays as a voice note on every phone), an audio file otherwise. Its
// length is read from the file, and a voice note's bars are drawn from it (see media.File.Waveform).
func buildAudio(ctx context.Context, conn *Conn, _ types.JID, c *messagesv1.Content, info *waE2E.ContextInfo) (*waE2E.Message, error) {
	m := c.GetAudio()
	f, err := conn.file(ctx, media.Audio, m)
	if err != nil {
		return nil, err
	}
	up, err := conn.upload(ctx, f.Data, whatsmeow.MediaAudio)
	if err != nil {
		return nil, err
	}
	audio := &waE2E.AudioMessage{
		URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
		FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		Mimetype: proto.String(f.MimeType), PTT: proto.Bool(m.GetVoice() && f.Opus), Seconds: seconds(f.Duration),
		ContextInfo: info,
	}
	if audio.GetPTT() {
		audio.Waveform = f.Waveform
	}
	if m.GetViewOnce() {
		audio.ViewOnce = proto.Bool(true)
	}
	return viewOnce(&waE2E.Message{AudioMessage: audio}, m.GetViewOnce()), nil
}
