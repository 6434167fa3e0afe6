package media

import (
	"errors"
	"fmt"
)

// Kind is what a file is sent as.
type Kind int

// The kinds of file WhatsApp sends.
const (
	Image Kind = iota + 1
	Audio
	Video
	// GIF is a video that plays as an animation: WhatsApp carries GIFs as MP4.
	GIF
	Document
	Sticker
)

func (k Kind) String() string {
	switch k {
	case Image:
		return "image"
	case Audio:
		return "audio"
	case Video:
		return "video"
	case GIF:
		return "gif"
	case Document:
		return "document"
	case Sticker:
		return "sticker"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Limits are the largest files of each kind, in bytes. A GIF is a video.
type Limits struct {
	Image, Audio, Video, Document, Sticker int64
}

// Sizes in bytes.
const (
	KiB = 1 << 10
	MiB = 1 << 20
)

// DefaultLimits are WhatsApp's: 16 MiB for pictures, recordings and videos, 100 MiB for documents, 500 KiB
// for stickers (an animated one's limit; a still one should stay under 100 KiB).
func DefaultLimits() Limits {
	return Limits{Image: 16 * MiB, Audio: 16 * MiB, Video: 16 * MiB, Document: 100 * MiB, Sticker: 500 * KiB}
}

// Of is the limit of a kind.
func (l Limits) Of(k Kind) int64 {
	switch k {
	case Image:
		return l.Image
	case Audio:
		return l.Audio
	case Video, GIF:
		return l.Video
	case Document:
		return l.Document
	case Sticker:
		return l.Sticker
	}
	return 0
}

// Largest is the largest of the limits.
func (l Limits) Largest() int64 {
	return max(l.Image, l.Audio, l.Video, l.Document, l.Sticker)
}

// maxLimit bounds every limit: a file is held in memory, base64-encoded in a request, and in the vault.
const maxLimit = 2 << 30

// Validate reports a limit that cannot work.
func (l Limits) Validate() error {
	for _, k := range []Kind{Image, Audio, Video, Document, Sticker} {
		if n := l.Of(k); n < 1 || n > maxLimit {
			return fmt.Errorf("the %s size limit must be from 1 byte to 2 GiB, got %d", k, n)
		}
	}
	return nil
}

// The errors of this package are predicates, to follow the name of what they are about: "image is empty",
// "the file at the URL is larger than …".

// ErrEmpty is a file with no bytes.
var ErrEmpty = errors.New("is empty")

// TooLargeError is a file over its kind's limit.
type TooLargeError struct {
	Kind  Kind
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("is larger than the %s limit of %s", e.Kind, FormatSize(e.Limit))
}

// CheckSize refuses an empty file, or one over the kind's limit.
func (l Limits) CheckSize(k Kind, size int) error {
	switch {
	case size == 0:
		return ErrEmpty
	case int64(size) > l.Of(k):
		return &TooLargeError{Kind: k, Limit: l.Of(k)}
	}
	return nil
}

// FormatSize writes a size as people read it: 16 MiB, 500 KiB, 1234 bytes.
func FormatSize(n int64) string {
	switch {
	case n >= MiB && n%MiB == 0:
		return fmt.Sprintf("%d MiB", n/MiB)
	case n >= KiB && n%KiB == 0:
		return fmt.Sprintf("%d KiB", n/KiB)
	}
	return fmt.Sprintf("%d bytes", n)
}
