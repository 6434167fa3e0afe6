package httpapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

// Locator says where an instance runs, on a cluster: here (local), or on the node whose API is at url.
type Locator interface {
	// Locate locates an instance for a request (ctx is the request's): forwarded says another node sent it
	// here, having located the instance here.
	Locate(ctx context.Context, id string, forwarded bool) (url string, local bool, err error)
	// Draining says this node is handing its instances over before it stops: it forwards what it no longer
	// serves, requests other nodes forwarded to it included (once: see hopsHeader).
	Draining() bool
	// NodeURL is this node's API as the other nodes reach it.
	NodeURL() string
}

// nodeHeader names, on a cluster, the node that served a request (its URL): for operators, and for the tests.
const nodeHeader = "X-Plugzapi-Node"

// The headers a node adds to a request it forwards to the node that runs the instance: the cluster's secret (so
// that the owner serves it itself, and believes the next header), and the client's address (for the instance's
// IP allow-list and the access log).
const (
	forwardedHeader = "X-Plugzapi-Forwarded"
	clientIPHeader  = "X-Plugzapi-Client-Ip"
	// hopsHeader says how far a forwarded request went: 1 when forwarded by the node it reached (the node it
	// is forwarded to serves it), 2 when forwarded by a draining node (whose view of the membership stopped when
	// it left, so the next node may forward it once more), 3 then: never forwarded again, so no request loops.
	// Absent means 1 (a node of an earlier version forwarded it).
	hopsHeader = "X-Plugzapi-Hops"
	maxHops    = 3
)

// forwarder sends a request about an instance to the node of the cluster that runs it, so that any node
// accepts any request: authentication, body limits and everything else happen there, as for a request that
// arrived there. It holds one reverse proxy per node.
type forwarder struct {
	locate Locator
	secret []byte
	self   string // this node's URL
	log    *slog.Logger
	// transport gives up on a node that does not start answering a forwarded request within the time its API
	// gives a request, and a little more: it stopped (paused, cut off), and the request would hang for good.
	transport http.RoundTripper

	mu      sync.Mutex
	proxies map[string]*httputil.ReverseProxy
}

// handler forwards the requests that name an instance this node does not run; everything else goes to next.
func (f *forwarder) handler(next http.Handler) http.Handler {
	here := next
	next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(nodeHeader, f.self)
		here.ServeHTTP(w, r)
	})
	fromNode := middleware.ClientIPFromHeader(clientIPHeader)(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hops, serve := 0, next
		if got := r.Header.Get(forwardedHeader); got != "" {
			if subtle.ConstantTimeCompare([]byte(got), f.secret) != 1 {
				writeError(w, r, &apiError{status: http.StatusUnauthorized, code: codeUnauthorized,
					message: "a forwarded request must carry the cluster's secret"})
				return
			}
			hops, serve = 1, fromNode
			if n, err := strconv.Atoi(r.Header.Get(hopsHeader)); err == nil && n > 1 {
				hops = n
			}
		}
		id := instanceInPath(r.URL.Path)
		if id == "" {
			serve.ServeHTTP(w, r)
			return
		}
		target, local, err := f.locate.Locate(r.Context(), id, hops > 0)
		if err != nil {
			f.log.WarnContext(r.Context(), "cluster: cannot forward a request", "path", r.URL.Path, "err", err)
			writeError(w, r, &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable,
				message: "the cluster could not say where this instance runs; try again"})
			return
		}
		if local {
			serve.ServeHTTP(w, r)
			return
		}
		if hops >= maxHops || (hops == 1 && !f.locate.Draining()) {
			// The node that sent it here and this one disagree on where the instance runs: the membership is
			// changing.
			f.log.WarnContext(r.Context(), "cluster: a forwarded request's instance runs on another node", "path", r.URL.Path, "node", target, "hops", hops)
			writeError(w, r, &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable,
				message: "the instance is moving between nodes; try again"})
			return
		}
		proxy, err := f.proxy(target)
		if err != nil {
			f.log.WarnContext(r.Context(), "cluster: cannot forward a request", "path", r.URL.Path, "err", err)
			writeError(w, r, &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable,
				message: "the node running this instance has no valid address"})
			return
		}
		if hops == 0 {
			r.Header.Set(forwardedHeader, string(f.secret))
			r.Header.Set(clientIPHeader, middleware.GetClientIP(r.Context()))
		}
		next := hops + 1
		if f.locate.Draining() {
			next = max(next, 2)
		}
		r.Header.Set(hopsHeader, strconv.Itoa(next))
		proxy.ServeHTTP(w, r)
	})
}

// forwardTransport is the forwarder's transport for a cluster whose nodes answer a request within
// requestTimeout.
func forwardTransport(requestTimeout time.Duration) http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = requestTimeout + 5*time.Second
	return t
}

// instanceInPath returns the instance ID of a path under /instances/{id}, or "".
func instanceInPath(path string) string {
	rest, ok := strings.CutPrefix(path, "/instances/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	if id == "integrator" { // /instances/integrator/on-demand creates one: any node does
		return ""
	}
	return id
}

func (f *forwarder) proxy(target string) (*httputil.ReverseProxy, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.proxies[target]; p != nil {
		return p, nil
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.Join(errors.New("bad node URL "+target), err)
	}
	p := &httputil.ReverseProxy{
		Transport: f.transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			f.log.WarnContext(r.Context(), "cluster: cannot forward a request", "path", r.URL.Path, "err", err)
			writeError(w, r, &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable,
				message: "the node running this instance did not answer; try again"})
		},
	}
	f.proxies[target] = p
	return p, nil
}
