package httpapi

import (
	"context"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/plugzapi/plugzapi/access"
)

// The fake application's access policy: open, as a server without a Client-Token, allow-lists or
// cancellations, unless a test sets errs["CheckClientToken"], errs["CheckIP"] or errs["Cancelled"].

// check returns the error a test set for a check, without recording a call.
func (f *fakeApp) check(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.errs[method]
}

func (f *fakeApp) SetClientToken(ctx context.Context, token string) error {
	return f.record(ctx, "SetClientToken", token)
}

func (f *fakeApp) RemoveClientToken(ctx context.Context) error {
	return f.record(ctx, "RemoveClientToken")
}

func (f *fakeApp) ClientTokenSet() bool { return false }

func (f *fakeApp) CheckClientToken(string, bool) error { return f.check("CheckClientToken") }

func (f *fakeApp) SetAllowedIPs(ctx context.Context, id string, prefixes []netip.Prefix) error {
	return f.record(ctx, "SetAllowedIPs", id, prefixes)
}

func (f *fakeApp) AllowedIPs(ctx context.Context, id string) ([]netip.Prefix, error) {
	return nil, f.record(ctx, "AllowedIPs", id)
}

func (f *fakeApp) CheckIP(string, netip.Addr) error { return f.check("CheckIP") }

func (f *fakeApp) Subscribe(ctx context.Context, id string) error {
	return f.record(ctx, "Subscribe", id)
}

func (f *fakeApp) Cancel(ctx context.Context, id string) (time.Time, error) {
	return time.Unix(1e9, 0), f.record(ctx, "Cancel", id)
}

func (f *fakeApp) Cancelled(string) (time.Time, bool) {
	return time.Time{}, f.check("Cancelled") != nil
}

// TestInstanceRoutesApplyTheAccessPolicy: the policy's refusals become Z-API's texts with stable codes, before
// the application is called.
func TestInstanceRoutesApplyTheAccessPolicy(t *testing.T) {
	cases := []struct {
		check  string
		err    error
		status int
		code   string
		text   string
	}{
		{"CheckClientToken", access.ErrClientTokenMissing, http.StatusUnauthorized, codeClientTokenMissing, "null not allowed"},
		{"CheckClientToken", access.ErrClientTokenInvalid, http.StatusUnauthorized, codeClientTokenInvalid, "client-token not allowed"},
		{"CheckIP", &access.IPNotAllowedError{IP: netip.MustParseAddr("192.0.2.1")}, http.StatusForbidden, codeIPNotAllowed, "192.0.2.1 not allowed"},
		{"Cancelled", access.ErrSubscriptionCancelled, http.StatusBadRequest, codeSubscriptionCancelled,
			"To continue sending a message, you must subscribe to this instance again"},
	}
	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			s := newTestServer(t, Config{})
			s.app.errs[c.check] = c.err
			body := wantError(t, s.do(t, req{method: http.MethodPost, path: base + "/send-text",
				body: `{"phone":"5511999999999","message":"hi"}`}), c.status, c.code)
			if body.Error != c.text {
				t.Errorf("error %q, want %q", body.Error, c.text)
			}
			wantNoAppCalls(t, s.app)
			// The partner routes take the admin token instead, and stay open to a cancelled instance.
			w := s.do(t, admin(http.MethodPost, base+"/integrator/on-demand/subscription", `{}`))
			if w.Code != http.StatusCreated || w.Body.String() != "OK" {
				t.Errorf("subscription = %d %s, want 201 OK", w.Code, w.Body)
			}
		})
	}
}

func TestSecurityAdminRoutes(t *testing.T) {
	s := newTestServer(t, Config{})
	wantError(t, s.do(t, admin(http.MethodPut, "/account/client-token", `{"value":"short"}`)), http.StatusBadRequest, codeInvalidField, "value")
	wantError(t, s.do(t, admin(http.MethodPut, "/account/client-token", `{}`)), http.StatusBadRequest, codeMissingFields, "value")
	wantError(t, s.do(t, admin(http.MethodPut, "/instances/"+instID+"/ip-allow-list", `{"value":["10.0.0.0/33"]}`)),
		http.StatusBadRequest, codeInvalidField, "value")
	wantError(t, s.do(t, admin(http.MethodPut, "/instances/"+instID+"/ip-allow-list", `{"value":"10.0.0.1"}`)),
		http.StatusBadRequest, codeInvalidField, "value")
	wantNoAppCalls(t, s.app)
	wantValueTrue(t, s.do(t, admin(http.MethodPut, "/instances/"+instID+"/ip-allow-list", `{"value":["10.0.0.1","2001:db8::/32"]}`)))
	got := s.app.callsTo("SetAllowedIPs")
	if len(got) != 1 || len(got[0].args[1].([]netip.Prefix)) != 2 {
		t.Errorf("SetAllowedIPs calls %+v", got)
	}
	wantValueTrue(t, s.do(t, admin(http.MethodPut, "/account/client-token", `{"value":"0123456789abcdef"}`)))
	w := s.do(t, admin(http.MethodPost, base+"/integrator/on-demand/cancel", `{}`))
	if w.Code != http.StatusCreated || w.Header().Get(deleteAtHeader) != "2001-09-09T01:46:40Z" {
		t.Errorf("cancel = %d %v", w.Code, w.Header())
	}
	wantError(t, s.do(t, req{method: http.MethodGet, path: base + "/security/two-fa-code"}), http.StatusNotImplemented, codeUnsupported)
}

// Every route under an instance's prefix, the ones added later included, checks the instance's credentials and
// then its access policy before anything else: walked from the router, not listed by hand.
func TestEveryInstanceRouteChecksCredentialsAndClientToken(t *testing.T) {
	mux, err := newMux(Config{}, deps(newFakeApp(), nil))
	if err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`\{[^}]+\}`)
	var routes []req
	err = chi.Walk(mux, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if rest, ok := strings.CutPrefix(route, instancePrefix); ok {
			routes = append(routes, req{method: method, path: param.ReplaceAllString(rest, "5511999999999")})
		}
		return nil
	})
	if err != nil || len(routes) < 100 {
		t.Fatalf("walked %d instance routes (%v)", len(routes), err)
	}
	for _, route := range routes {
		t.Run(route.method+" "+route.path, func(t *testing.T) {
			// With the admin token too, as the partner routes take it: the instance's credentials still decide.
			s := newTestServer(t, Config{})
			q := admin(route.method, "/instances/"+instID+"/token/wrong"+route.path, `{}`)
			wantError(t, s.do(t, q), http.StatusNotFound, codeInstanceNotFound)
			wantNoAppCalls(t, s.app)

			if strings.HasPrefix(route.path, "/integrator/") {
				return // the partner routes take the admin token, not the Client-Token
			}
			s = newTestServer(t, Config{})
			s.app.errs["CheckClientToken"] = access.ErrClientTokenMissing
			wantError(t, s.do(t, req{method: route.method, path: base + route.path, body: `{}`}),
				http.StatusUnauthorized, codeClientTokenMissing)
			wantNoAppCalls(t, s.app)
		})
	}
}
