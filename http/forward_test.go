package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// placedLocator places every instance on the node at url, and says whether this node drains.
type placedLocator struct {
	url      string
	draining bool
}

func (l placedLocator) Locate(context.Context, string, bool) (string, bool, error) {
	return l.url, false, nil
}
func (l placedLocator) Draining() bool { return l.draining }
func (placedLocator) NodeURL() string  { return "http://this-node" }

// A request is forwarded by the node it reaches; a node it was forwarded to forwards it again only while that
// node drains, and the node after a draining one once more: never more than maxHops times, so no request
// loops. The count is believed only with the cluster's secret.
func TestForwardingHops(t *testing.T) {
	const secret = "cluster-secret"
	var got string // the hops of the last request the owner received
	owner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get(hopsHeader)
		if r.Header.Get(forwardedHeader) != secret {
			t.Errorf("forwarded without the cluster's secret")
		}
	}))
	defer owner.Close()
	for _, c := range []struct {
		name     string
		header   map[string]string
		draining bool
		want     string // the hops the owner gets; "" when this node answers 503
	}{
		{"from a client", nil, false, "1"},
		{"from a client, draining", nil, true, "2"},
		{"from a client, with a forged count", map[string]string{hopsHeader: "3"}, false, "1"},
		{"from a node that placed it here", map[string]string{forwardedHeader: secret}, false, ""},
		{"from a node that placed it here, draining", map[string]string{forwardedHeader: secret}, true, "2"},
		{"from a draining node", map[string]string{forwardedHeader: secret, hopsHeader: "2"}, false, "3"},
		{"the last forward", map[string]string{forwardedHeader: secret, hopsHeader: "3"}, true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got = ""
			s := newTestServer(t, Config{ClusterSecret: secret}, func(d *Deps) {
				d.Locator = placedLocator{url: owner.URL, draining: c.draining}
			})
			w := s.do(t, req{method: http.MethodGet, path: base + "/status", header: c.header})
			if c.want == "" {
				wantError(t, w, http.StatusServiceUnavailable, codeUnavailable)
				if got != "" {
					t.Errorf("forwarded (hops %s), want answered here", got)
				}
				return
			}
			if w.Code != http.StatusOK || got != c.want {
				t.Errorf("answered %d, the owner got hops %q, want 200 and %q", w.Code, got, c.want)
			}
		})
	}
}
