package wasim

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"path/filepath"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
)

// mediaDownloadTimeout bounds a phone's download of one received media file.
const mediaDownloadTimeout = time.Minute

// MediaKind is the kind of a media message.
type MediaKind string

// The media kinds a simulated phone sends.
const (
	MediaImage    MediaKind = "image"
	MediaAudio    MediaKind = "audio"
	MediaVideo    MediaKind = "video"
	MediaDocument MediaKind = "document"
	MediaSticker  MediaKind = "sticker"
)

// Media is a file a simulated phone sends (Account.SendMedia).
type Media struct {
	Kind MediaKind
	// Data is the file itself (plaintext: the phone encrypts it).
	Data []byte
	// MimeType defaults to image/jpeg, audio/ogg; codecs=opus, video/mp4, the type
	// of the document's file name extension (else application/octet-stream), and
	// image/webp.
	MimeType string
	// Caption is shown under an image, video or document.
	Caption string
	// FileName names a document; default "file".
	FileName string
	// PTT marks audio as a voice note (push to talk).
	PTT bool
	// ReplyTo is the id of the message this one answers, if any.
	ReplyTo string
	// ViewOnce sends an image, video or voice note to be opened once (wrapped as
	// WhatsApp's clients wrap it).
	ViewOnce bool
	// Thumbnail is the small JPEG an image, video or document shows before it is
	// downloaded.
	Thumbnail []byte
}

// mediaAppInfo is the key derivation info whatsmeow encrypts each kind with.
func (k MediaKind) appInfo() (whatsmeow.MediaType, bool) {
	switch k {
	case MediaImage, MediaSticker:
		return whatsmeow.MediaImage, true
	case MediaAudio:
		return whatsmeow.MediaAudio, true
	case MediaVideo:
		return whatsmeow.MediaVideo, true
	case MediaDocument:
		return whatsmeow.MediaDocument, true
	}
	return "", false
}

// SendMedia sends a media message from this account's phone to a phone number or a
// group: the phone encrypts and uploads the file to the simulator's media store, as
// WhatsApp's clients do, and sends the key in the message. It returns the message id
// once the server acknowledged the message.
func (a *Account) SendMedia(ctx context.Context, to string, m Media) (string, error) {
	chat, err := parseChat(to)
	if err != nil {
		return "", fmt.Errorf("send media: %w", err)
	}
	appInfo, ok := m.Kind.appInfo()
	if !ok {
		return "", fmt.Errorf("send media: %w: kind %q is not image, audio, video, document or sticker", ErrInvalidArgument, m.Kind)
	}
	if len(m.Data) == 0 {
		return "", fmt.Errorf("send media: %w: no data", ErrInvalidArgument)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return "", fmt.Errorf("send media: %w", err)
	}
	up, err := e.cli.Upload(ctx, m.Data, appInfo)
	if err != nil {
		return "", fmt.Errorf("upload %s: %w", m.Kind, err)
	}
	var ci *waE2E.ContextInfo
	if m.ReplyTo != "" {
		ci = e.quote(chat, m.ReplyTo)
	}
	msg := buildMediaMessage(m, up, ci)
	if m.ViewOnce {
		msg = &waE2E.Message{ViewOnceMessageV2: &waE2E.FutureProofMessage{Message: msg}}
	}
	resp, err := e.send(ctx, chat, msg)
	if err != nil {
		return "", fmt.Errorf("send %s to %s: %w", m.Kind, chat, err)
	}
	e.mu.Lock()
	e.sent[resp.ID] = msg
	e.mu.Unlock()
	return resp.ID, nil
}

// once is a view-once flag as messages carry it: absent unless set.
func once(set bool) *bool {
	if !set {
		return nil
	}
	return proto.Bool(true)
}

func buildMediaMessage(m Media, up whatsmeow.UploadResponse, ci *waE2E.ContextInfo) *waE2E.Message {
	mimeType := m.MimeType
	optional := func(s string) *string {
		if s == "" {
			return nil
		}
		return proto.String(s)
	}
	switch m.Kind {
	case MediaImage:
		if mimeType == "" {
			mimeType = "image/jpeg"
		}
		return &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
			Caption: optional(m.Caption), Mimetype: proto.String(mimeType), ContextInfo: ci,
			ViewOnce: once(m.ViewOnce), JPEGThumbnail: m.Thumbnail,
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		}}
	case MediaVideo:
		if mimeType == "" {
			mimeType = "video/mp4"
		}
		return &waE2E.Message{VideoMessage: &waE2E.VideoMessage{
			Caption: optional(m.Caption), Mimetype: proto.String(mimeType), ContextInfo: ci,
			ViewOnce: once(m.ViewOnce), JPEGThumbnail: m.Thumbnail,
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		}}
	case MediaAudio:
		if mimeType == "" {
			mimeType = "audio/ogg; codecs=opus"
		}
		return &waE2E.Message{AudioMessage: &waE2E.AudioMessage{
			PTT: proto.Bool(m.PTT), Mimetype: proto.String(mimeType), ContextInfo: ci, ViewOnce: once(m.ViewOnce),
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		}}
	case MediaDocument:
		name := m.FileName
		if name == "" {
			name = "file"
		}
		if mimeType == "" {
			mimeType = mime.TypeByExtension(filepath.Ext(name))
		}
		if mimeType == "" {
			mimeType = "application/octet-stream"
		}
		return &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
			Caption: optional(m.Caption), Mimetype: proto.String(mimeType), FileName: proto.String(name),
			Title: proto.String(name), ContextInfo: ci, JPEGThumbnail: m.Thumbnail,
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		}}
	default: // MediaSticker
		if mimeType == "" {
			mimeType = "image/webp"
		}
		return &waE2E.Message{StickerMessage: &waE2E.StickerMessage{
			Mimetype: proto.String(mimeType), ContextInfo: ci,
			URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
		}}
	}
}

// MediaData downloads again, and decrypts, the media of a message this account's
// phone received, with the message as the inbox has it. ErrUnknownMessage if the
// inbox has no media message with this id, ErrMediaUnavailable if the simulator no
// longer stores it.
func (a *Account) MediaData(ctx context.Context, id string) ([]byte, Message, error) {
	e, err := a.ready(ctx)
	if err != nil {
		return nil, Message{}, fmt.Errorf("media of %s: %w", id, err)
	}
	e.mu.Lock()
	dl := e.media[id]
	var msg Message
	for _, m := range e.inbox {
		if m.ID == id {
			msg = m
		}
	}
	e.mu.Unlock()
	if dl == nil {
		return nil, Message{}, fmt.Errorf("media of %s: %w", id, ErrUnknownMessage)
	}
	data, err := dl(ctx, e.cli)
	switch {
	case errors.Is(err, whatsmeow.ErrMediaDownloadFailedWith404), errors.Is(err, whatsmeow.ErrMediaDownloadFailedWith410):
		return nil, msg, fmt.Errorf("media of %s: %w: %v", id, ErrMediaUnavailable, err)
	case err != nil:
		return nil, msg, fmt.Errorf("media of %s: %w", id, err)
	}
	return data, msg, nil
}
