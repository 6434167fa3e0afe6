package httpapi

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

func TestUpdateWebhook(t *testing.T) {
	for _, route := range webhookRoutes {
		t.Run(route.path, func(t *testing.T) {
			s := newTestServer(t, Config{})
			wantValueTrue(t, s.do(t, req{method: http.MethodPut, path: base + "/" + route.path,
				body: `{"value":" https://h.example/hook "}`}))
			wantValueTrue(t, s.do(t, req{method: http.MethodPut, path: base + "/" + route.path, body: `{"value":""}`}))
			calls := s.app.callsTo("SetWebhooks")
			if len(calls) != 2 {
				t.Fatalf("SetWebhooks calls = %d, want 2", len(calls))
			}
			set := map[eventsv1.WebhookKind]string{route.kind: "https://h.example/hook"}
			removed := map[eventsv1.WebhookKind]string{route.kind: ""}
			if calls[0].args[0] != instID || !reflect.DeepEqual(calls[0].args[1], set) {
				t.Errorf("set: SetWebhooks(%v, %v), want %v", calls[0].args[0], calls[0].args[1], set)
			}
			if !reflect.DeepEqual(calls[1].args[1], removed) {
				t.Errorf("remove: SetWebhooks(%v), want %v", calls[1].args[1], removed)
			}
		})
	}
}

func TestWebhookRoutesCoverEveryKind(t *testing.T) {
	seen := map[eventsv1.WebhookKind]bool{}
	for _, r := range webhookRoutes {
		seen[r.kind] = true
	}
	for v := range eventsv1.WebhookKind_name {
		k := eventsv1.WebhookKind(v)
		if k != eventsv1.WebhookKind_WEBHOOK_KIND_UNSPECIFIED && !seen[k] {
			t.Errorf("no update-webhook route for %s", k)
		}
	}
}

func TestUpdateWebhookRejects(t *testing.T) {
	cases := []struct {
		name, body, code string
	}{
		{"no value", `{}`, codeMissingFields},
		{"null value", `{"value":null}`, codeMissingFields},
		{"http", `{"value":"http://h.example"}`, codeInvalidWebhookURL},
		{"not a url", `{"value":"hook"}`, codeInvalidWebhookURL},
		{"too long", fmt.Sprintf(`{"value":"https://h.example/%s"}`, strings.Repeat("p", maxURLLen)), codeInvalidWebhookURL},
	}
	for _, path := range []string{"/update-webhook-delivery", "/update-every-webhooks"} {
		for _, c := range cases {
			s := newTestServer(t, Config{})
			body := wantError(t, s.do(t, req{method: http.MethodPut, path: base + path, body: c.body}), 400, c.code, "value")
			if c.code == codeInvalidWebhookURL && c.name != "too long" && !strings.Contains(body.Error, "https") {
				t.Errorf("%s %s: error %q does not pass on the URL check's reason", path, c.name, body.Error)
			}
			wantNoAppCalls(t, s.app)
		}
	}
}

func TestUpdateEveryWebhook(t *testing.T) {
	const u = "https://h.example/all"
	all := func(received, receivedDelivery string) map[eventsv1.WebhookKind]string {
		return map[eventsv1.WebhookKind]string{
			eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY:          u,
			eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED:          received,
			eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY: receivedDelivery,
			eventsv1.WebhookKind_WEBHOOK_KIND_MESSAGE_STATUS:    u,
			eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED:         u,
			eventsv1.WebhookKind_WEBHOOK_KIND_DISCONNECTED:      u,
			eventsv1.WebhookKind_WEBHOOK_KIND_CHAT_PRESENCE:     u,
		}
	}
	none := map[eventsv1.WebhookKind]string{}
	for k := range all("", "") {
		none[k] = ""
	}
	cases := []struct {
		body string
		want map[eventsv1.WebhookKind]string
	}{
		{`{"value":"` + u + `"}`, all(u, "")},
		{`{"value":"` + u + `","notifySentByMe":false}`, all(u, "")},
		{`{"value":"` + u + `","notifySentByMe":true}`, all("", u)},
		{`{"value":""}`, none},
		{`{"value":"","notifySentByMe":true}`, none},
	}
	for _, c := range cases {
		s := newTestServer(t, Config{})
		wantValueTrue(t, s.do(t, req{method: http.MethodPut, path: base + "/update-every-webhooks", body: c.body}))
		calls := s.app.callsTo("SetWebhooks")
		if len(calls) != 1 || !reflect.DeepEqual(calls[0].args[1], c.want) {
			t.Errorf("%s: SetWebhooks calls = %+v, want one with %v", c.body, calls, c.want)
		}
	}
}

func TestUpdateWebhookSecret(t *testing.T) {
	for _, secret := range []string{"s3cret", ""} {
		s := newTestServer(t, Config{})
		wantValueTrue(t, s.do(t, req{method: http.MethodPut, path: base + "/update-webhook-secret",
			body: fmt.Sprintf(`{"value":%q}`, secret)}))
		if c := s.app.callsTo("SetWebhookSecret"); len(c) != 1 || c[0].args[1] != secret {
			t.Errorf("SetWebhookSecret calls = %+v, want one with %q", c, secret)
		}
	}
	for _, body := range []string{`{}`, fmt.Sprintf(`{"value":%q}`, strings.Repeat("k", maxSecretLen+1))} {
		s := newTestServer(t, Config{})
		w := s.do(t, req{method: http.MethodPut, path: base + "/update-webhook-secret", body: body})
		if w.Code != 400 {
			t.Errorf("%.30s: status %d, want 400", body, w.Code)
		}
		wantNoAppCalls(t, s.app)
	}
}
