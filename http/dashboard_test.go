package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/plugzapi/plugzapi/actors"
	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	"github.com/plugzapi/plugzapi/events/live"
)

// publicRoutes answer without a token: the probes, the API's description, received files (by unguessable
// name), and the dashboard's files, which hold no data.
var publicRoutes = map[string]bool{
	"GET /healthz": true, "GET /openapi.yaml": true, "GET /docs": true, "GET /metrics": true,
	"GET /media/{file}": true, "GET /": true, "GET /dashboard/{file}": true,
}

// TestEveryAdminRouteNeedsTheAdminToken walks the router: every route that is not public and carries no instance
// token in its path (the dashboard's, the webhook admin's, every admin route, present and future) refuses a
// request without the admin token, or with an instance's, before reaching the application.
func TestEveryAdminRouteNeedsTheAdminToken(t *testing.T) {
	mux, err := newMux(Config{}, deps(newFakeApp(), nil))
	if err != nil {
		t.Fatal(err)
	}
	params := regexp.MustCompile(`\{([^}]+)\}`)
	values := map[string]string{"id": instID, "phone": "5511999999999", "zaapId": "z1"}
	var checked int
	err = chi.Walk(mux, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if publicRoutes[method+" "+route] || strings.Contains(route, "{token}") {
			return nil
		}
		path := params.ReplaceAllStringFunc(route, func(p string) string {
			if v, ok := values[p[1:len(p)-1]]; ok {
				return v
			}
			return "x"
		})
		for _, auth := range []string{"", "Bearer " + instToken} {
			t.Run(method+" "+route+" "+auth, func(t *testing.T) {
				s := newTestServer(t, Config{})
				w := s.do(t, req{method: method, path: path, body: "{}", auth: auth})
				wantError(t, w, http.StatusUnauthorized, codeUnauthorized)
				wantNoAppCalls(t, s.app)
			})
		}
		checked++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 15 {
		t.Errorf("checked %d admin routes; the walk missed some", checked)
	}
}

// TestDashboardRoutesActAsTheInstance: with the admin token, the dashboard's instance routes reach the
// application for the instance in the path, as the instance routes do with the instance's token.
func TestDashboardRoutesActAsTheInstance(t *testing.T) {
	for _, q := range []req{
		admin(http.MethodGet, "/instances/"+instID+"/qr-code/image", ""),
		admin(http.MethodGet, "/instances/"+instID+"/phone-code/5511999999999", ""),
		admin(http.MethodGet, "/instances/"+instID+"/queue", ""),
		admin(http.MethodDelete, "/instances/"+instID+"/queue", ""),
		admin(http.MethodDelete, "/instances/"+instID+"/queue/z1", ""),
		admin(http.MethodPost, "/instances/"+instID+"/send-text", `{"phone":"5511999999999","message":"hi"}`),
	} {
		t.Run(q.method+" "+q.path, func(t *testing.T) {
			s := newTestServer(t, Config{})
			s.app.qr = "2@qr"
			w := s.do(t, q)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			names := s.app.appCalls()
			if len(names) != 1 {
				t.Fatalf("application calls %v, want one", names)
			}
			if c := s.app.callsTo(names[0]); len(c[0].args) == 0 || c[0].args[0] != instID {
				t.Errorf("%s%v, want it about %s", names[0], c[0].args, instID)
			}
		})
	}
}

func TestDashboardPage(t *testing.T) {
	s := newTestServer(t, Config{})
	for _, c := range []struct{ acceptLanguage, lang string }{
		{"", "en"}, {"pt-BR,pt;q=0.9,en;q=0.8", "pt-BR"}, {"en-US,en;q=0.9,pt;q=0.5", "en"}, {"de, pt;q=0.3", "pt-BR"},
	} {
		w := s.do(t, req{method: http.MethodGet, path: "/", header: map[string]string{"Accept-Language": c.acceptLanguage}})
		if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("GET / = %d %q", w.Code, w.Header().Get("Content-Type"))
		}
		if !strings.Contains(w.Body.String(), `<html lang="`+c.lang+`">`) {
			t.Errorf("Accept-Language %q: page not in %s", c.acceptLanguage, c.lang)
		}
		csp := w.Header().Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") || w.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("CSP %q, X-Frame-Options %q", csp, w.Header().Get("X-Frame-Options"))
		}
	}
	// Nothing inline: no script without src, no style attribute or element, no event handler attribute.
	inline := regexp.MustCompile(`\sstyle=|<style|\son[a-z]+=`)
	scriptTag := regexp.MustCompile(`<script[^>]*>`)
	for name, a := range dashboardAssets {
		if !strings.HasSuffix(name, ".html") {
			continue
		}
		if inline.Match(a.body) {
			t.Errorf("%s has inline style or handlers: %s", name, inline.Find(a.body))
		}
		for _, tag := range scriptTag.FindAll(a.body, -1) {
			if !strings.Contains(string(tag), " src=") {
				t.Errorf("%s has an inline script: %s", name, tag)
			}
		}
	}
	for _, file := range []string{"app.js", "i18n.js", "app.css"} {
		w := s.do(t, req{method: http.MethodGet, path: "/dashboard/" + file})
		if w.Code != http.StatusOK || w.Header().Get("ETag") == "" || w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET /dashboard/%s = %d, headers %v", file, w.Code, w.Header())
		}
		again := s.do(t, req{method: http.MethodGet, path: "/dashboard/" + file, header: map[string]string{"If-None-Match": w.Header().Get("ETag")}})
		if again.Code != http.StatusNotModified {
			t.Errorf("GET /dashboard/%s with its ETag = %d, want 304", file, again.Code)
		}
	}
	for _, p := range []string{"/dashboard/index.html", "/dashboard/nope.js", "/dashboard/..%2fdashboard.go"} {
		if w := s.do(t, req{method: http.MethodGet, path: p}); w.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, w.Code)
		}
	}
}

// sseReader reads one server-sent event stream.
type sseReader struct {
	t     *testing.T
	lines chan string
}

func openStream(t *testing.T, ctx context.Context, srv *httptest.Server, id string) *sseReader {
	t.Helper()
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/instances/"+id+"/events", nil)
	r.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET events of %s = %d %q", id, res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &sseReader{t: t, lines: make(chan string, 100)}
	go func() {
		defer res.Body.Close()
		defer close(s.lines)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				s.lines <- data
			}
		}
	}()
	return s
}

func (s *sseReader) next() live.Event {
	s.t.Helper()
	select {
	case line, ok := <-s.lines:
		if !ok {
			s.t.Fatal("stream ended")
		}
		var e live.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			s.t.Fatalf("event %q: %v", line, err)
		}
		return e
	case <-time.After(10 * time.Second):
		s.t.Fatal("no event within 10s")
	}
	return live.Event{}
}

// TestLiveEventsStayWithTheirInstance: two browsers watch two instances through the real fan-out; each stream
// carries its own instance's events only, and none of another's. The streams end when the server shuts down.
func TestLiveEventsStayWithTheirInstance(t *testing.T) {
	l := eventstest.OpenLog(t, eventstest.OpenDB(t, ""), events.Config{})
	feedCtx, shutdown := context.WithCancel(context.Background())
	defer shutdown()
	feed, err := live.Start(feedCtx, l, "")
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	app := newFakeApp()
	app.instances = []actors.InstanceInfo{{ID: "a"}, {ID: "b"}}
	d := deps(app, nil)
	d.Live = feed
	h, err := NewRouter(Config{}, d)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	sa, sb := openStream(t, ctx, srv, "a"), openStream(t, ctx, srv, "b")
	eventstest.Append(t, l, "b", eventstest.Queued("zb1", "mb1", "5511900000002"))
	eventstest.Append(t, l, "a", eventstest.Queued("za1", "ma1", "5511900000001"))
	eventstest.Append(t, l, "b", eventstest.Sent("zb1", "mb1", "5511900000002"))
	eventstest.Append(t, l, "a", eventstest.Sent("za1", "ma1", "5511900000001"))
	eventstest.Append(t, l, "c", eventstest.Connected("5511900000003"))
	eventstest.Append(t, l, "b", eventstest.Connected("5511900000004"))

	for _, want := range []string{"message_queued ma1", "message_sent ma1"} {
		if e := sa.next(); e.Type+" "+e.MessageID != want {
			t.Errorf("a's stream: %+v, want %s", e, want)
		}
	}
	for _, want := range []string{"message_queued mb1", "message_sent mb1", "connected "} {
		if e := sb.next(); e.Type+" "+e.MessageID != want {
			t.Errorf("b's stream: %+v, want %s", e, want)
		}
	}
	// b's last event came after everything a could have been sent: a's stream has nothing more.
	shutdown()
	for line := range sa.lines {
		t.Errorf("a's stream carried another event: %s", line)
	}
	for line := range sb.lines {
		t.Errorf("b's stream carried another event: %s", line)
	}
}

func TestLiveEventsOfUnknownInstanceIs404(t *testing.T) {
	s := newTestServer(t, Config{}, func(d *Deps) { d.Live = &live.Feed{} })
	w := s.do(t, admin(http.MethodGet, "/instances/nope/events", ""))
	wantError(t, w, http.StatusNotFound, codeInstanceNotFound)
}

// remoteLocator places every instance on another node.
type remoteLocator struct{ url string }

func (l remoteLocator) Locate(context.Context, string, bool) (string, bool, error) {
	return l.url, false, nil
}
func (remoteLocator) Draining() bool  { return false }
func (remoteLocator) NodeURL() string { return "http://this-node" }

// TestLiveEventsStreamThroughTheCluster: on a cluster, the event stream of an instance another node runs is
// forwarded there, and each event comes through as the owner sends it, not when its response ends.
func TestLiveEventsStreamThroughTheCluster(t *testing.T) {
	release := make(chan struct{})
	owner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "id: 1\ndata: {\"seq\":1}\n\n")
		http.NewResponseController(w).Flush()
		<-release // the stream goes on
	}))
	defer owner.Close()
	defer close(release)
	d := deps(newFakeApp(), nil)
	d.Locator = remoteLocator{url: owner.URL}
	h, err := NewRouter(Config{ClusterSecret: "cluster-secret"}, d)
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(h)
	defer front.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := openStream(t, ctx, front, instID)
	if e := s.next(); e.Seq != 1 {
		t.Errorf("first event through the forwarder: %+v", e)
	}
}
