package httpapi

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/actors"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

func TestCreateInstance(t *testing.T) {
	s := newTestServer(t, Config{})
	due := time.Date(2030, 1, 2, 3, 4, 5, 6e6, time.UTC)
	s.app.created = actors.CreatedInstance{ID: "new-id", Token: "new-token", Due: due}
	w := s.do(t, admin(http.MethodPost, "/instances/integrator/on-demand", `{
		"name": "  Shop  ",
		"sessionName": "Shop PC",
		"deliveryCallbackUrl": "https://h.example/delivery",
		"receivedCallbackUrl": "",
		"receivedAndDeliveryCallbackUrl": null,
		"messageStatusCallbackUrl": "https://h.example/status",
		"connectedCallbackUrl": " https://h.example/connected ",
		"disconnectedCallbackUrl": "https://h.example/disconnected",
		"presenceChatCallbackUrl": "https://h.example/presence",
		"webhookSecret": "hmac-key",
		"isDevice": false
	}`))
	var got createInstanceResponse
	wantJSON(t, w, http.StatusCreated, &got)
	if got != (createInstanceResponse{ID: "new-id", Token: "new-token", Due: due.UnixMilli()}) {
		t.Errorf("answer = %+v", got)
	}
	calls := s.app.callsTo("CreateInstance")
	if len(calls) != 1 {
		t.Fatalf("CreateInstance calls = %d", len(calls))
	}
	wantSpec := actors.NewInstance{
		Name:        "Shop",
		SessionName: "Shop PC",
		Webhooks: map[eventsv1.WebhookKind]string{
			eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY:       "https://h.example/delivery",
			eventsv1.WebhookKind_WEBHOOK_KIND_MESSAGE_STATUS: "https://h.example/status",
			eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED:      "https://h.example/connected",
			eventsv1.WebhookKind_WEBHOOK_KIND_DISCONNECTED:   "https://h.example/disconnected",
			eventsv1.WebhookKind_WEBHOOK_KIND_CHAT_PRESENCE:  "https://h.example/presence",
		},
	}
	if !reflect.DeepEqual(calls[0].args[0], wantSpec) {
		t.Errorf("spec = %+v, want %+v", calls[0].args[0], wantSpec)
	}
	if calls[0].args[1] != "hmac-key" {
		t.Errorf("secret = %v", calls[0].args[1])
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("an answer with a token may be cached: Cache-Control %q", w.Header().Get("Cache-Control"))
	}
}

func TestCreateInstanceMinimal(t *testing.T) {
	s := newTestServer(t, Config{})
	s.app.created = actors.CreatedInstance{ID: "i", Token: "t"}
	var got map[string]any
	wantJSON(t, s.do(t, admin(http.MethodPost, "/instances/integrator/on-demand", `{"name":"x"}`)), 201, &got)
	if got["due"] != float64(0) {
		t.Errorf("due without expiry = %v, want 0", got["due"])
	}
	spec := s.app.callsTo("CreateInstance")[0].args[0].(actors.NewInstance)
	if spec.Webhooks != nil || spec.SessionName != "" {
		t.Errorf("spec = %+v, want no webhooks and no session name", spec)
	}
}

func TestCreateInstanceRejects(t *testing.T) {
	cases := []struct {
		name, body, code string
		fields           []string
	}{
		{"no name", `{}`, codeMissingFields, []string{"name"}},
		{"null body", `null`, codeMissingFields, []string{"name"}},
		{"blank name", `{"name":"   "}`, codeMissingFields, []string{"name"}},
		{"long name", fmt.Sprintf(`{"name":%q}`, strings.Repeat("é", maxNameChars+1)), codeInvalidField, []string{"name"}},
		{"long session", fmt.Sprintf(`{"name":"a","sessionName":%q}`, strings.Repeat("a", maxNameChars+1)), codeInvalidField, []string{"sessionName"}},
		{"long secret", fmt.Sprintf(`{"name":"a","webhookSecret":%q}`, strings.Repeat("k", maxSecretLen+1)), codeInvalidField, []string{"webhookSecret"}},
		{"http webhook", `{"name":"a","receivedCallbackUrl":"http://h.example"}`, codeInvalidWebhookURL, []string{"receivedCallbackUrl"}},
		{"long webhook", fmt.Sprintf(`{"name":"a","connectedCallbackUrl":"https://h.example/%s"}`, strings.Repeat("p", maxURLLen)), codeInvalidWebhookURL, []string{"connectedCallbackUrl"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newTestServer(t, Config{})
			w := s.do(t, admin(http.MethodPost, "/instances/integrator/on-demand", c.body))
			body := wantError(t, w, http.StatusBadRequest, c.code, c.fields...)
			if !strings.Contains(body.Error, c.fields[0]) {
				t.Errorf("error %q does not name %s", body.Error, c.fields[0])
			}
			wantNoAppCalls(t, s.app)
		})
	}
}

func sampleInstance(id string) actors.InstanceInfo {
	return actors.InstanceInfo{
		ID:          id,
		Name:        "name-" + id,
		SessionName: "session-" + id,
		Created:     time.UnixMilli(1_700_000_000_000),
		Due:         time.UnixMilli(1_800_000_000_000),
		Connected:   true,
		Phone:       "5511999999999",
		Webhooks: map[eventsv1.WebhookKind]string{
			eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY:          "https://h.example/d",
			eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED:          "https://h.example/r",
			eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY: "https://h.example/rd",
			eventsv1.WebhookKind_WEBHOOK_KIND_MESSAGE_STATUS:    "https://h.example/s",
			eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED:         "https://h.example/c",
			eventsv1.WebhookKind_WEBHOOK_KIND_DISCONNECTED:      "https://h.example/x",
			eventsv1.WebhookKind_WEBHOOK_KIND_CHAT_PRESENCE:     "https://h.example/p",
		},
	}
}

func TestListInstances(t *testing.T) {
	cases := []struct {
		query      string
		want       actors.InstanceQuery
		total      int
		page, size int
		totalPages int
	}{
		{"", actors.InstanceQuery{Offset: 0, Limit: 20}, 0, 1, 20, 0},
		{"?page=3&pageSize=10&query=%20shop%20", actors.InstanceQuery{Offset: 20, Limit: 10, Search: "shop"}, 21, 3, 10, 3},
		{"?pageSize=100", actors.InstanceQuery{Offset: 0, Limit: 100}, 100, 1, 100, 1},
		{"?page=2&pageSize=1", actors.InstanceQuery{Offset: 1, Limit: 1}, 2, 2, 1, 2},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			s := newTestServer(t, Config{})
			s.app.instances = []actors.InstanceInfo{sampleInstance("a")}
			s.app.total = c.total
			w := s.do(t, admin(http.MethodGet, "/instances"+c.query, ""))
			var got instancePage
			wantJSON(t, w, 200, &got)
			if q := s.app.callsTo("ListInstances")[0].args[0]; q != c.want {
				t.Errorf("query = %+v, want %+v", q, c.want)
			}
			if got.Total != c.total || got.Page != c.page || got.PageSize != c.size || got.TotalPage != c.totalPages {
				t.Errorf("envelope = %+v", got)
			}
			if len(got.Content) != 1 || got.Content[0] != newInstanceJSON(sampleInstance("a")) {
				t.Errorf("content = %+v", got.Content)
			}
			if strings.Contains(w.Body.String(), `"token"`) {
				t.Errorf("the list holds tokens: %s", w.Body)
			}
		})
	}
}

func TestListInstancesEmptyIsArray(t *testing.T) {
	s := newTestServer(t, Config{})
	w := s.do(t, admin(http.MethodGet, "/instances", ""))
	if !strings.Contains(w.Body.String(), `"content":[]`) {
		t.Errorf("empty list = %s, want content []", w.Body)
	}
}

func TestListInstancesRejectsBadPaging(t *testing.T) {
	for _, q := range []string{"?page=0", "?page=-1", "?page=x", "?page=2147483648", "?pageSize=0",
		"?pageSize=101", "?pageSize=1.5", "?query=" + strings.Repeat("q", maxSearchChars+1)} {
		s := newTestServer(t, Config{})
		wantError(t, s.do(t, admin(http.MethodGet, "/instances"+q, "")), http.StatusBadRequest, codeInvalidQuery)
		wantNoAppCalls(t, s.app)
	}
}

func TestInstanceJSONFields(t *testing.T) {
	s := newTestServer(t, Config{})
	s.app.instances = []actors.InstanceInfo{sampleInstance("a")}
	var got map[string]any
	wantJSON(t, s.do(t, admin(http.MethodGet, "/instances/a", "")), 200, &got)
	want := map[string]any{
		"id": "a", "name": "name-a", "sessionName": "session-a",
		"created": float64(1_700_000_000_000), "due": float64(1_800_000_000_000),
		"connected": true, "phoneConnected": true, "whatsappConnected": true, "phone": "5511999999999",
		"deliveryCallbackUrl": "https://h.example/d", "receivedCallbackUrl": "https://h.example/r",
		"receivedAndDeliveryCallbackUrl": "https://h.example/rd", "messageStatusCallbackUrl": "https://h.example/s",
		"connectedCallbackUrl": "https://h.example/c", "disconnectedCallbackUrl": "https://h.example/x",
		"presenceChatCallbackUrl": "https://h.example/p",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("instance = %v\nwant %v", got, want)
	}
}

func TestGetAndDeleteUnknownInstance(t *testing.T) {
	s := newTestServer(t, Config{})
	wantError(t, s.do(t, admin(http.MethodGet, "/instances/missing", "")), 404, codeInstanceNotFound)
	s.app.errs["DeleteInstance"] = fmt.Errorf("delete: %w", actors.ErrInstanceNotFound)
	wantError(t, s.do(t, admin(http.MethodDelete, "/instances/missing", "")), 404, codeInstanceNotFound)

	long := "/instances/" + strings.Repeat("i", maxCredentialLen+1)
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		s := newTestServer(t, Config{})
		wantError(t, s.do(t, admin(m, long, "")), 404, codeInstanceNotFound)
		wantNoAppCalls(t, s.app)
	}
}

func TestDeleteInstance(t *testing.T) {
	s := newTestServer(t, Config{})
	wantValueTrue(t, s.do(t, admin(http.MethodDelete, "/instances/abc", "")))
	if c := s.app.callsTo("DeleteInstance"); len(c) != 1 || c[0].args[0] != "abc" {
		t.Errorf("DeleteInstance calls = %+v", c)
	}
}
