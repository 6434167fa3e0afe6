package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/media/mediatest"
	"github.com/plugzapi/plugzapi/wasim"
)

// meBody is the part of GET me the tests read.
type meBody struct {
	ID, Name, ReceivedCallbackURL, ReceivedAndDeliveryCallbackURL, CallRejectMessage    string
	Connected, ReceiveCallbackSentByMe, CallRejectAuto, AutoReadMessage, AutoReadStatus bool
	DisableEnqueueWhenDisconnected                                                      bool
}

func getMe(t *testing.T, in instance) meBody {
	t.Helper()
	res := in.call(t, "GET", "me", nil)
	if res.status != http.StatusOK {
		t.Fatalf("GET me: %s", res)
	}
	var me meBody
	res.decode(t, &me)
	return me
}

// put makes a settings PUT and expects {"value": true}.
func put(t *testing.T, in instance, route string, body any) {
	t.Helper()
	if res := in.call(t, "PUT", route, body); res.status != http.StatusOK || string(res.body) != "{\"value\":true}\n" {
		t.Fatalf("PUT %s: %s", route, res)
	}
}

// readBy reports whether acct's phone got a read receipt for the message id.
func readBy(acct *wasim.Account, id string) bool {
	for _, r := range acct.Receipts() {
		if r.Type == "read" && slices.Contains(r.IDs, id) {
			return true
		}
	}
	return false
}

func waitRead(t *testing.T, acct *wasim.Account, id string) {
	t.Helper()
	eventually(t, 20*time.Second, "read receipt of "+id+" at "+acct.Phone(), func() error {
		if !readBy(acct, id) {
			return fmt.Errorf("receipts %+v", acct.Receipts())
		}
		return nil
	})
}

// callHook waits for the call notification code about callID.
func callHook(t *testing.T, hooks *receiver, code, callID string) hook {
	t.Helper()
	return hooks.waitFor(t, code+" "+callID, func(h hook) bool {
		return h.Type == "ReceivedCallback" && h.str("notification") == code && h.str("callId") == callID
	})
}

// waitCall waits until the simulator saw the call reach a state.
func waitCall(t *testing.T, acct *wasim.Account, id string, state wasim.CallState) wasim.Call {
	t.Helper()
	var got wasim.Call
	eventually(t, 20*time.Second, "call "+id+" "+string(state), func() error {
		for _, c := range acct.Calls() {
			if c.ID == id && c.State == state {
				got = c
				return nil
			}
		}
		return fmt.Errorf("calls %+v", acct.Calls())
	})
	return got
}

// waitText waits until acct's phone got a text from the instance's number.
func waitText(t *testing.T, acct *wasim.Account, text string) {
	t.Helper()
	eventually(t, 20*time.Second, fmt.Sprintf("%q at %s", text, acct.Phone()), func() error {
		for _, m := range acct.Messages("") {
			if m.Text == text && m.From == businessPhone {
				return nil
			}
		}
		return fmt.Errorf("inbox %+v", acct.Messages(""))
	})
}

// TestInstanceSettings runs one linked instance through every setting, end to end: it is created with Z-API's
// options (which take effect from the start), then changed by the update-* routes; the simulated phones see
// the effects (read receipts, rejected calls and the message after them), the webhooks carry calls and the
// messages the phone itself sends, GET me and GET device answer from the instance and its WhatsApp profile,
// and everything survives a restart after the log was compacted behind a snapshot.
func TestInstanceSettings(t *testing.T) {
	const bobPhone, carolPhone = "5511999990002", "5511999990003"
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	bob := addAccount(t, sim, bobPhone, "Bob")
	carol := addAccount(t, sim, carolPhone, "Carol")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := alice.SaveContact(ctx, businessPhone, "Business"); err != nil { // Alice's statuses reach the business
		t.Fatal(err)
	}
	hooks := newReceiver(t)
	const retention = 2 * time.Second
	srv := startServer(t, sim, withEnv("PLUGZAPI_RETENTION", retention.String()))
	res := srv.admin(t, "POST", "/instances/integrator/on-demand", map[string]any{
		"name": "shop", "receivedCallbackUrl": hooks.url(), "notifySentByMe": true,
		"autoReadMessage": true, "callRejectAuto": true, "callRejectMessage": "Não atendemos ligações",
	})
	if res.status != http.StatusCreated {
		t.Fatalf("create: %s", res)
	}
	var created struct{ ID, Token string }
	res.decode(t, &created)
	in := instance{srv: srv, id: created.ID, token: created.Token}
	dev := link(t, in, business)

	t.Run("UpdateName", func(t *testing.T) {
		in.call(t, "PUT", "update-name", map[string]any{}).wantError(t, http.StatusBadRequest, "missing_fields")
		in.call(t, "PUT", "update-name", map[string]any{"value": 7}).wantError(t, http.StatusBadRequest, "invalid_field")
		put(t, in, "update-name", map[string]any{"value": "Loja Centro"})
		if me := getMe(t, in); me.Name != "Loja Centro" || me.ID != in.id || !me.Connected {
			t.Errorf("GET me after update-name: %+v", me)
		}
		var info struct{ Name string }
		srv.admin(t, "GET", "/instances/"+in.id, nil).decode(t, &info)
		if info.Name != "Loja Centro" {
			t.Errorf("the admin API names the instance %q", info.Name)
		}
		bad := instance{srv: srv, id: in.id, token: "wrong"}
		bad.call(t, "GET", "me", nil).wantError(t, http.StatusNotFound, "instance_not_found")
		bad.call(t, "PUT", "update-name", map[string]any{"value": "x"}).wantError(t, http.StatusNotFound, "instance_not_found")
	})

	t.Run("AutoReadMessage", func(t *testing.T) {
		first, err := alice.SendText(ctx, businessPhone, "bom dia", "")
		if err != nil {
			t.Fatal(err)
		}
		waitRead(t, alice, first) // on from the creation options
		in.call(t, "PUT", "update-auto-read-message", map[string]any{"value": "yes"}).wantError(t, http.StatusBadRequest, "invalid_field")
		put(t, in, "update-auto-read-message", map[string]any{"value": false})
		unread, err := alice.SendText(ctx, businessPhone, "tudo bem?", "")
		if err != nil {
			t.Fatal(err)
		}
		hooks.waitFor(t, "the unread message", func(h hook) bool { return h.str("messageId") == unread })
		put(t, in, "update-auto-read-message", map[string]any{"value": true})
		last, err := alice.SendText(ctx, businessPhone, "oi?", "")
		if err != nil {
			t.Fatal(err)
		}
		waitRead(t, alice, last)
		if readBy(alice, unread) {
			t.Error("a message received while auto-read was off was marked read")
		}
	})

	t.Run("AutoReadStatus", func(t *testing.T) {
		story, err := alice.SendText(ctx, "status@broadcast", "novidades", "")
		if err != nil {
			t.Fatal(err)
		}
		hooks.waitFor(t, "the status update", func(h hook) bool { return h.str("messageId") == story })
		put(t, in, "update-auto-read-status", map[string]any{"value": true})
		viewed, err := alice.SendText(ctx, "status@broadcast", "promoção", "")
		if err != nil {
			t.Fatal(err)
		}
		waitRead(t, alice, viewed)
		if readBy(alice, story) {
			t.Error("a status update received while auto-read-status was off was marked viewed")
		}
	})

	t.Run("NotifySentByMe", func(t *testing.T) {
		fromPhone := func(text string) string {
			id, err := business.SendText(ctx, alicePhone, text, "")
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		sentByMe := func(id string) func(hook) bool {
			return func(h hook) bool { return h.str("messageId") == id && h.Body["fromMe"] == true }
		}
		on := fromPhone("enviada do celular")
		if h := hooks.waitFor(t, "the phone's own message", sentByMe(on)); h.str("phone") != alicePhone {
			t.Errorf("ReceivedCallback of the phone's message: %s", h.Raw)
		}
		if me := getMe(t, in); !me.ReceiveCallbackSentByMe || me.ReceivedCallbackURL != hooks.url() {
			t.Errorf("GET me with notifySentByMe from the creation: %+v", me)
		}
		in.call(t, "PUT", "update-notify-sent-by-me", map[string]any{"value": true}).wantError(t, http.StatusBadRequest, "missing_fields")
		put(t, in, "update-notify-sent-by-me", map[string]any{"notifySentByMe": false})
		if me := getMe(t, in); me.ReceiveCallbackSentByMe || me.ReceivedCallbackURL != hooks.url() || me.ReceivedAndDeliveryCallbackURL != "" {
			t.Errorf("GET me after notifySentByMe false: %+v", me)
		}
		off := fromPhone("esta não")
		marker, err := alice.SendText(ctx, businessPhone, "marcador", "")
		if err != nil {
			t.Fatal(err)
		}
		hooks.waitFor(t, "Alice's message after the phone's", func(h hook) bool { return h.str("messageId") == marker })
		put(t, in, "update-notify-sent-by-me", map[string]any{"notifySentByMe": true})
		again := fromPhone("de novo")
		hooks.waitFor(t, "the phone's message once notifySentByMe is on again", sentByMe(again))
		for _, h := range hooks.hooks() {
			if h.str("messageId") == off {
				t.Errorf("a message sent by the phone reached the received webhook while notifySentByMe was off: %s", h.Raw)
			}
		}
	})

	t.Run("CallReject", func(t *testing.T) {
		id, err := alice.Call(ctx, businessPhone, false)
		if err != nil {
			t.Fatal(err)
		}
		h := callHook(t, hooks, "CALL_VOICE", id)
		if h.str("phone") != alicePhone || h.Body["fromMe"] != false {
			t.Errorf("CALL_VOICE: %s", h.Raw)
		}
		callHook(t, hooks, "CALL_MISSED_VOICE", id)
		if c := waitCall(t, alice, id, wasim.CallRejected); c.RejectedBy != dev {
			t.Errorf("the call was rejected by %s, not the instance's device %s", c.RejectedBy, dev)
		}
		waitText(t, alice, "Não atendemos ligações")

		// A caller whose chats moved to LIDs calls by LID; the webhook still names the phone, the LID beside.
		if err := carol.MoveChatsToLID(ctx); err != nil {
			t.Fatal(err)
		}
		put(t, in, "update-call-reject-message", map[string]any{"value": "Ligue mais tarde"})
		lidCall, err := carol.Call(ctx, businessPhone, false)
		if err != nil {
			t.Fatal(err)
		}
		h = callHook(t, hooks, "CALL_VOICE", lidCall)
		if h.str("phone") != carolPhone || h.str("senderLid") != carol.LID().User+"@lid" {
			t.Errorf("CALL_VOICE of a LID caller: %s", h.Raw)
		}
		waitCall(t, carol, lidCall, wasim.CallRejected)
		waitText(t, carol, "Ligue mais tarde")
	})

	t.Run("CallWebhooks", func(t *testing.T) {
		in.call(t, "PUT", "update-call-reject-auto", map[string]any{}).wantError(t, http.StatusBadRequest, "missing_fields")
		put(t, in, "update-call-reject-auto", map[string]any{"value": false})
		id, err := bob.Call(ctx, businessPhone, true)
		if err != nil {
			t.Fatal(err)
		}
		callHook(t, hooks, "CALL_VIDEO", id)
		if err := bob.HangUp(ctx, id); err != nil {
			t.Fatal(err)
		}
		if h := callHook(t, hooks, "CALL_MISSED_VIDEO", id); h.str("phone") != bobPhone {
			t.Errorf("CALL_MISSED_VIDEO: %s", h.Raw)
		}
		if c := waitCall(t, bob, id, wasim.CallHungUp); !c.RejectedBy.IsEmpty() {
			t.Errorf("a call rang with call-reject-auto off and was rejected: %+v", c)
		}
		put(t, in, "update-call-reject-auto", map[string]any{"value": true})
	})

	t.Run("DeviceProfile", func(t *testing.T) {
		if _, err := business.SetProfilePicture(ctx, mediatest.JPEG(96, 96, 3)); err != nil {
			t.Fatal(err)
		}
		business.SetBusiness(true)
		var d struct {
			Phone, Name, SessionName, BusinessName string
			ImgURL                                 *string
			IsBusiness                             bool
		}
		res := in.call(t, "GET", "device", nil)
		res.decode(t, &d)
		if res.status != http.StatusOK || d.Phone != businessPhone || d.Name != "Business" || d.ImgURL == nil ||
			!d.IsBusiness || d.BusinessName != "Business" {
			t.Errorf("GET device: %s", res)
		}
	})

	t.Run("SettingsSurviveRestart", func(t *testing.T) {
		want := getMe(t, in)
		// Past the retention, the events that set the settings are compacted away behind a snapshot.
		time.Sleep(3 * retention)
		srv.restart()
		waitConnected(t, in)
		if got := getMe(t, in); got != want || !got.AutoReadMessage || !got.AutoReadStatus || !got.CallRejectAuto ||
			got.CallRejectMessage != "Ligue mais tarde" || !got.ReceiveCallbackSentByMe || got.Name != "Loja Centro" {
			t.Errorf("GET me after a restart: %+v, before it %+v", got, want)
		}
		id, err := alice.Call(ctx, businessPhone, false)
		if err != nil {
			t.Fatal(err)
		}
		waitCall(t, alice, id, wasim.CallRejected)
	})
}

// TestCreateOptions: Z-API's creation options are kept (GET me reports them), disableEnqueueWhenDisconnected
// refuses messages while the instance is not connected, and options that contradict each other, or ask for what
// a linked device cannot be, are clear 400s; notifySentByMe needs a received webhook.
func TestCreateOptions(t *testing.T) {
	sim := startSimulator(t)
	srv := startServer(t, sim)
	create := func(body map[string]any) response {
		body["name"] = "options"
		return srv.admin(t, "POST", "/instances/integrator/on-demand", body)
	}
	const url = "https://hooks.example.com/received"
	for _, c := range []struct {
		body map[string]any
		code string
	}{
		{map[string]any{"isDevice": true}, "invalid_field"},
		{map[string]any{"businessDevice": true}, "conflicting_options"},
		{map[string]any{"callRejectMessage": "não"}, "conflicting_options"},
		{map[string]any{"callRejectAuto": "yes"}, "invalid_field"},
		{map[string]any{"notifySentByMe": true}, "conflicting_options"},
		{map[string]any{"notifySentByMe": false, "receivedAndDeliveryCallbackUrl": url}, "conflicting_options"},
		{map[string]any{"notifySentByMe": true, "receivedCallbackUrl": url, "receivedAndDeliveryCallbackUrl": url + "2"}, "conflicting_options"},
	} {
		create(c.body).wantError(t, http.StatusBadRequest, c.code)
	}

	res := create(map[string]any{"autoReadStatus": true, "disableEnqueueWhenDisconnected": true,
		"callRejectAuto": true, "callRejectMessage": "ocupado"})
	if res.status != http.StatusCreated {
		t.Fatalf("create: %s", res)
	}
	var created struct{ ID, Token string }
	res.decode(t, &created)
	in := instance{srv: srv, id: created.ID, token: created.Token}
	me := getMe(t, in)
	if !me.AutoReadStatus || me.AutoReadMessage || !me.DisableEnqueueWhenDisconnected || !me.CallRejectAuto ||
		me.CallRejectMessage != "ocupado" || me.Connected {
		t.Errorf("GET me: %+v", me)
	}
	in.call(t, "POST", "send-text", map[string]any{"phone": alicePhone, "message": "oi"}).
		wantError(t, http.StatusConflict, "not_connected")
	in.call(t, "PUT", "update-notify-sent-by-me", map[string]any{"notifySentByMe": true}).
		wantError(t, http.StatusConflict, "no_received_webhook")
	put(t, in, "update-webhook-received", map[string]any{"value": url})
	put(t, in, "update-webhook-received-delivery", map[string]any{"value": url + "2"})
	in.call(t, "PUT", "update-notify-sent-by-me", map[string]any{"notifySentByMe": true}).
		wantError(t, http.StatusConflict, "received_webhooks_differ")
	in.call(t, "GET", "device", nil).wantError(t, http.StatusConflict, "not_linked")
}
