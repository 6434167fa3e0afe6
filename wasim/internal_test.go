package wasim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mau.fi/libsignal/ecc"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waCert"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/socket"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/wasim/simclient"
)

func TestFrameDecoder(t *testing.T) {
	frame := func(payload string) []byte {
		f, err := encodeFrame([]byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	whole := concat(connHeader, frame("one"), frame(""), frame("three"))
	for _, tc := range []struct {
		name   string
		chunks [][]byte
		want   []string
		err    bool
	}{
		{"one message", [][]byte{whole}, []string{"one", "", "three"}, false},
		{"byte by byte", splitEvery(whole, 1), []string{"one", "", "three"}, false},
		{"split in the length", [][]byte{whole[:5], whole[5:]}, []string{"one", "", "three"}, false},
		{"incomplete frame", [][]byte{whole[:len(whole)-1]}, []string{"one", ""}, false},
		{"wrong header", [][]byte{[]byte("GET / HTTP/1.1")}, nil, true},
		{"wrong dictionary version", [][]byte{{'W', 'A', 6, 2, 0, 0, 0}}, nil, true},
		{"wrong first byte", [][]byte{{'X'}}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newFrameDecoder()
			var got []string
			var err error
			for _, c := range tc.chunks {
				var frames [][]byte
				frames, err = d.feed(c)
				if err != nil {
					break
				}
				for _, f := range frames {
					got = append(got, string(f))
				}
			}
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", err, tc.err)
			}
			if !tc.err && strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("frames %q, want %q", got, tc.want)
			}
		})
	}
}

func splitEvery(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		k := min(n, len(b))
		out = append(out, b[:k])
		b = b[k:]
	}
	return out
}

func FuzzFrameDecoder(f *testing.F) {
	f.Add(concat(connHeader, []byte{0, 0, 3, 'a', 'b', 'c'}), 2)
	f.Add([]byte{'W', 'A', 6, 3, 0xff, 0xff, 0xff}, 1)
	f.Fuzz(func(t *testing.T, data []byte, step int) {
		if step <= 0 {
			step = 1
		}
		d := newFrameDecoder()
		total := 0
		for _, c := range splitEvery(data, step) {
			frames, err := d.feed(c)
			if err != nil {
				return
			}
			for _, fr := range frames {
				total += len(fr) + frameLengthSize
			}
		}
		if total > len(data) {
			t.Fatalf("decoded %d bytes of frames from %d bytes", total, len(data))
		}
	})
}

// framePipe connects the responder to a test initiator.
type framePipe struct {
	in, out chan []byte
}

func (p framePipe) readFrame(ctx context.Context) ([]byte, error) {
	select {
	case f := <-p.in:
		return f, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p framePipe) writeFrame(ctx context.Context, f []byte) error {
	select {
	case p.out <- f:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// The responder interoperates with whatsmeow's own initiator-side handshake steps,
// and its certificate chain passes the checks whatsmeow makes against the root.
func TestHandshakeWithWhatsmeowInitiator(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	static := keys.NewKeyPair()
	chain, err := certChain(static, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	toServer, toClient := make(chan []byte, 1), make(chan []byte, 1)
	type result struct {
		res *handshakeResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := respondHandshake(ctx, framePipe{in: toServer, out: toClient}, static, chain)
		done <- result{res, err}
	}()

	nh := socket.NewNoiseHandshake()
	nh.Start(socket.NoiseStartPattern, connHeader)
	eph := keys.NewKeyPair()
	nh.Authenticate(eph.Pub[:])
	hello, _ := proto.Marshal(&waWa6.HandshakeMessage{ClientHello: &waWa6.HandshakeMessage_ClientHello{Ephemeral: eph.Pub[:]}})
	toServer <- hello
	var sh waWa6.HandshakeMessage
	if err := proto.Unmarshal(<-toClient, &sh); err != nil {
		t.Fatal(err)
	}
	serverEph := [32]byte(sh.GetServerHello().GetEphemeral())
	nh.Authenticate(serverEph[:])
	if err := nh.MixSharedSecretIntoKey(*eph.Priv, serverEph); err != nil {
		t.Fatal(err)
	}
	gotStatic, err := nh.Decrypt(sh.GetServerHello().GetStatic())
	if err != nil || !bytes.Equal(gotStatic, static.Pub[:]) {
		t.Fatalf("server static: %x, %v", gotStatic, err)
	}
	if err := nh.MixSharedSecretIntoKey(*eph.Priv, [32]byte(gotStatic)); err != nil {
		t.Fatal(err)
	}
	certBytes, err := nh.Decrypt(sh.GetServerHello().GetPayload())
	if err != nil {
		t.Fatalf("decrypt certificate: %v", err)
	}
	verifyChain(t, certBytes, gotStatic)

	noise := keys.NewKeyPair()
	encStatic := nh.Encrypt(noise.Pub[:])
	if err := nh.MixSharedSecretIntoKey(*noise.Priv, serverEph); err != nil {
		t.Fatal(err)
	}
	payload := &waWa6.ClientPayload{Username: proto.Uint64(5511999990001), Device: proto.Uint32(3)}
	pb, _ := proto.Marshal(payload)
	finish, _ := proto.Marshal(&waWa6.HandshakeMessage{ClientFinish: &waWa6.HandshakeMessage_ClientFinish{
		Static: encStatic, Payload: nh.Encrypt(pb),
	}})
	toServer <- finish
	r := <-done
	if r.err != nil {
		t.Fatalf("responder: %v", r.err)
	}
	if r.res.clientStatic != *noise.Pub {
		t.Error("responder got another client static key")
	}
	if r.res.payload.GetUsername() != 5511999990001 || r.res.payload.GetDevice() != 3 {
		t.Errorf("responder got payload %v", r.res.payload)
	}
}

// verifyChain repeats whatsmeow's verifyServerCert checks against RootPublicKey.
func verifyChain(t *testing.T, raw, static []byte) {
	t.Helper()
	var chain waCert.CertChain
	if err := proto.Unmarshal(raw, &chain); err != nil {
		t.Fatal(err)
	}
	var inter, leaf waCert.CertChain_NoiseCertificate_Details
	if !ecc.VerifySignature(ecc.NewDjbECPublicKey(simclient.RootPublicKey()), chain.GetIntermediate().GetDetails(), [64]byte(chain.GetIntermediate().GetSignature())) {
		t.Fatal("intermediate not signed by the root")
	}
	if err := proto.Unmarshal(chain.GetIntermediate().GetDetails(), &inter); err != nil || inter.GetIssuerSerial() != 0 || len(inter.GetKey()) != 32 {
		t.Fatalf("intermediate details %v: %v", &inter, err)
	}
	if !ecc.VerifySignature(ecc.NewDjbECPublicKey([32]byte(inter.GetKey())), chain.GetLeaf().GetDetails(), [64]byte(chain.GetLeaf().GetSignature())) {
		t.Fatal("leaf not signed by the intermediate")
	}
	if err := proto.Unmarshal(chain.GetLeaf().GetDetails(), &leaf); err != nil || leaf.GetIssuerSerial() != inter.GetSerial() || !bytes.Equal(leaf.GetKey(), static) {
		t.Fatalf("leaf details %v: %v", &leaf, err)
	}
}

// recordingHandler keeps log records, to catch handler panics (which dispatch
// recovers from and logs).
type recordingHandler struct {
	mu      sync.Mutex
	records []string
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Message)
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

// Malformed stanzas from a logged-in device never panic a handler, and every IQ
// gets an answer.
func TestMalformedStanzas(t *testing.T) {
	logs := &recordingHandler{}
	s, err := Start(context.Background(), Options{Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })

	// A device record and a connection object without a socket: what handlers send
	// stays in the outbox, where the test reads it.
	a := &Account{s: s, phone: "5511999990001", jid: types.NewJID("5511999990001", types.DefaultUserServer),
		lid: types.NewJID("77", types.HiddenUserServer), identity: keys.NewKeyPair(), devices: map[uint16]*device{},
		privacy: map[string]string{}, nextDevice: 2}
	d := &device{acct: a, jid: types.JID{User: a.phone, Device: 1, Server: types.DefaultUserServer},
		lid: types.JID{User: "77", Device: 1, Server: types.HiddenUserServer}}
	a.devices[1] = d
	s.mu.Lock()
	s.accounts[a.phone] = a
	s.byLID["77"] = a
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &conn{s: s, id: 1, ctx: ctx, cancel: cancel, log: s.log, outWake: make(chan struct{}, 1),
		waiters: map[string]chan *waBinary.Node{}, dev: d, loggedIn: true}
	d.conn = c

	jid := types.NewJID("5511999990002", types.DefaultUserServer)
	iq := func(xmlns, typ string, content ...waBinary.Node) *waBinary.Node {
		return &waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{"id": "q", "xmlns": xmlns, "type": typ, "to": types.ServerJID}, Content: content}
	}
	stanzas := []*waBinary.Node{
		{Tag: "message"},
		{Tag: "message", Attrs: waBinary.Attrs{"id": "m1"}},
		{Tag: "message", Attrs: waBinary.Attrs{"id": "m2", "to": "not a jid"}},
		{Tag: "message", Attrs: waBinary.Attrs{"id": "m3", "to": jid}, Content: []waBinary.Node{{Tag: "participants", Content: "x"}}},
		{Tag: "message", Attrs: waBinary.Attrs{"id": "m4", "to": jid}, Content: []waBinary.Node{{Tag: "participants", Content: []waBinary.Node{{Tag: "to", Attrs: waBinary.Attrs{"jid": "x"}}}}}},
		{Tag: "message", Attrs: waBinary.Attrs{"id": "m5", "to": types.NewJID("1", types.GroupServer)}},
		{Tag: "message", Attrs: waBinary.Attrs{"id": "m6", "to": types.JID{User: jid.User, Device: 9, Server: jid.Server}}, Content: []waBinary.Node{{Tag: "enc"}}},
		{Tag: "receipt"},
		{Tag: "receipt", Attrs: waBinary.Attrs{"id": "r", "to": jid}, Content: []waBinary.Node{{Tag: "list", Content: []waBinary.Node{{Tag: "item"}}}}},
		{Tag: "ack", Attrs: waBinary.Attrs{"class": 5}},
		{Tag: "chatstate", Attrs: waBinary.Attrs{"to": jid}},
		{Tag: "chatstate", Attrs: waBinary.Attrs{"to": "x"}, Content: []waBinary.Node{{Tag: "composing"}}},
		{Tag: "presence", Attrs: waBinary.Attrs{"type": "available", "name": []byte("x")}},
		{Tag: "unknown-tag"},
		{Tag: "iq", Attrs: waBinary.Attrs{"type": "get"}},
		{Tag: "iq", Attrs: waBinary.Attrs{"type": "result", "id": "nobody-waits"}},
		{Tag: "message", Attrs: waBinary.Attrs{"id": "m7", "to": types.GroupServerJID}, Content: []waBinary.Node{{Tag: "participants"}}},
		{Tag: "receipt", Attrs: waBinary.Attrs{"id": "r2", "to": types.NewJID("1", types.GroupServer), "participant": "x"}},
		{Tag: "chatstate", Attrs: waBinary.Attrs{"to": types.NewJID("1", types.GroupServer)}, Content: []waBinary.Node{{Tag: "composing"}}},
		{Tag: "presence", Attrs: waBinary.Attrs{"type": "subscribe"}},
		{Tag: "presence", Attrs: waBinary.Attrs{"type": "subscribe", "to": "x"}},
		{Tag: "presence", Attrs: waBinary.Attrs{"type": "subscribe", "to": jid}},
		{Tag: "presence", Attrs: waBinary.Attrs{"type": "subscribe", "to": a.jid}},
	}
	group := types.NewJID("120363000000000001", types.GroupServer)
	giq := func(to types.JID, typ string, content ...waBinary.Node) *waBinary.Node {
		n := iq("w:g2", typ, content...)
		n.Attrs["to"] = to
		return n
	}
	pic := func(typ string, target any, content ...waBinary.Node) *waBinary.Node {
		n := iq("w:profile:picture", typ, content...)
		if target != nil {
			n.Attrs["target"] = target
		}
		return n
	}
	iqs := []*waBinary.Node{
		iq("no-such-namespace", "get"),
		iq("encrypt", "get"),
		iq("encrypt", "set", waBinary.Node{Tag: "list", Content: []waBinary.Node{{Tag: "key"}}}),
		iq("encrypt", "get", waBinary.Node{Tag: "key", Content: []waBinary.Node{{Tag: "user", Attrs: waBinary.Attrs{"jid": "x"}}, {Tag: "user", Attrs: waBinary.Attrs{"jid": jid}}}}),
		iq("usync", "get"),
		iq("usync", "get", waBinary.Node{Tag: "usync", Content: []waBinary.Node{{Tag: "query", Content: []waBinary.Node{{Tag: "devices"}, {Tag: "contact"}}}, {Tag: "list", Content: []waBinary.Node{{Tag: "user"}, {Tag: "user", Content: []waBinary.Node{{Tag: "contact", Content: 5}}}}}}}),
		iq("md", "set"),
		iq("md", "set", waBinary.Node{Tag: "link_code_companion_reg"}),
		iq("md", "set", waBinary.Node{Tag: "link_code_companion_reg", Attrs: waBinary.Attrs{"stage": "companion_finish"}}),
		iq("md", "set", waBinary.Node{Tag: "remove-companion-device", Attrs: waBinary.Attrs{"jid": "x"}}),
		iq("privacy", "set", waBinary.Node{Tag: "privacy", Content: []waBinary.Node{{Tag: "category"}}}),
		iq("blocklist", "set", waBinary.Node{Tag: "item", Attrs: waBinary.Attrs{"jid": jid, "action": "explode"}}),
		iq("status", "set"),
		iq("w:p", "get"),
		iq("w:m", "get"),
		iq("w:m", "set"),
		iq("w:g2", "get"),
		giq(types.GroupServerJID, "set"),
		giq(types.GroupServerJID, "set", waBinary.Node{Tag: "create"}),
		giq(types.GroupServerJID, "set", waBinary.Node{Tag: "create", Attrs: waBinary.Attrs{"subject": 5}}),
		giq(types.GroupServerJID, "set", waBinary.Node{Tag: "create", Attrs: waBinary.Attrs{"subject": strings.Repeat("x", 101)}}),
		giq(types.GroupServerJID, "set", waBinary.Node{Tag: "create", Attrs: waBinary.Attrs{"subject": "ok"}, Content: []waBinary.Node{{Tag: "participant", Attrs: waBinary.Attrs{"jid": "x"}}, {Tag: "junk"}}}),
		giq(types.GroupServerJID, "set", waBinary.Node{Tag: "leave"}),
		giq(types.GroupServerJID, "set", waBinary.Node{Tag: "leave", Content: []waBinary.Node{{Tag: "group", Attrs: waBinary.Attrs{"id": "x"}}}}),
		giq(types.GroupServerJID, "set", waBinary.Node{Tag: "leave", Content: []waBinary.Node{{Tag: "group", Attrs: waBinary.Attrs{"id": group}}}}),
		giq(types.GroupServerJID, "get", waBinary.Node{Tag: "invite"}),
		giq(group, "get", waBinary.Node{Tag: "query"}),
		giq(group, "set", waBinary.Node{Tag: "add", Content: []waBinary.Node{{Tag: "participant"}}}),
		giq(group, "set", waBinary.Node{Tag: "subject"}, waBinary.Node{Tag: "subject"}),
		pic("get", nil),
		pic("get", jid),
		pic("get", jid, waBinary.Node{Tag: "picture"}),
		pic("get", group, waBinary.Node{Tag: "picture"}),
		pic("get", types.NewJID("x", types.BroadcastServer), waBinary.Node{Tag: "picture"}),
		pic("set", nil, waBinary.Node{Tag: "picture", Content: "not a jpeg"}),
		pic("set", nil, waBinary.Node{Tag: "picture", Content: []waBinary.Node{{Tag: "x"}}}),
		pic("set", jid, waBinary.Node{Tag: "picture", Content: []byte{0xFF, 0xD8, 0xFF, 0xE0}}),
		pic("set", group),
		pic("delete", nil),
		iq("usync", "get", waBinary.Node{Tag: "usync", Content: []waBinary.Node{{Tag: "query", Content: []waBinary.Node{{Tag: "status"}, {Tag: "picture"}, {Tag: "business"}}}, {Tag: "list", Content: []waBinary.Node{{Tag: "user", Attrs: waBinary.Attrs{"jid": jid}}, {Tag: "user", Attrs: waBinary.Attrs{"jid": a.jid}}}}}}),
	}
	for _, n := range stanzas {
		s.dispatch(c, n)
	}
	for _, n := range iqs {
		before := outboxLen(c)
		s.dispatch(c, n)
		if outboxLen(c) == before {
			t.Errorf("no answer to %s", n.XMLString())
		}
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	for _, r := range logs.records {
		if strings.Contains(r, "panic") {
			t.Errorf("a handler panicked: %s", r)
		}
	}
	if c.isClosing() {
		t.Error("the connection was closed by a handler failure")
	}
	// The stanzas above must not have routed anything anywhere.
	if got := s.Deliveries("m4"); got != 0 {
		t.Errorf("malformed message delivered %d times", got)
	}
	if !errors.Is(s.Drop(types.JID{User: "1", Device: 1, Server: types.DefaultUserServer}), ErrUnknownDevice) {
		t.Error("Drop of an unknown device must fail with ErrUnknownDevice")
	}
}

func outboxLen(c *conn) int {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return len(c.out)
}

func TestParticipantHashMatchesWhatsmeow(t *testing.T) {
	// The value whatsmeow's participantListHashV2 gives for these devices, computed
	// from its definition: "2:" + base64(sha256(sorted AD strings joined)[:6]).
	devs := []types.JID{
		{User: "5511999990002", Device: 1, Server: types.DefaultUserServer},
		{User: "5511999990001", Device: 2, Server: types.DefaultUserServer},
	}
	a, b := participantHash(devs), participantHash([]types.JID{devs[1], devs[0]})
	if a != b || !strings.HasPrefix(a, "2:") || len(a) != 10 {
		t.Errorf("hash %q / %q: must be order independent and 2:+8 base64 chars", a, b)
	}
}

// The media host endpoints check what whatsmeow's uploads and downloads carry, and
// refuse everything else without panicking.
func TestMediaEndpoints(t *testing.T) {
	s, err := Start(context.Background(), Options{MediaMemory: 4096, MaxMediaObjects: 3, MaxMediaSize: 2048})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	h := s.Handler()
	do := func(method, target string, body []byte) *httptest.ResponseRecorder {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, target, bytes.NewReader(body)))
		return rec
	}
	token := func(b []byte) string {
		sum := sha256.Sum256(b)
		return base64.URLEncoding.EncodeToString(sum[:])
	}
	auth := s.media.issueAuth(time.Now())
	upload := func(mmsType string, body []byte) (*httptest.ResponseRecorder, string, string) {
		t.Helper()
		tok := token(body)
		rec := do("POST", "/mms/"+mmsType+"/"+tok+"?auth="+url.QueryEscape(auth)+"&token="+url.QueryEscape(tok), body)
		var out struct {
			URL        string `json:"url"`
			DirectPath string `json:"direct_path"`
		}
		if rec.Code == http.StatusOK {
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("upload answer %s: %v", rec.Body, err)
			}
		}
		return rec, out.URL, out.DirectPath
	}
	blob := func(n int, fill byte) []byte { return bytes.Repeat([]byte{fill}, n) }

	first := blob(1500, 1)
	rec, mediaURL, path := upload("image", first)
	if rec.Code != http.StatusOK || !strings.HasPrefix(mediaURL, "https://"+mediaHost+"/v/") || !strings.HasPrefix(path, "/v/") {
		t.Fatalf("upload: %d %s url %q path %q", rec.Code, rec.Body, mediaURL, path)
	}
	u, _ := url.Parse(mediaURL)
	if got := do("GET", u.RequestURI(), nil); got.Code != http.StatusOK || !bytes.Equal(got.Body.Bytes(), first) {
		t.Errorf("download by url: %d, %d bytes", got.Code, got.Body.Len())
	}
	byPath := path + "&hash=" + url.QueryEscape(token(first)) + "&mms-type=image&__wa-mms="
	if got := do("GET", byPath, nil); got.Code != http.StatusOK || !bytes.Equal(got.Body.Bytes(), first) {
		t.Errorf("download by direct path: %d", got.Code)
	}
	if got := do("GET", path+"&hash="+url.QueryEscape(token([]byte("other"))), nil); got.Code != http.StatusNotFound {
		t.Errorf("download with a wrong hash: %d, want 404", got.Code)
	}
	if got := do("GET", strings.Replace(path, "oh=", "oh=x", 1), nil); got.Code != http.StatusForbidden {
		t.Errorf("download with a forged signature: %d, want 403", got.Code)
	}
	file := strings.TrimPrefix(strings.SplitN(path, "?", 2)[0], "/v/"+mediaKinds["image"]+"/")
	expired := s.media.signedPath(mediaKinds["image"], file, time.Now().Add(-mediaURLLifetime-time.Hour))
	if got := do("GET", expired, nil); got.Code != http.StatusGone {
		t.Errorf("download of an expired path: %d, want 410", got.Code)
	}

	good := blob(100, 2)
	tok := token(good)
	for _, tc := range []struct {
		name   string
		target string
		body   []byte
		want   int
	}{
		{"no auth", "/mms/image/" + tok + "?token=" + tok, good, http.StatusUnauthorized},
		{"forged auth", "/mms/image/" + tok + "?auth=123.abc&token=" + tok, good, http.StatusUnauthorized},
		{"expired auth", "/mms/image/" + tok + "?auth=" + url.QueryEscape(s.media.issueAuth(time.Now().Add(-mediaAuthTTL-time.Hour))), good, http.StatusUnauthorized},
		{"token is not the body's hash", "/mms/image/" + token([]byte("x")) + "?auth=" + url.QueryEscape(auth), good, http.StatusBadRequest},
		{"tokens differ", "/mms/image/" + tok + "?auth=" + url.QueryEscape(auth) + "&token=" + token([]byte("x")), good, http.StatusBadRequest},
		{"token not base64", "/mms/image/%25%25?auth=" + url.QueryEscape(auth), good, http.StatusBadRequest},
		{"bad type", "/mms/IMAGE!/" + tok + "?auth=" + url.QueryEscape(auth), good, http.StatusBadRequest},
		{"empty", "/mms/image/" + token(nil) + "?auth=" + url.QueryEscape(auth), nil, http.StatusBadRequest},
		{"too large", "/mms/image/" + token(blob(3000, 3)) + "?auth=" + url.QueryEscape(auth), blob(3000, 3), http.StatusRequestEntityTooLarge},
		{"unknown media", "/v/" + mediaKinds["image"] + "/nothing.enc?oh=x&oe=1", nil, http.StatusForbidden},
	} {
		method := "POST"
		if strings.HasPrefix(tc.target, "/v/") {
			method = "GET"
		}
		if got := do(method, tc.target, tc.body); got.Code != tc.want {
			t.Errorf("%s: status %d, want %d: %s", tc.name, got.Code, tc.want, got.Body)
		}
	}

	// Baileys' token: base64url without padding (WhatsApp's hosts take both).
	unpadded := strings.TrimRight(tok, "=")
	if unpadded == tok {
		t.Fatal("a SHA-256 in base64url has padding; the test needs it")
	}
	if got := do("POST", "/mms/image/"+unpadded+"?auth="+url.QueryEscape(auth)+"&token="+unpadded, good); got.Code != http.StatusOK {
		t.Errorf("upload with an unpadded token: %d %s", got.Code, got.Body)
	}

	// The store keeps at most 4096 bytes and 3 objects, evicting the oldest first.
	_, _, path2 := upload("video", blob(1500, 4))
	_, _, path3 := upload("document", blob(1500, 5))
	if got := do("GET", path, nil); got.Code != http.StatusNotFound {
		t.Errorf("download of media evicted by the memory bound: %d, want 404", got.Code)
	}
	for _, p := range []string{path2, path3} {
		if got := do("GET", p, nil); got.Code != http.StatusOK {
			t.Errorf("download of kept media: %d", got.Code)
		}
	}
	upload("audio", blob(10, 6))
	upload("audio", blob(10, 7))
	if got := do("GET", path2, nil); got.Code != http.StatusNotFound {
		t.Errorf("download of media evicted by the count bound: %d, want 404", got.Code)
	}

	s.media.putPicture("42", []byte{0xFF, 0xD8, 0xFF, 1})
	picURL, _ := s.media.pictureURLs("42", time.Now())
	pu, _ := url.Parse(picURL)
	if got := do("GET", pu.RequestURI(), nil); got.Code != http.StatusOK || got.Header().Get("Content-Type") != "image/jpeg" {
		t.Errorf("picture download: %d %q", got.Code, got.Header().Get("Content-Type"))
	}
	s.media.deletePicture("42")
	if got := do("GET", pu.RequestURI(), nil); got.Code != http.StatusNotFound {
		t.Errorf("removed picture: %d, want 404", got.Code)
	}
}

// The client side pins the root's public key; it must be the one the simulator signs with.
func TestPinnedRootMatchesTheSeededRoot(t *testing.T) {
	if simclient.RootPublicKey() != *rootKey.Pub {
		t.Fatal("simclient's pinned root public key differs from the simulator's root key")
	}
}
