package httpapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/plugzapi/plugzapi/actors"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// mountSettingsRoutes adds the routes of an instance's name and options, GET me, and the WhatsApp profile of
// GET device.
func (a *api) mountSettingsRoutes(r chi.Router) {
	p := instancePrefix
	r.Put(p+"/update-name", a.updateName)
	r.Put(p+"/update-auto-read-message", a.updateSetting("value", func(v bool) actors.SettingsChange {
		return actors.SettingsChange{AutoReadMessage: &v}
	}))
	r.Put(p+"/update-auto-read-status", a.updateSetting("value", func(v bool) actors.SettingsChange {
		return actors.SettingsChange{AutoReadStatus: &v}
	}))
	r.Put(p+"/update-call-reject-auto", a.updateSetting("value", func(v bool) actors.SettingsChange {
		return actors.SettingsChange{CallRejectAuto: &v}
	}))
	r.Put(p+"/update-call-reject-message", a.updateCallRejectMessage)
	r.Put(p+"/update-notify-sent-by-me", a.updateNotifySentByMe)
	r.Get(p+"/me", a.me)
	r.Get(p+"/device", a.device)
}

// updateName renames the instance: PlugZapi's {"value": name}.
func (a *api) updateName(w http.ResponseWriter, r *http.Request) {
	value, err := decodeValue(r, false)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	name := strings.TrimSpace(value)
	if tooLong(name, maxNameChars) {
		a.respondError(w, r, badRequest(codeInvalidField, fmt.Sprintf("value must be at most %d characters", maxNameChars), "value"))
		return
	}
	if err := a.deps.Settings.Rename(r.Context(), chi.URLParam(r, "id"), name); err != nil {
		a.respondError(w, r, fmt.Errorf("rename instance: %w", err))
		return
	}
	writeValueTrue(w)
}

// boolRequest is a body holding one boolean: {"value": true} for most settings, Z-API's
// {"notifySentByMe": true} for one.
type boolRequest struct {
	Value          *bool `json:"value"`
	NotifySentByMe *bool `json:"notifySentByMe"`
}

// decodeBool reads the boolean named field of a body.
func decodeBool(r *http.Request, field string) (bool, error) {
	var req boolRequest
	if err := decodeJSON(r, &req); err != nil {
		return false, err
	}
	v := req.Value
	if field == "notifySentByMe" {
		v = req.NotifySentByMe
	}
	if v == nil {
		return false, missingFields(field)
	}
	return *v, nil
}

// updateSetting turns a boolean setting on or off.
func (a *api) updateSetting(field string, change func(bool) actors.SettingsChange) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := decodeBool(r, field)
		if err != nil {
			a.respondError(w, r, err)
			return
		}
		if err := a.deps.Settings.ChangeSettings(r.Context(), chi.URLParam(r, "id"), change(v)); err != nil {
			a.respondError(w, r, fmt.Errorf("change settings: %w", err))
			return
		}
		writeValueTrue(w)
	}
}

// updateCallRejectMessage sets the text sent to a caller after rejecting the call; empty sends none. It is
// kept while call-reject-auto is off, for when it is on.
func (a *api) updateCallRejectMessage(w http.ResponseWriter, r *http.Request) {
	value, err := decodeValue(r, true)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	text := strings.TrimSpace(value)
	if tooLong(text, maxMessageChars) {
		a.respondError(w, r, badRequest(codeInvalidField, fmt.Sprintf("value must be at most %d characters", maxMessageChars), "value"))
		return
	}
	if err := a.deps.Settings.ChangeSettings(r.Context(), chi.URLParam(r, "id"), actors.SettingsChange{CallRejectMessage: &text}); err != nil {
		a.respondError(w, r, fmt.Errorf("change settings: %w", err))
		return
	}
	writeValueTrue(w)
}

// updateNotifySentByMe is Z-API's switch for the messages the account sends (from the API or its phone)
// reaching the received webhook, with fromMe: the received webhook becomes PlugZapi's received-delivery one.
func (a *api) updateNotifySentByMe(w http.ResponseWriter, r *http.Request) {
	on, err := decodeBool(r, "notifySentByMe")
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	if err := a.deps.Settings.SetNotifySentByMe(r.Context(), chi.URLParam(r, "id"), on); err != nil {
		a.respondError(w, r, fmt.Errorf("set notify sent by me: %w", err))
		return
	}
	writeValueTrue(w)
}

// meResponse is Z-API's GET me. receivedAndDeliveryCallbackUrl, sessionName, autoReadStatus and
// disableEnqueueWhenDisconnected are PlugZapi's and Z-API's create fields, reported back.
type meResponse struct {
	ID                             string `json:"id"`
	Token                          string `json:"token"`
	Name                           string `json:"name"`
	SessionName                    string `json:"sessionName"`
	Due                            int64  `json:"due"`
	Connected                      bool   `json:"connected"`
	PaymentStatus                  string `json:"paymentStatus"`
	Created                        int64  `json:"created"`
	Phone                          string `json:"phone"`
	ConnectedCallbackURL           string `json:"connectedCallbackUrl"`
	DeliveryCallbackURL            string `json:"deliveryCallbackUrl"`
	DisconnectedCallbackURL        string `json:"disconnectedCallbackUrl"`
	MessageStatusCallbackURL       string `json:"messageStatusCallbackUrl"`
	PresenceChatCallbackURL        string `json:"presenceChatCallbackUrl"`
	ReceivedCallbackURL            string `json:"receivedCallbackUrl"`
	ReceivedAndDeliveryCallbackURL string `json:"receivedAndDeliveryCallbackUrl"`
	ReceiveCallbackSentByMe        bool   `json:"receiveCallbackSentByMe"`
	CallRejectAuto                 bool   `json:"callRejectAuto"`
	CallRejectMessage              string `json:"callRejectMessage"`
	AutoReadMessage                bool   `json:"autoReadMessage"`
	AutoReadStatus                 bool   `json:"autoReadStatus"`
	DisableEnqueueWhenDisconnected bool   `json:"disableEnqueueWhenDisconnected"`
	InitialDataCallbackURL         string `json:"initialDataCallbackUrl"`
}

// paymentStatusActive is the paymentStatus of every instance: a self-hosted instance has no subscription to pay.
const paymentStatusActive = "active"

func (a *api) me(w http.ResponseWriter, r *http.Request) {
	m, err := a.deps.Settings.Me(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		a.respondError(w, r, fmt.Errorf("describe instance: %w", err))
		return
	}
	hook := func(k eventsv1.WebhookKind) string { return m.Webhooks[k] }
	// The URL the received messages go to: Z-API has one, and a flag for the messages sent by the account.
	received := hook(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED)
	if m.NotifySentByMe {
		received = hook(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY)
	}
	writeJSON(w, http.StatusOK, meResponse{
		ID:                             m.ID,
		Token:                          chi.URLParam(r, "token"),
		Name:                           m.Name,
		SessionName:                    m.SessionName,
		Due:                            unixMilli(m.Due),
		Connected:                      m.Connected,
		PaymentStatus:                  paymentStatusActive,
		Created:                        unixMilli(m.Created),
		Phone:                          m.Phone,
		ConnectedCallbackURL:           hook(eventsv1.WebhookKind_WEBHOOK_KIND_CONNECTED),
		DeliveryCallbackURL:            hook(eventsv1.WebhookKind_WEBHOOK_KIND_DELIVERY),
		DisconnectedCallbackURL:        hook(eventsv1.WebhookKind_WEBHOOK_KIND_DISCONNECTED),
		MessageStatusCallbackURL:       hook(eventsv1.WebhookKind_WEBHOOK_KIND_MESSAGE_STATUS),
		PresenceChatCallbackURL:        hook(eventsv1.WebhookKind_WEBHOOK_KIND_CHAT_PRESENCE),
		ReceivedCallbackURL:            received,
		ReceivedAndDeliveryCallbackURL: hook(eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY),
		ReceiveCallbackSentByMe:        m.NotifySentByMe,
		CallRejectAuto:                 m.Settings.CallRejectAuto,
		CallRejectMessage:              m.Settings.CallRejectMessage,
		AutoReadMessage:                m.Settings.AutoReadMessage,
		AutoReadStatus:                 m.Settings.AutoReadStatus,
		DisableEnqueueWhenDisconnected: m.Settings.DisableEnqueueWhenDisconnected,
	})
}

// deviceResponse is GET device: PlugZapi's phone, imgUrl and device, with Z-API's newer fields (name, about,
// isBusiness). The name, picture, about text and business flag are the WhatsApp profile's, asked of WhatsApp;
// while the instance is linked but not connected they are unknown (name empty, imgUrl null).
type deviceResponse struct {
	Phone        string     `json:"phone"`
	ImgURL       *string    `json:"imgUrl"`
	Name         string     `json:"name"`
	About        string     `json:"about"`
	SessionName  string     `json:"sessionName"`
	Platform     string     `json:"platform"`
	IsBusiness   bool       `json:"isBusiness"`
	BusinessName string     `json:"businessName,omitempty"`
	Device       deviceInfo `json:"device"`
}

type deviceInfo struct {
	SessionName string `json:"sessionName"`
	Platform    string `json:"platform"`
}

func (a *api) device(w http.ResponseWriter, r *http.Request) {
	d, err := a.deps.Connection.Device(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		a.respondError(w, r, fmt.Errorf("get device: %w", err))
		return
	}
	out := deviceResponse{
		Phone:        d.Phone,
		Name:         d.Name,
		About:        d.About,
		SessionName:  d.SessionName,
		Platform:     d.Platform,
		IsBusiness:   d.BusinessName != "",
		BusinessName: d.BusinessName,
		Device:       deviceInfo{SessionName: d.SessionName, Platform: d.Platform},
	}
	if d.PictureURL != "" {
		out.ImgURL = &d.PictureURL
	}
	writeJSON(w, http.StatusOK, out)
}

// settings are the instance's settings the creation options give.
func (o *createInstanceRequest) settings() actors.Settings {
	return actors.Settings{
		AutoReadMessage:                o.AutoReadMessage,
		AutoReadStatus:                 o.AutoReadStatus,
		CallRejectAuto:                 o.CallRejectAuto,
		CallRejectMessage:              strings.TrimSpace(o.CallRejectMessage),
		DisableEnqueueWhenDisconnected: o.DisableEnqueueWhenDisconnected,
	}
}

// checkOptions refuses options that cannot take effect as asked, or contradict each other, and applies
// notifySentByMe to the webhooks (already checked).
func (o *createInstanceRequest) checkOptions(hooks map[eventsv1.WebhookKind]string) error {
	const (
		received         = eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED
		receivedDelivery = eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY
	)
	conflict := func(msg string, fields ...string) error { return badRequest(codeConflictingOptions, msg, fields...) }
	switch {
	case o.IsDevice:
		return badRequest(codeInvalidField, "isDevice: this server runs web instances only (linked devices of a phone), not mobile ones", "isDevice")
	case o.BusinessDevice:
		return conflict("businessDevice chooses the app of a mobile instance (isDevice); a web instance is a business one when the phone that links it is", "businessDevice", "isDevice")
	case tooLong(o.CallRejectMessage, maxMessageChars):
		return badRequest(codeInvalidField, fmt.Sprintf("callRejectMessage must be at most %d characters", maxMessageChars), "callRejectMessage")
	case strings.TrimSpace(o.CallRejectMessage) != "" && !o.CallRejectAuto:
		return conflict("callRejectMessage is sent after rejecting a call: it needs callRejectAuto true", "callRejectMessage", "callRejectAuto")
	case o.NotifySentByMe == nil:
		return nil
	}
	if !*o.NotifySentByMe {
		if hooks[receivedDelivery] != "" {
			return conflict("notifySentByMe false contradicts receivedAndDeliveryCallbackUrl, which gets the messages sent by the instance", "notifySentByMe", "receivedAndDeliveryCallbackUrl")
		}
		return nil
	}
	url, other := hooks[received], hooks[receivedDelivery]
	switch {
	case url == "" && other == "":
		return conflict("notifySentByMe needs receivedCallbackUrl (or receivedAndDeliveryCallbackUrl)", "notifySentByMe", "receivedCallbackUrl")
	case url != "" && other != "" && url != other:
		return conflict("with notifySentByMe, receivedCallbackUrl and receivedAndDeliveryCallbackUrl name one webhook: they cannot differ", "receivedCallbackUrl", "receivedAndDeliveryCallbackUrl")
	case url != "":
		delete(hooks, received)
		hooks[receivedDelivery] = url
	}
	return nil
}
