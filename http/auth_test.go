package httpapi

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// adminRoutes are one request per admin route, with a valid body where one is needed.
var adminRoutes = []req{
	{method: http.MethodPost, path: "/instances/integrator/on-demand", body: `{"name":"shop"}`},
	{method: http.MethodGet, path: "/instances"},
	{method: http.MethodGet, path: "/instances/" + instID},
	{method: http.MethodDelete, path: "/instances/" + instID},
	{method: http.MethodGet, path: "/account/client-token"},
	{method: http.MethodPut, path: "/account/client-token", body: `{"value":"0123456789abcdef"}`},
	{method: http.MethodDelete, path: "/account/client-token"},
	{method: http.MethodGet, path: "/instances/" + instID + "/ip-allow-list"},
	{method: http.MethodPut, path: "/instances/" + instID + "/ip-allow-list", body: `{"value":["10.0.0.1"]}`},
	{method: http.MethodDelete, path: "/instances/" + instID + "/ip-allow-list"},
	{method: http.MethodPost, path: base + "/integrator/on-demand/subscription", body: `{}`},
	{method: http.MethodPost, path: base + "/integrator/on-demand/cancel", body: `{}`},
	{method: http.MethodGet, path: "/instances/" + instID + "/webhooks"},
	{method: http.MethodGet, path: "/instances/" + instID + "/webhook-deliveries?state=dead"},
	{method: http.MethodPost, path: "/instances/" + instID + "/webhook-deliveries/redeliver", body: `{}`},
	{method: http.MethodPost, path: "/instances/" + instID + "/webhook-replay", body: `{"fromEventId":"e1"}`},
}

func TestAdminRoutesNeedTheAdminToken(t *testing.T) {
	cases := []struct {
		name string
		auth string
	}{
		{"no header", ""},
		{"other scheme", "Basic " + adminToken},
		{"empty bearer", "Bearer "},
		{"wrong token", "Bearer not-the-admin-token"},
		{"instance token", "Bearer " + instToken},
	}
	for _, route := range adminRoutes {
		for _, c := range cases {
			t.Run(route.method+" "+route.path+" "+c.name, func(t *testing.T) {
				s := newTestServer(t, Config{})
				q := route
				q.auth = c.auth
				w := s.do(t, q)
				wantError(t, w, http.StatusUnauthorized, codeUnauthorized)
				if w.Header().Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				wantNoAppCalls(t, s.app)
			})
		}
	}
}

func TestAdminTokenSchemeIsCaseInsensitive(t *testing.T) {
	s := newTestServer(t, Config{})
	w := s.do(t, req{method: http.MethodGet, path: "/instances", auth: "bearer " + adminToken})
	if w.Code != http.StatusOK {
		t.Fatalf("lower-case bearer: %d %s", w.Code, w.Body)
	}
}

func TestAdminAuthenticatorFailureIs500(t *testing.T) {
	s := newTestServer(t, Config{})
	s.app.errs["AuthenticateAdmin"] = errors.New("token store unreachable")
	w := s.do(t, admin(http.MethodGet, "/instances", ""))
	wantError(t, w, http.StatusInternalServerError, codeInternal)
	wantNoAppCalls(t, s.app)
}

// instanceRoutes are one request per instance route (relative to the prefix), with valid bodies.
var instanceRoutes = []req{
	{method: http.MethodGet, path: "/qr-code"},
	{method: http.MethodGet, path: "/qr-code/image"},
	{method: http.MethodGet, path: "/phone-code/5511999999999"},
	{method: http.MethodGet, path: "/status"},
	{method: http.MethodGet, path: "/restart"},
	{method: http.MethodGet, path: "/disconnect"},
	{method: http.MethodGet, path: "/restore-session"},
	{method: http.MethodGet, path: "/device"},
	{method: http.MethodPost, path: "/send-text", body: `{"phone":"5511999999999","message":"hi"}`},
	{method: http.MethodPost, path: "/reply-message", body: `{"phone":"5511999999999","message":"hi","messageId":"ABC"}`},
	{method: http.MethodGet, path: "/queue"},
	{method: http.MethodGet, path: "/queue/count"},
	{method: http.MethodDelete, path: "/queue"},
	{method: http.MethodDelete, path: "/queue/z1"},
	{method: http.MethodPut, path: "/update-webhook-delivery", body: `{"value":"https://example.com/h"}`},
	{method: http.MethodPut, path: "/update-webhook-received", body: `{"value":"https://example.com/h"}`},
	{method: http.MethodPut, path: "/update-webhook-receive", body: `{"value":"https://example.com/h"}`},
	{method: http.MethodPut, path: "/update-webhook-received-delivery", body: `{"value":"https://example.com/h"}`},
	{method: http.MethodPut, path: "/update-webhook-message-status", body: `{"value":"https://example.com/h"}`},
	{method: http.MethodPut, path: "/update-webhook-status", body: `{"value":"https://example.com/h"}`},
	{method: http.MethodPut, path: "/update-webhook-connected", body: `{"value":"https://example.com/h"}`},
	{method: http.MethodPut, path: "/update-webhook-disconnected", body: `{"value":"https://example.com/h"}`},
	{method: http.MethodPut, path: "/update-webhook-chat-presence", body: `{"value":"https://example.com/h"}`},
	{method: http.MethodPut, path: "/update-every-webhooks", body: `{"value":"https://example.com/h"}`},
	{method: http.MethodPut, path: "/update-webhook-secret", body: `{"value":"s3cret"}`},
	{method: http.MethodPut, path: "/update-name", body: `{"value":"Shop"}`},
	{method: http.MethodPut, path: "/update-auto-read-message", body: `{"value":true}`},
	{method: http.MethodPut, path: "/update-auto-read-status", body: `{"value":true}`},
	{method: http.MethodPut, path: "/update-call-reject-auto", body: `{"value":true}`},
	{method: http.MethodPut, path: "/update-call-reject-message", body: `{"value":"busy"}`},
	{method: http.MethodPut, path: "/update-notify-sent-by-me", body: `{"notifySentByMe":true}`},
	{method: http.MethodGet, path: "/me"},
}

func TestInstanceRoutesRefuseWrongIDAndWrongTokenAlike(t *testing.T) {
	prefixes := map[string]string{
		"wrong id":           "/instances/other/token/" + instToken,
		"wrong token":        "/instances/" + instID + "/token/wrong",
		"other's token":      "/instances/other/token/tok-of-other",
		"overlong token":     "/instances/" + instID + "/token/" + strings.Repeat("t", maxCredentialLen+1),
		"token of other len": "/instances/" + instID + "/token/" + instToken + "x",
	}
	for _, route := range instanceRoutes {
		var first string
		for name, prefix := range prefixes {
			t.Run(route.method+" "+route.path+" "+name, func(t *testing.T) {
				s := newTestServer(t, Config{})
				q := route
				q.path = prefix + route.path
				w := s.do(t, q)
				body := wantError(t, w, http.StatusNotFound, codeInstanceNotFound)
				// The answers must not differ: same status, text and code, whatever was wrong.
				sig := body.Error + "|" + body.Code
				if first == "" {
					first = sig
				} else if sig != first {
					t.Errorf("answer %q differs from %q", sig, first)
				}
				wantNoAppCalls(t, s.app)
			})
		}
	}
}

func TestInstanceRoutesWithValidCredentialsReachTheApplication(t *testing.T) {
	for _, route := range instanceRoutes {
		t.Run(route.method+" "+route.path, func(t *testing.T) {
			s := newTestServer(t, Config{})
			s.app.qr = "2@abc"
			q := route
			q.path = base + route.path
			w := s.do(t, q)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			calls := s.app.appCalls()
			if len(calls) != 1 {
				t.Fatalf("application calls = %v, want exactly one", calls)
			}
			got := s.app.callsTo(calls[0])[0]
			if got.args[0] != instID {
				t.Errorf("%s called for instance %v, want %s", calls[0], got.args[0], instID)
			}
		})
	}
}

func TestInstanceAuthenticatorFailureIs500(t *testing.T) {
	s := newTestServer(t, Config{})
	s.app.errs["AuthenticateInstance"] = errors.New("store unreachable")
	wantError(t, s.do(t, req{method: http.MethodGet, path: base + "/status"}), http.StatusInternalServerError, codeInternal)
	wantNoAppCalls(t, s.app)
}
