package httpapi

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/plugzapi/plugzapi/actors"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// Paging of GET /instances, as Z-API's partner list does it: page counts from 1.
const (
	defaultPageSize = 20
	maxPageSize     = 100
	maxSearchChars  = 200
)

// createInstanceRequest is PlugZapi's body of POST /instances/integrator/on-demand, plus webhookSecret.
type createInstanceRequest struct {
	Name                           string `json:"name"`
	SessionName                    string `json:"sessionName"`
	DeliveryCallbackURL            string `json:"deliveryCallbackUrl"`
	ReceivedCallbackURL            string `json:"receivedCallbackUrl"`
	ReceivedAndDeliveryCallbackURL string `json:"receivedAndDeliveryCallbackUrl"`
	MessageStatusCallbackURL       string `json:"messageStatusCallbackUrl"`
	ConnectedCallbackURL           string `json:"connectedCallbackUrl"`
	DisconnectedCallbackURL        string `json:"disconnectedCallbackUrl"`
	PresenceChatCallbackURL        string `json:"presenceChatCallbackUrl"`
	WebhookSecret                  string `json:"webhookSecret"`
	// Z-API's options, which take effect from the start (settings.go).
	CallRejectAuto                 bool   `json:"callRejectAuto"`
	CallRejectMessage              string `json:"callRejectMessage"`
	AutoReadMessage                bool   `json:"autoReadMessage"`
	AutoReadStatus                 bool   `json:"autoReadStatus"`
	DisableEnqueueWhenDisconnected bool   `json:"disableEnqueueWhenDisconnected"`
	// NotifySentByMe moves receivedCallbackUrl to the received-delivery webhook, as update-notify-sent-by-me does.
	NotifySentByMe *bool `json:"notifySentByMe"`
	// IsDevice asks for a mobile instance (a phone of its own) and BusinessDevice for a business one: this server
	// links instances as devices of the user's phone, which decides whether the account is a business.
	IsDevice       bool `json:"isDevice"`
	BusinessDevice bool `json:"businessDevice"`
}

// callbackField is one *CallbackUrl field of a creation request.
type callbackField struct {
	field string
	kind  eventsv1.WebhookKind
	url   string
}

// callbacks pairs each *CallbackUrl field with its webhook kind.
func (c *createInstanceRequest) callbacks() []callbackField {
	return []callbackField{
		{"deliveryCallbackUrl", eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY, c.DeliveryCallbackURL},
		{"receivedCallbackUrl", eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, c.ReceivedCallbackURL},
		{"receivedAndDeliveryCallbackUrl", eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY, c.ReceivedAndDeliveryCallbackURL},
		{"messageStatusCallbackUrl", eventsv1.WebhookKind_WEBHOOK_KIND_MESSAGE_STATUS, c.MessageStatusCallbackURL},
		{"connectedCallbackUrl", eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED, c.ConnectedCallbackURL},
		{"disconnectedCallbackUrl", eventsv1.WebhookKind_WEBHOOK_KIND_DISCONNECTED, c.DisconnectedCallbackURL},
		{"presenceChatCallbackUrl", eventsv1.WebhookKind_WEBHOOK_KIND_CHAT_PRESENCE, c.PresenceChatCallbackURL},
	}
}

type createInstanceResponse struct {
	ID    string `json:"id"`
	Token string `json:"token"`
	Due   int64  `json:"due"`
}

func (a *api) createInstance(w http.ResponseWriter, r *http.Request) {
	var req createInstanceRequest
	if err := decodeJSON(r, &req); err != nil {
		a.respondError(w, r, err)
		return
	}
	spec, err := a.newInstanceSpec(&req)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	created, err := a.deps.Registry.CreateInstance(r.Context(), spec, req.WebhookSecret)
	if err != nil {
		a.respondError(w, r, fmt.Errorf("create instance: %w", err))
		return
	}
	writeJSON(w, http.StatusCreated, createInstanceResponse{
		ID:    created.ID,
		Token: created.Token,
		Due:   unixMilli(created.Due),
	})
}

// newInstanceSpec validates a creation request and turns it into the application's command.
func (a *api) newInstanceSpec(req *createInstanceRequest) (actors.NewInstance, error) {
	name := strings.TrimSpace(req.Name)
	if name == "" {
		return actors.NewInstance{}, missingFields("name")
	}
	if tooLong(name, maxNameChars) {
		return actors.NewInstance{}, badRequest(codeInvalidField,
			fmt.Sprintf("name must be at most %d characters", maxNameChars), "name")
	}
	sessionName := strings.TrimSpace(req.SessionName)
	if tooLong(sessionName, maxNameChars) {
		return actors.NewInstance{}, badRequest(codeInvalidField,
			fmt.Sprintf("sessionName must be at most %d characters", maxNameChars), "sessionName")
	}
	if len(req.WebhookSecret) > maxSecretLen {
		return actors.NewInstance{}, badRequest(codeInvalidField,
			fmt.Sprintf("webhookSecret must be at most %d bytes", maxSecretLen), "webhookSecret")
	}
	spec := actors.NewInstance{Name: name, SessionName: sessionName, Settings: req.settings()}
	for _, cb := range req.callbacks() {
		url := strings.TrimSpace(cb.url)
		if url == "" {
			continue
		}
		if err := a.checkWebhookURL(cb.field, url); err != nil {
			return actors.NewInstance{}, err
		}
		if spec.Webhooks == nil {
			spec.Webhooks = make(map[eventsv1.WebhookKind]string)
		}
		spec.Webhooks[cb.kind] = url
	}
	if err := req.checkOptions(spec.Webhooks); err != nil {
		return actors.NewInstance{}, err
	}
	return spec, nil
}

// checkWebhookURL runs the injected URL check and names the field at fault.
func (a *api) checkWebhookURL(field, url string) error {
	if len(url) > maxURLLen {
		return badRequest(codeInvalidWebhookURL,
			fmt.Sprintf("%s: the URL is longer than %d bytes", field, maxURLLen), field)
	}
	if err := a.deps.CheckWebhookURL(url); err != nil {
		return badRequest(codeInvalidWebhookURL, fmt.Sprintf("%s: %v", field, err), field)
	}
	return nil
}

// instanceJSON describes an instance in the admin API. It never holds the token. The field names follow
// Z-API's partner list; times are Unix milliseconds.
type instanceJSON struct {
	ID                             string `json:"id"`
	Name                           string `json:"name"`
	SessionName                    string `json:"sessionName"`
	Created                        int64  `json:"created"`
	Due                            int64  `json:"due"`
	Connected                      bool   `json:"connected"`
	PhoneConnected                 bool   `json:"phoneConnected"`
	WhatsappConnected              bool   `json:"whatsappConnected"`
	Phone                          string `json:"phone"`
	DeliveryCallbackURL            string `json:"deliveryCallbackUrl"`
	ReceivedCallbackURL            string `json:"receivedCallbackUrl"`
	ReceivedAndDeliveryCallbackURL string `json:"receivedAndDeliveryCallbackUrl"`
	MessageStatusCallbackURL       string `json:"messageStatusCallbackUrl"`
	ConnectedCallbackURL           string `json:"connectedCallbackUrl"`
	DisconnectedCallbackURL        string `json:"disconnectedCallbackUrl"`
	PresenceChatCallbackURL        string `json:"presenceChatCallbackUrl"`
}

func newInstanceJSON(in actors.InstanceInfo) instanceJSON {
	hook := func(k eventsv1.WebhookKind) string { return in.Webhooks[k] }
	return instanceJSON{
		ID:                             in.ID,
		Name:                           in.Name,
		SessionName:                    in.SessionName,
		Created:                        unixMilli(in.Created),
		Due:                            unixMilli(in.Due),
		Connected:                      in.Connected,
		PhoneConnected:                 in.Connected, // multi-device: the phone need not be online
		WhatsappConnected:              in.Connected,
		Phone:                          in.Phone,
		DeliveryCallbackURL:            hook(eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY),
		ReceivedCallbackURL:            hook(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED),
		ReceivedAndDeliveryCallbackURL: hook(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY),
		MessageStatusCallbackURL:       hook(eventsv1.WebhookKind_WEBHOOK_KIND_MESSAGE_STATUS),
		ConnectedCallbackURL:           hook(eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED),
		DisconnectedCallbackURL:        hook(eventsv1.WebhookKind_WEBHOOK_KIND_DISCONNECTED),
		PresenceChatCallbackURL:        hook(eventsv1.WebhookKind_WEBHOOK_KIND_CHAT_PRESENCE),
	}
}

// instancePage is Z-API's paged list envelope.
type instancePage struct {
	Total     int            `json:"total"`
	TotalPage int            `json:"totalPage"`
	PageSize  int            `json:"pageSize"`
	Page      int            `json:"page"`
	Content   []instanceJSON `json:"content"`
}

func (a *api) listInstances(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, err := intParam(q.Get("page"), "page", 1, math.MaxInt32)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	pageSize, err := intParam(q.Get("pageSize"), "pageSize", defaultPageSize, maxPageSize)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	search := strings.TrimSpace(q.Get("query"))
	if tooLong(search, maxSearchChars) {
		a.respondError(w, r, badRequest(codeInvalidQuery,
			fmt.Sprintf("query must be at most %d characters", maxSearchChars), "query"))
		return
	}
	found, total, err := a.deps.Directory.ListInstances(r.Context(), actors.InstanceQuery{
		Offset: (page - 1) * pageSize, // no overflow: page ≤ MaxInt32 and pageSize ≤ 100
		Limit:  pageSize,
		Search: search,
	})
	if err != nil {
		a.respondError(w, r, fmt.Errorf("list instances: %w", err))
		return
	}
	out := instancePage{
		Total:     total,
		TotalPage: (total + pageSize - 1) / pageSize,
		PageSize:  pageSize,
		Page:      page,
		Content:   make([]instanceJSON, 0, len(found)),
	}
	for _, in := range found {
		out.Content = append(out.Content, newInstanceJSON(in))
	}
	writeJSON(w, http.StatusOK, out)
}

// intParam parses an optional positive integer query parameter: empty gives def, and values outside 1..max
// are refused rather than clamped, so that a client never silently gets something else than it asked for.
func intParam(raw, name string, def, max int) (int, error) {
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > max {
		return 0, badRequest(codeInvalidQuery, fmt.Sprintf("%s must be an integer from 1 to %d", name, max), name)
	}
	return n, nil
}

func (a *api) getInstance(w http.ResponseWriter, r *http.Request) {
	id, ok := adminInstanceID(r)
	if !ok {
		a.respondError(w, r, actors.ErrInstanceNotFound)
		return
	}
	in, err := a.deps.Directory.Instance(r.Context(), id)
	if err != nil {
		a.respondError(w, r, fmt.Errorf("get instance: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, newInstanceJSON(in))
}

func (a *api) deleteInstance(w http.ResponseWriter, r *http.Request) {
	id, ok := adminInstanceID(r)
	if !ok {
		a.respondError(w, r, actors.ErrInstanceNotFound)
		return
	}
	if err := a.deps.Registry.DeleteInstance(r.Context(), id); err != nil {
		a.respondError(w, r, fmt.Errorf("delete instance: %w", err))
		return
	}
	writeValueTrue(w)
}

// adminInstanceID is the {id} of an admin route; one too long to be real is not looked up.
func adminInstanceID(r *http.Request) (string, bool) {
	id := chi.URLParam(r, "id")
	return id, id != "" && len(id) <= maxCredentialLen
}

// unixMilli converts a time to PlugZapi's epoch milliseconds; the zero time (unknown, or never) is 0.
func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
