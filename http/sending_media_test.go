package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/media"
	"github.com/plugzapi/plugzapi/media/mediatest"
	"github.com/plugzapi/plugzapi/netguard"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

const phone = "5511999999999"

func dataURI(mimeType string, data []byte) string {
	return "data:" + mimeType + ";base64," + base64.StdEncoding.EncodeToString(data)
}

func body(fields map[string]any) string {
	fields["phone"] = phone
	b, err := json.Marshal(fields)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// sent is the message the one Send call queued.
func sent(t *testing.T, s *testServer) *messagesv1.Outbound {
	t.Helper()
	calls := s.app.callsTo("Send")
	if len(calls) != 1 {
		t.Fatalf("Send calls = %d, want 1", len(calls))
	}
	return calls[0].args[1].(*messagesv1.Outbound)
}

func TestSendMedia(t *testing.T) {
	jpg, webp, ogg := mediatest.JPEG(40, 30, 1), mediatest.WebP(), mediatest.OggOpus(2*time.Second)
	mp4, pdf := mediatest.MP4(3*time.Second, 64, 48, true, 1), mediatest.PDF("contract")
	data := func(b []byte, mimeType string) *messagesv1.Media {
		return &messagesv1.Media{Source: &messagesv1.Media_Data{Data: b}, MimeType: mimeType, Size: uint64(len(b))}
	}
	fromURL := func(u string) *messagesv1.Media { return &messagesv1.Media{Source: &messagesv1.Media_Url{Url: u}} }
	with := func(m *messagesv1.Media, change func(*messagesv1.Media)) *messagesv1.Media { change(m); return m }
	cases := []struct {
		name, path string
		body       string
		want       *messagesv1.Content
	}{
		{"image by data URI", "send-image",
			body(map[string]any{"image": dataURI("image/png", jpg), "caption": "the *shop*", "viewOnce": true}),
			&messagesv1.Content{Kind: &messagesv1.Content_Image{Image: with(data(jpg, "image/jpeg"), func(m *messagesv1.Media) {
				m.Caption, m.ViewOnce = "the *shop*", true
			})}}},
		{"image by bare base64", "send-image",
			body(map[string]any{"image": base64.StdEncoding.EncodeToString(jpg)}),
			&messagesv1.Content{Kind: &messagesv1.Content_Image{Image: data(jpg, "image/jpeg")}}},
		{"image by URL", "send-image",
			body(map[string]any{"image": "https://cdn.example.com/a.jpg?x=1", "caption": "c"}),
			&messagesv1.Content{Kind: &messagesv1.Content_Image{Image: with(fromURL("https://cdn.example.com/a.jpg?x=1"), func(m *messagesv1.Media) {
				m.Caption = "c"
			})}}},
		{"sticker", "send-sticker", body(map[string]any{"sticker": dataURI("image/webp", webp)}),
			&messagesv1.Content{Kind: &messagesv1.Content_Sticker{Sticker: data(webp, "image/webp")}}},
		{"gif", "send-gif", body(map[string]any{"gif": dataURI("video/mp4", mp4), "caption": "lol"}),
			&messagesv1.Content{Kind: &messagesv1.Content_Video{Video: with(data(mp4, "video/mp4"), func(m *messagesv1.Media) {
				m.Caption, m.Gif = "lol", true
			})}}},
		{"audio", "send-audio", body(map[string]any{"audio": dataURI("audio/ogg", ogg), "viewOnce": true}),
			&messagesv1.Content{Kind: &messagesv1.Content_Audio{Audio: with(data(ogg, "audio/ogg; codecs=opus"), func(m *messagesv1.Media) {
				m.Voice, m.ViewOnce = true, true
			})}}},
		{"video", "send-video", body(map[string]any{"video": "https://example.com/v.mp4", "caption": "film", "viewOnce": true}),
			&messagesv1.Content{Kind: &messagesv1.Content_Video{Video: with(fromURL("https://example.com/v.mp4"), func(m *messagesv1.Media) {
				m.Caption, m.ViewOnce = "film", true
			})}}},
		{"document with a name", "send-document/pdf",
			body(map[string]any{"document": dataURI("application/pdf", pdf), "fileName": "Contract", "caption": "sign it"}),
			&messagesv1.Content{Kind: &messagesv1.Content_Document{Document: with(data(pdf, "application/pdf"), func(m *messagesv1.Media) {
				m.FileName, m.Title, m.Caption = "Contract.pdf", "Contract.pdf", "sign it"
			})}}},
		{"document named by its URL", "send-document/pdf",
			body(map[string]any{"document": "https://example.com/files/report.PDF?v=2"}),
			&messagesv1.Content{Kind: &messagesv1.Content_Document{Document: with(fromURL("https://example.com/files/report.PDF?v=2"), func(m *messagesv1.Media) {
				m.FileName, m.Title = "report.PDF", "report.PDF"
			})}}},
		{"document of a type the extension names", "send-document/docx",
			body(map[string]any{"document": base64.StdEncoding.EncodeToString([]byte("PK\x03\x04 a docx")), "fileName": "cv.docx"}),
			&messagesv1.Content{Kind: &messagesv1.Content_Document{Document: with(
				data([]byte("PK\x03\x04 a docx"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
				func(m *messagesv1.Media) { m.FileName, m.Title = "cv.docx", "cv.docx" })}}},
		{"document without a name", "send-document/csv", body(map[string]any{"document": base64.StdEncoding.EncodeToString([]byte("a,b\n"))}),
			&messagesv1.Content{Kind: &messagesv1.Content_Document{Document: with(data([]byte("a,b\n"), "text/csv"), func(m *messagesv1.Media) {
				m.FileName, m.Title = "file.csv", "file.csv"
			})}}},
		{"link", "send-link", body(map[string]any{"message": "See https://example.com/p", "linkUrl": "https://example.com/p",
			"title": "Product", "linkDescription": "The best", "image": dataURI("image/jpeg", jpg), "linkType": "large"}),
			&messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: "See https://example.com/p",
				Preview: &messagesv1.LinkPreview{Url: "https://example.com/p", Title: "Product", Description: "The best",
					Image: data(jpg, "image/jpeg"), Size: "LARGE"}}}}},
		{"link of the default size", "send-link", body(map[string]any{"message": "https://example.com/p", "linkUrl": "https://example.com/p",
			"title": "t", "linkDescription": "d", "image": "https://example.com/thumb.png"}),
			&messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: "https://example.com/p",
				Preview: &messagesv1.LinkPreview{Url: "https://example.com/p", Title: "t", Description: "d",
					Image: fromURL("https://example.com/thumb.png"), Size: "SMALL"}}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newTestServer(t, Config{})
			w := s.do(t, req{method: http.MethodPost, path: base + "/" + c.path, body: c.body})
			var got sendResponse
			wantJSON(t, w, 200, &got)
			if m := sent(t, s); m.GetPhone() != phone || !proto.Equal(m.GetContent(), c.want) {
				t.Errorf("queued %v\nwant %v", m.GetContent(), c.want)
			}
		})
	}
}

func TestSendMediaRejects(t *testing.T) {
	jpg := mediatest.JPEG(40, 30, 1)
	small := media.Limits{Image: 500, Audio: 500, Video: 500, Document: 500, Sticker: 500}
	link := func(change map[string]any) string {
		f := map[string]any{"message": "See https://example.com/p", "linkUrl": "https://example.com/p", "title": "t",
			"linkDescription": "d", "image": "https://example.com/i.png"}
		for k, v := range change {
			if v == nil {
				delete(f, k)
			} else {
				f[k] = v
			}
		}
		return body(f)
	}
	cases := []struct {
		name, path, body string
		code             string
		field            string
		says             string
	}{
		{"no image", "send-image", body(map[string]any{"caption": "x"}), codeMissingFields, "image", "missing"},
		{"broken base64", "send-image", body(map[string]any{"image": "data:image/png;base64,iVBOR*w0KGgo"}), codeInvalidMedia, "image", "image holds broken base64"},
		{"empty data URI", "send-image", body(map[string]any{"image": "data:image/png;base64,"}), codeInvalidMedia, "image", "image is empty"},
		{"not a URL nor base64", "send-audio", body(map[string]any{"audio": "file:///etc/passwd"}), codeInvalidMedia, "audio", "must be an http(s) URL"},
		{"a PDF as an image", "send-image", body(map[string]any{"image": dataURI("image/png", mediatest.PDF("x"))}), codeInvalidMedia, "image", "image is not a JPEG, PNG or WebP picture"},
		{"a PNG as a sticker", "send-sticker", body(map[string]any{"sticker": dataURI("image/webp", mediatest.PNG(4, 4, 1))}), codeInvalidMedia, "sticker", "sticker is not a WebP picture"},
		{"a picture as audio", "send-audio", body(map[string]any{"audio": dataURI("audio/ogg", mediatest.PNG(2, 2, 0))}), codeInvalidMedia, "audio", "audio is not Ogg/Opus"},
		{"a recording as a video", "send-video", body(map[string]any{"video": dataURI("video/mp4", mediatest.M4A(time.Second))}), codeInvalidMedia, "video", "video is not an MP4 video"},
		{"a GIF file as a gif", "send-gif", body(map[string]any{"gif": dataURI("image/gif", []byte("GIF89a\x01\x00\x01\x00"))}), codeInvalidMedia, "gif", "gif is not an MP4 video"},
		{"an image over the limit", "send-image", body(map[string]any{"image": dataURI("image/jpeg", jpg)}), codeInvalidMedia, "image", "image is larger than the image limit of 500 bytes"},
		{"a document over the limit", "send-document/pdf", body(map[string]any{"document": dataURI("application/pdf", mediatest.PDF(strings.Repeat("x", 500)))}), codeInvalidMedia, "document", "larger than the document limit"},
		{"an http URL", "send-image", body(map[string]any{"image": "http://example.com/a.jpg"}), codeInvalidMedia, "image", "only https"},
		{"a metadata URL", "send-image", body(map[string]any{"image": "https://169.254.169.254/latest"}), codeInvalidMedia, "image", "link-local or metadata"},
		{"a loopback URL", "send-video", body(map[string]any{"video": "https://127.0.0.1:8080/metrics"}), codeInvalidMedia, "video", "loopback or private"},
		{"a URL with credentials", "send-audio", body(map[string]any{"audio": "https://u:p@example.com/a.ogg"}), codeInvalidMedia, "audio", "credentials"},
		{"a long caption", "send-image", body(map[string]any{"image": "https://example.com/a.jpg", "caption": strings.Repeat("a", maxMessageChars+1)}), codeInvalidField, "caption", "at most"},
		{"a bad extension", "send-document/p.d-f", body(map[string]any{"document": "https://example.com/a"}), codeInvalidField, "extension", "extension"},
		{"a long extension", "send-document/" + strings.Repeat("x", 17), body(map[string]any{"document": "https://example.com/a"}), codeInvalidField, "extension", "extension"},
		{"a file name with a path", "send-document/pdf", body(map[string]any{"document": "https://example.com/a", "fileName": "../../etc/passwd"}), codeInvalidField, "fileName", "without /"},
		{"a link not at the end", "send-link", link(map[string]any{"message": "https://example.com/p is great"}), codeInvalidField, "message", "must end with linkUrl"},
		{"a link that is no URL", "send-link", link(map[string]any{"message": "see mailto:a@b", "linkUrl": "mailto:a@b"}), codeInvalidField, "linkUrl", "http(s) URL"},
		{"a link type", "send-link", link(map[string]any{"linkType": "HUGE"}), codeInvalidField, "linkType", "SMALL, MEDIUM or LARGE"},
		{"a link without its preview", "send-link", link(map[string]any{"title": nil, "image": nil}), codeMissingFields, "image", "missing"},
		{"a link picture that is no picture", "send-link", link(map[string]any{"image": dataURI("image/png", []byte("text"))}), codeInvalidMedia, "image", "image is not a JPEG"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newTestServer(t, Config{MediaLimits: small})
			e := wantError(t, s.do(t, req{method: http.MethodPost, path: base + "/" + c.path, body: c.body}), http.StatusBadRequest, c.code)
			if !strings.Contains(e.Error, c.says) || !strings.Contains(strings.Join(e.Fields, ","), c.field) {
				t.Errorf("error %q fields %v, want one saying %q naming %s", e.Error, e.Fields, c.says, c.field)
			}
			wantNoAppCalls(t, s.app)
		})
	}
}

// TestSendMediaURLPolicy: with the insecure setting, the test servers' URLs (http, 127.0.0.1) are accepted;
// metadata addresses never are.
func TestSendMediaURLPolicy(t *testing.T) {
	s := newTestServer(t, Config{MediaURLs: netguard.Policy{AllowHTTP: true, AllowPrivate: true}})
	w := s.do(t, req{method: http.MethodPost, path: base + "/send-image", body: body(map[string]any{"image": "http://127.0.0.1:9000/a.jpg"})})
	wantJSON(t, w, 200, &sendResponse{})
	w = s.do(t, req{method: http.MethodPost, path: base + "/send-image", body: body(map[string]any{"image": "http://169.254.169.254/a.jpg"})})
	wantError(t, w, http.StatusBadRequest, codeInvalidMedia, "image")
}

// TestSendMediaBodyLimit: the routes that take a file take bodies as large as the file's kind allows in
// base64; the other routes keep the small limit.
func TestSendMediaBodyLimit(t *testing.T) {
	jpg := mediatest.JPEG(200, 200, 3) // some kilobytes
	s := newTestServer(t, Config{MaxBodyBytes: 1024, MediaLimits: media.Limits{Image: int64(len(jpg)), Audio: 1, Video: 1, Document: 1, Sticker: 1}})
	image := body(map[string]any{"image": dataURI("image/jpeg", jpg)})
	if len(image) <= 1024 {
		t.Fatalf("the test picture is too small: %d bytes", len(image))
	}
	wantJSON(t, s.do(t, req{method: http.MethodPost, path: base + "/send-image", body: image}), 200, &sendResponse{})
	wantError(t, s.do(t, req{method: http.MethodPost, path: base + "/send-text", body: body(map[string]any{"message": strings.Repeat("a", 2000)})}),
		http.StatusRequestEntityTooLarge, codeBodyTooLarge)
	wantError(t, s.do(t, req{method: http.MethodPost, path: base + "/send-image", body: image + strings.Repeat(" ", 1100)}),
		http.StatusRequestEntityTooLarge, codeBodyTooLarge)
	wantError(t, s.do(t, req{method: http.MethodPost, path: base + "/send-sticker", body: image}),
		http.StatusRequestEntityTooLarge, codeBodyTooLarge)
}

// GET /queue shows a queued file's caption as its Message.
func TestQueuedTextOfFiles(t *testing.T) {
	caption := &messagesv1.Media{Caption: "look"}
	for _, c := range []*messagesv1.Content{
		{Kind: &messagesv1.Content_Image{Image: caption}},
		{Kind: &messagesv1.Content_Video{Video: caption}},
		{Kind: &messagesv1.Content_Document{Document: caption}},
	} {
		if got := queuedText(c); got != "look" {
			t.Errorf("queuedText(%v) = %q", c, got)
		}
	}
	if got := queuedText(&messagesv1.Content{Kind: &messagesv1.Content_Sticker{Sticker: &messagesv1.Media{}}}); got != "" {
		t.Errorf("queuedText(sticker) = %q", got)
	}
}
