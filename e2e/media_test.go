package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/media/mediatest"
	"github.com/plugzapi/plugzapi/wasim"
)

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func dataURI(mimeType string, b []byte) string {
	return "data:" + mimeType + ";base64," + base64.StdEncoding.EncodeToString(b)
}

// fileServer serves files for the server to fetch, as a client's web server would: by path, with a 404 for any
// other path. /endless.jpg sends picture bytes without end.
func fileServer(t *testing.T, files map[string][]byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/endless.jpg" {
			w.Header().Set("Content-Type", "image/jpeg")
			chunk := bytes.Repeat([]byte{0xFF}, 64<<10)
			for range 1024 { // 64 MiB if read to the end
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			return
		}
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// mediaCase is one message of TestSendMedia: a route, its body, and what the contact's phone must show.
type mediaCase struct {
	name  string
	route string
	body  map[string]any
	file  []byte // the bytes the phone must download (nil: none)
	want  wasim.Message
	// check, when set, checks what want cannot say.
	check func(t *testing.T, got wasim.Message)
}

// TestSendMedia: every route that sends a file, once with the file in base64 and once by URL (the server
// fetches it from a web server on this machine, which PLUGZAPI_ALLOW_INSECURE_MEDIA allows): the contact's
// phone gets exactly that file (its SHA-256 is the SHA-256 of the bytes given), of that type, with that caption,
// file name, voice-note flag…, under the message ID the API returned, and SENT and RECEIVED follow. Then bad
// media: a URL that is not found, one whose file is too large, one whose file is not of the kind each fail
// their message with a DeliveryCallback that says why, and the next message still goes; broken base64, a file
// over the limit and a file of the wrong kind are 400s at once. Last, none of the files is anywhere in the
// data directory.
func TestSendMedia(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim, withEnv("PLUGZAPI_ALLOW_INSECURE_MEDIA", "1"), withEnv("PLUGZAPI_MAX_IMAGE_SIZE", "1MiB"))
	in := createInstance(t, srv, "media", hooks)
	link(t, in, business)

	jpg, png, webp := mediatest.JPEG(320, 240, 1), mediatest.PNG(200, 100, 2), mediatest.WebP()
	mp4, gif := mediatest.MP4(3*time.Second, 320, 240, true, 1), mediatest.MP4(2*time.Second, 160, 120, false, 2)
	ogg, mp3 := mediatest.OggOpusVoice(3200*time.Millisecond), mediatest.MP3(2*time.Second, true)
	pdf, csv := mediatest.PDF(marker("document-secret")), []byte("sku,qty\n"+marker("sheet-secret")+",1\n")
	linkJPEG := mediatest.JPEG(800, 400, 3)
	files := fileServer(t, map[string][]byte{
		"/photo.png": png, "/clip.mp4": mp4, "/loop.mp4": gif, "/song.mp3": mp3, "/files/stock.csv": csv,
		"/sticker.webp": webp, "/preview.png": png, "/note.ogg": ogg, "/not-a-picture.jpg": []byte("<html>nope</html>"),
	})
	url := func(path string) string { return files.URL + path }
	first := sendText(t, in, alicePhone, "your order")

	cases := []mediaCase{
		{name: "image in base64, quoting", route: "send-image",
			body: map[string]any{"image": dataURI("image/jpeg", jpg), "caption": "Your *order*", "messageId": first},
			file: jpg, want: wasim.Message{Type: "image", MimeType: "image/jpeg", Caption: "Your *order*", QuotedID: first, Width: 320, Height: 240},
			check: func(t *testing.T, got wasim.Message) {
				if got.ThumbnailSize == 0 {
					t.Error("the image came without its thumbnail")
				}
			}},
		{name: "image by URL, view once", route: "send-image", body: map[string]any{"image": url("/photo.png"), "viewOnce": true},
			file: png, want: wasim.Message{Type: "image", MimeType: "image/png", ViewOnce: true, Width: 200, Height: 100}},
		{name: "sticker in base64", route: "send-sticker", body: map[string]any{"sticker": dataURI("image/webp", webp)},
			file: webp, want: wasim.Message{Type: "sticker", MimeType: "image/webp", Width: 1, Height: 1}},
		{name: "sticker by URL", route: "send-sticker", body: map[string]any{"sticker": url("/sticker.webp")},
			file: webp, want: wasim.Message{Type: "sticker", MimeType: "image/webp", Width: 1, Height: 1}},
		{name: "gif in base64", route: "send-gif", body: map[string]any{"gif": dataURI("video/mp4", gif), "caption": "lol"},
			file: gif, want: wasim.Message{Type: "video", MimeType: "video/mp4", Caption: "lol", GIF: true, Seconds: 2, Width: 160, Height: 120}},
		{name: "gif by URL", route: "send-gif", body: map[string]any{"gif": url("/loop.mp4")},
			file: gif, want: wasim.Message{Type: "video", MimeType: "video/mp4", GIF: true, Seconds: 2, Width: 160, Height: 120}},
		{name: "voice note in base64, recording first", route: "send-audio",
			body: map[string]any{"audio": base64.StdEncoding.EncodeToString(ogg), "delayTyping": 1},
			file: ogg, want: wasim.Message{Type: "ptt", MimeType: "audio/ogg; codecs=opus", Seconds: 3},
			check: func(t *testing.T, got wasim.Message) {
				// Its bars: sound in its first second, silence in its second.
				if len(got.Waveform) != 64 || got.Waveform[5] == 0 || got.Waveform[25] != 0 {
					t.Errorf("the voice note's waveform is %v", got.Waveform)
				}
				for _, s := range alice.ChatStates() {
					if s.From == businessPhone && s.State == "recording" && !s.Time.After(got.Time.Add(time.Second)) {
						return
					}
				}
				t.Errorf("Alice's phone did not see the business recording: %+v", alice.ChatStates())
			}},
		{name: "voice note by URL, view once", route: "send-audio", body: map[string]any{"audio": url("/note.ogg"), "viewOnce": true},
			file: ogg, want: wasim.Message{Type: "ptt", MimeType: "audio/ogg; codecs=opus", Seconds: 3, ViewOnce: true}},
		{name: "an MP3 goes as an audio file", route: "send-audio", body: map[string]any{"audio": url("/song.mp3")},
			file: mp3, want: wasim.Message{Type: "audio", MimeType: "audio/mpeg", Seconds: 2}},
		{name: "video in base64", route: "send-video", body: map[string]any{"video": dataURI("video/mp4", mp4), "caption": "the film"},
			file: mp4, want: wasim.Message{Type: "video", MimeType: "video/mp4", Caption: "the film", Seconds: 3, Width: 320, Height: 240}},
		{name: "video by URL, view once", route: "send-video", body: map[string]any{"video": url("/clip.mp4"), "viewOnce": true},
			file: mp4, want: wasim.Message{Type: "video", MimeType: "video/mp4", ViewOnce: true, Seconds: 3, Width: 320, Height: 240}},
		{name: "document in base64", route: "send-document/pdf",
			body: map[string]any{"document": dataURI("application/pdf", pdf), "fileName": "report.pdf", "caption": "sign it"},
			file: pdf, want: wasim.Message{Type: "document", MimeType: "application/pdf", FileName: "report.pdf", Caption: "sign it"}},
		{name: "document by URL, named by it", route: "send-document/csv", body: map[string]any{"document": url("/files/stock.csv")},
			file: csv, want: wasim.Message{Type: "document", MimeType: "text/csv", FileName: "stock.csv"}},
		{name: "large link preview in base64", route: "send-link",
			body: map[string]any{"message": "New: https://shop.example.com/p/1", "linkUrl": "https://shop.example.com/p/1",
				"title": "Product", "linkDescription": "The best one", "image": dataURI("image/jpeg", linkJPEG), "linkType": "LARGE"},
			file: linkJPEG, want: wasim.Message{Type: "text", Width: 800, Height: 400,
				Link: &wasim.LinkPreview{URL: "https://shop.example.com/p/1", Title: "Product", Description: "The best one"}}},
		{name: "small link preview by URL", route: "send-link",
			body: map[string]any{"message": "https://shop.example.com/p/2", "linkUrl": "https://shop.example.com/p/2",
				"title": "Other", "linkDescription": "Also good", "image": url("/preview.png")},
			want: wasim.Message{Type: "text", Link: &wasim.LinkPreview{URL: "https://shop.example.com/p/2", Title: "Other", Description: "Also good"}}},
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		c.body["phone"] = alicePhone
		res := in.call(t, "POST", c.route, c.body)
		if res.status != http.StatusOK {
			t.Fatalf("%s: %s", c.name, res)
		}
		var q struct{ ZaapID, MessageID, ID string }
		res.decode(t, &q)
		if q.MessageID == "" || q.ZaapID == "" || q.ID != q.MessageID {
			t.Fatalf("%s: answered %s", c.name, res.body)
		}
		ids[i] = q.MessageID
	}
	for i, c := range cases {
		got := waitMessage(t, alice, ids[i])
		want := c.want
		if c.file != nil {
			want.MediaSHA256, want.MediaSize = sha256Hex(c.file), int64(len(c.file))
		}
		if got.Type != want.Type || got.MimeType != want.MimeType || got.Caption != want.Caption || got.FileName != want.FileName ||
			got.QuotedID != want.QuotedID || got.ViewOnce != want.ViewOnce || got.GIF != want.GIF || got.Seconds != want.Seconds ||
			got.Width != want.Width || got.Height != want.Height || got.MediaSHA256 != want.MediaSHA256 ||
			got.MediaSize != want.MediaSize || got.MediaError != "" || got.From != businessPhone ||
			(want.Link != nil) != (got.Link != nil) || (want.Link != nil && *got.Link != *want.Link) {
			t.Errorf("%s: Alice's phone got\n%+v (link %+v)\nwant\n%+v (link %+v)", c.name, got, got.Link, want, want.Link)
		}
		if c.route == "send-link" && got.ThumbnailSize == 0 {
			t.Errorf("%s: the preview came without its thumbnail", c.name)
		}
		if c.check != nil {
			c.check(t, got)
		}
		if d := hooks.waitFor(t, c.name+" delivered", delivery(ids[i])); d.Body["error"] != nil {
			t.Errorf("%s: DeliveryCallback = %s", c.name, d.Raw)
		}
		hooks.waitFor(t, c.name+" SENT", status("SENT", ids[i]))
		hooks.waitFor(t, c.name+" RECEIVED", status("RECEIVED", ids[i]))
	}
	// A voice note listened to is PLAYED.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	voice := ids[slices.IndexFunc(cases, func(c mediaCase) bool { return c.want.Type == "ptt" })]
	if err := alice.MarkPlayed(ctx, businessPhone, voice); err != nil {
		t.Fatalf("Alice plays the voice note: %v", err)
	}
	hooks.waitFor(t, "PLAYED", status("PLAYED", voice))

	t.Run("bad media", func(t *testing.T) {
		failing := map[string]string{
			url("/missing.jpg"):       "Message not send caused by invalid media url: the server answered 404 Not Found",
			url("/endless.jpg"):       "Message not send caused by invalid media url: the file is larger than 1048576 bytes",
			url("/not-a-picture.jpg"): "Message not send caused by invalid media url: the file is not a JPEG, PNG or WebP picture",
		}
		failed := map[string]string{}
		for u := range failing {
			res := in.call(t, "POST", "send-image", map[string]any{"phone": alicePhone, "image": u})
			if res.status != http.StatusOK {
				t.Fatalf("send-image %s: %s", u, res)
			}
			var q struct{ MessageID string }
			res.decode(t, &q)
			failed[q.MessageID] = u
		}
		next := sendText(t, in, alicePhone, "after the bad ones")
		for id, u := range failed {
			d := hooks.waitFor(t, "failed delivery of "+u, delivery(id))
			if d.str("error") != failing[u] {
				t.Errorf("DeliveryCallback for %s: error %q, want %q", u, d.str("error"), failing[u])
			}
			if _, n := findMessage(alice, id); n != 0 {
				t.Errorf("Alice got the message whose file at %s could not be sent", u)
			}
		}
		if got := waitMessage(t, alice, next); got.Text != "after the bad ones" {
			t.Errorf("the message after the bad ones arrived as %+v", got)
		}

		big := append(bytes.Clone(jpg), make([]byte, 1<<20)...) // a JPEG with trailing bytes, over 1 MiB
		for name, tc := range map[string]struct {
			body map[string]any
			says string
		}{
			"broken base64":     {map[string]any{"image": "data:image/jpeg;base64,/9j/4AAQ%%%"}, "image holds broken base64"},
			"over the limit":    {map[string]any{"image": dataURI("image/jpeg", big)}, "image is larger than the image limit of 1 MiB"},
			"of the wrong kind": {map[string]any{"image": dataURI("image/jpeg", pdf)}, "image is not a JPEG, PNG or WebP picture"},
		} {
			tc.body["phone"] = alicePhone
			res := in.call(t, "POST", "send-image", tc.body)
			var e struct {
				Error, Code string
				Fields      []string
			}
			res.decode(t, &e)
			if res.status != http.StatusBadRequest || e.Code != "invalid_media" || !strings.Contains(e.Error, tc.says) ||
				len(e.Fields) != 1 || e.Fields[0] != "image" {
				t.Errorf("%s: %s, want a 400 invalid_media saying %q", name, res, tc.says)
			}
		}
	})

	// Privacy: the files waited in the vault, encrypted, and were destroyed when sent; fetched files were never
	// stored. Each is looked for whole and by a stretch from its middle, raw and in base64.
	srv.stop() // a clean stop checkpoints the write-ahead log into the database file
	if len(findInDatabase(t, srv, []byte(in.id))) == 0 {
		t.Fatal("the search finds not even the instance ID in the database: it would miss the files too")
	}
	for name, f := range map[string][]byte{"jpeg": jpg, "png": png, "mp4": mp4, "gif": gif, "ogg": ogg, "mp3": mp3,
		"pdf": pdf, "csv": csv, "link picture": linkJPEG} {
		mid := f[len(f)/2-min(len(f)/4, 32) : len(f)/2+min(len(f)/4, 32)]
		for _, needle := range [][]byte{mid, []byte(base64.StdEncoding.EncodeToString(f)[len(f)/2 : len(f)/2+32])} {
			if files := findAtRest(t, srv, needle); len(files) > 0 {
				t.Errorf("the %s file is in %v after it was sent", name, files)
			}
		}
	}
}
