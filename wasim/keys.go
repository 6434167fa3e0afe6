package wasim

import (
	"bytes"
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

// handleEncrypt answers the "encrypt" namespace: the prekey count, prekey uploads and
// prekey bundle fetches.
func (s *Simulator) handleEncrypt(c *conn, iq *waBinary.Node) ([]waBinary.Node, error) {
	dev := s.loggedInDevice(c)
	typ, _ := iq.Attrs["type"].(string)
	switch {
	case typ == "get" && hasChild(iq, "count"):
		s.mu.Lock()
		n := len(dev.preKeys)
		if dev.phone && n == 0 {
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
	}
	return nil, errIQNotImplemented
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
	var low []*device
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
		reg := make([]byte, 4)
		binary.BigEndian.PutUint32(reg, d.registrationID)
		content := []waBinary.Node{
			{Tag: "registration", Content: reg},
			{Tag: "type", Content: []byte{ecc.DjbType}},
			{Tag: "identity", Content: bytes.Clone(d.identityKey[:])},
		}
		if len(d.preKeys) > 0 {
			pk := d.preKeys[0]
			d.preKeys = d.preKeys[1:]
			content = append(content, preKeyNode("key", pk.id, pk.pub, nil))
		}
		content = append(content, preKeyNode("skey", d.signedPreKey.id, d.signedPreKey.pub, d.signedPreKey.signature[:]))
		users = append(users, waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid}, Content: content})
		if len(d.preKeys) < lowPreKeyThreshold && !d.lowKeyNotified {
			d.lowKeyNotified = true
			low = append(low, d)
		}
	}
	for _, d := range low {
		node := waBinary.Node{
			Tag:     "notification",
			Attrs:   waBinary.Attrs{"from": types.ServerJID, "type": "encrypt", "id": s.nextID(), "t": time.Now().Unix()},
			Content: []waBinary.Node{{Tag: "count", Attrs: waBinary.Attrs{"value": len(d.preKeys)}}},
		}
		if err := s.deliverLocked(d, node); err != nil {
			s.log.Error("cannot queue low prekey notification", "device", d.jid, "err", err)
		}
	}
	return []waBinary.Node{{Tag: "list", Content: users}}
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
