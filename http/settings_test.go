package httpapi

import (
	"maps"
	"net/http"
	"testing"

	"github.com/plugzapi/plugzapi/actors"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

// Z-API's creation options become the instance's settings; notifySentByMe moves the received URL to
// received-delivery; options that contradict each other are refused, naming the fields.
func TestCreateInstanceOptions(t *testing.T) {
	const url = "https://h.example/received"
	received, receivedDelivery := eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED, eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY
	for _, c := range []struct {
		name, body   string
		wantSettings actors.Settings
		wantHooks    map[eventsv1.WebhookKind]string
		code         string
		fields       []string
	}{
		{name: "settings", body: `{"name":"x","callRejectAuto":true,"callRejectMessage":" busy ","autoReadMessage":true,"autoReadStatus":true,"disableEnqueueWhenDisconnected":true,"isDevice":false,"businessDevice":false}`,
			wantSettings: actors.Settings{CallRejectAuto: true, CallRejectMessage: "busy", AutoReadMessage: true, AutoReadStatus: true,
				DisableEnqueueWhenDisconnected: true}},
		{name: "notify sent by me", body: `{"name":"x","receivedCallbackUrl":"` + url + `","notifySentByMe":true}`,
			wantHooks: map[eventsv1.WebhookKind]string{receivedDelivery: url}},
		{name: "notify sent by me, one URL twice", body: `{"name":"x","receivedCallbackUrl":"` + url + `","receivedAndDeliveryCallbackUrl":"` + url + `","notifySentByMe":true}`,
			wantHooks: map[eventsv1.WebhookKind]string{receivedDelivery: url}},
		{name: "not notify sent by me", body: `{"name":"x","receivedCallbackUrl":"` + url + `","notifySentByMe":false}`,
			wantHooks: map[eventsv1.WebhookKind]string{received: url}},
		{name: "mobile", body: `{"name":"x","isDevice":true}`, code: codeInvalidField, fields: []string{"isDevice"}},
		{name: "business device", body: `{"name":"x","businessDevice":true}`, code: codeConflictingOptions, fields: []string{"businessDevice", "isDevice"}},
		{name: "message without rejection", body: `{"name":"x","callRejectMessage":"busy"}`, code: codeConflictingOptions,
			fields: []string{"callRejectMessage", "callRejectAuto"}},
		{name: "notify without a received URL", body: `{"name":"x","notifySentByMe":true}`, code: codeConflictingOptions,
			fields: []string{"notifySentByMe", "receivedCallbackUrl"}},
		{name: "two received URLs", body: `{"name":"x","receivedCallbackUrl":"` + url + `","receivedAndDeliveryCallbackUrl":"` + url + `2","notifySentByMe":true}`,
			code: codeConflictingOptions, fields: []string{"receivedCallbackUrl", "receivedAndDeliveryCallbackUrl"}},
		{name: "not notify, with received-delivery", body: `{"name":"x","receivedAndDeliveryCallbackUrl":"` + url + `","notifySentByMe":false}`,
			code: codeConflictingOptions, fields: []string{"notifySentByMe", "receivedAndDeliveryCallbackUrl"}},
		{name: "wrong type", body: `{"name":"x","autoReadMessage":"yes"}`, code: codeInvalidField, fields: []string{"autoReadMessage"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newTestServer(t, Config{})
			w := s.do(t, admin(http.MethodPost, "/instances/integrator/on-demand", c.body))
			if c.code != "" {
				wantError(t, w, http.StatusBadRequest, c.code, c.fields...)
				return
			}
			if w.Code != http.StatusCreated {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			spec := s.app.callsTo("CreateInstance")[0].args[0].(actors.NewInstance)
			if spec.Settings != c.wantSettings || !maps.Equal(spec.Webhooks, c.wantHooks) {
				t.Errorf("spec = %+v, want settings %+v and webhooks %v", spec, c.wantSettings, c.wantHooks)
			}
		})
	}
}

// The settings routes decode their one value and hand the application exactly the change asked for.
func TestSettingsRoutes(t *testing.T) {
	on, text := true, "busy"
	for _, c := range []struct {
		path, body string
		method     string
		want       any
	}{
		{"/update-name", `{"value":" Shop "}`, "Rename", "Shop"},
		{"/update-auto-read-message", `{"value":true}`, "ChangeSettings", actors.SettingsChange{AutoReadMessage: &on}},
		{"/update-auto-read-status", `{"value":true}`, "ChangeSettings", actors.SettingsChange{AutoReadStatus: &on}},
		{"/update-call-reject-auto", `{"value":true}`, "ChangeSettings", actors.SettingsChange{CallRejectAuto: &on}},
		{"/update-call-reject-message", `{"value":"busy"}`, "ChangeSettings", actors.SettingsChange{CallRejectMessage: &text}},
		{"/update-notify-sent-by-me", `{"notifySentByMe":true}`, "SetNotifySentByMe", true},
	} {
		s := newTestServer(t, Config{})
		wantValueTrue(t, s.do(t, req{method: http.MethodPut, path: base + c.path, body: c.body}))
		calls := s.app.callsTo(c.method)
		if len(calls) != 1 {
			t.Fatalf("%s: %s calls = %d", c.path, c.method, len(calls))
		}
		if got := calls[0].args[1]; !equalChange(got, c.want) {
			t.Errorf("%s: %s(%v), want %v", c.path, c.method, got, c.want)
		}
	}
	s := newTestServer(t, Config{})
	wantError(t, s.do(t, req{method: http.MethodPut, path: base + "/update-name", body: `{"value":"  "}`}), 400, codeMissingFields, "value")
	wantError(t, s.do(t, req{method: http.MethodPut, path: base + "/update-call-reject-auto", body: `{"value":"on"}`}), 400, codeInvalidField, "value")
	wantError(t, s.do(t, req{method: http.MethodPut, path: base + "/update-notify-sent-by-me", body: `{"value":true}`}), 400, codeMissingFields, "notifySentByMe")
	s.app.errs["SetNotifySentByMe"] = actors.ErrNoReceivedWebhook
	wantError(t, s.do(t, req{method: http.MethodPut, path: base + "/update-notify-sent-by-me", body: `{"notifySentByMe":true}`}), 409, codeNoReceivedWebhook)
	s.app.errs["SetNotifySentByMe"] = actors.ErrReceivedWebhooksDiffer
	wantError(t, s.do(t, req{method: http.MethodPut, path: base + "/update-notify-sent-by-me", body: `{"notifySentByMe":false}`}), 409, codeReceivedWebhooksDiffer)
}

// equalChange compares what a fake received, following the pointers of a SettingsChange.
func equalChange(got, want any) bool {
	g, ok1 := got.(actors.SettingsChange)
	w, ok2 := want.(actors.SettingsChange)
	if !ok1 || !ok2 {
		return got == want
	}
	eqB := func(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	eqS := func(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	return eqB(g.AutoReadMessage, w.AutoReadMessage) && eqB(g.AutoReadStatus, w.AutoReadStatus) &&
		eqB(g.CallRejectAuto, w.CallRejectAuto) && eqS(g.CallRejectMessage, w.CallRejectMessage)
}
