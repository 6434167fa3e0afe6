package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/plugzapi/plugzapi/access"
)

// clientTokenHeader is Z-API's account security token header.
const clientTokenHeader = "Client-Token"

// maxAllowedIPs bounds an instance's IP allow-list.
const maxAllowedIPs = 100

// ClientTokens is the account's optional Client-Token (Z-API's account security token): once set, every instance
// route requires it in the Client-Token header.
type ClientTokens interface {
	// SetClientToken sets the token (at least access.MinClientTokenLen characters); only its hash is kept.
	SetClientToken(ctx context.Context, token string) error
	// RemoveClientToken turns the requirement off.
	RemoveClientToken(ctx context.Context) error
	// ClientTokenSet reports whether a token is set.
	ClientTokenSet() bool
	// CheckClientToken checks a request's header (sent: it had one), in constant time:
	// access.ErrClientTokenMissing or access.ErrClientTokenInvalid when a token is set and it does not match.
	CheckClientToken(header string, sent bool) error
}

// IPAllowLists restricts which client addresses may call an instance's routes.
type IPAllowLists interface {
	// SetAllowedIPs sets an instance's allow-list; empty removes it (every address may call).
	SetAllowedIPs(ctx context.Context, id string, prefixes []netip.Prefix) error
	// AllowedIPs returns an instance's allow-list.
	AllowedIPs(ctx context.Context, id string) ([]netip.Prefix, error)
	// CheckIP refuses an address not on the instance's list (an *access.IPNotAllowedError).
	CheckIP(id string, ip netip.Addr) error
}

// guardInstance applies, after the path's credentials, the instance's IP allow-list, the account's
// Client-Token and the instance's subscription. The partner routes do not pass here: the admin token guards them.
func (a *api) guardInstance(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := chi.URLParam(r, "id")
		if err := a.deps.IPAllowLists.CheckIP(id, middleware.GetClientIPAddr(r.Context())); err != nil {
			a.respondError(w, r, err)
			return
		}
		_, sent := r.Header[http.CanonicalHeaderKey(clientTokenHeader)]
		if err := a.deps.ClientTokens.CheckClientToken(r.Header.Get(clientTokenHeader), sent); err != nil {
			a.respondError(w, r, err)
			return
		}
		if _, cancelled := a.deps.Subscriptions.Cancelled(id); cancelled {
			a.respondError(w, r, access.ErrSubscriptionCancelled)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientTokenStatus is the answer of GET /account/client-token: the token itself is never shown.
type clientTokenStatus struct {
	Enabled bool `json:"enabled"`
}

func (a *api) getClientToken(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, clientTokenStatus{Enabled: a.deps.ClientTokens.ClientTokenSet()})
}

func (a *api) setClientToken(w http.ResponseWriter, r *http.Request) {
	value, err := decodeValue(r, false)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	if n := len(value); n < access.MinClientTokenLen || n > maxCredentialLen {
		a.respondError(w, r, badRequest(codeInvalidField, fmt.Sprintf("value must be %d to %d characters",
			access.MinClientTokenLen, maxCredentialLen), "value"))
		return
	}
	if err := a.deps.ClientTokens.SetClientToken(r.Context(), value); err != nil {
		a.respondError(w, r, fmt.Errorf("set client token: %w", err))
		return
	}
	writeValueTrue(w)
}

func (a *api) deleteClientToken(w http.ResponseWriter, r *http.Request) {
	if err := a.deps.ClientTokens.RemoveClientToken(r.Context()); err != nil {
		a.respondError(w, r, fmt.Errorf("remove client token: %w", err))
		return
	}
	writeValueTrue(w)
}

// allowedIPsBody is the body of PUT and the answer of GET /instances/{id}/ip-allow-list.
type allowedIPsBody struct {
	Value []string `json:"value"`
}

func (a *api) getAllowedIPs(w http.ResponseWriter, r *http.Request) {
	prefixes, err := a.deps.IPAllowLists.AllowedIPs(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		a.respondError(w, r, fmt.Errorf("read IP allow-list: %w", err))
		return
	}
	out := allowedIPsBody{Value: make([]string, len(prefixes))}
	for i, p := range prefixes {
		out.Value[i] = p.String()
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) setAllowedIPs(w http.ResponseWriter, r *http.Request) {
	var req allowedIPsBody
	if err := decodeJSON(r, &req); err != nil {
		a.respondError(w, r, err)
		return
	}
	if req.Value == nil {
		a.respondError(w, r, missingFields("value"))
		return
	}
	if len(req.Value) > maxAllowedIPs {
		a.respondError(w, r, badRequest(codeInvalidField, fmt.Sprintf("value holds at most %d entries", maxAllowedIPs), "value"))
		return
	}
	prefixes, err := access.ParsePrefixes(req.Value)
	if err != nil {
		a.respondError(w, r, badRequest(codeInvalidField, "value: "+err.Error(), "value"))
		return
	}
	a.putAllowedIPs(w, r, prefixes)
}

func (a *api) deleteAllowedIPs(w http.ResponseWriter, r *http.Request) {
	a.putAllowedIPs(w, r, nil)
}

func (a *api) putAllowedIPs(w http.ResponseWriter, r *http.Request, prefixes []netip.Prefix) {
	if err := a.deps.IPAllowLists.SetAllowedIPs(r.Context(), chi.URLParam(r, "id"), prefixes); err != nil {
		a.respondError(w, r, fmt.Errorf("set IP allow-list: %w", err))
		return
	}
	writeValueTrue(w)
}

// twoFACode is PlugMessage's GET security/two-fa-code ({success, hasCode}). A linked device cannot know it:
// the two-step verification PIN is the phone's registration secret, never sent to companion devices, and
// WhatsApp offers linked devices no query of whether one is set. Answering hasCode:false would be a guess, so
// the route says plainly that it is not available.
func (a *api) twoFACode(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, &apiError{status: http.StatusNotImplemented, code: codeUnsupported,
		message: "a linked device cannot read or set the account's two-step verification PIN; only the phone can (WhatsApp › Settings › Account › Two-step verification)"})
}

// mountSecurityAdminRoutes adds the admin routes of the access policy.
func (a *api) mountSecurityAdminRoutes(r chi.Router) {
	r.Get("/account/client-token", a.getClientToken)
	r.Put("/account/client-token", a.setClientToken)
	r.Delete("/account/client-token", a.deleteClientToken)
	r.Get("/instances/{id}/ip-allow-list", a.getAllowedIPs)
	r.Put("/instances/{id}/ip-allow-list", a.setAllowedIPs)
	r.Delete("/instances/{id}/ip-allow-list", a.deleteAllowedIPs)
}
