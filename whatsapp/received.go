package whatsapp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// MediaKeeper keeps the files of received messages and serves them: Keep stores a file for its owner (an
// instance) and returns the URL it can be downloaded at.
type MediaKeeper interface {
	Keep(ctx context.Context, owner, mimeType string, data []byte) (url string, err error)
}

// Downloading a received file is tried this many times, with these pauses, before the message is reported
// without it (download_failed): WhatsApp does not hold a message back for a file, and neither does the server.
var downloadPauses = []time.Duration{500 * time.Millisecond, 2 * time.Second}

// downloadTimeout bounds one attempt at downloading a file.
const downloadTimeout = 2 * time.Minute

// pollMemory bounds how many polls a connection remembers the options of, to name the options of votes.
const pollMemory = 1000

// complete finishes a received message with what takes the client: a poll vote decrypted and its options
// named, the files downloaded and kept (their URLs in place of WhatsApp's keys).
func (c *Conn) complete(ctx context.Context, evt any, m *messagesv1.Inbound) {
	switch k := m.GetContent().GetKind().(type) {
	case *messagesv1.Content_Poll:
		c.rememberPoll(m.GetMessageId(), k.Poll.GetOptions())
	case *messagesv1.Content_PollVote:
		if e, ok := evt.(*events.Message); ok {
			c.decryptVote(ctx, e, k.PollVote)
		}
	}
	if m.GetIsGroup() && m.GetChatName() == "" {
		if group, err := recipientJID(m.GetPhone()); err == nil {
			m.ChatName = c.groupSubject(ctx, group)
		}
	}
	c.fillPhotos(ctx, m)
	c.keepFiles(ctx, m)
}

// groupSubject is a group's subject (its chatName), asked of WhatsApp once and then kept; a change of subject
// comes as an event (noteSubject). "" when WhatsApp will not tell.
func (c *Conn) groupSubject(ctx context.Context, group types.JID) string {
	c.mu.Lock()
	subject, ok := c.subjects[group]
	c.mu.Unlock()
	if ok {
		return subject
	}
	info, err := c.cli.GetGroupInfo(ctx, group)
	if err != nil {
		c.log.Debug("group subject unknown", "group", group, "err", err)
		return ""
	}
	c.noteSubject(group, info.Name)
	return info.Name
}

// noteSubject remembers a group's subject, from what WhatsApp said of the group.
func (c *Conn) noteSubject(group types.JID, subject string) {
	c.mu.Lock()
	c.subjects[group] = subject
	c.mu.Unlock()
}

// noteGroupEvent keeps the subjects that group events tell.
func (c *Conn) noteGroupEvent(evt any) {
	switch e := evt.(type) {
	case *events.GroupInfo:
		if e.Name != nil {
			c.noteSubject(e.JID, e.Name.Name)
		}
	case *events.JoinedGroup:
		c.noteSubject(e.GroupInfo.JID, e.GroupInfo.Name)
	}
}

// rememberPoll keeps a poll's options (in memory only), so that votes on it can name what they chose: a vote
// carries only the options' hashes.
func (c *Conn) rememberPoll(id string, options []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.polls[id]; !ok {
		c.pollOrder = append(c.pollOrder, id)
		if len(c.pollOrder) > pollMemory {
			delete(c.polls, c.pollOrder[0])
			c.pollOrder = c.pollOrder[1:]
		}
	}
	c.polls[id] = options
}

// rememberSentPoll keeps the options of a poll this account sent, so that the votes it gets can be named.
func (c *Conn) rememberSentPoll(id string, msg *waE2E.Message) {
	if content, _, _, ok := readContent(msg); ok && content.GetPoll() != nil {
		c.rememberPoll(id, content.GetPoll().GetOptions())
	}
}

// decryptVote decrypts a vote with the poll's secret (which whatsmeow kept when the poll went by) and names the
// options chosen; an option of a poll this connection did not see is named by its SHA-256 in hex. A vote that
// cannot be decrypted is reported without options.
func (c *Conn) decryptVote(ctx context.Context, e *events.Message, vote *messagesv1.PollVote) {
	decrypted, err := c.cli.DecryptPollVote(ctx, e)
	if err != nil {
		c.log.Warn("could not decrypt a poll vote", "message", e.Info.ID, "err", err)
		return
	}
	c.mu.Lock()
	options := c.polls[vote.GetPoll().GetMessageId()]
	c.mu.Unlock()
	byHash := make(map[[32]byte]string, len(options))
	for _, o := range options {
		byHash[sha256.Sum256([]byte(o))] = o
	}
	for _, h := range decrypted.GetSelectedOptions() {
		var key [32]byte
		copy(key[:], h)
		name, ok := byHash[key]
		if !ok || len(h) != len(key) {
			name = hex.EncodeToString(h)
		}
		vote.Options = append(vote.Options, name)
	}
}

// keepFiles downloads the files of a received message and has them kept, with their thumbnails; the message
// then carries their URLs, not WhatsApp's keys nor the thumbnails' bytes.
func (c *Conn) keepFiles(ctx context.Context, m *messagesv1.Inbound) {
	if c.media == nil {
		return
	}
	content := m.GetContent()
	for _, file := range []*messagesv1.Media{content.GetImage(), content.GetAudio(), content.GetVideo(),
		content.GetDocument(), content.GetSticker(), content.GetProduct().GetImage()} {
		if file == nil {
			continue
		}
		if wa := file.GetFile(); wa != nil {
			data, err := c.download(ctx, wa)
			if err == nil {
				file.Link, err = c.media.Keep(ctx, c.owner, file.GetMimeType(), data)
			}
			if err != nil {
				c.log.Warn("received file not kept", "message", m.GetMessageId(), "err", err)
				file.DownloadFailed = true
			}
			file.File = nil
		}
		file.ThumbnailLink = c.keepThumbnail(ctx, m, file.GetThumbnail(), file.GetThumbnailLink())
		file.Thumbnail = nil
	}
	if loc := content.GetLocation(); loc != nil {
		loc.ThumbnailLink = c.keepThumbnail(ctx, m, loc.GetThumbnail(), loc.GetThumbnailLink())
		loc.Thumbnail = nil
	}
	if img := content.GetText().GetPreview().GetImage(); img != nil {
		img.ThumbnailLink = c.keepThumbnail(ctx, m, img.GetThumbnail(), img.GetThumbnailLink())
		img.Thumbnail = nil
	}
	if ad := m.GetExternalAd(); ad != nil && ad.GetThumbnailLink() == "" {
		if img := content.GetText().GetPreview().GetImage(); img != nil {
			ad.ThumbnailLink = img.GetThumbnailLink()
		}
	}
}

// keepThumbnail keeps a thumbnail (always a JPEG) and returns its URL; given is the URL it came with, if any.
func (c *Conn) keepThumbnail(ctx context.Context, m *messagesv1.Inbound, jpeg []byte, given string) string {
	if len(jpeg) == 0 {
		return given
	}
	url, err := c.media.Keep(ctx, c.owner, "image/jpeg", jpeg)
	if err != nil {
		c.log.Warn("thumbnail not kept", "message", m.GetMessageId(), "err", err)
		return given
	}
	return url
}

// download gets a file from WhatsApp's media servers and decrypts it, trying again after a transient failure.
func (c *Conn) download(ctx context.Context, f *messagesv1.WhatsAppFile) ([]byte, error) {
	mediaType := whatsmeow.MediaType(f.GetMediaType())
	mms, ok := mmsTypes[mediaType]
	if !ok {
		return nil, fmt.Errorf("download: unknown media type %q", f.GetMediaType())
	}
	for attempt := 0; ; attempt++ {
		attemptCtx, cancel := context.WithTimeout(ctx, downloadTimeout)
		data, err := c.cli.DownloadMediaWithPath(attemptCtx, f.GetDirectPath(), f.GetFileEncSha256(),
			f.GetFileSha256(), f.GetMediaKey(), int(f.GetFileLength()), mediaType, mms)
		cancel()
		if err == nil {
			return data, nil
		}
		if permanentDownloadError(err) || attempt >= len(downloadPauses) {
			return nil, fmt.Errorf("download: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("download: %w", ctx.Err())
		case <-time.After(downloadPauses[attempt]):
		}
	}
}

// mmsTypes are the media servers' names of the media types received files have.
var mmsTypes = map[whatsmeow.MediaType]string{
	whatsmeow.MediaImage: "image", whatsmeow.MediaVideo: "video", whatsmeow.MediaAudio: "audio",
	whatsmeow.MediaDocument: "document",
}

// permanentDownloadError: trying again cannot help (the file is gone from the servers, or is not the file the
// message names).
func permanentDownloadError(err error) bool {
	for _, perm := range []error{whatsmeow.ErrMediaDownloadFailedWith403, whatsmeow.ErrMediaDownloadFailedWith404,
		whatsmeow.ErrMediaDownloadFailedWith410, whatsmeow.ErrInvalidMediaHMAC, whatsmeow.ErrInvalidMediaEncSHA256,
		whatsmeow.ErrInvalidMediaSHA256, whatsmeow.ErrFileLengthMismatch} {
		if errors.Is(err, perm) {
			return true
		}
	}
	return false
}
