package media_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image/jpeg"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/media"
	"github.com/plugzapi/plugzapi/media/mediatest"
)

func TestParse(t *testing.T) {
	png := mediatest.PNG(4, 4, 1)
	std := base64.StdEncoding.EncodeToString(png)
	url := base64.RawURLEncoding.EncodeToString(png)
	wrapped := std[:10] + "\n" + std[10:20] + "\r\n" + std[20:]
	for _, value := range []string{
		"data:image/png;base64," + std,
		"DATA:image/png;BASE64," + std,
		"data:application/octet-stream;name=x.png;base64," + std,
		"data:;base64," + std,
		std,
		strings.TrimRight(std, "="),
		url,
		wrapped,
	} {
		src, err := media.Parse(value)
		if err != nil || !bytes.Equal(src.Data, png) || src.URL != "" {
			t.Errorf("Parse(%.40q…) = %d bytes, URL %q, %v", value, len(src.Data), src.URL, err)
		}
	}
	for _, value := range []string{"https://example.com/a.png", "http://example.com/a.png?x=1", "HTTPS://EXAMPLE.COM/A.PNG"} {
		if src, err := media.Parse(value); err != nil || src.URL != value || src.Data != nil {
			t.Errorf("Parse(%q) = %+v, %v", value, src, err)
		}
	}
	for value, want := range map[string]string{
		"data:image/png;base64,":        "is empty",
		"data:image/png;base64":         "without a comma",
		"data:text/plain,hello":         "not base64",
		"data:image/png;base64,iVBOR%w": "broken base64",
		"not base64 at all!":            "broken base64",
		"ftp://example.com/a.png":       "must be an http(s) URL",
		"   ":                           "is empty",
		"====":                          "is empty",
	} {
		_, err := media.Parse(value)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error saying %q", value, err, want)
		}
	}
}

func TestCheck(t *testing.T) {
	limits := media.DefaultLimits()
	jpg, png, webp := mediatest.JPEG(64, 48, 1), mediatest.PNG(30, 20, 2), mediatest.WebP()
	ogg, m4a, mp3 := mediatest.OggOpus(3*time.Second), mediatest.M4A(2500*time.Millisecond), mediatest.MP3(3*time.Second, false)
	mp4 := mediatest.MP4(4*time.Second, 320, 240, true, 1)
	accepted := []struct {
		kind     media.Kind
		data     []byte
		mimeType string
		duration time.Duration
		w, h     int
		opus     bool
	}{
		{media.Image, jpg, "image/jpeg", 0, 64, 48, false},
		{media.Image, png, "image/png", 0, 30, 20, false},
		{media.Image, webp, "image/webp", 0, 1, 1, false},
		{media.Sticker, webp, "image/webp", 0, 1, 1, false},
		{media.Audio, ogg, "audio/ogg; codecs=opus", 3 * time.Second, 0, 0, true},
		{media.Audio, m4a, "audio/mp4", 2500 * time.Millisecond, 0, 0, false},
		{media.Audio, mp3, "audio/mpeg", mp3Length(3 * time.Second), 0, 0, false},
		{media.Audio, mediatest.MP3(time.Second, true), "audio/mpeg", mp3Length(time.Second), 0, 0, false},
		{media.Audio, append(mediatest.MP3(time.Second, false), "TAG"+strings.Repeat(" ", 125)...), "audio/mpeg",
			mp3Length(time.Second), 0, 0, false},
		{media.Audio, []byte("#!AMR\n\x3c\x00\x00"), "audio/amr", 0, 0, 0, false},
		{media.Audio, []byte{0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC}, "audio/aac", 0, 0, 0, false},
		{media.Video, mp4, "video/mp4", 4 * time.Second, 320, 240, false},
		{media.GIF, mediatest.MP4(time.Second, 100, 80, false, 2), "video/mp4", time.Second, 100, 80, false},
		{media.Document, mediatest.PDF("x"), "application/pdf", 0, 0, 0, false},
		{media.Document, []byte("plain words"), "application/octet-stream", 0, 0, 0, false},
	}
	for _, tt := range accepted {
		f, err := limits.Check(tt.kind, tt.data)
		if err != nil || f.MimeType != tt.mimeType || f.Duration != tt.duration || f.Width != tt.w || f.Height != tt.h ||
			f.Opus != tt.opus || !bytes.Equal(f.Data, tt.data) {
			t.Errorf("Check(%s, %s) = %+v, %v", tt.kind, tt.mimeType, f, err)
		}
	}

	brokenJPEG := append(jpg[:20:20], 0, 0, 0)
	refused := []struct {
		kind media.Kind
		data []byte
		want string
	}{
		{media.Image, nil, "is empty"},
		{media.Image, []byte("GIF89a……"), "not a JPEG, PNG or WebP picture"},
		{media.Image, brokenJPEG, "not a JPEG, PNG or WebP picture"},
		{media.Image, mediatest.PDF("x"), "not a JPEG, PNG or WebP picture"},
		{media.Image, mp4, "not a JPEG, PNG or WebP picture"},
		{media.Sticker, png, "not a WebP picture"},
		{media.Sticker, jpg, "not a WebP picture"},
		{media.Audio, jpg, "not Ogg/Opus, MP3, M4A, AAC or AMR audio"},
		{media.Audio, mp4, "not Ogg/Opus"},                           // a video is not a recording
		{media.Audio, []byte("OggS\x00\x02 vorbis"), "not Ogg/Opus"}, // Ogg, but not Opus
		{media.Audio, []byte("just some text"), "not Ogg/Opus"},
		{media.Video, m4a, "not an MP4 video"},
		{media.Video, ogg, "not an MP4 video"},
		{media.Video, jpg, "not an MP4 video"},
		{media.GIF, []byte("GIF89a……"), "not an MP4 video"},
		{media.Video, []byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"), "not an MP4 video"}, // no moov
		{media.Document, []byte{}, "is empty"},
	}
	for _, tt := range refused {
		if _, err := limits.Check(tt.kind, tt.data); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Check(%s, %.20q) = %v, want an error saying %q", tt.kind, tt.data, err, tt.want)
		}
	}

	small := media.Limits{Image: 100, Audio: 100, Video: 100, Document: 100, Sticker: 10}
	for kind, data := range map[media.Kind][]byte{media.Image: jpg, media.Sticker: webp, media.Audio: ogg, media.Video: mp4, media.GIF: mp4, media.Document: mediatest.PDF(strings.Repeat("x", 100))} {
		_, err := small.Check(kind, data)
		var tooLarge *media.TooLargeError
		if !errors.As(err, &tooLarge) || tooLarge.Limit != small.Of(kind) {
			t.Errorf("Check(%s) of %d bytes over the limit = %v", kind, len(data), err)
		}
	}
	if _, err := small.Check(media.Sticker, webp[:10]); err == nil || !strings.Contains(err.Error(), "WebP") {
		t.Errorf("a sticker of exactly the limit is checked for its type: %v", err)
	}
	if got := (&media.TooLargeError{Kind: media.Image, Limit: 16 * media.MiB}).Error(); got != "is larger than the image limit of 16 MiB" {
		t.Errorf("TooLargeError = %q", got)
	}
}

func TestOggOpusDuration(t *testing.T) {
	for _, d := range []time.Duration{20 * time.Millisecond, time.Second, 61500 * time.Millisecond} {
		f, err := media.DefaultLimits().Check(media.Audio, mediatest.OggOpus(d))
		if err != nil || f.Duration != d {
			t.Errorf("Ogg/Opus of %s: duration %s, %v", d, f.Duration, err)
		}
	}
	// A recording cut short: its length is that of its whole pages.
	full := mediatest.OggOpus(2 * time.Second)
	f, err := media.DefaultLimits().Check(media.Audio, full[:len(full)-10])
	if err != nil || f.Duration != 2*time.Second-20*time.Millisecond {
		t.Errorf("truncated Ogg/Opus: duration %s, %v", f.Duration, err)
	}
	// Headers only: an Opus file, of unknown length.
	headers := mediatest.OggOpus(0)
	if f, err := media.DefaultLimits().Check(media.Audio, headers); err != nil || !f.Opus || f.Duration != 0 {
		t.Errorf("Ogg/Opus headers only = %+v, %v", f, err)
	}
}

func TestDocumentType(t *testing.T) {
	zip := []byte("PK\x03\x04\x14\x00\x06\x00rest of a zip")
	for _, tt := range []struct {
		data []byte
		ext  string
		want string
	}{
		{mediatest.PDF("x"), "pdf", "application/pdf"},
		{mediatest.PDF("x"), "txt", "application/pdf"}, // the bytes tell
		{zip, "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{zip, "XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
		{zip, "zip", "application/zip"},
		{zip, "", "application/octet-stream"},
		{[]byte("a,b\n1,2\n"), "csv", "text/csv"},
		{[]byte("hello"), "json", "application/json"},
		{[]byte("hello"), "weird", "application/octet-stream"},
		{mediatest.PNG(2, 2, 0), "bin", "image/png"},
	} {
		if got := media.DocumentType(tt.data, tt.ext); got != tt.want {
			t.Errorf("DocumentType(%.10q, %q) = %q, want %q", tt.data, tt.ext, got, tt.want)
		}
	}
}

func TestThumbnail(t *testing.T) {
	for _, tt := range []struct {
		data         []byte
		w, h, tw, th int
	}{
		{mediatest.JPEG(400, 200, 1), 400, 200, 100, 50},
		{mediatest.PNG(50, 300, 1), 50, 300, 16, 100},
		{mediatest.PNG(20, 10, 1), 20, 10, 20, 10}, // small pictures are not enlarged
		{mediatest.WebP(), 1, 1, 1, 1},
	} {
		thumb, w, h, err := media.Thumbnail(tt.data, 100)
		if err != nil || w != tt.w || h != tt.h {
			t.Fatalf("Thumbnail = %dx%d, %v", w, h, err)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(thumb))
		if err != nil || cfg.Width != tt.tw || cfg.Height != tt.th {
			t.Errorf("thumbnail of %dx%d is %dx%d (%v), want %dx%d", w, h, cfg.Width, cfg.Height, err, tt.tw, tt.th)
		}
	}
	if _, _, _, err := media.Thumbnail([]byte("not a picture"), 100); err == nil {
		t.Error("Thumbnail of garbage succeeded")
	}
}

// Profile and group pictures are square JPEGs: the centre of the picture, never enlarged.
func TestSquareJPEG(t *testing.T) {
	for _, tt := range []struct {
		data []byte
		side int
	}{
		{mediatest.JPEG(1000, 400, 1), 400},
		{mediatest.JPEG(2000, 1000, 1), 640},
		{mediatest.PNG(300, 900, 1), 300},
		{mediatest.PNG(20, 10, 1), 10},
	} {
		out, err := media.SquareJPEG(tt.data, 640)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(out))
		if err != nil || cfg.Width != tt.side || cfg.Height != tt.side {
			t.Errorf("square picture is %dx%d (%v), want %dx%d", cfg.Width, cfg.Height, err, tt.side, tt.side)
		}
	}
	if _, err := media.SquareJPEG([]byte("not a picture"), 640); err == nil {
		t.Error("SquareJPEG of garbage succeeded")
	}
}

func TestLimits(t *testing.T) {
	l := media.DefaultLimits()
	if err := l.Validate(); err != nil || l.Of(media.GIF) != l.Video || l.Largest() != 100*media.MiB {
		t.Errorf("DefaultLimits = %+v, %v", l, err)
	}
	l.Sticker = 0
	if err := l.Validate(); err == nil || !strings.Contains(err.Error(), "sticker") {
		t.Errorf("Validate with a zero sticker limit = %v", err)
	}
}

// A voice note's bars follow its sound and its pauses, as the sizes of its packets tell them; silence is flat.
func TestOpusWaveform(t *testing.T) {
	f, err := media.DefaultLimits().Check(media.Audio, mediatest.OggOpusVoice(4*time.Second))
	if err != nil || f.Duration != 4*time.Second || len(f.Waveform) != 64 {
		t.Fatalf("voice: %v, %s, %d bars", err, f.Duration, len(f.Waveform))
	}
	// Seconds 0 and 2 are sound, 1 and 3 silence: 16 bars each.
	for i, bar := range f.Waveform {
		sound := (i/16)%2 == 0
		if sound != (bar > 0) || bar > 100 {
			t.Errorf("bar %d = %d (sound: %v); bars %v", i, bar, sound, f.Waveform)
			break
		}
	}
	if peak := slices.Max(f.Waveform); peak < 90 {
		t.Errorf("the loudest bar is %d, want about 100: %v", peak, f.Waveform)
	}
	silent, err := media.DefaultLimits().Check(media.Audio, mediatest.OggOpus(time.Second))
	if err != nil || len(silent.Waveform) != 64 || slices.Max(silent.Waveform) != 0 {
		t.Errorf("silence: %v, bars %v", err, silent.Waveform)
	}
	short, err := media.DefaultLimits().Check(media.Audio, mediatest.OggOpusVoice(200*time.Millisecond))
	if err != nil || len(short.Waveform) != 64 {
		t.Errorf("fewer packets than bars: %v, bars %v", err, short.Waveform)
	}
}

// mp3Length is the length of mediatest.MP3(d): whole frames of 1152 samples at 44.1 kHz.
func mp3Length(d time.Duration) time.Duration {
	return time.Duration(mediatest.MP3Frames(d)) * 1152 * time.Second / 44100
}
