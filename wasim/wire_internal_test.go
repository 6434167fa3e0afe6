package wasim

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.mau.fi/libsignal/ecc"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/proto/waServerSync"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
	"google.golang.org/protobuf/proto"
)

// These tests check the stanzas the simulator writes, at the wire, where no client
// library stands between the test and a deviation from WhatsApp (whatsmeow, for one,
// never reads a key index). Accounts and devices are built by hand; each device has a
// connection without a socket, whose outbox the test reads.

// wire is a simulator with hand-built accounts.
type wire struct {
	t *testing.T
	s *Simulator
}

func newWire(t *testing.T) *wire {
	t.Helper()
	s, err := Start(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &wire{t: t, s: s}
}

// account registers an account with its phone (device 0) and linked devices 1..n, each
// logged in on a connection of its own, the linked ones signed with key index = id.
func (w *wire) account(phone, lid string, linked int) *Account {
	w.t.Helper()
	a := &Account{
		s: w.s, phone: phone, jid: types.NewJID(phone, types.DefaultUserServer),
		lid: types.NewJID(lid, types.HiddenUserServer), identity: keys.NewKeyPair(), advRawID: 7,
		devices: map[uint16]*device{}, nextDevice: uint16(linked + 1), nextKeyIndex: uint32(linked + 1),
		privacy: map[string]string{}, subscribers: map[*conn]types.JID{}, appState: map[string]*appStateCollection{},
		name: "Name of " + phone, devicesChangedAt: time.Unix(1700000000, 0),
	}
	for id := 0; id <= linked; id++ {
		d := &device{
			acct: a, keyIndex: uint32(id), available: true, appStateFetched: map[string]bool{},
			jid: types.JID{User: phone, Device: uint16(id), Server: types.DefaultUserServer},
			lid: types.JID{User: lid, Device: uint16(id), Server: types.HiddenUserServer},
		}
		ctx, cancel := context.WithCancel(context.Background())
		w.t.Cleanup(cancel)
		d.conn = &conn{s: w.s, id: w.s.ids.Add(1), ctx: ctx, cancel: cancel, log: w.s.log, outWake: make(chan struct{}, 1),
			waiters: map[string]chan *waBinary.Node{}, dev: d, loggedIn: true}
		a.devices[uint16(id)] = d
	}
	w.s.mu.Lock()
	w.s.accounts[phone] = a
	w.s.byLID[lid] = a
	w.s.mu.Unlock()
	return a
}

func (a *Account) dev(id uint16) *device { return a.devices[id] }

// sent decodes and empties what the simulator wrote to a device.
func (w *wire) sent(d *device) []waBinary.Node {
	w.t.Helper()
	c := d.conn
	c.outMu.Lock()
	frames := c.out
	c.out = nil
	c.outMu.Unlock()
	var out []waBinary.Node
	for _, f := range frames {
		if f.close {
			continue
		}
		data, err := waBinary.Unpack(f.data)
		if err != nil {
			w.t.Fatal(err)
		}
		n, err := waBinary.Unmarshal(data)
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, *n)
	}
	return out
}

// only returns the one stanza with the tag among what was sent to d.
func (w *wire) only(d *device, tag string) waBinary.Node {
	w.t.Helper()
	var found []waBinary.Node
	for _, n := range w.sent(d) {
		if n.Tag == tag {
			found = append(found, n)
		}
	}
	if len(found) != 1 {
		w.t.Fatalf("%s got %d <%s>, want 1: %v", d.jid, len(found), tag, found)
	}
	return found[0]
}

// send hands the simulator a stanza from a device as it would arrive: encoded and
// decoded again, so attribute values are what the wire makes of them.
func (w *wire) send(from *device, n *waBinary.Node) {
	w.t.Helper()
	data, err := waBinary.Marshal(*n)
	if err != nil {
		w.t.Fatal(err)
	}
	decoded, err := waBinary.Unmarshal(data[1:])
	if err != nil {
		w.t.Fatal(err)
	}
	w.s.dispatch(from.conn, decoded)
}

func (w *wire) iq(from *device, xmlns, typ string, content ...waBinary.Node) waBinary.Node {
	w.t.Helper()
	w.sent(from)
	w.send(from, &waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{"id": "q", "xmlns": xmlns, "type": typ, "to": types.ServerJID}, Content: content})
	return w.only(from, "iq")
}

func enc(typ string) waBinary.Node {
	return waBinary.Node{Tag: "enc", Attrs: waBinary.Attrs{"v": "2", "type": typ}, Content: []byte("ciphertext")}
}

func to(jid types.JID) waBinary.Node {
	return waBinary.Node{Tag: "to", Attrs: waBinary.Attrs{"jid": jid}, Content: []waBinary.Node{enc("msg")}}
}

func message(id string, dest types.JID, content ...waBinary.Node) *waBinary.Node {
	return &waBinary.Node{Tag: "message", Attrs: waBinary.Attrs{"id": id, "to": dest, "type": "text"}, Content: content}
}

func participants(tos ...waBinary.Node) waBinary.Node {
	return waBinary.Node{Tag: "participants", Content: tos}
}

// The device list of a user, as WhatsApp serves it: the phone as device 0, linked
// devices with the key index the phone signed them with, the phone's signed list of
// valid key indexes, and the user's LID.
func TestUsyncDeviceListAsWhatsApp(t *testing.T) {
	w := newWire(t)
	alice := w.account("5511900000001", "101", 2)
	bob := w.account("5511900000002", "102", 1)
	resp := w.iq(bob.dev(1), "usync", "get", waBinary.Node{Tag: "usync", Attrs: waBinary.Attrs{"mode": "query", "context": "message"}, Content: []waBinary.Node{
		{Tag: "query", Content: []waBinary.Node{{Tag: "devices", Attrs: waBinary.Attrs{"version": "2"}}, {Tag: "lid"}}},
		{Tag: "list", Content: []waBinary.Node{{Tag: "user", Attrs: waBinary.Attrs{"jid": alice.jid}}}},
	}})
	user := resp.GetChildByTag("usync", "list", "user")
	if user.Attrs["jid"] != alice.jid {
		t.Fatalf("usync answer %s", resp.XMLString())
	}
	if lid := user.GetChildByTag("lid").Attrs["val"]; lid != alice.lid {
		t.Errorf("lid val %v, want %s", lid, alice.lid)
	}
	devices := childrenOf(user.GetChildByTag("devices", "device-list"))
	var got []string
	for _, d := range devices {
		got = append(got, d.AttrGetter().String("id")+"/"+d.AttrGetter().OptionalString("key-index"))
	}
	if want := []string{"0/", "1/1", "2/2"}; !slices.Equal(got, want) {
		t.Errorf("devices (id/key-index) %v, want %v", got, want)
	}
	kil := user.GetChildByTag("devices", "key-index-list")
	raw, _ := kil.Content.([]byte)
	var signed waAdv.ADVSignedKeyIndexList
	if err := proto.Unmarshal(raw, &signed); err != nil {
		t.Fatalf("key-index-list %s: %v", kil.XMLString(), err)
	}
	if !ecc.VerifySignature(ecc.NewDjbECPublicKey(*alice.identity.Pub), concat([]byte{6, 2}, signed.GetDetails()), [64]byte(signed.GetAccountSignature())) {
		t.Error("the key index list is not signed by the account identity")
	}
	var details waAdv.ADVKeyIndexList
	if err := proto.Unmarshal(signed.GetDetails(), &details); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(details.GetValidIndexes(), []uint32{1, 2}) || details.GetCurrentIndex() != 2 || details.GetRawID() != 7 ||
		strconv.FormatUint(details.GetTimestamp(), 10) != kil.AttrGetter().String("ts") {
		t.Errorf("key index list %v (ts attr %v)", &details, kil.Attrs["ts"])
	}
}

// A device that is unlinked is announced to everyone with its LID and key index, the
// account's new signed key index list, and the hashes of both forms of the list.
func TestDeviceNotificationAsWhatsApp(t *testing.T) {
	w := newWire(t)
	alice := w.account("5511900000001", "101", 2)
	bob := w.account("5511900000002", "102", 0)
	gone := alice.dev(2)
	w.s.mu.Lock()
	w.s.removeDeviceLocked(gone)
	w.s.mu.Unlock()
	n := w.only(bob.dev(0), "notification")
	remove := n.GetChildByTag("remove")
	dev := remove.GetChildByTag("device")
	if n.Attrs["from"] != alice.jid || n.Attrs["lid"] != alice.lid || dev.Attrs["jid"] != gone.jid ||
		dev.Attrs["lid"] != gone.lid || dev.AttrGetter().String("key-index") != "2" ||
		remove.Attrs["device_hash"] != participantHash(alice.deviceJIDsLocked(types.DefaultUserServer)) ||
		remove.Attrs["device_lid_hash"] != participantHash(alice.deviceJIDsLocked(types.HiddenUserServer)) {
		t.Errorf("notification %s", n.XMLString())
	}
	if _, ok := remove.GetOptionalChildByTag("key-index-list"); !ok {
		t.Errorf("no key index list in %s", n.XMLString())
	}
}

// A message that would reach none of its recipient's devices is refused with error
// 479, not acknowledged as sent; so is one addressed to a device that does not exist.
func TestMessageToNoDeviceIsRefused(t *testing.T) {
	w := newWire(t)
	alice := w.account("5511900000001", "101", 1)
	bob := w.account("5511900000002", "102", 1)
	for name, msg := range map[string]*waBinary.Node{
		"only the sender's own devices": message("m1", alice.jid, participants(to(bob.dev(0).jid))),
		"no device at all":              message("m2", alice.jid, participants()),
		"a number not on WhatsApp":      message("m3", types.NewJID("5511900000099", types.DefaultUserServer), participants(to(bob.dev(0).jid))),
		"a device that does not exist":  message("m4", types.JID{User: alice.phone, Device: 9, Server: types.DefaultUserServer}, enc("msg")),
	} {
		w.send(bob.dev(1), msg)
		ack := w.only(bob.dev(1), "ack")
		if ack.AttrGetter().OptionalString("error") != "479" {
			t.Errorf("%s: ack %s, want error 479", name, ack.XMLString())
		}
		for _, d := range []*device{alice.dev(0), alice.dev(1), bob.dev(0)} {
			if got := w.sent(d); len(got) != 0 {
				t.Errorf("%s: %s got %v", name, d.jid, got)
			}
		}
	}
	// A message that reaches the recipient is acknowledged without error.
	w.send(bob.dev(1), message("m5", alice.jid, participants(to(alice.dev(0).jid), to(bob.dev(0).jid))))
	if ack := w.only(bob.dev(1), "ack"); ack.AttrGetter().OptionalString("error") != "" {
		t.Errorf("ack %s", ack.XMLString())
	}
}

// Stanzas name people as WhatsApp does today: by phone number with the LID beside it,
// or, in LID-addressed chats and groups, by LID with the phone number beside it.
func TestLIDsBesidePhoneNumbers(t *testing.T) {
	w := newWire(t)
	alice := w.account("5511900000001", "101", 0)
	bob := w.account("5511900000002", "102", 1)
	carol := w.account("5511900000003", "103", 0)

	w.send(bob.dev(1), message("pn", alice.jid, participants(to(alice.dev(0).jid), to(bob.dev(0).jid))))
	got := w.only(alice.dev(0), "message")
	if got.Attrs["from"] != bob.dev(1).jid || got.Attrs["sender_lid"] != bob.lid {
		t.Errorf("phone-number addressed: %s", got.XMLString())
	}
	own := w.only(bob.dev(0), "message")
	if own.Attrs["recipient"] != alice.jid || own.Attrs["peer_recipient_lid"] != alice.lid || own.Attrs["sender_lid"] != nil {
		t.Errorf("the sender's own copy: %s", own.XMLString())
	}

	w.send(bob.dev(1), message("lid", alice.lid, participants(to(alice.dev(0).lid), to(bob.dev(0).lid))))
	got = w.only(alice.dev(0), "message")
	if got.Attrs["from"] != bob.dev(1).lid || got.Attrs["sender_pn"] != bob.jid {
		t.Errorf("LID addressed: %s", got.XMLString())
	}
	if own := w.only(bob.dev(0), "message"); own.Attrs["recipient"] != alice.lid || own.Attrs["peer_recipient_pn"] != alice.jid {
		t.Errorf("the sender's own copy: %s", own.XMLString())
	}

	// A LID-addressed group: members, creator and sender by LID, phone numbers beside.
	g := &group{jid: types.NewJID("120363000000000001", types.GroupServer), subject: "g", creator: bob, subjectBy: bob,
		members: []*member{{acct: bob, admin: true}, {acct: alice}, {acct: carol}}, addressing: types.AddressingModeLID}
	w.s.mu.Lock()
	w.s.groups[g.jid.User] = g
	w.s.mu.Unlock()
	node := g.node()
	if node.Attrs["addressing_mode"] != "lid" || node.Attrs["creator"] != bob.lid || node.Attrs["creator_pn"] != bob.jid {
		t.Errorf("group %s", node.XMLString())
	}
	for i, p := range node.GetChildrenByTag("participant") {
		if a := g.members[i].acct; p.Attrs["jid"] != a.lid || p.Attrs["phone_number"] != a.jid {
			t.Errorf("participant %s", p.XMLString())
		}
	}
	w.send(bob.dev(1), message("grp", g.jid, participants(to(alice.dev(0).lid), to(carol.dev(0).lid)), enc("skmsg")))
	for _, d := range []*device{alice.dev(0), carol.dev(0), bob.dev(0)} {
		got := w.only(d, "message")
		if got.Attrs["participant"] != bob.dev(1).lid || got.Attrs["participant_pn"] != bob.jid || got.Attrs["addressing_mode"] != "lid" {
			t.Errorf("group message to %s: %s", d.jid, got.XMLString())
		}
	}
}

// A message sent again with the id of one already routed reaches only the devices
// that asked for it with a retry receipt (Baileys answers a phone's retry by sending
// the whole group message again); everyone else got it once and gets nothing.
func TestResendReachesOnlyDevicesThatAskedForIt(t *testing.T) {
	w := newWire(t)
	alice := w.account("5511900000001", "101", 0)
	bob := w.account("5511900000002", "102", 1)
	carol := w.account("5511900000003", "103", 0)
	g := &group{jid: types.NewJID("120363000000000002", types.GroupServer), subject: "g", creator: bob, subjectBy: bob,
		members: []*member{{acct: bob, admin: true}, {acct: alice}, {acct: carol}}, addressing: types.AddressingModePN}
	w.s.mu.Lock()
	w.s.groups[g.jid.User] = g
	w.s.mu.Unlock()
	send := func() {
		w.send(bob.dev(1), message("once", g.jid, participants(to(alice.dev(0).jid), to(carol.dev(0).jid), to(bob.dev(0).jid)), enc("skmsg")))
	}
	send()
	for _, d := range []*device{alice.dev(0), carol.dev(0), bob.dev(0)} {
		w.only(d, "message")
	}
	w.send(alice.dev(0), &waBinary.Node{Tag: "receipt", Attrs: waBinary.Attrs{
		"id": "once", "to": g.jid, "participant": bob.dev(1).jid, "type": "retry",
	}})
	w.sent(bob.dev(1))
	send()
	w.only(alice.dev(0), "message")
	for _, d := range []*device{carol.dev(0), bob.dev(0)} {
		if got := w.sent(d); len(got) != 0 {
			t.Errorf("%s got the resend: %v", d.jid, got)
		}
	}
	// Answered: a third copy reaches no one.
	send()
	if got := w.sent(alice.dev(0)); len(got) != 0 {
		t.Errorf("the device that asked got a second resend: %v", got)
	}
	if w.s.Deliveries("once") != 1 {
		t.Errorf("Deliveries = %d, want 1", w.s.Deliveries("once"))
	}
}

// IQs WhatsApp answers normally, which clients send on their own: the digest of the
// device's key bundle and signed prekey rotation (encrypt), A/B properties (abt),
// and privacy tokens (privacy), which reach the contact in a notification.
func TestIQsWhatsAppAnswers(t *testing.T) {
	w := newWire(t)
	alice := w.account("5511900000001", "101", 1)
	bob := w.account("5511900000002", "102", 0)
	dev := alice.dev(1)
	identity := keys.NewKeyPair()
	dev.identityKey = *identity.Pub
	dev.registrationID = 42
	dev.preKeys = []preKey{{id: 1, pub: *keys.NewKeyPair().Pub}, {id: 2, pub: *keys.NewKeyPair().Pub}}

	digest := w.iq(dev, "encrypt", "get", waBinary.Node{Tag: "digest"})
	if digest.Attrs["type"] != "result" || len(childrenOf(digest.GetChildByTag("digest", "list"))) != 2 ||
		len(digest.GetChildByTag("digest", "hash").Content.([]byte)) != 20 {
		t.Errorf("digest answer %s", digest.XMLString())
	}

	spk := identity.CreateSignedPreKey(9)
	rotate := func(sig []byte) waBinary.Node {
		return w.iq(dev, "encrypt", "set", waBinary.Node{Tag: "rotate", Content: []waBinary.Node{preKeyNode("skey", 9, *spk.Pub, sig)}})
	}
	if bad := rotate(make([]byte, 64)); bad.Attrs["type"] != "error" {
		t.Errorf("a rotation with a bad signature was accepted: %s", bad.XMLString())
	}
	if ok := rotate(spk.Signature[:]); ok.Attrs["type"] != "result" || dev.signedPreKey.id != 9 {
		t.Errorf("rotation answer %s, signed prekey %d", ok.XMLString(), dev.signedPreKey.id)
	}

	props := w.iq(dev, "abt", "get", waBinary.Node{Tag: "props", Attrs: waBinary.Attrs{"protocol": "1"}})
	if p := props.GetChildByTag("props"); props.Attrs["type"] != "result" || p.AttrGetter().OptionalString("hash") == "" {
		t.Errorf("abt answer %s", props.XMLString())
	}

	tokens := w.iq(dev, "privacy", "set", waBinary.Node{Tag: "tokens", Content: []waBinary.Node{{
		Tag: "token", Attrs: waBinary.Attrs{"jid": bob.jid, "t": "1700000000", "type": "trusted_contact"},
	}}})
	if tokens.Attrs["type"] != "result" {
		t.Errorf("privacy tokens answer %s", tokens.XMLString())
	}
	n := w.only(bob.dev(0), "notification")
	token := n.GetChildByTag("tokens", "token")
	if n.Attrs["type"] != "privacy_token" || n.Attrs["from"] != alice.jid || token.Attrs["jid"] != bob.jid ||
		token.Attrs["type"] != "trusted_contact" || len(token.Content.([]byte)) == 0 {
		t.Errorf("privacy token notification %s", n.XMLString())
	}
}

// App state collections keep every device's patches in order; a device that missed
// some is refused (409) with what it missed.
func TestAppStateCollections(t *testing.T) {
	w := newWire(t)
	alice := w.account("5511900000001", "101", 1)
	patch := func(tag byte) []byte {
		raw, err := proto.Marshal(&waServerSync.SyncdPatch{Mutations: []*waServerSync.SyncdMutation{{
			Operation: waServerSync.SyncdMutation_SET.Enum(),
			Record:    &waServerSync.SyncdRecord{Index: &waServerSync.SyncdIndex{Blob: []byte{tag}}},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	sync := func(d *device, version int, upload []byte) waBinary.Node {
		col := waBinary.Node{Tag: "collection", Attrs: waBinary.Attrs{"name": "regular", "version": version, "return_snapshot": false}}
		if upload != nil {
			col.Content = []waBinary.Node{{Tag: "patch", Content: upload}}
		}
		answer := w.iq(d, "w:sync:app:state", "set", waBinary.Node{Tag: "sync", Content: []waBinary.Node{col}})
		return answer.GetChildByTag("sync", "collection")
	}
	if got := sync(alice.dev(0), 0, patch(1)); got.AttrGetter().String("version") != "1" || got.Attrs["type"] == "error" {
		t.Fatalf("upload answer %s", got.XMLString())
	}
	got := sync(alice.dev(1), 0, nil)
	patches := childrenOf(got.GetChildByTag("patches"))
	var first waServerSync.SyncdPatch
	if len(patches) != 1 || proto.Unmarshal(patches[0].Content.([]byte), &first) != nil || first.GetVersion().GetVersion() != 1 {
		t.Fatalf("fetch answer %s", got.XMLString())
	}
	conflict := sync(alice.dev(1), 0, patch(2))
	if e := conflict.GetChildByTag("error"); conflict.Attrs["type"] != "error" || e.AttrGetter().String("code") != "409" ||
		len(childrenOf(conflict.GetChildByTag("patches"))) != 1 {
		t.Errorf("a stale upload was not refused with what it missed: %s", conflict.XMLString())
	}
	if got := sync(alice.dev(1), 1, patch(2)); got.AttrGetter().String("version") != "2" {
		t.Errorf("upload after catching up: %s", got.XMLString())
	}
}
