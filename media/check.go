package media

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // decoders for Thumbnail and the picture checks
	_ "image/jpeg"
	_ "image/png"
	"mime"
	"net/http"
	"strings"
	"time"

	_ "golang.org/x/image/webp"
)

// File is a file checked for its kind, with what WhatsApp's message tells about it.
type File struct {
	Kind     Kind
	Data     []byte
	MimeType string
	// Opus: an Ogg/Opus recording, what WhatsApp plays as a voice note.
	Opus bool
	// Duration is a recording's or a video's length, when the file tells it.
	Duration time.Duration
	// Waveform is the bars an Ogg/Opus recording shows as a voice note: 64 values from 0 to 100.
	Waveform []byte
	// Width and Height are a picture's or a video's size in pixels, when the file tells it.
	Width, Height int
}

// Check checks that data can be sent as kind: not empty, within the kind's limit, and holding what the kind
// needs (sniffed from the bytes: JPEG, PNG or WebP pictures; Ogg/Opus, MP3, M4A, AAC or AMR recordings; MP4
// videos and GIFs; WebP stickers; anything for a document). The error is a predicate about the file.
func (l Limits) Check(k Kind, data []byte) (File, error) {
	if err := l.CheckSize(k, len(data)); err != nil {
		return File{}, err
	}
	f := File{Kind: k, Data: data}
	switch k {
	case Image:
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || (format != "jpeg" && format != "png" && format != "webp") {
			return File{}, errors.New("is not a JPEG, PNG or WebP picture")
		}
		f.MimeType, f.Width, f.Height = "image/"+format, cfg.Width, cfg.Height
	case Sticker:
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || format != "webp" {
			return File{}, errors.New("is not a WebP picture (WhatsApp's stickers are WebP)")
		}
		f.MimeType, f.Width, f.Height = "image/webp", cfg.Width, cfg.Height
	case Audio:
		if !describeAudio(&f) {
			return File{}, errors.New("is not Ogg/Opus, MP3, M4A, AAC or AMR audio")
		}
	case Video, GIF:
		info, ok := readMP4(data)
		if !ok || !info.video {
			return File{}, errors.New("is not an MP4 video")
		}
		f.MimeType, f.Duration, f.Width, f.Height = "video/mp4", info.duration, int(info.width), int(info.height)
	case Document:
		f.MimeType = DocumentType(data, "")
	default:
		return File{}, fmt.Errorf("is of an unknown kind %s", k)
	}
	return f, nil
}

// describeAudio recognises a recording's format.
func describeAudio(f *File) bool {
	data := f.Data
	if info, ok := readOggOpus(data); ok {
		f.MimeType, f.Opus, f.Duration = "audio/ogg; codecs=opus", true, info.duration
		f.Waveform = opusWaveform(info.packets)
		return true
	}
	if info, ok := readMP4(data); ok && info.audio && !info.video {
		f.MimeType, f.Duration = "audio/mp4", info.duration
		return true
	}
	switch {
	case bytes.HasPrefix(data, []byte("#!AMR\n")):
		f.MimeType = "audio/amr"
	case bytes.HasPrefix(data, []byte("ID3")) || mpegFrame(data, false):
		f.MimeType, f.Duration = "audio/mpeg", mp3Duration(data)
	case mpegFrame(data, true):
		f.MimeType = "audio/aac"
	default:
		return false
	}
	return true
}

// mpegFrame reports whether data starts with the header of an MPEG audio frame (MP3 and its kin), or with
// adts, of an AAC ADTS frame (the same sync word, layer 0).
func mpegFrame(data []byte, adts bool) bool {
	if len(data) < 4 || data[0] != 0xFF || data[1]&0xE0 != 0xE0 {
		return false
	}
	layer := data[1] >> 1 & 3
	if adts {
		return data[1]&0xF6 == 0xF0 && data[2]>>2&0xF < 13 // MPEG-4 or -2 AAC; a sampling frequency index in use
	}
	version, bitrate, rate := data[1]>>3&3, data[2]>>4, data[2]>>2&3
	return version != 1 && layer != 0 && bitrate != 0 && bitrate != 15 && rate != 3
}

// genericTypes are sniffed types that do not tell what a document is: any file, any text, and containers that
// office formats (docx, xlsx, odt, epub…) are made of.
var genericTypes = map[string]bool{
	"application/octet-stream":     true,
	"text/plain; charset=utf-8":    true,
	"text/plain; charset=utf-16be": true,
	"text/plain; charset=utf-16le": true,
	"application/zip":              true,
	"text/xml; charset=utf-8":      true,
}

// documentTypes are the types of common document extensions that Go's own table lacks.
var documentTypes = map[string]string{
	"doc":  "application/msword",
	"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"xls":  "application/vnd.ms-excel",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"ppt":  "application/vnd.ms-powerpoint",
	"pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	"odt":  "application/vnd.oasis.opendocument.text",
	"ods":  "application/vnd.oasis.opendocument.spreadsheet",
	"odp":  "application/vnd.oasis.opendocument.presentation",
	"csv":  "text/csv",
	"txt":  "text/plain",
	"rtf":  "application/rtf",
	"zip":  "application/zip",
	"rar":  "application/vnd.rar",
	"7z":   "application/x-7z-compressed",
	"apk":  "application/vnd.android.package-archive",
	"epub": "application/epub+zip",
	"mp3":  "audio/mpeg",
	"ogg":  "audio/ogg",
	"m4a":  "audio/mp4",
	"mp4":  "video/mp4",
	"ofx":  "application/x-ofx",
	"xml":  "application/xml",
}

// DocumentType is a document's MIME type: what its bytes tell, else what its extension (without the dot; ""
// for none) names, else application/octet-stream.
func DocumentType(data []byte, ext string) string {
	if sniffed := http.DetectContentType(data); !genericTypes[sniffed] {
		return sniffed
	}
	ext = strings.ToLower(ext)
	if t, ok := documentTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension("." + ext); ext != "" && t != "" {
		return t
	}
	return "application/octet-stream"
}
