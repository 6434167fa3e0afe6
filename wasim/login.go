package wasim

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mau.fi/libsignal/ecc"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waCompanionReg"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// LoginFailure is the <failure> a login is answered with, as a fault (see
// Simulator.FailNextLogin). whatsmeow reacts by Reason: 401, 403 and 406 log the
// device out (events.LoggedOut, store deleted), 402 is a temporary ban
// (events.TemporaryBan with BanCode and Expire), 405 means the client is outdated
// (events.ClientOutdated), 500 and 503 make it reconnect, anything else is
// events.ConnectFailure.
type LoginFailure struct {
	Reason int
	// BanCode is the temporary ban reason (events.TempBanReason) sent with 402;
	// default 101.
	BanCode int
	// Expire is how long a 402 ban lasts; default one hour.
	Expire time.Duration
}

// logsOut reports whether whatsmeow deletes its session on this failure, in which
// case the simulator forgets the device too.
func (f LoginFailure) logsOut() bool {
	return f.Reason == 401 || f.Reason == 403 || f.Reason == 406
}

func (f LoginFailure) node() waBinary.Node {
	attrs := waBinary.Attrs{"reason": strconv.Itoa(f.Reason), "location": "lla"}
	if f.Reason == 402 {
		code, expire := f.BanCode, f.Expire
		if code == 0 {
			code = 101
		}
		if expire <= 0 {
			expire = time.Hour
		}
		attrs["code"] = strconv.Itoa(code)
		attrs["expire"] = strconv.FormatInt(int64(expire/time.Second), 10)
	}
	return waBinary.Node{Tag: "failure", Attrs: attrs}
}

// registration is what an unpaired client announces about itself in its handshake
// payload; it becomes the device record once a phone links it.
type registration struct {
	registrationID uint32
	identityKey    [32]byte
	signedPreKey   signedPreKey
	platform       string
}

func parseRegistration(d *waWa6.ClientPayload_DevicePairingRegistrationData) (*registration, error) {
	if d == nil {
		return nil, errors.New("payload has neither a username nor device pairing data")
	}
	switch {
	case len(d.GetERegid()) != 4:
		return nil, fmt.Errorf("registration id has %d bytes, want 4", len(d.GetERegid()))
	case len(d.GetEKeytype()) != 1 || d.GetEKeytype()[0] != ecc.DjbType:
		return nil, errors.New("unsupported identity key type")
	case len(d.GetEIdent()) != 32:
		return nil, fmt.Errorf("identity key has %d bytes, want 32", len(d.GetEIdent()))
	case len(d.GetESkeyID()) != 3:
		return nil, fmt.Errorf("signed prekey id has %d bytes, want 3", len(d.GetESkeyID()))
	case len(d.GetESkeyVal()) != 32:
		return nil, fmt.Errorf("signed prekey has %d bytes, want 32", len(d.GetESkeyVal()))
	case len(d.GetESkeySig()) != 64:
		return nil, fmt.Errorf("signed prekey signature has %d bytes, want 64", len(d.GetESkeySig()))
	}
	r := &registration{
		registrationID: binary.BigEndian.Uint32(d.GetERegid()),
		platform:       "unknown",
	}
	copy(r.identityKey[:], d.GetEIdent())
	r.signedPreKey.id = uint32(d.GetESkeyID()[0])<<16 | uint32(d.GetESkeyID()[1])<<8 | uint32(d.GetESkeyID()[2])
	copy(r.signedPreKey.pub[:], d.GetESkeyVal())
	copy(r.signedPreKey.signature[:], d.GetESkeySig())
	if !verifySignedPreKey(r.identityKey, r.signedPreKey) {
		return nil, errors.New("signed prekey signature does not verify")
	}
	var props waCompanionReg.DeviceProps
	if err := proto.Unmarshal(d.GetDeviceProps(), &props); err == nil && props.GetOs() != "" {
		r.platform = props.GetOs()
	}
	return r, nil
}

// verifySignedPreKey checks the identity key's signature over the DJB-typed public key.
func verifySignedPreKey(identity [32]byte, spk signedPreKey) bool {
	msg := append([]byte{ecc.DjbType}, spk.pub[:]...)
	return ecc.VerifySignature(ecc.NewDjbECPublicKey(identity), msg, spk.signature)
}

// admit decides what a freshly handshaken connection is: an unpaired client, which is
// offered pairing refs, or a device logging in. An error closes the connection.
func (s *Simulator) admit(c *conn) error {
	p := c.payload
	if p.Username == nil {
		reg, err := parseRegistration(p.GetDevicePairingData())
		if err != nil {
			return fmt.Errorf("registration payload: %w", err)
		}
		return s.offerPairing(c, reg)
	}
	s.login(c, strconv.FormatUint(p.GetUsername(), 10), p.GetDevice())
	return nil
}

// offerPairing sends an unpaired client its pair-device refs; each becomes one QR
// code that a phone can scan (Account.ScanQR).
func (s *Simulator) offerPairing(c *conn, reg *registration) error {
	refs := make([]waBinary.Node, s.opts.QRRefs)
	s.mu.Lock()
	c.reg = reg
	for i := range refs {
		buf := make([]byte, 24)
		_, _ = rand.Read(buf)
		ref := "2@" + base64.RawStdEncoding.EncodeToString(buf)
		s.pairRefs[ref] = c
		refs[i] = waBinary.Node{Tag: "ref", Content: []byte(ref)}
	}
	s.mu.Unlock()
	c.log.Debug("client awaits pairing", "platform", reg.platform)
	return c.send(waBinary.Node{
		Tag: "iq",
		Attrs: waBinary.Attrs{
			"from":  types.ServerJID,
			"type":  "set",
			"id":    s.nextID(),
			"xmlns": "md",
		},
		Content: []waBinary.Node{{Tag: "pair-device", Content: refs}},
	})
}

// login authenticates a known device by its Noise key, replaces an older connection of
// the same device, and flushes everything queued for it while it was away.
func (s *Simulator) login(c *conn, phone string, deviceID uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var d *device
	if a := s.accounts[phone]; a != nil && deviceID <= 0xffff {
		d = a.devices[uint16(deviceID)]
	}
	if d == nil || d.noiseKey != c.clientStatic {
		c.log.Info("login refused: unknown or unlinked device", "phone", phone, "device", deviceID)
		c.sendAndClose(LoginFailure{Reason: 401}.node())
		return
	}
	if f := d.failNextLogin; f != nil {
		d.failNextLogin = nil
		c.log.Info("failing login on request", "device", d.jid, "reason", f.Reason)
		c.sendAndClose(f.node())
		if f.logsOut() {
			s.removeDeviceLocked(d)
		}
		return
	}
	if old := d.conn; old != nil && old != c {
		// WhatsApp allows one connection per device: the newer login wins.
		s.replacements.Add(1)
		old.log.Info("connection replaced by a newer login")
		old.loggedIn = false
		old.sendAndClose(streamErrorNode("replaced"))
	}
	d.conn = c
	d.available = false // until this connection announces it
	c.dev = d
	c.loggedIn = true
	now := time.Now()
	if err := c.send(waBinary.Node{
		Tag: "success",
		Attrs: waBinary.Attrs{
			"t":        now.Unix(),
			"lid":      d.lid,
			"props":    "30",
			"abprops":  "10",
			"location": "lla",
			"creation": d.created.Unix(),
		},
	}); err != nil {
		c.log.Error("cannot send login success", "err", err)
		return
	}
	messages, receipts, notifications := 0, 0, 0
	for _, q := range d.queue {
		switch q.tag {
		case "message":
			messages++
		case "receipt":
			receipts++
		case "notification":
			notifications++
		}
	}
	if len(d.queue) > 0 && !d.acct.held {
		s.sendIB(c, waBinary.Node{Tag: "offline_preview", Attrs: waBinary.Attrs{
			"count":        len(d.queue),
			"message":      messages,
			"receipt":      receipts,
			"notification": notifications,
			"appdata":      0,
		}})
	}
	n := s.flushLocked(d)
	s.sendIB(c, waBinary.Node{Tag: "offline", Attrs: waBinary.Attrs{"count": n}})
	// Devices the phone has not welcomed yet (it was offline, or they are new and have
	// uploaded their keys) are welcomed now.
	for _, linked := range d.acct.sortedDevicesLocked() {
		if linked.uploaded && (d.primary() || linked == d) {
			s.welcomeLocked(linked)
		}
	}
	// The device is not available until this connection says so.
	s.presenceChangedLocked(d.acct)
	c.log.Info("device logged in", "device", d.jid, "flushed", n)
}

func (s *Simulator) sendIB(c *conn, child waBinary.Node) {
	if err := c.send(waBinary.Node{
		Tag:     "ib",
		Attrs:   waBinary.Attrs{"from": types.ServerJID},
		Content: []waBinary.Node{child},
	}); err != nil {
		c.log.Error("cannot send ib", "err", err)
	}
}

// removeConn forgets a closed connection: its device goes offline (its queue stays),
// and its pairing refs expire.
func (s *Simulator) removeConn(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if d := c.dev; d != nil && d.conn == c {
		// Presence belongs to a connection: a device must announce itself again.
		d.conn = nil
		d.available = false
	}
	c.loggedIn = false
	s.forgetConnPresenceLocked(c)
	for ref, rc := range s.pairRefs {
		if rc == c {
			delete(s.pairRefs, ref)
		}
	}
	for ref, p := range s.codePairings {
		if p.conn == c {
			delete(s.codePairings, ref)
		}
	}
}

// streamErrorNode builds a <stream:error>: "replaced" and "device_removed" are
// conflicts, anything else a numeric code.
func streamErrorNode(code string) waBinary.Node {
	switch code {
	case "replaced":
		return waBinary.Node{Tag: "stream:error", Content: []waBinary.Node{
			{Tag: "conflict", Attrs: waBinary.Attrs{"type": "replaced"}},
		}}
	case "device_removed":
		return waBinary.Node{Tag: "stream:error", Attrs: waBinary.Attrs{"code": "401"}, Content: []waBinary.Node{
			{Tag: "conflict", Attrs: waBinary.Attrs{"type": "device_removed"}},
		}}
	}
	return waBinary.Node{Tag: "stream:error", Attrs: waBinary.Attrs{"code": code}}
}
