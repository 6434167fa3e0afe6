package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/plugzapi/plugzapi/actors"
)

type requestIDKey struct{}

// requestIDHeader carries the request ID in both directions: a proxy may set it, the answer always has it.
const requestIDHeader = "X-Request-Id"

// requestID returns the ID the requestID middleware gave the request, or "" outside of it.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// withRequestID gives each request an ID for the logs and the error answers. An ID set by a proxy upstream is
// kept so that logs join up, but only when it is short and plain: it ends up in log lines and JSON.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !plainRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(requestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

func plainRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.:/", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (it crashes the program instead)
	return hex.EncodeToString(b[:])
}

// routePattern is the route the request matched, with its parameters as placeholders ("" before routing or
// when nothing matched). Unlike the path it holds no token, so it is safe to log.
func routePattern(r *http.Request) string {
	if rctx := chi.RouteContext(r.Context()); rctx != nil {
		return rctx.RoutePattern()
	}
	return ""
}

// redactPath hides the segment after "token" in a path, so that instance tokens never reach the logs, even
// for paths that match no route.
func redactPath(p string) string {
	segs := strings.Split(p, "/")
	for i := 0; i+1 < len(segs); i++ {
		if segs[i] == "token" && segs[i+1] != "" {
			segs[i+1] = "REDACTED"
			i++
		}
	}
	return strings.Join(segs, "/")
}

// quietRoutes are logged at debug level when they succeed.
var quietRoutes = map[string]bool{"/healthz": true, "/metrics": true}

// accessLog writes one structured line per request. It logs neither bodies (messages are private) nor query
// strings, and the path has its token redacted.
func (a *api) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		defer func() {
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK // the handler wrote nothing; net/http answers 200
			}
			level := slog.LevelInfo
			switch {
			case status >= 500:
				level = slog.LevelWarn
			case status < 400 && quietRoutes[routePattern(r)]:
				level = slog.LevelDebug // probes and scrapes every few seconds would drown the rest
			}
			a.log.LogAttrs(r.Context(), level, "http request",
				slog.String("request_id", requestID(r.Context())),
				slog.String("method", r.Method),
				slog.String("path", redactPath(r.URL.EscapedPath())),
				slog.String("route", routePattern(r)),
				slog.Int("status", status),
				slog.Int("bytes", ww.BytesWritten()),
				slog.Duration("duration", time.Since(start)),
				slog.String("client_ip", middleware.GetClientIP(r.Context())),
			)
		}()
		next.ServeHTTP(ww, r)
	})
}

// recoverPanics turns a panic in a handler into a logged 500 answer instead of a dropped connection.
func (a *api) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler { //nolint:errorlint // net/http panics with this exact value
				panic(rec) // net/http's way to abort a response on purpose; it must reach the server
			}
			a.log.ErrorContext(r.Context(), "panic in http handler",
				slog.String("request_id", requestID(r.Context())),
				slog.String("route", routePattern(r)),
				slog.String("panic", fmt.Sprint(rec)),
				slog.String("stack", string(debug.Stack())))
			if ww, ok := w.(middleware.WrapResponseWriter); ok && ww.Status() != 0 {
				return // the answer has begun; nothing sensible can be added to it
			}
			writeError(w, r, &apiError{status: http.StatusInternalServerError, code: codeInternal,
				message: "internal server error"})
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody refuses bodies larger than the configured limit (see limitBodyTo).
func (a *api) limitBody(next http.Handler) http.Handler {
	return a.limitBodyTo(a.cfg.MaxBodyBytes)(next)
}

// minBodyRate is the slowest a body may arrive, beyond the BodyReadTimeout every body gets.
const minBodyRate = 1 << 20 // bytes per second

// limitBodyTo refuses bodies larger than limit: at once when Content-Length says so, otherwise when decoding
// reads past it (decodeJSON turns that into 413). A body must also arrive in time (BodyReadTimeout, plus a
// second per MiB it may hold), so that a client sending slowly cannot hold a connection (decodeJSON: 408).
func (a *api) limitBodyTo(limit int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > limit {
				writeError(w, r, bodyTooLarge(limit))
				return
			}
			size := limit
			if r.ContentLength >= 0 {
				size = r.ContentLength
			}
			deadline := time.Now().Add(a.cfg.BodyReadTimeout + time.Duration(size)*time.Second/minBodyRate)
			// Not every ResponseWriter has a connection (tests' recorders): then there is nothing to guard.
			_ = http.NewResponseController(w).SetReadDeadline(deadline)
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			next.ServeHTTP(w, r)
		})
	}
}

func bodyTooLarge(limit int64) *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, code: codeBodyTooLarge,
		message: fmt.Sprintf("request body is larger than %d bytes", limit)}
}

// requireJSON answers 415 to a POST, PUT or PATCH whose body is not declared as JSON, as PlugZapi does.
func requireJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || mt != "application/json" {
				writeError(w, r, &apiError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMediaType,
					message: "Content-Type must be application/json"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// withTimeout bounds the time the application has to answer; handlers map the expired context to 504.
func (a *api) withTimeout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), a.cfg.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// bearerToken returns the token of an "Authorization: Bearer <token>" header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func unauthorized(message string) *apiError {
	return &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, message: message}
}

func writeUnauthorized(w http.ResponseWriter, r *http.Request, message string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="plugzapi"`)
	writeError(w, r, unauthorized(message))
}

// requireAdmin lets through requests that carry the admin token.
func (a *api) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok {
			writeUnauthorized(w, r, "missing admin token: send Authorization: Bearer <admin token>")
			return
		}
		valid, err := a.deps.AdminAuth.AuthenticateAdmin(r.Context(), token)
		if err != nil {
			a.respondError(w, r, fmt.Errorf("authenticate admin: %w", err))
			return
		}
		if !valid {
			writeUnauthorized(w, r, "invalid admin token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// maxCredentialLen bounds the instance ID and token taken from a path before they are passed on: real ones
// are far shorter, and a long one cannot match.
const maxCredentialLen = 256

// requireInstance lets through requests whose path holds a valid instance ID and token and that pass the
// instance's access policy (guardInstance).
func (a *api) requireInstance(next http.Handler) http.Handler {
	return a.instanceCredentials(a.guardInstance(next))
}

// instanceCredentials lets through requests whose path holds a valid instance ID and token. A wrong ID and a
// wrong token get the same 404 "instance not found", so that IDs cannot be probed.
func (a *api) instanceCredentials(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, token := chi.URLParam(r, "id"), chi.URLParam(r, "token")
		if id == "" || token == "" || len(id) > maxCredentialLen || len(token) > maxCredentialLen {
			a.respondError(w, r, actors.ErrInstanceNotFound)
			return
		}
		if err := a.deps.InstanceAuth.AuthenticateInstance(r.Context(), id, token); err != nil {
			a.respondError(w, r, fmt.Errorf("authenticate instance: %w", err))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireMetricsToken guards /metrics when a metrics token is configured.
func (a *api) requireMetricsToken(next http.Handler) http.Handler {
	if a.cfg.MetricsToken == "" {
		return next
	}
	want := sha256.Sum256([]byte(a.cfg.MetricsToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		// Comparing digests keeps the comparison constant-time whatever the lengths.
		got := sha256.Sum256([]byte(token))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			writeUnauthorized(w, r, "invalid metrics token")
			return
		}
		next.ServeHTTP(w, r)
	})
}
