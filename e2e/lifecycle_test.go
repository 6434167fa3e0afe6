package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPhoneCodePairing links an instance by the code typed on the phone instead of a QR scan.
func TestPhoneCodePairing(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "code", hooks)

	eventually(t, 30*time.Second, "QR code image", func() error {
		res := in.call(t, "GET", "qr-code/image", nil)
		if res.status != http.StatusOK {
			return fmt.Errorf("%s", res)
		}
		var img struct{ Value string }
		res.decode(t, &img)
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(img.Value, "data:image/png;base64,"))
		if err != nil || !bytes.HasPrefix(raw, []byte("\x89PNG\r\n\x1a\n")) {
			t.Fatalf("qr-code/image is not a PNG data URI: %.60s… (%v)", img.Value, err)
		}
		return nil
	})
	if res := in.call(t, "GET", "phone-code/12ab", nil); res.status != http.StatusBadRequest {
		t.Errorf("phone code for a bad number: %s, want 400", res)
	}
	res := in.call(t, "GET", "phone-code/"+businessPhone, nil)
	if res.status != http.StatusOK {
		t.Fatalf("phone code: %s", res)
	}
	var code struct{ Code string }
	res.decode(t, &code)
	if len(code.Code) != 9 || code.Code[4] != '-' {
		t.Fatalf("code %q is not like ABCD-EFGH", code.Code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := business.EnterCode(ctx, code.Code); err != nil {
		t.Fatalf("enter code: %v", err)
	}
	waitConnected(t, in)
	hooks.waitFor(t, "connected", ofType("ConnectedCallback"))
	id := sendText(t, in, alicePhone, "linked by code")
	waitMessage(t, alice, id)

	var dev struct {
		Phone  string
		Device struct{ SessionName, Platform string }
	}
	in.call(t, "GET", "device", nil).decode(t, &dev)
	if dev.Phone != businessPhone {
		t.Errorf("device = %+v", dev)
	}
	if res := in.call(t, "GET", "qr-code", nil); res.status != http.StatusConflict {
		t.Errorf("QR code of a linked instance: %s, want 409", res)
	}
}

// TestLogoutAndUnlink: the API's disconnect unlinks the device (the phone no longer lists it) and a new QR scan
// links it again; the phone removing the device is reported as a disconnection, and messages wait meanwhile.
func TestLogoutAndUnlink(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "logout", hooks)
	dev := link(t, in, business)

	if res := in.call(t, "GET", "disconnect", nil); res.status != http.StatusOK {
		t.Fatalf("disconnect: %s", res)
	}
	var st struct {
		Connected, Session bool
		Error              string
	}
	in.call(t, "GET", "status", nil).decode(t, &st)
	if st.Connected || st.Session || st.Error != "You are not connected." {
		t.Errorf("status after disconnect = %+v", st)
	}
	eventually(t, 10*time.Second, "device gone from the phone", func() error {
		for _, d := range business.Devices() {
			if d == dev {
				return fmt.Errorf("still linked: %v", business.Devices())
			}
		}
		return nil
	})
	hooks.waitFor(t, "disconnected", ofType("DisconnectedCallback"))
	if res := in.call(t, "GET", "restore-session", nil); res.status != http.StatusConflict {
		t.Errorf("restore-session without a session: %s, want 409", res)
	}

	// Linked again, then removed from the phone's side.
	dev = link(t, in, business)
	if err := sim.Unlink(dev); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "logged out by the phone", func() error {
		in.call(t, "GET", "status", nil).decode(t, &st)
		if st.Session {
			return fmt.Errorf("status %+v", st)
		}
		return nil
	})
	id := sendText(t, in, alicePhone, "waits for the next link")
	if got := queueCount(t, in); got != 1 {
		t.Fatalf("queue count = %d, want 1", got)
	}
	dev = link(t, in, business)
	waitMessage(t, alice, id)

	// Deleted as it logs in again, just after a restart: WhatsApp is told all the same, and the device leaves
	// the phone (it stayed linked when the session was deleted without waiting for the login).
	srv.restart()
	if res := srv.admin(t, "DELETE", "/instances/"+in.id, nil); res.status != http.StatusOK {
		t.Fatalf("delete: %s", res)
	}
	eventually(t, 30*time.Second, "the deleted instance's device gone from the phone", func() error {
		if slices.Contains(business.Devices(), dev) {
			return fmt.Errorf("still linked: %v", business.Devices())
		}
		return nil
	})
}

// TestRestartAndRestoreSession: restart reconnects; after WhatsApp drops the connection for good (another
// client took the session over), restore-session brings it back.
func TestRestartAndRestoreSession(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "restart", hooks)
	dev := link(t, in, business)

	if res := in.call(t, "GET", "restart", nil); res.status != http.StatusOK {
		t.Fatalf("restart: %s", res)
	}
	waitConnected(t, in)
	waitMessage(t, alice, sendText(t, in, alicePhone, "after restart"))

	if err := sim.StreamError(dev, "replaced"); err != nil {
		t.Fatal(err)
	}
	hooks.waitFor(t, "disconnected (replaced)", func(h hook) bool {
		return h.Type == "DisconnectedCallback" && strings.Contains(h.str("error"), "another client")
	})
	var st struct {
		Connected, Session bool
		Error              string
	}
	in.call(t, "GET", "status", nil).decode(t, &st)
	if st.Connected || !st.Session || st.Error != "You need to restore the session." {
		t.Errorf("status after being replaced = %+v", st)
	}
	if res := in.call(t, "GET", "restore-session", nil); res.status != http.StatusOK {
		t.Fatalf("restore-session: %s", res)
	}
	waitConnected(t, in)
	waitMessage(t, alice, sendText(t, in, alicePhone, "after restore"))
}

// TestChatPresenceWebhook: a contact typing in the chat becomes a PresenceChatCallback. WhatsApp shows typing only
// to devices that announced themselves available, which the server does once it learned the account's name.
func TestChatPresenceWebhook(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "presence", hooks)
	link(t, in, business) // which waits until the instance announced itself available

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, state := range []string{"composing", "recording", "paused"} {
		if err := alice.Typing(ctx, businessPhone, state); err != nil {
			t.Fatal(err)
		}
		want := strings.ToUpper(state)
		hooks.waitFor(t, "presence "+want, func(h hook) bool {
			return h.Type == "PresenceChatCallback" && h.str("status") == want && h.str("phone") == alicePhone
		})
	}
}

// TestAdminAPI: instances can be looked up, listed and deleted; a deleted instance's credentials stop working.
func TestAdminAPI(t *testing.T) {
	sim := startSimulator(t)
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	a := createInstance(t, srv, "first", hooks)
	b := createInstance(t, srv, "second", nil)

	var one struct {
		ID, Name            string
		Connected           bool
		DeliveryCallbackURL string `json:"deliveryCallbackUrl"`
	}
	eventually(t, 10*time.Second, "webhooks visible", func() error {
		srv.admin(t, "GET", "/instances/"+a.id, nil).decode(t, &one)
		if one.DeliveryCallbackURL != hooks.url()+"/deliveryCallbackUrl" {
			return fmt.Errorf("%+v", one)
		}
		return nil
	})
	if one.ID != a.id || one.Name != "first" || one.Connected {
		t.Errorf("instance = %+v", one)
	}
	var list struct {
		Total   int
		Content []struct{ ID, Token string }
	}
	srv.admin(t, "GET", "/instances?page=1&pageSize=10", nil).decode(t, &list)
	if list.Total != 2 || len(list.Content) != 2 || list.Content[0].ID != a.id || list.Content[1].Token != "" {
		t.Errorf("list = %+v", list)
	}
	sendText(t, b, alicePhone, "doomed")
	if res := srv.admin(t, "DELETE", "/instances/"+b.id, nil); res.status != http.StatusOK {
		t.Fatalf("delete: %s", res)
	}
	if res := b.call(t, "GET", "status", nil); res.status != http.StatusNotFound {
		t.Errorf("status of a deleted instance: %s, want 404", res)
	}
	if res := srv.admin(t, "GET", "/instances/"+b.id, nil); res.status != http.StatusNotFound {
		t.Errorf("get a deleted instance: %s, want 404", res)
	}
	// Its messages' content went with it, and it stays gone after a restart.
	srv.restart()
	srv.admin(t, "GET", "/instances", nil).decode(t, &list)
	if list.Total != 1 {
		t.Errorf("after restart, %d instances, want 1", list.Total)
	}
	if files := findAtRest(t, srv, []byte("doomed")); len(files) > 0 {
		t.Errorf("a deleted instance's queued text is in %v", files)
	}
	// Its history (which names the numbers it wrote to) went too: only the record of its deletion is left.
	db := srv.database(t)
	var types []string
	rows, err := db.Query(`SELECT type FROM instance_events WHERE instance_id = ? ORDER BY seq`, b.id)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var typ string
		if err := rows.Scan(&typ); err != nil {
			t.Fatal(err)
		}
		types = append(types, typ)
	}
	rows.Close()
	var snapshots int
	if err := db.QueryRow(`SELECT COUNT(*) FROM instance_snapshots WHERE instance_id = ?`, b.id).Scan(&snapshots); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(types) != "[instance_deleted]" || snapshots != 0 {
		t.Errorf("a deleted instance's log holds %v and %d snapshots, want [instance_deleted] and none", types, snapshots)
	}
}

// TestMetrics: /metrics shows what happened, in Prometheus' text format, and has every metric the shipped
// Grafana dashboard and alert rules use.
func TestMetrics(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	hooks := newReceiver(t)
	const metricsToken = "metrics-token-for-scrapers"
	srv := startServer(t, sim, withEnv("PLUGZAPI_METRICS_TOKEN", metricsToken))
	in := createInstance(t, srv, "metrics", hooks)
	if res := srv.call(t, "GET", "/metrics", nil); res.status != http.StatusUnauthorized {
		t.Errorf("/metrics without the metrics token: %s, want 401", res)
	}
	link(t, in, business)
	id := sendText(t, in, alicePhone, "counted")
	waitMessage(t, alice, id)
	hooks.waitFor(t, "delivery", delivery(id))

	want := []string{
		"plugzapi_messages_queued_total 1",
		"plugzapi_messages_sent_total 1",
		"plugzapi_instances_connected 1",
		"plugzapi_queue_depth 0",
		`plugzapi_webhook_attempts_total{callback="DeliveryCallback"`,
		"plugzapi_send_latency_seconds_count 1",
	}
	eventually(t, 10*time.Second, "metrics", func() error {
		res := srv.call(t, "GET", "/metrics", nil, "Authorization", "Bearer "+metricsToken)
		body := res.body
		for _, w := range want {
			if !strings.Contains(string(body), w) {
				return fmt.Errorf("no %q in\n%s", w, body)
			}
		}
		return nil
	})
	checkMonitoring(t, func() string {
		return string(srv.call(t, "GET", "/metrics", nil, "Authorization", "Bearer "+metricsToken).body)
	})
}
