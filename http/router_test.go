package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/actors"
)

func TestNewRouterRequiresDependencies(t *testing.T) {
	_, err := NewRouter(Config{}, Deps{})
	if err == nil {
		t.Fatal("NewRouter with no dependencies succeeded")
	}
	for _, name := range []string{"AdminAuth", "InstanceAuth", "Registry", "Directory", "Pairing", "Session",
		"Connection", "Sender", "QueueView", "QueueEditor", "Webhooks", "CheckWebhookURL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	d := deps(newFakeApp(), nil)
	d.Health, d.Metrics, d.Logger = nil, nil, nil
	if _, err := NewRouter(Config{}, d); err != nil {
		t.Errorf("NewRouter without the optional dependencies: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	var c Config
	if err := c.Validate(); err != nil {
		t.Fatalf("zero Config: %v", err)
	}
	if c.MaxBodyBytes != DefaultMaxBodyBytes || c.RequestTimeout != DefaultRequestTimeout {
		t.Errorf("defaults not filled in: %+v", c)
	}
	bad := []Config{
		{MaxBodyBytes: -1},
		{RequestTimeout: -time.Second},
		{TrustedProxies: []string{"10.0.0.0/8", "not-a-prefix"}},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("Validate(%+v) succeeded, want an error", c)
		}
		if _, err := NewRouter(c, deps(newFakeApp(), nil)); err == nil {
			t.Errorf("NewRouter(%+v) succeeded, want an error", c)
		}
	}
}

func TestUnknownRouteIsJSON404(t *testing.T) {
	s := newTestServer(t, Config{})
	for _, path := range []string{"/nope", "/instances/x/y", base + "/send-nothing", base + "/queue/a/b", "/dashboard/"} {
		w := s.do(t, req{method: http.MethodGet, path: path})
		wantError(t, w, http.StatusNotFound, codeNotFound)
	}
	wantNoAppCalls(t, s.app)
}

func TestWrongMethodIsJSON405(t *testing.T) {
	s := newTestServer(t, Config{})
	cases := []struct {
		method, path, allow string
	}{
		{http.MethodGet, base + "/send-text", "POST"},
		{http.MethodPost, base + "/status", "GET"},
		{http.MethodPut, base + "/queue", "GET, DELETE"},
		{http.MethodGet, base + "/update-webhook-delivery", "PUT"},
		{http.MethodPost, "/instances/abc", "GET, DELETE"},
		{http.MethodPost, "/healthz", "GET"},
	}
	for _, c := range cases {
		w := s.do(t, req{method: c.method, path: c.path, body: "{}"})
		wantError(t, w, http.StatusMethodNotAllowed, codeMethodNotAllowed)
		if got := strings.Join(w.Header().Values("Allow"), ", "); got != c.allow {
			t.Errorf("%s %s: Allow = %q, want %q", c.method, c.path, got, c.allow)
		}
	}
	wantNoAppCalls(t, s.app)
}

func TestPanicIsRecoveredInto500(t *testing.T) {
	s := newTestServer(t, Config{})
	s.app.errs["Status"] = errPanic
	w := s.do(t, req{method: http.MethodGet, path: base + "/status"})
	body := wantError(t, w, http.StatusInternalServerError, codeInternal)
	logged := s.log.String()
	if !strings.Contains(logged, "panic in http handler") || !strings.Contains(logged, "fake Status exploded") {
		t.Errorf("panic not logged: %s", logged)
	}
	if !strings.Contains(logged, body.RequestID) {
		t.Errorf("the log does not hold the request ID %s: %s", body.RequestID, logged)
	}
	if strings.Contains(logged, instToken) {
		t.Errorf("the log holds the instance token: %s", logged)
	}
}

func TestUnknownApplicationErrorIs500AndLogged(t *testing.T) {
	s := newTestServer(t, Config{})
	s.app.errs["QueueCount"] = errors.New("disk on fire")
	w := s.do(t, req{method: http.MethodGet, path: base + "/queue/count"})
	body := wantError(t, w, http.StatusInternalServerError, codeInternal)
	if strings.Contains(w.Body.String(), "disk on fire") {
		t.Errorf("the answer leaks the internal error: %s", w.Body)
	}
	logged := s.log.String()
	if !strings.Contains(logged, "disk on fire") || !strings.Contains(logged, body.RequestID) {
		t.Errorf("internal error not logged with its request ID: %s", logged)
	}
}

func TestDomainErrorsMapInOnePlace(t *testing.T) {
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{actors.ErrInstanceNotFound, 404, codeInstanceNotFound},
		{actors.ErrQueueFull, 429, codeQueueFull},
		{actors.ErrQueueItemNotFound, 404, codeQueueItemNotFound},
		{actors.ErrAlreadyConnected, 409, codeAlreadyConnected},
		{actors.ErrNotLinked, 409, codeNotLinked},
		{actors.ErrQRNotReady, 503, codeQRNotReady},
		{actors.ErrInvalidPhone, 400, codeInvalidPhone},
		{fmt.Errorf("instance X: %w", actors.ErrUnavailable), 503, codeUnavailable},
		{fmt.Errorf("ask actor: %w", actors.ErrQueueFull), 429, codeQueueFull},
		{fmt.Errorf("wait: %w", context.DeadlineExceeded), 504, codeTimeout},
		{errors.New("boom"), 500, codeInternal},
	}
	for _, c := range cases {
		got, _ := classify(c.err)
		if got.status != c.status || got.code != c.code {
			t.Errorf("classify(%v) = %d %s, want %d %s", c.err, got.status, got.code, c.status, c.code)
		}
	}
}

func TestTimeoutIs504(t *testing.T) {
	s := newTestServer(t, Config{RequestTimeout: 20 * time.Millisecond})
	s.app.errs["Status"] = errBlock
	w := s.do(t, req{method: http.MethodGet, path: base + "/status"})
	wantError(t, w, http.StatusGatewayTimeout, codeTimeout)
}

func TestRequestID(t *testing.T) {
	s := newTestServer(t, Config{})
	w := s.do(t, req{method: http.MethodGet, path: "/nope", header: map[string]string{"X-Request-Id": "proxy-42.a/b:c"}})
	if got := wantError(t, w, 404, codeNotFound); got.RequestID != "proxy-42.a/b:c" {
		t.Errorf("requestId = %q, want the proxy's", got.RequestID)
	}
	for _, bad := range []string{"has space", strings.Repeat("x", 65), "quote\"d", "new\nline"} {
		w := s.do(t, req{method: http.MethodGet, path: "/nope", header: map[string]string{"X-Request-Id": bad}})
		got := wantError(t, w, 404, codeNotFound)
		if got.RequestID == bad || len(got.RequestID) != 24 {
			t.Errorf("request ID %q was kept as %q, want a fresh one", bad, got.RequestID)
		}
	}
}

func TestAccessLogRedactsTokensAndBodies(t *testing.T) {
	s := newTestServer(t, Config{})
	s.app.queued = actors.Queued{ZaapID: "z1", MessageID: "M1"}
	secretText := "the secret text of a message"
	w := s.do(t, req{method: http.MethodPost, path: base + "/send-text?x=querysecret",
		body: `{"phone":"5511999999999","message":"` + secretText + `"}`})
	if w.Code != 200 {
		t.Fatalf("send-text: %d %s", w.Code, w.Body)
	}
	s.do(t, req{method: http.MethodGet, path: "/instances/" + instID + "/token/" + instToken + "/no-such-route"})
	s.do(t, req{method: http.MethodGet, path: "/instances/" + instID + "/token/wrong-" + instToken + "/status"})
	s.do(t, req{method: http.MethodGet, path: "/instances/" + instID + "/token/x%2F" + instToken + "/status"})

	logged := s.log.String()
	for _, secret := range []string{instToken, secretText, "querysecret"} {
		if strings.Contains(logged, secret) {
			t.Errorf("the access log holds %q: %s", secret, logged)
		}
	}
	for _, want := range []string{
		`"path":"/instances/inst1/token/REDACTED/send-text"`,
		`"route":"/instances/{id}/token/{token}/send-text"`,
		`"path":"/instances/inst1/token/REDACTED/no-such-route"`,
		`"status":404`,
		`"method":"POST"`,
		`"client_ip":"192.0.2.1"`,
	} {
		if !strings.Contains(logged, want) {
			t.Errorf("the access log lacks %s: %s", want, logged)
		}
	}
}

func TestRedactPath(t *testing.T) {
	cases := map[string]string{
		"/instances/a/token/b/send-text": "/instances/a/token/REDACTED/send-text",
		"/instances/a/token/b":           "/instances/a/token/REDACTED",
		"/instances/a/token/":            "/instances/a/token/",
		"/token/x/token/y":               "/token/REDACTED/token/REDACTED",
		"/healthz":                       "/healthz",
	}
	for in, want := range cases {
		if got := redactPath(in); got != want {
			t.Errorf("redactPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHealthz(t *testing.T) {
	s := newTestServer(t, Config{})
	var ok struct{ Status string }
	wantJSON(t, s.do(t, req{method: http.MethodGet, path: "/healthz"}), 200, &ok)
	if ok.Status != "ok" {
		t.Errorf("status = %q", ok.Status)
	}
	s.app.errs["CheckHealth"] = errors.New("database gone")
	w := s.do(t, req{method: http.MethodGet, path: "/healthz"})
	wantError(t, w, http.StatusServiceUnavailable, codeUnavailable)
	if strings.Contains(w.Body.String(), "database") {
		t.Errorf("unauthenticated health answer tells the cause: %s", w.Body)
	}

	noHealth := newTestServer(t, Config{}, func(d *Deps) { d.Health = nil })
	wantJSON(t, noHealth.do(t, req{method: http.MethodGet, path: "/healthz"}), 200, &ok)
}

func TestMetrics(t *testing.T) {
	open := newTestServer(t, Config{})
	w := open.do(t, req{method: http.MethodGet, path: "/metrics"})
	if w.Code != 200 || w.Body.String() != "# metrics\n" {
		t.Errorf("open /metrics = %d %q", w.Code, w.Body)
	}

	guarded := newTestServer(t, Config{MetricsToken: "m-token"})
	for _, auth := range []string{"", "Bearer wrong", "Basic m-token", "Bearer m-token-longer"} {
		w := guarded.do(t, req{method: http.MethodGet, path: "/metrics", auth: auth})
		wantError(t, w, http.StatusUnauthorized, codeUnauthorized)
	}
	w = guarded.do(t, req{method: http.MethodGet, path: "/metrics", auth: "Bearer m-token"})
	if w.Code != 200 || w.Body.String() != "# metrics\n" {
		t.Errorf("/metrics with the token = %d %q", w.Code, w.Body)
	}

	off := newTestServer(t, Config{}, func(d *Deps) { d.Metrics = nil })
	wantError(t, off.do(t, req{method: http.MethodGet, path: "/metrics"}), http.StatusNotFound, codeNotFound)
}

func TestProbesAreLoggedQuietly(t *testing.T) {
	buf := &syncBuffer{}
	s := newTestServer(t, Config{}, func(d *Deps) {
		d.Logger = slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	s.do(t, req{method: http.MethodGet, path: "/healthz"})
	s.do(t, req{method: http.MethodGet, path: "/metrics"})
	if got := buf.String(); got != "" {
		t.Errorf("successful probes logged at info: %s", got)
	}
	s.app.errs["CheckHealth"] = errors.New("down")
	s.do(t, req{method: http.MethodGet, path: "/healthz"})
	if got := buf.String(); !strings.Contains(got, `"route":"/healthz"`) || !strings.Contains(got, `"status":503`) {
		t.Errorf("failing probe not logged: %s", got)
	}
}
