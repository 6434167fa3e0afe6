package httpapi

import (
	"net/http"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/media/mediatest"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// The status routes queue their content to status@broadcast, quoting nothing, showing no typing, never
// view-once, whatever the body says; the other routes refuse status@broadcast as a phone.
func TestStatusRoutes(t *testing.T) {
	jpg := mediatest.JPEG(40, 30, 1)
	cases := []struct {
		path, body string
		want       *messagesv1.Content
	}{
		{"send-text-status", `{"message":"open today","messageId":"3EB0AAAA","delayTyping":5,"phone":"5511999999999"}`,
			&messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: "open today"}}}},
		{"send-image-status", `{"image":"` + dataURI("image/jpeg", jpg) + `","caption":"new","viewOnce":true}`,
			&messagesv1.Content{Kind: &messagesv1.Content_Image{Image: &messagesv1.Media{
				Source: &messagesv1.Media_Data{Data: jpg}, MimeType: "image/jpeg", Size: uint64(len(jpg)), Caption: "new"}}}},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			s := newTestServer(t, Config{})
			w := s.do(t, req{method: http.MethodPost, path: base + "/" + c.path, body: c.body})
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			want := &messagesv1.Outbound{Phone: "status@broadcast", Content: c.want}
			if got := sent(t, s); !proto.Equal(got, want) {
				t.Errorf("queued %v, want %v", got, want)
			}
		})
	}

	s := newTestServer(t, Config{})
	w := s.do(t, req{method: http.MethodPost, path: base + "/send-video-status", body: `{"caption":"x"}`})
	wantError(t, w, http.StatusBadRequest, codeMissingFields, "video")
	w = s.do(t, req{method: http.MethodPost, path: base + "/send-text", body: `{"phone":"status@broadcast","message":"x"}`})
	wantError(t, w, http.StatusBadRequest, codeInvalidPhone, "phone")
	wantNoAppCalls(t, s.app)
}
