package wasim

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"time"

	"go.mau.fi/libsignal/ecc"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// lowPreKeyThreshold is the one-time prekey count below which a device is told to
// upload more; whatsmeow uploads when told of fewer than its MinPreKeyCount (5).
const lowPreKeyThreshold = 5

func (s *Simulator) registerKeys(r *routes) {
	r.iq("encrypt", s.handleEncrypt)
}

// handleEncrypt answers the "encrypt" namespace: the prekey count, prekey uploads,
// prekey bundle fetches, the digest of the device's own key bundle (clients check
// that the server holds what they uploaded) and signed prekey rotation.
func (s *Simulator) handleEncrypt(c *conn, iq *waBinary.Node) ([]waBinary.Node, error) {
	dev := s.loggedInDevice(c)
	typ, _ := iq.Attrs["type"].(string)
	switch {
	case typ == "get" && hasChild(iq, "count"):
		s.mu.Lock()
		n := len(dev.preKeys)
		if dev.primary() && n == 0 {
			// A simulated phone's first upload: whatsmeow uploads 812 keys when the
			// server has none, one SQLite insert each, which dominates AddAccount.
			// At the threshold it uploads its normal batch of 50 instead, and tops up
			// through the low-key notification like any device.
			n = lowPreKeyThreshold
		}
		s.mu.Unlock()
		return []waBinary.Node{{Tag: "count", Attrs: waBinary.Attrs{"value": n}}}, nil
	case typ == "set" && hasChild(iq, "list"):
		return nil, s.uploadPreKeys(dev, iq)
	case typ == "get" && hasChild(iq, "key"):
		return s.fetchBundles(iq.GetChildByTag("key")), nil
	case typ == "get" && hasChild(iq, "digest"):
		return []waBinary.Node{s.keyDigest(dev)}, nil
	case typ == "set" && hasChild(iq, "rotate"):
		return nil, s.rotateSignedPreKey(dev, iq.GetChildByTag("rotate"))
	}
	return nil, errIQNotImplemented
}

// keyDigest describes the key bundle the server holds for a device: registration id,
// identity, signed prekey, the ids of its one-time prekeys, and a SHA-1 over the
// public keys and the signature (neither whatsmeow nor Baileys recomputes it; they
// only need the digest to be there, and upload keys again when it is not).
func (s *Simulator) keyDigest(dev *device) waBinary.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	reg := make([]byte, 4)
	binary.BigEndian.PutUint32(reg, dev.registrationID)
	h := sha1.New()
	h.Write(dev.identityKey[:])
	h.Write(dev.signedPreKey.pub[:])
	h.Write(dev.signedPreKey.signature[:])
	ids := make([]waBinary.Node, len(dev.preKeys))
	for i, k := range dev.preKeys {
		ids[i] = waBinary.Node{Tag: "id", Content: []byte{byte(k.id >> 16), byte(k.id >> 8), byte(k.id)}}
		h.Write(k.pub[:])
	}
	return waBinary.Node{Tag: "digest", Content: []waBinary.Node{
		{Tag: "registration", Content: reg},
		{Tag: "type", Content: []byte{ecc.DjbType}},
		{Tag: "identity", Content: bytes.Clone(dev.identityKey[:])},
		preKeyNode("skey", dev.signedPreKey.id, dev.signedPreKey.pub, dev.signedPreKey.signature[:]),
		{Tag: "list", Content: ids},
		{Tag: "hash", Content: h.Sum(nil)},
	}}
}

// rotateSignedPreKey replaces a device's signed prekey with a new one signed by the
// device's identity key.
func (s *Simulator) rotateSignedPreKey(dev *device, rotate waBinary.Node) error {
	skey, ok := rotate.GetOptionalChildByTag("skey")
	if !ok {
		return errIQBadRequest
	}
	pk, ok := parsePreKeyNode(skey)
	sig, _ := bytesContent(skey.GetChildByTag("signature"))
	if !ok || len(sig) != 64 {
		return errIQBadRequest
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	spk := signedPreKey{id: pk.id, pub: pk.pub, signature: [64]byte(sig)}
	if !verifySignedPreKey(dev.identityKey, spk) {
		return errIQBadRequest
	}
	dev.signedPreKey = spk
	return nil
}

func hasChild(n *waBinary.Node, tag string) bool {
	_, ok := n.GetOptionalChildByTag(tag)
	return ok
}

func (s *Simulator) uploadPreKeys(dev *device, iq *waBinary.Node) error {
	reg, _ := bytesContent(iq.GetChildByTag("registration"))
	identity, _ := bytesContent(iq.GetChildByTag("identity"))
	if len(reg) != 4 || len(identity) != 32 {
		return errIQBadRequest
	}
	var uploaded []preKey
	for _, k := range childrenOf(iq.GetChildByTag("list")) {
		pk, ok := parsePreKeyNode(k)
		if k.Tag != "key" || !ok {
			return errIQBadRequest
		}
		uploaded = append(uploaded, pk)
	}
	var spk *signedPreKey
	if skey, ok := iq.GetOptionalChildByTag("skey"); ok {
		pk, ok := parsePreKeyNode(skey)
		sig, _ := bytesContent(skey.GetChildByTag("signature"))
		if !ok || len(sig) != 64 {
			return errIQBadRequest
		}
		spk = &signedPreKey{id: pk.id, pub: pk.pub, signature: [64]byte(sig)}
		if !verifySignedPreKey([32]byte(identity), *spk) {
			return errIQBadRequest
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !bytes.Equal(identity, dev.identityKey[:]) {
		// A device's identity is fixed at pairing; a new identity is a new device.
		return errIQForbidden
	}
	dev.registrationID = binary.BigEndian.Uint32(reg)
	if spk != nil {
		dev.signedPreKey = *spk
	}
	ids := make(map[uint32]int, len(dev.preKeys))
	for i, k := range dev.preKeys {
		ids[k.id] = i
	}
	for _, k := range uploaded {
		if i, dup := ids[k.id]; dup {
			dev.preKeys[i] = k
			continue
		}
		ids[k.id] = len(dev.preKeys)
		dev.preKeys = append(dev.preKeys, k)
	}
	if len(dev.preKeys) >= lowPreKeyThreshold {
		dev.lowKeyNotified = false
	}
	dev.uploaded = true
	// The phone writes to a device it linked once the device's keys are there.
	s.welcomeLocked(dev)
	s.log.Debug("prekeys uploaded", "device", dev.jid, "uploaded", len(uploaded), "held", len(dev.preKeys))
	return nil
}

func parsePreKeyNode(n waBinary.Node) (preKey, bool) {
	id, _ := bytesContent(n.GetChildByTag("id"))
	val, _ := bytesContent(n.GetChildByTag("value"))
	if len(id) != 3 || len(val) != 32 {
		return preKey{}, false
	}
	return preKey{id: uint32(id[0])<<16 | uint32(id[1])<<8 | uint32(id[2]), pub: [32]byte(val)}, true
}

// fetchBundles answers a prekey bundle request, handing out (and forgetting) one
// one-time prekey per requested device while any are left, as WhatsApp does. Devices
// whose stock falls low are told to upload more.
func (s *Simulator) fetchBundles(key waBinary.Node) []waBinary.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	var users []waBinary.Node
	for _, u := range key.GetChildren() {
		jid, ok := u.Attrs["jid"].(types.JID)
		if u.Tag != "user" || !ok {
			continue
		}
		d := s.deviceByJIDLocked(jid)
		if d == nil {
			users = append(users, waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid}, Content: []waBinary.Node{
				{Tag: "error", Attrs: waBinary.Attrs{"code": "404", "text": "item-not-found"}},
			}})
			continue
		}
		k := s.takeBundleLocked(d)
		reg := make([]byte, 4)
		binary.BigEndian.PutUint32(reg, k.registrationID)
		content := []waBinary.Node{
			{Tag: "registration", Content: reg},
			{Tag: "type", Content: []byte{ecc.DjbType}},
			{Tag: "identity", Content: bytes.Clone(k.identityKey[:])},
		}
		if k.preKey != nil {
			content = append(content, preKeyNode("key", k.preKey.id, k.preKey.pub, nil))
		}
		content = append(content, preKeyNode("skey", k.signedPreKey.id, k.signedPreKey.pub, k.signedPreKey.signature[:]))
		users = append(users, waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid}, Content: content})
	}
	return []waBinary.Node{{Tag: "list", Content: users}}
}

// bundleKeys is a device's prekey bundle: what a sender needs to start a session.
type bundleKeys struct {
	registrationID uint32
	identityKey    [32]byte
	preKey         *preKey // nil once the one-time prekeys ran out
	signedPreKey   signedPreKey
}

// takeBundleLocked hands out a device's bundle with one of its one-time prekeys, which
// is never handed out again; a device whose stock falls low is told to upload more.
func (s *Simulator) takeBundleLocked(d *device) bundleKeys {
	k := bundleKeys{registrationID: d.registrationID, identityKey: d.identityKey, signedPreKey: d.signedPreKey}
	if len(d.preKeys) > 0 {
		pk := d.preKeys[0]
		d.preKeys = d.preKeys[1:]
		k.preKey = &pk
	}
	if len(d.preKeys) < lowPreKeyThreshold && !d.lowKeyNotified && d.uploaded {
		d.lowKeyNotified = true
		s.notifyLowPreKeysLocked(d)
	}
	return k
}

// notifyLowPreKeysLocked tells a device its one-time prekeys are running out.
func (s *Simulator) notifyLowPreKeysLocked(d *device) {
	node := waBinary.Node{
		Tag:     "notification",
		Attrs:   waBinary.Attrs{"from": types.ServerJID, "type": "encrypt", "id": s.nextID(), "t": time.Now().Unix()},
		Content: []waBinary.Node{{Tag: "count", Attrs: waBinary.Attrs{"value": len(d.preKeys)}}},
	}
	if err := s.deliverLocked(d, node); err != nil {
		s.log.Error("cannot queue low prekey notification", "device", d.jid, "err", err)
	}
}

func preKeyNode(tag string, id uint32, pub [32]byte, sig []byte) waBinary.Node {
	idb := []byte{byte(id >> 16), byte(id >> 8), byte(id)}
	content := []waBinary.Node{
		{Tag: "id", Content: idb},
		{Tag: "value", Content: bytes.Clone(pub[:])},
	}
	if sig != nil {
		content = append(content, waBinary.Node{Tag: "signature", Content: bytes.Clone(sig)})
	}
	return waBinary.Node{Tag: tag, Content: content}
}
