package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httputil"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// instancePrefix starts every instance route: the credentials are path segments, as in PlugZapi.
const instancePrefix = "/instances/{id}/token/{token}"

// api holds what the handlers share. It has no state of its own.
type api struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
}

// NewRouter returns the REST API as an http.Handler. cfg is validated (and its defaults filled in) here; every
// dependency except deps.Health, deps.Metrics and deps.Logger is required.
//
// The handler does not own goroutines: shutting down is the http.Server's job.
func NewRouter(cfg Config, deps Deps) (http.Handler, error) {
	return newMux(cfg, deps)
}

func newMux(cfg Config, deps Deps) (*chi.Mux, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := deps.validate(); err != nil {
		return nil, err
	}
	a := &api{cfg: cfg, deps: deps, log: deps.Logger}
	if a.log == nil {
		a.log = slog.Default()
	}

	r := chi.NewRouter()
	r.Use(withRequestID, clientIP(cfg.TrustedProxies), a.accessLog, a.recoverPanics)
	if deps.Locator != nil {
		if cfg.ClusterSecret == "" {
			return nil, errors.New("http: a cluster node needs the cluster's secret")
		}
		f := &forwarder{locate: deps.Locator, secret: []byte(cfg.ClusterSecret), self: deps.Locator.NodeURL(), log: a.log,
			transport: forwardTransport(cfg.RequestTimeout), proxies: map[string]*httputil.ReverseProxy{}}
		r.Use(f.handler)
	}
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed(r))

	r.Get("/healthz", a.healthz)
	r.Get("/openapi.yaml", serveOpenAPI)
	r.Get("/docs", serveDocs)
	r.With(a.requireMetricsToken).Get("/metrics", a.metrics)
	r.Get("/media/{file}", a.receivedFile)
	a.mountDashboard(r)

	r.Group(func(r chi.Router) {
		r.Use(a.withTimeout)

		r.Group(func(r chi.Router) {
			r.Use(a.requireAdmin, a.limitBody, requireJSON)
			r.Post("/instances/integrator/on-demand", a.createInstance)
			r.Get("/instances", a.listInstances)
			r.Get("/instances/{id}", a.getInstance)
			r.Delete("/instances/{id}", a.deleteInstance)
			a.mountSecurityAdminRoutes(r)
			a.mountDashboardAdminRoutes(r)
			a.mountWebhookAdminRoutes(r)
		})

		// PlugZapi's partner routes: the instance's path and the admin (integrator) token.
		r.Group(func(r chi.Router) {
			r.Use(a.requireAdmin, a.instanceCredentials, a.limitBody, requireJSON)
			r.Post(instancePrefix+"/integrator/on-demand/subscription", a.subscribe)
			r.Post(instancePrefix+"/integrator/on-demand/cancel", a.cancelSubscription)
		})

		r.Group(func(r chi.Router) {
			r.Use(a.requireInstance, a.limitBody, requireJSON)
			p := instancePrefix

			r.Get(p+"/qr-code", a.qrCode)
			r.Get(p+"/qr-code/image", a.qrCodeImage)
			r.Get(p+"/phone-code/{phone}", a.phoneCode)
			r.Get(p+"/status", a.status)
			r.Get(p+"/restart", a.restart)
			r.Get(p+"/disconnect", a.disconnect)
			r.Get(p+"/restore-session", a.restoreSession)
			r.Get(p+"/security/two-fa-code", a.twoFACode)

			r.Post(p+"/send-text", a.sendText)
			r.Post(p+"/reply-message", a.replyMessage)
			a.mountRichRoutes(r)

			r.Get(p+"/queue", a.queue)
			r.Get(p+"/queue/count", a.queueCount)
			r.Delete(p+"/queue", a.clearQueue)
			r.Delete(p+"/queue/{zaapId}", a.cancelQueued)

			for _, w := range webhookRoutes {
				r.Put(p+"/"+w.path, a.updateWebhook(w.kind))
			}
			r.Put(p+"/update-every-webhooks", a.updateEveryWebhook)
			r.Put(p+"/update-webhook-secret", a.updateWebhookSecret)

			r.Get(p+"/phone-exists/{phone}", a.phoneExists)
			r.Post(p+"/phone-exists-batch", a.phoneExistsBatch)
			r.Get(p+"/contacts", a.contacts)
			r.Get(p+"/contacts/{phone}", a.contact)
			r.Get(p+"/profile-picture", a.profilePicture)
			r.Post(p+"/contacts/modify-blocked", a.modifyBlocked)
			a.mountProfileRoutes(r)
			a.mountSettingsRoutes(r)
			r.Get(p+"/chats", a.listChats)
			r.Get(p+"/chats/{phone}", a.getChat)
			r.Get(p+"/chat-messages/{phone}", a.chatMessages)
			r.Post(p+"/modify-chat", a.modifyChat)
			r.Get(p+"/tags", a.tags)
			r.Put(p+"/chats/{phone}/tags/{tag}/add", a.addChatTag)
			r.Get(p+"/chats/{phone}/tags/{tag}/remove", a.removeChatTag)
			r.Put(p+"/chats/{phone}/tags/{tag}/remove", a.removeChatTag)
		})

		// The routes that send a file take larger bodies, each as its kind's limit allows.
		r.Group(func(r chi.Router) {
			r.Use(a.requireInstance, requireJSON)
			a.mountMediaRoutes(r)
			a.mountStatusRoutes(r)
			a.mountGroupRoutes(r)
			a.mountCatalogRoutes(r)
			a.mountProfilePictureRoute(r)
		})
	})
	return r, nil
}

func (d Deps) validate() error {
	var errs []error
	required := []struct {
		name  string
		isNil bool
	}{
		{"AdminAuth", d.AdminAuth == nil},
		{"InstanceAuth", d.InstanceAuth == nil},
		{"Registry", d.Registry == nil},
		{"Directory", d.Directory == nil},
		{"Pairing", d.Pairing == nil},
		{"Session", d.Session == nil},
		{"Connection", d.Connection == nil},
		{"Sender", d.Sender == nil},
		{"Reader", d.Reader == nil},
		{"QueueView", d.QueueView == nil},
		{"QueueEditor", d.QueueEditor == nil},
		{"Webhooks", d.Webhooks == nil},
		{"Accounts", d.Accounts == nil},
		{"Settings", d.Settings == nil},
		{"Chats", d.Chats == nil},
		{"ClientTokens", d.ClientTokens == nil},
		{"IPAllowLists", d.IPAllowLists == nil},
		{"Subscriptions", d.Subscriptions == nil},
		{"CheckWebhookURL", d.CheckWebhookURL == nil},
		{"WebhookBacklog", d.WebhookBacklog == nil},
		{"WebhookRedelivery", d.WebhookRedelivery == nil},
	}
	for _, dep := range required {
		if dep.isNil {
			errs = append(errs, fmt.Errorf("%s is required", dep.name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("http dependencies: %w", err)
	}
	return nil
}

// clientIP records the client's address for the access log and the IP allow-lists, believing X-Forwarded-For
// only from the configured proxies. A request from a proxy without the header is the proxy's own.
func clientIP(trustedProxies []string) func(http.Handler) http.Handler {
	if len(trustedProxies) == 0 {
		return middleware.ClientIPFromRemoteAddr
	}
	fromXFF := middleware.ClientIPFromXFF(trustedProxies...) // prefixes were checked by Config.Validate
	return func(next http.Handler) http.Handler {
		return middleware.ClientIPFromRemoteAddr(fromXFF(next)) // XFF's answer, when it has one, wins
	}
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, &apiError{status: http.StatusNotFound, code: codeNotFound, message: "no such route"})
}

// probeMethods are the methods a 405 answer may list in its Allow header.
var probeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// methodNotAllowed answers 405 with the Allow header chi's default handler would send (a custom handler is not
// told the allowed methods, so they are looked up again).
func methodNotAllowed(routes chi.Routes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for _, m := range probeMethods {
			if routes.Match(chi.NewRouteContext(), m, r.URL.Path) {
				w.Header().Add("Allow", m)
			}
		}
		writeError(w, r, &apiError{status: http.StatusMethodNotAllowed, code: codeMethodNotAllowed,
			message: fmt.Sprintf("method %s is not allowed on this route", r.Method)})
	}
}

// valueResponse is PlugZapi's answer to commands: {"value": true}.
type valueResponse struct {
	Value bool `json:"value"`
}

func writeValueTrue(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, valueResponse{Value: true})
}

// healthz answers 200 while the server can work. It needs no authentication, so it says nothing more.
func (a *api) healthz(w http.ResponseWriter, r *http.Request) {
	if a.deps.Health != nil {
		if err := a.deps.Health.CheckHealth(r.Context()); err != nil {
			a.log.WarnContext(r.Context(), "health check failed",
				slog.String("request_id", requestID(r.Context())), slog.Any("error", err))
			writeError(w, r, &apiError{status: http.StatusServiceUnavailable, code: codeUnavailable,
				message: "unhealthy"})
			return
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Status string `json:"status"`
	}{"ok"})
}

func (a *api) metrics(w http.ResponseWriter, r *http.Request) {
	if a.deps.Metrics == nil {
		writeError(w, r, &apiError{status: http.StatusNotFound, code: codeNotFound, message: "metrics are not enabled"})
		return
	}
	a.deps.Metrics.ServeHTTP(w, r)
}
