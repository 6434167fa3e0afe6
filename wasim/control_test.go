package wasim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/plugzapi/plugzapi/wasim"
	"github.com/plugzapi/plugzapi/wasim/simclient"
)

type api struct {
	t    *testing.T
	base string
}

// call sends a request to the control API and decodes the JSON answer into out
// (when not nil), failing the test unless the status is want.
func (a api) call(method, path, body string, want int, out any) {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(testContext(a.t), method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		a.t.Errorf("%s %s: content type %q", method, path, ct)
	}
	if want >= 400 {
		var e struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(raw, &e); err != nil || e.Error == "" {
			a.t.Errorf("%s %s: error body %s is not {\"error\": ...}", method, path, raw)
		}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

func TestControlAPI(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	a := api{t: t, base: "http://" + sim.Addr()}
	alicePhone, bobPhone := newPhone(), newPhone()

	var created struct {
		Phone string `json:"phone"`
		JID   string `json:"jid"`
	}
	a.call("POST", "/v1/accounts", `{"phone":"`+alicePhone+`","name":"Alice"}`, http.StatusCreated, &created)
	if created.Phone != alicePhone || created.JID != alicePhone+"@s.whatsapp.net" {
		t.Errorf("created %+v", created)
	}
	a.call("POST", "/v1/accounts", `{"phone":"+`+bobPhone+`","name":"Bob"}`, http.StatusCreated, nil)
	a.call("POST", "/v1/accounts", `{"phone":"`+alicePhone+`","name":"Again"}`, http.StatusConflict, nil)
	a.call("POST", "/v1/accounts", `{"phone":"0123","name":"Bad"}`, http.StatusBadRequest, nil)
	a.call("POST", "/v1/accounts", `{"phone":`, http.StatusBadRequest, nil)
	a.call("POST", "/v1/accounts", `{"phone":"5511900012345","nmae":"typo"}`, http.StatusBadRequest, nil)
	a.call("DELETE", "/v1/accounts", "", http.StatusMethodNotAllowed, nil)
	a.call("GET", "/v1/nothing-here", "", http.StatusNotFound, nil)
	var list []struct {
		Phone   string `json:"phone"`
		Online  bool   `json:"online"`
		Devices []struct {
			JID   string `json:"jid"`
			Phone bool   `json:"phone"`
		} `json:"devices"`
	}
	a.call("GET", "/v1/accounts", "", http.StatusOK, &list)
	if len(list) != 2 || list[0].Phone != min(alicePhone, bobPhone) || !list[0].Online || len(list[0].Devices) != 1 || !list[0].Devices[0].Phone {
		t.Errorf("accounts %+v", list)
	}

	// Every account endpoint answers 404 for an unknown number.
	for _, p := range []string{"/scan", "/link-code", "/messages", "/read", "/played", "/typing", "/online", "/hold"} {
		a.call("POST", "/v1/accounts/5511900077777"+p, `{}`, http.StatusNotFound, nil)
	}
	a.call("GET", "/v1/accounts/5511900077777/messages", "", http.StatusNotFound, nil)

	// Link a client by scanning its QR code through the API.
	c := newClient(t, sim)
	qr := c.connectForQR()
	body, _ := json.Marshal(map[string]string{"qr": qr})
	var scanned struct {
		Device string `json:"device"`
	}
	a.call("POST", "/v1/accounts/"+alicePhone+"/scan", string(body), http.StatusOK, &scanned)
	waitEvent[*events.Connected](c, 0, nil)
	if scanned.Device != c.cli.Store.ID.String() {
		t.Errorf("scan says %s, client is %s", scanned.Device, c.cli.Store.ID)
	}
	a.call("POST", "/v1/accounts/"+alicePhone+"/scan", string(body), http.StatusNotFound, nil)
	a.call("POST", "/v1/accounts/"+alicePhone+"/scan", `{"qr":"garbage"}`, http.StatusBadRequest, nil)

	// Link a second client with a phone code through the API.
	c2 := newClient(t, sim)
	c2.connectForQR()
	code, err := c2.cli.PairPhone(testContext(t), alicePhone, false, whatsmeow.PairClientChrome, "Chrome (Linux)")
	if err != nil {
		t.Fatal(err)
	}
	a.call("POST", "/v1/accounts/"+alicePhone+"/link-code", `{"code":"`+code+`"}`, http.StatusOK, &scanned)
	waitEvent[*events.Connected](c2, 0, nil)
	a.call("POST", "/v1/accounts/"+alicePhone+"/link-code", `{"code":"nope"}`, http.StatusBadRequest, nil)

	// Bob's phone sends, the client receives; the client replies, Bob's inbox has it.
	var sent struct {
		ID string `json:"id"`
	}
	a.call("POST", "/v1/accounts/"+bobPhone+"/messages", `{"to":"`+alicePhone+`","text":"via the api"}`, http.StatusOK, &sent)
	evt := waitEvent[*events.Message](c, 0, isMessage(sent.ID))
	if messageText(evt) != "via the api" {
		t.Errorf("client got %q", messageText(evt))
	}
	a.call("POST", "/v1/accounts/"+bobPhone+"/messages", `{"to":"","text":"x"}`, http.StatusBadRequest, nil)
	a.call("POST", "/v1/accounts/"+bobPhone+"/messages", `{"to":"not-a-number","text":"x"}`, http.StatusBadRequest, nil)
	// Any message, as protobuf JSON.
	a.call("POST", "/v1/accounts/"+bobPhone+"/messages",
		`{"to":"`+alicePhone+`","type":"message","message":{"locationMessage":{"degreesLatitude":-23.5,"degreesLongitude":-46.6,"name":"Paulista"}}}`,
		http.StatusOK, &sent)
	evt = waitEvent[*events.Message](c, 0, isMessage(sent.ID))
	if loc := evt.Message.GetLocationMessage(); loc.GetDegreesLatitude() != -23.5 || loc.GetName() != "Paulista" {
		t.Errorf("client got %v, want the location", evt.Message)
	}
	a.call("POST", "/v1/accounts/"+bobPhone+"/messages", `{"to":"`+alicePhone+`","type":"message","message":{"nope":1}}`,
		http.StatusBadRequest, nil)

	bob, _ := sim.Account(bobPhone)
	resp, err := c.cli.SendMessage(testContext(t), bob.JID(), textMessage("answer"))
	if err != nil {
		t.Fatal(err)
	}
	var inbox []wasim.Message
	eventually(t, "bob's inbox lists the answer", func() bool {
		a.call("GET", "/v1/accounts/"+bobPhone+"/messages", "", http.StatusOK, &inbox)
		return len(inbox) > 0 && inbox[len(inbox)-1].ID == resp.ID
	})
	last := inbox[len(inbox)-1]
	if last.Text != "answer" || last.From != alicePhone || last.Chat != alicePhone || last.Type != "text" {
		t.Errorf("inbox entry %+v", last)
	}
	var since []wasim.Message
	a.call("GET", "/v1/accounts/"+bobPhone+"/messages?since="+url.QueryEscape(resp.ID), "", http.StatusOK, &since)
	if len(since) != 0 {
		t.Errorf("messages since the last one: %+v", since)
	}
	var raw []map[string]any
	a.call("GET", "/v1/accounts/"+bobPhone+"/messages", "", http.StatusOK, &raw)
	for _, k := range []string{"id", "chat", "from", "type", "text", "time"} {
		if _, ok := raw[len(raw)-1][k]; !ok {
			t.Errorf("message JSON lacks %q: %v", k, raw[len(raw)-1])
		}
	}

	a.call("POST", "/v1/accounts/"+bobPhone+"/read", `{"chat":"`+alicePhone+`","ids":["`+resp.ID+`"]}`, http.StatusOK, nil)
	waitEvent[*events.Receipt](c, 0, isReceipt(resp.ID, types.ReceiptTypeRead))
	a.call("POST", "/v1/accounts/"+bobPhone+"/played", `{"chat":"`+alicePhone+`","ids":["`+resp.ID+`"]}`, http.StatusOK, nil)
	waitEvent[*events.Receipt](c, 0, isReceipt(resp.ID, types.ReceiptTypePlayed))
	a.call("POST", "/v1/accounts/"+bobPhone+"/read", `{"chat":"`+alicePhone+`","ids":[]}`, http.StatusBadRequest, nil)

	alice, _ := sim.Account(alicePhone)
	c.beAvailable(alice)
	from := c.mark()
	a.call("POST", "/v1/accounts/"+bobPhone+"/typing", `{"chat":"`+alicePhone+`","state":"composing"}`, http.StatusOK, nil)
	if cp := waitEvent[*events.ChatPresence](c, from, nil); cp.State != types.ChatPresenceComposing {
		t.Errorf("chat presence %+v", cp)
	}
	a.call("POST", "/v1/accounts/"+bobPhone+"/typing", `{"chat":"`+alicePhone+`","state":"sleeping"}`, http.StatusBadRequest, nil)

	a.call("POST", "/v1/accounts/"+bobPhone+"/online", `{"online":false}`, http.StatusOK, nil)
	a.call("POST", "/v1/accounts/"+bobPhone+"/messages", `{"to":"`+alicePhone+`","text":"x"}`, http.StatusConflict, nil)
	a.call("POST", "/v1/accounts/"+bobPhone+"/online", `{"online":true}`, http.StatusOK, nil)
	a.call("POST", "/v1/accounts/"+bobPhone+"/online", `{}`, http.StatusBadRequest, nil)

	var deliveries struct {
		Deliveries int            `json:"deliveries"`
		Devices    map[string]int `json:"devices"`
	}
	a.call("GET", "/v1/messages/"+url.PathEscape(resp.ID)+"/deliveries", "", http.StatusOK, &deliveries)
	if deliveries.Deliveries != 1 || len(deliveries.Devices) == 0 {
		t.Errorf("deliveries %+v", deliveries)
	}

	// Faults by device JID.
	dev := url.PathEscape(c.cli.Store.ID.String())
	from = c.mark()
	a.call("POST", "/v1/devices/"+dev+"/drop", "", http.StatusOK, nil)
	waitEvent[*events.Disconnected](c, from, nil)
	waitEvent[*events.Connected](c, from, nil)
	from = c.mark()
	a.call("POST", "/v1/devices/"+dev+"/stream-error", `{"code":503}`, http.StatusOK, nil)
	waitEvent[*events.Connected](c, from, nil)
	a.call("POST", "/v1/devices/"+dev+"/stream-error", `{"code":"bogus"}`, http.StatusBadRequest, nil)
	a.call("POST", "/v1/devices/"+dev+"/delay-acks", `{"ms":0}`, http.StatusOK, nil)
	a.call("POST", "/v1/devices/"+dev+"/fail-next-login", `{"reason":"405"}`, http.StatusOK, nil)
	from = c.mark()
	a.call("POST", "/v1/devices/"+dev+"/drop", `{}`, http.StatusOK, nil)
	waitEvent[*events.ClientOutdated](c, from, nil)
	a.call("POST", "/v1/devices/"+dev+"/fail-next-login", `{"reason":"abc"}`, http.StatusBadRequest, nil)
	a.call("POST", "/v1/devices/"+dev+"/drop", "", http.StatusConflict, nil) // not connected any more
	dev2 := url.PathEscape(c2.cli.Store.ID.String())
	from = c2.mark()
	a.call("POST", "/v1/devices/"+dev2+"/unlink", "", http.StatusOK, nil)
	waitEvent[*events.LoggedOut](c2, from, nil)
	a.call("POST", "/v1/devices/"+dev2+"/unlink", "", http.StatusNotFound, nil)
	a.call("POST", "/v1/devices/5511900077777:3/drop", "", http.StatusNotFound, nil)
	a.call("POST", "/v1/devices/not-a-jid/drop", "", http.StatusBadRequest, nil)
	a.call("GET", "/v1/devices/"+dev+"/drop", "", http.StatusMethodNotAllowed, nil)
}

// Garbage on the WhatsApp websocket closes that connection and nothing else.
func TestGarbageConnections(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	for _, payload := range [][]byte{
		[]byte("hello"),
		{'W', 'A', 6, 3, 0, 0, 4, 1, 2, 3, 4}, // a handshake frame that is not a protobuf
		{'W', 'A', 6, 3, 0, 0, 2, 0x0a, 0x00}, // a client hello without a key
		append([]byte{'W', 'A', 6, 3}, bytes.Repeat([]byte{0xff}, 64)...),
	} {
		ctx := testContext(t)
		ws, _, err := websocket.Dial(ctx, "ws://"+sim.Addr()+"/ws/chat", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := ws.Write(ctx, websocket.MessageBinary, payload); err != nil {
			t.Fatal(err)
		}
		// A hello that is too short or malformed gets no server hello: the simulator
		// closes the connection (a frame announcing 16 MB just never completes, and
		// the handshake times out, so bound the wait).
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		_, _, err = ws.Read(rctx)
		cancel()
		if err == nil {
			t.Errorf("payload % x: the simulator answered instead of closing", payload)
		}
		_ = ws.CloseNow()
	}
	// The simulator still works.
	alice := addAccount(t, sim, "Alice")
	c := newClient(t, sim)
	c.link(alice)
}

// HTTPClient sends requests for WhatsApp hosts to the simulator; Handler serves the
// same API when mounted elsewhere.
func TestHTTPClientAndHandler(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	resp, err := simclient.HTTPClient(sim.Addr()).Get("https://mmg.whatsapp.net/v1/accounts")
	if err != nil {
		t.Fatalf("request through HTTPClient: %v", err)
	}
	var accounts []any
	err = json.NewDecoder(resp.Body).Decode(&accounts)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || len(accounts) != 0 {
		t.Fatalf("status %d, accounts %v, err %v", resp.StatusCode, accounts, err)
	}

	mounted := httptest.NewServer(sim.Handler())
	defer mounted.Close()
	a := api{t: t, base: mounted.URL}
	a.call("GET", "/v1/accounts", "", http.StatusOK, nil)
	a.call("GET", "/v1/unknown", "", http.StatusNotFound, nil)
}
