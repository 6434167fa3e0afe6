package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/actors"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

func TestSendText(t *testing.T) {
	cases := []struct {
		name string
		body string
		want *messagesv1.Outbound
	}{
		{"minimal", `{"phone":"5511999999999","message":"Hello *world*\n"}`,
			outText("5511999999999", "Hello *world*\n")},
		{"all fields", `{"phone":"5511999999999","message":"hi","messageId":"3EB0C7D6E4A1F2B3","delayMessage":15,"delayTyping":1}`,
			withEnvelope(outText("5511999999999", "hi"), &messagesv1.Outbound{ReplyTo: "3EB0C7D6E4A1F2B3", DelayMessageS: 15, DelayTypingS: 1})},
		{"zero and null delays mean none", `{"phone":"12345678","message":"hi","delayMessage":0,"delayTyping":null}`,
			outText("12345678", "hi")},
		{"group", `{"phone":"120363019502650977-group","message":"hi all"}`,
			outText("120363019502650977-group", "hi all")},
		{"longest phone", `{"phone":"123456789012345","message":"x"}`,
			outText("123456789012345", "x")},
		{"longest message", fmt.Sprintf(`{"phone":"5511999999999","message":%q}`, strings.Repeat("ç", maxMessageChars)),
			outText("5511999999999", strings.Repeat("ç", maxMessageChars))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newTestServer(t, Config{})
			s.app.queued = actors.Queued{ZaapID: "zaap-1", MessageID: "3EB0AAAA"}
			var got sendResponse
			wantJSON(t, s.do(t, req{method: http.MethodPost, path: base + "/send-text", body: c.body}), 200, &got)
			if got != (sendResponse{ZaapID: "zaap-1", MessageID: "3EB0AAAA", ID: "3EB0AAAA"}) {
				t.Errorf("answer = %+v", got)
			}
			calls := s.app.callsTo("Send")
			if len(calls) != 1 {
				t.Fatalf("Send calls = %d, want 1", len(calls))
			}
			if calls[0].args[0] != instID || !proto.Equal(calls[0].args[1].(*messagesv1.Outbound), c.want) {
				t.Errorf("Send(%v, %v), want (%s, %v)", calls[0].args[0], calls[0].args[1], instID, c.want)
			}
		})
	}
}

func TestSendTextRejects(t *testing.T) {
	ok := func(extra string) string { return `{"phone":"5511999999999","message":"hi"` + extra + `}` }
	cases := []struct {
		name   string
		body   string
		code   string
		fields []string
	}{
		{"empty object", `{}`, codeMissingFields, []string{"phone", "message"}},
		{"null", `null`, codeMissingFields, []string{"phone", "message"}},
		{"no phone", `{"message":"hi"}`, codeMissingFields, []string{"phone"}},
		{"empty message", `{"phone":"5511999999999","message":""}`, codeMissingFields, []string{"message"}},
		{"blank message", `{"phone":"5511999999999","message":" \n\t "}`, codeInvalidField, []string{"message"}},
		{"message too long", fmt.Sprintf(`{"phone":"5511999999999","message":%q}`, strings.Repeat("a", maxMessageChars+1)), codeInvalidField, []string{"message"}},
		{"plus sign", `{"phone":"+5511999999999","message":"hi"}`, codeInvalidPhone, []string{"phone"}},
		{"mask", `{"phone":"(55) 11 99999-9999","message":"hi"}`, codeInvalidPhone, []string{"phone"}},
		{"letters", `{"phone":"55119999abcd","message":"hi"}`, codeInvalidPhone, []string{"phone"}},
		{"too short", `{"phone":"1234567","message":"hi"}`, codeInvalidPhone, []string{"phone"}},
		{"too long", `{"phone":"1234567890123456","message":"hi"}`, codeInvalidPhone, []string{"phone"}},
		{"jid", `{"phone":"5511999999999@s.whatsapp.net","message":"hi"}`, codeInvalidPhone, []string{"phone"}},
		{"empty group", `{"phone":"-group","message":"hi"}`, codeInvalidPhone, []string{"phone"}},
		{"bad group", `{"phone":"12ab-group","message":"hi"}`, codeInvalidPhone, []string{"phone"}},
		{"unicode digits", `{"phone":"５５１１９９９９９９９９","message":"hi"}`, codeInvalidPhone, []string{"phone"}},
		{"delayMessage 16", ok(`,"delayMessage":16`), codeInvalidField, []string{"delayMessage"}},
		{"delayMessage -1", ok(`,"delayMessage":-1`), codeInvalidField, []string{"delayMessage"}},
		{"delayTyping 16", ok(`,"delayTyping":16`), codeInvalidField, []string{"delayTyping"}},
		{"delayTyping -5", ok(`,"delayTyping":-5`), codeInvalidField, []string{"delayTyping"}},
		{"messageId with space", ok(`,"messageId":"AB CD"`), codeInvalidField, []string{"messageId"}},
		{"messageId too long", ok(fmt.Sprintf(`,"messageId":%q`, strings.Repeat("A", maxMessageIDLen+1))), codeInvalidField, []string{"messageId"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newTestServer(t, Config{})
			body := wantError(t, s.do(t, req{method: http.MethodPost, path: base + "/send-text", body: c.body}),
				http.StatusBadRequest, c.code, c.fields...)
			for _, f := range c.fields {
				if !strings.Contains(body.Error, f) {
					t.Errorf("error %q does not name %s", body.Error, f)
				}
			}
			wantNoAppCalls(t, s.app)
		})
	}
}

func TestSendTextApplicationErrors(t *testing.T) {
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{actors.ErrQueueFull, http.StatusTooManyRequests, codeQueueFull},
		{fmt.Errorf("resolve: %w", actors.ErrInvalidPhone), http.StatusBadRequest, codeInvalidPhone},
		{actors.ErrInstanceNotFound, http.StatusNotFound, codeInstanceNotFound},
	}
	for _, c := range cases {
		s := newTestServer(t, Config{})
		s.app.errs["Send"] = c.err
		wantError(t, s.do(t, req{method: http.MethodPost, path: base + "/send-text",
			body: `{"phone":"5511999999999","message":"hi"}`}), c.status, c.code)
	}
}

func TestReplyMessage(t *testing.T) {
	s := newTestServer(t, Config{})
	s.app.queued = actors.Queued{ZaapID: "z", MessageID: "M"}
	var got sendResponse
	wantJSON(t, s.do(t, req{method: http.MethodPost, path: base + "/reply-message",
		body: `{"phone":"5511999999999","message":"yes","messageId":"3EB0QUOTED","delayMessage":3}`}), 200, &got)
	if got.ID != "M" || got.ZaapID != "z" {
		t.Errorf("answer = %+v", got)
	}
	want := withEnvelope(outText("5511999999999", "yes"), &messagesv1.Outbound{ReplyTo: "3EB0QUOTED", DelayMessageS: 3})
	if c := s.app.callsTo("Send"); len(c) != 1 || !proto.Equal(c[0].args[1].(*messagesv1.Outbound), want) {
		t.Errorf("Send calls = %+v, want %v", c, want)
	}

	s = newTestServer(t, Config{})
	wantError(t, s.do(t, req{method: http.MethodPost, path: base + "/reply-message",
		body: `{"phone":"5511999999999","message":"yes"}`}), 400, codeMissingFields, "messageId")
	wantNoAppCalls(t, s.app)
}

// The HTTP API takes what the WhatsApp adapter can address, no more, no less (both use package recipient):
// old-style group IDs and LIDs included, a leading zero not.
func TestValidRecipient(t *testing.T) {
	cases := map[string]bool{
		"5511999999999": true, "12345678": true, "123456789012345": true, "120363019502650977-group": true,
		"12345-group": true, "1234-group": false, "": false, "1234567": false, "1234567890123456": false,
		"5511999999999-1623281429": true, "123456789012345@lid": true, "0123456789": false,
		"+5511999999999": false, "55 11999999999": false,
		strings.Repeat("1", 31) + "-group": false, "-group": false, "group": false,
	}
	for p, want := range cases {
		if got := validRecipient(p); got != want {
			t.Errorf("validRecipient(%q) = %v, want %v", p, got, want)
		}
	}
}

// outText is the message a send-text request makes.
func outText(phone, body string) *messagesv1.Outbound {
	return &messagesv1.Outbound{Phone: phone,
		Content: &messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: body}}}}
}

// withEnvelope is m with the other fields of e: its IDs, quote and delays.
func withEnvelope(m, e *messagesv1.Outbound) *messagesv1.Outbound {
	e.Phone, e.Content = m.GetPhone(), m.GetContent()
	return e
}
