package httpapi

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/plugzapi/plugzapi/actors"
	"github.com/plugzapi/plugzapi/events/live"
)

// The dashboard (GET /) is a page of plain HTML, CSS and JavaScript modules embedded in the binary: it works
// offline and loads nothing from elsewhere. Its files hold no data, so they are served to anyone; everything it
// shows comes from admin routes, which the page calls with the admin token the operator types in. The token stays
// in the page's memory (never in a cookie, storage or URL), so there is no ambient credential for another site
// to ride on, and reloading the page asks for it again.
//
// What the page does to an instance it does through admin routes that reuse the instance routes' handlers
// (mountDashboardAdminRoutes): the admin token already allows deleting any instance, so it may also act as one,
// and the page never needs an instance's token, which the admin API does not reveal.

//go:embed dashboard
var dashboardFiles embed.FS

// dashboardCSP allows the page its own scripts, styles and API, and QR codes as data: images; nothing inline,
// nothing from elsewhere, and no framing.
const dashboardCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// liveBuffer is how many events may wait for a browser that reads its stream slowly before it is dropped.
const liveBuffer = 256

// liveHeartbeat is how often an idle event stream sends a comment, so that proxies keep it open and the page
// notices a dead connection.
const liveHeartbeat = 15 * time.Second

// LiveEvents lets the dashboard watch an instance's events as they happen (package events/live).
type LiveEvents interface {
	// Watch starts watching an instance's events; buffer events may wait before a slow watcher is dropped.
	Watch(instanceID string, buffer int) (*live.Watch, error)
}

// dashboardAsset is one embedded file, with what its answer needs.
type dashboardAsset struct {
	body        []byte
	contentType string
	etag        string
}

// dashboardAssets are the page's files by name; index.html is served at / only.
var dashboardAssets = func() map[string]dashboardAsset {
	out := map[string]dashboardAsset{}
	types := map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
		".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
	err := fs.WalkDir(dashboardFiles, "dashboard", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := dashboardFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[path.Base(p)] = dashboardAsset{body: b, contentType: types[path.Ext(p)],
			etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic(err) // the files are part of the binary: a failure here is a build mistake
	}
	return out
}()

// mountDashboard serves the page's files and the admin event stream, which is not bounded by the request
// timeout the other admin routes have.
func (a *api) mountDashboard(r chi.Router) {
	r.Get("/", serveDashboardIndex)
	r.Get("/dashboard/{file}", serveDashboardFile)
	r.With(a.requireAdmin).Get("/instances/{id}/events", a.liveEvents)
}

// mountDashboardAdminRoutes adds, to the admin group, the instance routes the dashboard uses, authorised by the
// admin token instead of the instance's.
func (a *api) mountDashboardAdminRoutes(r chi.Router) {
	const p = "/instances/{id}"
	r.Get(p+"/qr-code/image", a.qrCodeImage)
	r.Get(p+"/phone-code/{phone}", a.phoneCode)
	r.Get(p+"/queue", a.queue)
	r.Delete(p+"/queue", a.clearQueue)
	r.Delete(p+"/queue/{zaapId}", a.cancelQueued)
	r.Post(p+"/send-text", a.sendText)
}

func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", dashboardCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	// Revalidated each time (a new binary may bring new files), answered 304 by ETag when unchanged.
	h.Set("Cache-Control", "no-cache")
}

// serveDashboardIndex serves the page in the language the browser prefers (Portuguese or English); the page's
// switch changes it afterwards.
func serveDashboardIndex(w http.ResponseWriter, r *http.Request) {
	a := dashboardAssets["index.html"]
	lang := pageLanguage(r.Header.Get("Accept-Language"))
	body := bytes.Replace(a.body, []byte(`<html lang="en">`), []byte(`<html lang="`+lang+`">`), 1)
	w.Header().Set("Vary", "Accept-Language")
	serveAsset(w, r, dashboardAsset{body: body, contentType: a.contentType, etag: strings.TrimSuffix(a.etag, `"`) + "-" + lang + `"`})
}

func serveDashboardFile(w http.ResponseWriter, r *http.Request) {
	name := chi.URLParam(r, "file")
	a, ok := dashboardAssets[name]
	if !ok || name == "index.html" {
		notFound(w, r)
		return
	}
	serveAsset(w, r, a)
}

func serveAsset(w http.ResponseWriter, r *http.Request, a dashboardAsset) {
	setPageHeaders(w.Header())
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// pageLanguage picks "pt-BR" when the browser ranks Portuguese above English, and "en" otherwise.
func pageLanguage(acceptLanguage string) string {
	bestQ, best := -1.0, "en"
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if _, err := fmt.Sscanf(v, "%g", &q); err != nil {
				continue
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
		lang := ""
		switch primary {
		case "pt":
			lang = "pt-BR"
		case "en":
			lang = "en"
		}
		if lang != "" && q > bestQ {
			bestQ, best = q, lang
		}
	}
	return best
}

// liveEvents streams an instance's events as server-sent events, one JSON summary per event (live.Event), until
// the client goes away, the server shuts down, or the client falls behind (then a last "overflow" event tells
// the page to reconnect and reload what it shows).
func (a *api) liveEvents(w http.ResponseWriter, r *http.Request) {
	id, ok := adminInstanceID(r)
	if !ok {
		a.respondError(w, r, actors.ErrInstanceNotFound)
		return
	}
	if a.deps.Live == nil {
		writeError(w, r, &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable,
			message: "this server does not stream events"})
		return
	}
	if _, err := a.deps.Directory.Instance(r.Context(), id); err != nil {
		a.respondError(w, r, fmt.Errorf("watch events: %w", err))
		return
	}
	watch, err := a.deps.Live.Watch(id, liveBuffer)
	if err != nil {
		writeError(w, r, &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable,
			message: "the server is shutting down"})
		return
	}
	defer watch.Close()

	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives any write timeout; a test recorder has none
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not hold the stream back
	w.WriteHeader(http.StatusOK)
	send := func(s string) bool {
		if _, err := fmt.Fprint(w, s); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send(": watching\n\n") {
		return
	}
	heartbeat := time.NewTicker(liveHeartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-heartbeat.C:
			if !send(": heartbeat\n\n") {
				return
			}
		case ev, ok := <-watch.Events():
			if !ok {
				if watch.Dropped() {
					send("event: overflow\ndata: {}\n\n")
				}
				return
			}
			line, _ := json.Marshal(ev) // a struct of strings and numbers always marshals
			if !send(fmt.Sprintf("id: %d\ndata: %s\n\n", ev.Seq, line)) {
				return
			}
		}
	}
}
