package httpapi

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// wantError checks that an answer is a JSON error with the given status, code and fields.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, code string, fields ...string) errorBody {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	var body errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, w.Body)
	}
	if body.Error == "" {
		t.Errorf("error text is empty: %s", w.Body)
	}
	if body.Code != code {
		t.Errorf("code = %q, want %q; body %s", body.Code, code, w.Body)
	}
	if len(fields) > 0 && !slices.Equal(body.Fields, fields) {
		t.Errorf("fields = %q, want %q", body.Fields, fields)
	}
	if body.RequestID == "" || body.RequestID != w.Header().Get("X-Request-Id") {
		t.Errorf("requestId = %q, header X-Request-Id = %q: want the same, not empty", body.RequestID, w.Header().Get("X-Request-Id"))
	}
	return body
}

// wantJSON checks a 2xx JSON answer and decodes it into v.
func wantJSON(t *testing.T, w *httptest.ResponseRecorder, status int, v any) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("body is not the expected JSON: %v: %s", err, w.Body)
	}
}

// wantNoAppCalls checks that the application was not called (authentication aside).
func wantNoAppCalls(t *testing.T, app *fakeApp) {
	t.Helper()
	if calls := app.appCalls(); len(calls) > 0 {
		t.Errorf("the application was called: %v; want no call", calls)
	}
}

// wantValueTrue checks PlugZapi's {"value": true} answer.
func wantValueTrue(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	var got map[string]any
	wantJSON(t, w, 200, &got)
	if len(got) != 1 || got["value"] != true {
		t.Errorf("body = %s, want {\"value\":true}", w.Body)
	}
}
