package wasim

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
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
	if !ecc.VerifySignature(ecc.NewDjbECPublicKey(RootPublicKey()), chain.GetIntermediate().GetDetails(), [64]byte(chain.GetIntermediate().GetSignature())) {
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
