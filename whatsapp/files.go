package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/media"
	"github.com/plugzapi/plugzapi/netguard"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// Files configures how the files of messages are got: the limits a file keeps to, and the fetcher of the files
// given by URL (it applies the address policy).
type Files struct {
	Limits  media.Limits
	Fetcher *netguard.Fetcher
}

// defaultFetchTimeout bounds the fetch of a file from its URL when Files has no fetcher of its own.
const defaultFetchTimeout = time.Minute

func (f Files) withDefaults() Files {
	if f.Limits == (media.Limits{}) {
		f.Limits = media.DefaultLimits()
	}
	if f.Fetcher == nil {
		f.Fetcher = netguard.NewFetcher(netguard.Policy{}, defaultFetchTimeout)
	}
	return f
}

// MediaError is a message whose file cannot be sent: its URL could not be fetched (refused, not found, too
// slow, too large), or it does not hold what the message's kind needs. It is permanent (it is ErrUnsendable);
// its text is what the delivery webhook says, in Z-API's words followed by the reason.
type MediaError struct {
	Reason string
}

func (e *MediaError) Error() string {
	return "Message not send caused by invalid media url: " + e.Reason
}

// Is makes a MediaError an ErrUnsendable.
func (e *MediaError) Is(target error) bool { return target == ErrUnsendable }

// file gets a message's file, as the API took it or fetched from its URL, and checks it for its kind. When ctx
// ends first, the error is ctx's: the message may be tried again.
func (c *Conn) file(ctx context.Context, kind media.Kind, m *messagesv1.Media) (media.File, error) {
	data := m.GetData()
	if url := m.GetUrl(); url != "" {
		fetched, err := c.files.Fetcher.Fetch(ctx, url, c.files.Limits.Of(kind))
		var failed *netguard.FetchError
		if errors.As(err, &failed) {
			return media.File{}, &MediaError{Reason: failed.Reason}
		}
		if err != nil {
			return media.File{}, err
		}
		data = fetched.Data
	}
	f, err := c.files.Limits.Check(kind, data)
	if err != nil {
		return media.File{}, &MediaError{Reason: "the file " + err.Error()}
	}
	return f, nil
}

// upload encrypts a file and puts it on WhatsApp's media servers, for a message of the given media type (the
// key derivation the recipient decrypts with).
func (c *Conn) upload(ctx context.Context, data []byte, mediaType whatsmeow.MediaType) (whatsmeow.UploadResponse, error) {
	up, err := c.cli.Upload(ctx, data, mediaType)
	if err != nil {
		return up, fmt.Errorf("upload the file: %w", err)
	}
	return up, nil
}

// viewOnce wraps a media message to be opened once, as WhatsApp's clients send one.
func viewOnce(msg *waE2E.Message, once bool) *waE2E.Message {
	if !once {
		return msg
	}
	return &waE2E.Message{ViewOnceMessage: &waE2E.FutureProofMessage{Message: msg}}
}

// optional is nil for "", so that an absent caption is absent from the message.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return proto.String(s)
}

// seconds is a length as WhatsApp's messages carry it: whole seconds, at least 1 for anything that lasts.
func seconds(d time.Duration) *uint32 {
	if d <= 0 {
		return nil
	}
	return proto.Uint32(uint32(max(1, (d+time.Second/2)/time.Second)))
}

// dimension is a picture's or a video's width or height, nil when unknown.
func dimension(n int) *uint32 {
	if n <= 0 {
		return nil
	}
	return proto.Uint32(uint32(n))
}
