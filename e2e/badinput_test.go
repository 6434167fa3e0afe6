package e2e

import (
	"strings"
	"testing"
)

// TestBadInput: the caller's mistakes get a clear 4xx JSON error from the real server, and nothing is queued.
func TestBadInput(t *testing.T) {
	sim := startSimulator(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "strict", nil)
	other := createInstance(t, srv, "other", nil)
	cases := []struct {
		name        string
		method      string
		path        string
		body        any
		header      []string
		status      int
		errContains string
	}{
		{"malformed JSON", "POST", in.path("send-text"), `{"phone":`, nil, 400, ""},
		{"missing message", "POST", in.path("send-text"), map[string]any{"phone": alicePhone}, nil, 400, "message"},
		{"missing phone", "POST", in.path("send-text"), map[string]any{"message": "hi"}, nil, 400, "phone"},
		{"letters in phone", "POST", in.path("send-text"), map[string]any{"phone": "55119999abcd", "message": "hi"}, nil, 400, "phone"},
		{"too short phone", "POST", in.path("send-text"), map[string]any{"phone": "12345", "message": "hi"}, nil, 400, "phone"},
		{"wrong type", "POST", in.path("send-text"), `{"phone":5511999990001,"message":"hi"}`, nil, 400, "phone"},
		{"delay out of range", "POST", in.path("send-text"), map[string]any{"phone": alicePhone, "message": "hi", "delayMessage": 99}, nil, 400, "delayMessage"},
		{"no content type", "POST", in.path("send-text"), map[string]any{"phone": alicePhone, "message": "hi"}, []string{"Content-Type", ""}, 415, ""},
		{"text/plain", "POST", in.path("send-text"), map[string]any{"phone": alicePhone, "message": "hi"}, []string{"Content-Type", "text/plain"}, 415, ""},
		{"wrong method", "GET", in.path("send-text"), nil, nil, 405, ""},
		{"unknown route", "POST", in.path("send-nothing"), map[string]any{}, nil, 404, ""},
		{"wrong token", "POST", "/instances/" + in.id + "/token/" + strings.Repeat("0", 32) + "/send-text", map[string]any{"phone": alicePhone, "message": "hi"}, nil, 404, ""},
		{"other instance's token", "POST", "/instances/" + in.id + "/token/" + other.token + "/send-text", map[string]any{"phone": alicePhone, "message": "hi"}, nil, 404, ""},
		{"unknown instance", "GET", "/instances/" + strings.Repeat("A", 32) + "/token/" + in.token + "/status", nil, nil, 404, ""},
		{"admin without token", "GET", "/instances", nil, nil, 401, ""},
		{"admin wrong token", "GET", "/instances", nil, []string{"Authorization", "Bearer nope"}, 401, ""},
		{"webhook not https", "PUT", in.path("update-webhook-delivery"), map[string]any{"value": "ftp://example.com/x"}, nil, 400, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := srv.call(t, c.method, c.path, c.body, c.header...)
			if res.status != c.status {
				t.Fatalf("got %s, want %d", res, c.status)
			}
			var body struct{ Error string }
			res.decode(t, &body)
			if body.Error == "" || !strings.Contains(body.Error, c.errContains) {
				t.Errorf("error body %s, want an error naming %q", res.body, c.errContains)
			}
		})
	}
	for _, x := range []instance{in, other} {
		if n := len(queueOf(t, x)); n != 0 {
			t.Errorf("instance %s has %d queued messages after bad requests", x.id, n)
		}
	}
}
