package httpapi

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// bodyRoutes are the routes that take a JSON body: admin and instance ones, with their credentials.
func bodyRoutes() []req {
	out := []req{admin(http.MethodPost, "/instances/integrator/on-demand", "")}
	for _, r := range instanceRoutes {
		if r.method == http.MethodPost || r.method == http.MethodPut {
			out = append(out, req{method: r.method, path: base + r.path})
		}
	}
	return out
}

func TestBodyErrorsQueueNothing(t *testing.T) {
	const limit = 256
	big := `{"phone":"5511999999999","message":"` + strings.Repeat("x", limit) + `"}`
	cases := []struct {
		name        string
		body        string
		contentType string
		chunked     bool
		status      int
		code        string
	}{
		{"no content type", `{"value":"x"}`, "-", false, 415, codeUnsupportedMediaType},
		{"text/plain", `{"value":"x"}`, "text/plain", false, 415, codeUnsupportedMediaType},
		{"form", `value=x`, "application/x-www-form-urlencoded", false, 415, codeUnsupportedMediaType},
		{"bad media type", `{"value":"x"}`, "application/json; =", false, 415, codeUnsupportedMediaType},
		{"empty body", "", "application/json", false, 400, codeMalformedJSON},
		{"syntax error", `{"phone": "55`, "", false, 400, codeMalformedJSON},
		{"not json", `hello`, "", false, 400, codeMalformedJSON},
		{"array", `[1,2]`, "", false, 400, codeMalformedJSON},
		{"string", `"text"`, "", false, 400, codeMalformedJSON},
		{"two objects", `{} {}`, "", false, 400, codeMalformedJSON},
		{"trailing garbage", `{}x`, "", false, 400, codeMalformedJSON},
		{"too large", big, "", false, 413, codeBodyTooLarge},
		{"too large, streamed", big, "", true, 413, codeBodyTooLarge},
		{"not UTF-8", "{\"value\":\"caf\xe9\"}", "", false, 400, codeMalformedJSON},
		{"NUL", `{"value":"a\u0000b"}`, "", false, 400, codeMalformedJSON},
		{"lone high surrogate", `{"value":"\ud83d"}`, "", false, 400, codeMalformedJSON},
		{"high surrogate then text", `{"value":"\ud83dx"}`, "", false, 400, codeMalformedJSON},
		{"lone low surrogate", `{"value":"\ude00"}`, "", false, 400, codeMalformedJSON},
		{"two high surrogates", `{"value":"\ud83d\ud83d"}`, "", false, 400, codeMalformedJSON},
	}
	for _, route := range bodyRoutes() {
		for _, c := range cases {
			t.Run(route.path+" "+c.name, func(t *testing.T) {
				s := newTestServer(t, Config{MaxBodyBytes: limit})
				q := route
				q.body, q.contentType, q.chunked = c.body, c.contentType, c.chunked
				wantError(t, s.do(t, q), c.status, c.code)
				wantNoAppCalls(t, s.app)
			})
		}
	}
}

// Text that is text passes: escapes of every kind, a surrogate pair, an escaped backslash before a "u".
func TestEscapedTextIsAccepted(t *testing.T) {
	s := newTestServer(t, Config{})
	w := s.do(t, req{method: http.MethodPost, path: base + "/send-text",
		body: `{"phone":"5511999999999","message":"\ud83d\ude00 \u00e9 \\u0000 \" \n ok"}`})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if got := s.app.callsTo("Send")[0].args[1].(*messagesv1.Outbound).GetContent().GetText().GetBody(); got != "😀 é \\u0000 \" \n ok" {
		t.Errorf("message = %q", got)
	}
}

func TestJSONWithCharsetIsAccepted(t *testing.T) {
	s := newTestServer(t, Config{})
	w := s.do(t, req{method: http.MethodPut, path: base + "/update-webhook-delivery",
		body: `{"value":""}`, contentType: "application/json; charset=UTF-8"})
	wantValueTrue(t, w)
}

func TestDecodeNamesWrongTypedFields(t *testing.T) {
	cases := []struct {
		path, body, field string
	}{
		{base + "/send-text", `{"phone":5511999999999,"message":"hi"}`, "phone"},
		{base + "/send-text", `{"phone":"5511999999999","message":["hi"]}`, "message"},
		{base + "/send-text", `{"phone":"5511999999999","message":"hi","delayMessage":"5"}`, "delayMessage"},
		{base + "/send-text", `{"phone":"5511999999999","message":"hi","delayMessage":2.5}`, "delayMessage"},
		{base + "/send-text", `{"phone":"5511999999999","message":"hi","delayTyping":1e100}`, "delayTyping"},
		{base + "/send-text", `{"phone":"5511999999999","message":"hi","messageId":7}`, "messageId"},
		{base + "/update-webhook-delivery", `{"value":true}`, "value"},
		{base + "/update-every-webhooks", `{"value":"https://a.example","notifySentByMe":"yes"}`, "notifySentByMe"},
		{"/instances/integrator/on-demand", `{"name":{"first":"x"}}`, "name"},
	}
	for _, c := range cases {
		s := newTestServer(t, Config{})
		q := req{method: http.MethodPut, path: c.path, body: c.body}
		if !strings.Contains(c.path, "update-") {
			q.method = http.MethodPost
		}
		if strings.HasPrefix(c.path, "/instances/integrator") {
			q.auth = "Bearer " + adminToken
		}
		body := wantError(t, s.do(t, q), http.StatusBadRequest, codeInvalidField, c.field)
		if !strings.Contains(body.Error, c.field) {
			t.Errorf("%s %s: error %q does not name %s", c.path, c.body, body.Error, c.field)
		}
		wantNoAppCalls(t, s.app)
	}
}

func TestUnknownFieldsAreTolerated(t *testing.T) {
	s := newTestServer(t, Config{})
	w := s.do(t, req{method: http.MethodPost, path: base + "/send-text",
		body: `{"phone":"5511999999999","message":"hi","isGroup":false,"extra":{"a":[1,2]}}`})
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

// A body that arrives too slowly is answered with 408 and its connection closed, instead of holding it open.
func TestSlowBodyTimesOut(t *testing.T) {
	s := newTestServer(t, Config{BodyReadTimeout: 300 * time.Millisecond})
	srv := httptest.NewServer(s.handler)
	t.Cleanup(srv.Close)
	for _, path := range []string{base + "/send-text", base + "/send-image"} {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() }) // before srv.Close, which waits for the request to end
		// Without the guard the server would wait for the rest of the body for ever.
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"phone\":", path)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var body errorBody
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusRequestTimeout || body.Code != codeTimeout {
			t.Errorf("%s: %d %+v %v, want 408 %s", path, resp.StatusCode, body, err, codeTimeout)
		}
	}
	wantNoAppCalls(t, s.app)
}
