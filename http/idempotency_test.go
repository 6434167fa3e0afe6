package httpapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/plugzapi/plugzapi/actors"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

func TestIdempotencyKeyHeader(t *testing.T) {
	cases := []struct {
		name   string
		values []string
		want   string
		ok     bool
	}{
		{"absent", nil, "", true},
		{"uuid", []string{"6f1c2b9e-5d0a-4a47-9a57-2f3c1d8e7b10"}, "6f1c2b9e-5d0a-4a47-9a57-2f3c1d8e7b10", true},
		{"longest", []string{strings.Repeat("k", maxIdempotencyKeyLen)}, strings.Repeat("k", maxIdempotencyKeyLen), true},
		{"spaces inside", []string{"order 42"}, "order 42", true},
		{"empty", []string{""}, "", false},
		{"too long", []string{strings.Repeat("k", maxIdempotencyKeyLen+1)}, "", false},
		{"twice", []string{"a", "b"}, "", false},
		{"not ASCII", []string{"pedido-ç"}, "", false},
		{"control character", []string{"a\tb"}, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			for _, v := range c.values {
				r.Header.Add(idempotencyHeader, v)
			}
			key, err := idempotencyKey(r)
			if c.ok && (err != nil || key != c.want) {
				t.Errorf("key %q, %v; want %q", key, err, c.want)
			}
			if !c.ok {
				if ae, isAPI := err.(*apiError); !isAPI || ae.status != http.StatusBadRequest || ae.code != codeInvalidIdempotencyKey {
					t.Errorf("error %v, want a 400 %s", err, codeInvalidIdempotencyKey)
				}
			}
		})
	}
}

// Every send route hands the instance the key with the hash of the request: the same for the same message on
// the same route however the JSON is written, another for another message or another route.
func TestIdempotencyKeyBindsTheRequest(t *testing.T) {
	s := newTestServer(t, Config{})
	s.app.queued = actors.Queued{ZaapID: "zaap-1", MessageID: "3EB0AAAA"}
	send := func(route, body, key string) *messagesv1.Outbound {
		t.Helper()
		q := req{method: http.MethodPost, path: base + "/" + route, body: body}
		if key != "" {
			q.header = map[string]string{idempotencyHeader: key}
		}
		var got sendResponse
		wantJSON(t, s.do(t, q), 200, &got)
		calls := s.app.callsTo("Send")
		return calls[len(calls)-1].args[1].(*messagesv1.Outbound)
	}
	first := send("send-text", `{"phone":"5511999999999","message":"hi","messageId":"3EB0QUOTED"}`, "order-1")
	if first.GetIdempotencyKey() != "order-1" || len(first.GetRequestHash()) != 32 {
		t.Fatalf("the message carries key %q and hash %x", first.GetIdempotencyKey(), first.GetRequestHash())
	}
	same := send("send-text", "{ \"messageId\": \"3EB0QUOTED\", \"message\": \"hi\",\n \"phone\": \"5511999999999\", \"delayTyping\": 0, \"extra\": 1 }", "order-1")
	if !bytes.Equal(same.GetRequestHash(), first.GetRequestHash()) {
		t.Error("the same request written another way hashes differently")
	}
	for _, other := range []struct{ route, body string }{
		{"send-text", `{"phone":"5511999999999","message":"hi!","messageId":"3EB0QUOTED"}`},
		{"send-text", `{"phone":"5511999999998","message":"hi","messageId":"3EB0QUOTED"}`},
		// The same message by another route.
		{"reply-message", `{"phone":"5511999999999","message":"hi","messageId":"3EB0QUOTED"}`},
	} {
		if m := send(other.route, other.body, "order-1"); bytes.Equal(m.GetRequestHash(), first.GetRequestHash()) {
			t.Errorf("%s %s hashes like the first request", other.route, other.body)
		}
	}
	if m := send("send-text", `{"phone":"5511999999999","message":"hi"}`, ""); m.GetIdempotencyKey() != "" || m.GetRequestHash() != nil {
		t.Errorf("a request without the header carries key %q, hash %x", m.GetIdempotencyKey(), m.GetRequestHash())
	}

	w := s.do(t, req{method: http.MethodDelete, path: base + "/messages?messageId=3EB0AAAA&phone=5511999999999&owner=true",
		header: map[string]string{idempotencyHeader: "delete-1"}})
	if w.Code != http.StatusNoContent {
		t.Fatalf("DELETE /messages: %d %s", w.Code, w.Body)
	}
	calls := s.app.callsTo("Send")
	if m := calls[len(calls)-1].args[1].(*messagesv1.Outbound); m.GetIdempotencyKey() != "delete-1" || len(m.GetRequestHash()) != 32 {
		t.Errorf("the revoke carries key %q and hash %x", m.GetIdempotencyKey(), m.GetRequestHash())
	}
}

func TestIdempotencyKeyErrors(t *testing.T) {
	s := newTestServer(t, Config{})
	body := `{"phone":"5511999999999","message":"hi"}`
	w := s.do(t, req{method: http.MethodPost, path: base + "/send-text", body: body,
		header: map[string]string{idempotencyHeader: strings.Repeat("k", maxIdempotencyKeyLen+1)}})
	wantError(t, w, http.StatusBadRequest, codeInvalidIdempotencyKey, idempotencyHeader)
	w = s.do(t, req{method: http.MethodDelete, path: base + "/messages?messageId=3EB0AAAA&phone=5511999999999&owner=true",
		header: map[string]string{idempotencyHeader: "pedido-ç"}})
	wantError(t, w, http.StatusBadRequest, codeInvalidIdempotencyKey, idempotencyHeader)
	wantNoAppCalls(t, s.app)

	s.app.errs["Send"] = actors.ErrIdempotencyKeyReused
	w = s.do(t, req{method: http.MethodPost, path: base + "/send-text", body: body,
		header: map[string]string{idempotencyHeader: "order-1"}})
	wantError(t, w, http.StatusUnprocessableEntity, codeIdempotencyKeyReused, idempotencyHeader)
}

// The routes that honour Idempotency-Key (they refuse an empty one) are exactly those openapi.yaml documents
// it on, and they include every route that answers with a queued message's IDs.
func TestOpenAPIDocumentsIdempotencyKey(t *testing.T) {
	doc := loadOpenAPI(t)
	const param = "#/components/parameters/IdempotencyKey"
	var documented, queueing []string
	for path, item := range doc["paths"].(map[string]any) {
		for method, v := range item.(map[string]any) {
			op, ok := v.(map[string]any)
			if !ok || !slices.Contains(httpMethods, method) {
				continue
			}
			route := strings.ToUpper(method) + " " + path
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				if p.(map[string]any)["$ref"] == param {
					documented = append(documented, route)
				}
			}
			ok200, _ := op["responses"].(map[string]any)["200"].(map[string]any)
			if ok200["$ref"] == "#/components/responses/Queued" {
				queueing = append(queueing, route)
			}
		}
	}

	mux, err := newMux(Config{}, deps(newFakeApp(), nil))
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, Config{})
	fill := strings.NewReplacer("{id}", instID, "{token}", instToken, "{extension}", "pdf", "{zaapId}", "Z1")
	var honouring []string
	err = chi.Walk(mux, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if method != http.MethodPost && method != http.MethodDelete || !strings.HasPrefix(route, "/instances/{id}/") {
			return nil
		}
		q := req{method: method, path: fill.Replace(route), body: "{}", header: map[string]string{idempotencyHeader: ""}}
		if !strings.HasPrefix(route, instancePrefix) {
			q.auth = "Bearer " + adminToken // the dashboard's admin routes that act as the instance
		}
		w := s.do(t, q)
		if w.Code == http.StatusBadRequest && strings.Contains(w.Body.String(), codeInvalidIdempotencyKey) {
			honouring = append(honouring, method+" "+route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(documented)
	slices.Sort(honouring)
	if len(honouring) < 20 || !slices.Equal(documented, honouring) {
		t.Errorf("Idempotency-Key documented on\n%v\nhonoured on\n%v", documented, honouring)
	}
	for _, route := range queueing {
		if !slices.Contains(honouring, route) {
			t.Errorf("%s queues a message but takes no Idempotency-Key", route)
		}
	}
}
