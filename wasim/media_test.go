package wasim_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/wasim"
)

// mediaCase is one kind of media message, with what the recipient must see.
type mediaCase struct {
	kind     wasim.MediaKind
	appInfo  whatsmeow.MediaType
	mimeType string
	caption  string
	fileName string
	ptt      bool
	wantType string // the inbox type
}

var mediaCases = []mediaCase{
	{kind: wasim.MediaImage, appInfo: whatsmeow.MediaImage, mimeType: "image/jpeg", caption: "a picture", wantType: "image"},
	{kind: wasim.MediaAudio, appInfo: whatsmeow.MediaAudio, mimeType: "audio/ogg; codecs=opus", ptt: true, wantType: "ptt"},
	{kind: wasim.MediaVideo, appInfo: whatsmeow.MediaVideo, mimeType: "video/mp4", caption: "a film", wantType: "video"},
	{kind: wasim.MediaDocument, appInfo: whatsmeow.MediaDocument, mimeType: "application/pdf", caption: "the report", fileName: "report.pdf", wantType: "document"},
	{kind: wasim.MediaSticker, appInfo: whatsmeow.MediaImage, mimeType: "image/webp", wantType: "sticker"},
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// mediaMessage builds the message a client sends for an upload, as whatsmeow's
// documentation shows it.
func mediaMessage(mc mediaCase, up whatsmeow.UploadResponse) *waE2E.Message {
	url, path, length := proto.String(up.URL), proto.String(up.DirectPath), proto.Uint64(up.FileLength)
	mime := proto.String(mc.mimeType)
	switch mc.kind {
	case wasim.MediaImage:
		return &waE2E.Message{ImageMessage: &waE2E.ImageMessage{Caption: proto.String(mc.caption), Mimetype: mime,
			URL: url, DirectPath: path, MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: length}}
	case wasim.MediaAudio:
		return &waE2E.Message{AudioMessage: &waE2E.AudioMessage{PTT: proto.Bool(mc.ptt), Mimetype: mime,
			URL: url, DirectPath: path, MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: length}}
	case wasim.MediaVideo:
		return &waE2E.Message{VideoMessage: &waE2E.VideoMessage{Caption: proto.String(mc.caption), Mimetype: mime,
			URL: url, DirectPath: path, MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: length}}
	case wasim.MediaDocument:
		return &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{Caption: proto.String(mc.caption), Mimetype: mime,
			FileName: proto.String(mc.fileName), URL: url, DirectPath: path, MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: length}}
	default:
		return &waE2E.Message{StickerMessage: &waE2E.StickerMessage{Mimetype: mime,
			URL: url, DirectPath: path, MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: length}}
	}
}

// downloadable returns the media part of a received message.
func downloadable(t *testing.T, m *waE2E.Message) whatsmeow.DownloadableMessage {
	t.Helper()
	switch {
	case m.GetImageMessage() != nil:
		return m.GetImageMessage()
	case m.GetAudioMessage() != nil:
		return m.GetAudioMessage()
	case m.GetVideoMessage() != nil:
		return m.GetVideoMessage()
	case m.GetDocumentMessage() != nil:
		return m.GetDocumentMessage()
	case m.GetStickerMessage() != nil:
		return m.GetStickerMessage()
	}
	t.Fatalf("message has no media: %v", m)
	return nil
}

// Media goes both ways between a client and a simulated phone for every kind: the
// uploader encrypts, the simulator stores the ciphertext, the downloader's hash and
// MAC checks pass and it gets the very bytes that were sent, by URL and by direct
// path.
func TestMedia(t *testing.T) {
	t.Parallel()
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim)
	c.link(alice)
	ctx := testContext(t)

	t.Run("client to phone", func(t *testing.T) {
		for i, mc := range mediaCases {
			data := randomBytes(t, 1500+i*100)
			up, err := c.cli.Upload(ctx, data, mc.appInfo)
			if err != nil {
				t.Fatalf("%s: upload: %v", mc.kind, err)
			}
			resp, err := c.cli.SendMessage(ctx, bob.JID(), mediaMessage(mc, up))
			if err != nil {
				t.Fatalf("%s: send: %v", mc.kind, err)
			}
			got := waitInbox(t, bob, resp.ID)
			if got.MediaError != "" || got.MediaSHA256 != sha256Hex(data) || got.MediaSize != int64(len(data)) {
				t.Errorf("%s: the phone downloaded sha %s size %d (error %q), want %s size %d",
					mc.kind, got.MediaSHA256, got.MediaSize, got.MediaError, sha256Hex(data), len(data))
			}
			if got.Type != mc.wantType || got.MimeType != mc.mimeType || got.Caption != mc.caption || got.FileName != mc.fileName {
				t.Errorf("%s: inbox entry %+v", mc.kind, got)
			}
			again, msg, err := bob.MediaData(ctx, resp.ID)
			if err != nil || !bytes.Equal(again, data) || msg.ID != resp.ID {
				t.Errorf("%s: MediaData = %d bytes, %v", mc.kind, len(again), err)
			}
		}
	})

	t.Run("phone to client", func(t *testing.T) {
		for i, mc := range mediaCases {
			data := randomBytes(t, 1200+i*100)
			from := c.mark()
			id, err := bob.SendMedia(ctx, alice.Phone(), wasim.Media{
				Kind: mc.kind, Data: data, MimeType: mc.mimeType, Caption: mc.caption, FileName: mc.fileName, PTT: mc.ptt,
			})
			if err != nil {
				t.Fatalf("%s: phone sends: %v", mc.kind, err)
			}
			evt := waitEvent[*events.Message](c, from, isMessage(id))
			dl := downloadable(t, evt.Message)
			byURL, err := c.cli.Download(ctx, dl)
			if err != nil || !bytes.Equal(byURL, data) {
				t.Fatalf("%s: download by URL: %d bytes, %v", mc.kind, len(byURL), err)
			}
			byPath, err := c.cli.DownloadMediaWithPath(ctx, dl.GetDirectPath(), dl.GetFileEncSHA256(), dl.GetFileSHA256(),
				dl.GetMediaKey(), len(data), mc.appInfo, "")
			if err != nil || !bytes.Equal(byPath, data) {
				t.Fatalf("%s: download by direct path: %d bytes, %v", mc.kind, len(byPath), err)
			}
			switch mc.kind {
			case wasim.MediaImage:
				if m := evt.Message.GetImageMessage(); m.GetCaption() != mc.caption || m.GetMimetype() != mc.mimeType {
					t.Errorf("image caption %q mime %q", m.GetCaption(), m.GetMimetype())
				}
			case wasim.MediaAudio:
				if !evt.Message.GetAudioMessage().GetPTT() {
					t.Error("voice note arrived without ptt")
				}
			case wasim.MediaDocument:
				if m := evt.Message.GetDocumentMessage(); m.GetFileName() != mc.fileName || m.GetCaption() != mc.caption {
					t.Errorf("document name %q caption %q", m.GetFileName(), m.GetCaption())
				}
			case wasim.MediaSticker:
				if evt.Message.GetStickerMessage().GetMimetype() != "image/webp" {
					t.Error("sticker without its mime type")
				}
			}
		}
	})

	t.Run("tampered media fails the client's checks", func(t *testing.T) {
		data := randomBytes(t, 1000)
		up, err := c.cli.Upload(ctx, data, whatsmeow.MediaImage)
		if err != nil {
			t.Fatal(err)
		}
		// The right ciphertext under the wrong key fails the MAC check.
		key := bytes.Clone(up.MediaKey)
		key[0] ^= 1
		if _, err := c.cli.DownloadMediaWithPath(ctx, up.DirectPath, up.FileEncSHA256, up.FileSHA256, key, len(data),
			whatsmeow.MediaImage, ""); err == nil {
			t.Error("download with a wrong media key succeeded")
		}
		// A hash that is not the uploaded one is not served.
		wrong := bytes.Clone(up.FileEncSHA256)
		wrong[0] ^= 1
		if _, err := c.cli.DownloadMediaWithPath(ctx, up.DirectPath, wrong, up.FileSHA256, up.MediaKey, len(data),
			whatsmeow.MediaImage, ""); err == nil {
			t.Error("download with a wrong file hash succeeded")
		}
	})

	if _, err := bob.SendMedia(ctx, alice.Phone(), wasim.Media{Kind: "hologram", Data: []byte("x")}); err == nil {
		t.Error("unknown media kind accepted")
	}
	if _, err := bob.SendMedia(ctx, alice.Phone(), wasim.Media{Kind: wasim.MediaImage}); err == nil {
		t.Error("media without data accepted")
	}
	if _, _, err := bob.MediaData(ctx, "no-such-id"); err == nil {
		t.Error("MediaData of an unknown message succeeded")
	}
}

// A phone shows what a media message declares (view once, GIF playback, length, size, thumbnail, a link's
// preview) and downloads what it carries, link previews' high-quality pictures included. Like a real phone it
// refuses media that is not what the message says it is: a hash, a length or a key derivation that does not
// match the upload leaves the message without its file (MediaError), however well the upload itself went.
func TestMediaMessageDetails(t *testing.T) {
	t.Parallel()
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim)
	c.link(alice)
	ctx := testContext(t)
	send := func(msg *waE2E.Message) wasim.Message {
		t.Helper()
		resp, err := c.cli.SendMessage(ctx, bob.JID(), msg)
		if err != nil {
			t.Fatalf("send: %v", err)
		}
		return waitInbox(t, bob, resp.ID)
	}
	upload := func(data []byte, kind whatsmeow.MediaType) whatsmeow.UploadResponse {
		t.Helper()
		up, err := c.cli.Upload(ctx, data, kind)
		if err != nil {
			t.Fatal(err)
		}
		return up
	}

	data := randomBytes(t, 2000)
	up := upload(data, whatsmeow.MediaVideo)
	got := send(&waE2E.Message{ViewOnceMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{VideoMessage: &waE2E.VideoMessage{
		URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256,
		FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength), Mimetype: proto.String("video/mp4"),
		GifPlayback: proto.Bool(true), ViewOnce: proto.Bool(true), Seconds: proto.Uint32(3), Width: proto.Uint32(320),
		Height: proto.Uint32(240), JPEGThumbnail: []byte{0xFF, 0xD8, 0xFF},
	}}}})
	if got.Type != "video" || !got.GIF || !got.ViewOnce || got.Seconds != 3 || got.Width != 320 || got.Height != 240 ||
		got.ThumbnailSize != 3 || got.MediaSHA256 != sha256Hex(data) {
		t.Errorf("view-once GIF arrived as %+v", got)
	}

	picture := randomBytes(t, 3000)
	up = upload(picture, whatsmeow.MediaLinkThumbnail)
	got = send(&waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
		Text: proto.String("see https://example.com/p"), MatchedText: proto.String("https://example.com/p"),
		Title: proto.String("Product"), Description: proto.String("The best"), JPEGThumbnail: []byte{1, 2, 3, 4},
		ThumbnailDirectPath: proto.String(up.DirectPath), ThumbnailSHA256: up.FileSHA256, ThumbnailEncSHA256: up.FileEncSHA256,
		MediaKey: up.MediaKey, ThumbnailWidth: proto.Uint32(640), ThumbnailHeight: proto.Uint32(480),
	}})
	if got.Type != "text" || got.Link == nil || *got.Link != (wasim.LinkPreview{URL: "https://example.com/p", Title: "Product", Description: "The best"}) ||
		got.ThumbnailSize != 4 || got.Width != 640 || got.MediaSHA256 != sha256Hex(picture) || got.MediaError != "" {
		t.Errorf("link preview arrived as %+v (link %+v)", got, got.Link)
	}

	data = randomBytes(t, 1500)
	up = upload(data, whatsmeow.MediaImage)
	image := func(change func(*waE2E.ImageMessage)) *waE2E.Message {
		im := &waE2E.ImageMessage{URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath), MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: proto.Uint64(up.FileLength),
			Mimetype: proto.String("image/jpeg")}
		change(im)
		return &waE2E.Message{ImageMessage: im}
	}
	for name, msg := range map[string]*waE2E.Message{
		"a wrong file hash": image(func(im *waE2E.ImageMessage) { im.FileSHA256 = bytes.Repeat([]byte{7}, 32) }),
		"a wrong length":    image(func(im *waE2E.ImageMessage) { im.FileLength = proto.Uint64(up.FileLength + 1) }),
		"no length":         image(func(im *waE2E.ImageMessage) { im.FileLength = nil }),
		"a wrong key":       image(func(im *waE2E.ImageMessage) { im.MediaKey = bytes.Repeat([]byte{1}, 32) }),
		// Uploaded as an image, sent as a document: the keys derive differently, the MAC fails.
		"another kind": {DocumentMessage: &waE2E.DocumentMessage{URL: proto.String(up.URL), DirectPath: proto.String(up.DirectPath),
			MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256,
			FileLength: proto.Uint64(up.FileLength), Mimetype: proto.String("application/pdf"), FileName: proto.String("x.pdf")}},
	} {
		if got := send(msg); got.MediaError == "" || got.MediaSHA256 != "" {
			t.Errorf("a media message with %s arrived with its file: %+v", name, got)
		}
	}
	if got := send(image(func(*waE2E.ImageMessage) {})); got.MediaError != "" || got.MediaSHA256 != sha256Hex(data) {
		t.Errorf("the untampered image arrived as %+v", got)
	}

	// Forwarded: the phone shows it ("Forwarded many times" from a score of 4), and downloads the file it names;
	// a view-once file never comes forwarded from WhatsApp's apps, and the phone does not show one.
	forwarded := &waE2E.ContextInfo{IsForwarded: proto.Bool(true), ForwardingScore: proto.Uint32(4)}
	if got := send(image(func(im *waE2E.ImageMessage) { im.ContextInfo = forwarded })); !got.Forwarded || got.ForwardingScore != 4 ||
		got.MediaSHA256 != sha256Hex(data) {
		t.Errorf("the forwarded image arrived as %+v", got)
	}
	once := image(func(im *waE2E.ImageMessage) { im.ContextInfo, im.ViewOnce = forwarded, proto.Bool(true) })
	if got := send(&waE2E.Message{ViewOnceMessageV2: &waE2E.FutureProofMessage{Message: once}}); got.MediaError == "" || got.MediaSHA256 != "" {
		t.Errorf("a forwarded view-once image arrived with its file: %+v", got)
	}
}
