package wasim

import (
	"maps"
	"slices"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// Status updates (stories) are messages to status@broadcast. The poster's client picks
// the audience itself — its contacts, filtered by its status privacy setting, which
// it asks the server for (handleStatusPrivacy) — and sends the update as a group
// message: one skmsg for everyone and a sender key distribution message per device in
// <participants>. The server routes the update to exactly those devices, as
// from=status@broadcast participant=<poster's device>; a client without contacts
// reaches only its own other devices. Receipts about an update (delivered, read) go
// back to the poster's devices the same way.

// StatusPrivacy is who sees an account's status updates: its contacts (WhatsApp's
// default), its contacts except some, or only some.
type StatusPrivacy string

// The status privacy settings, as WhatsApp names them on the wire.
const (
	StatusContacts  StatusPrivacy = "contacts"
	StatusBlacklist StatusPrivacy = "blacklist"
	StatusWhitelist StatusPrivacy = "whitelist"
)

func (s *Simulator) registerStatus(r *routes) {
	r.messages[types.BroadcastServer] = s.routeBroadcast
	r.receipts[types.BroadcastServer] = s.relayStatusReceipt
}

// SetStatusPrivacy sets who sees the account's status updates; list names the
// excepted (blacklist) or chosen (whitelist) phone numbers.
func (a *Account) SetStatusPrivacy(p StatusPrivacy, list ...string) error {
	switch p {
	case StatusContacts, StatusBlacklist, StatusWhitelist:
	default:
		return ErrInvalidArgument
	}
	jids := make([]types.JID, 0, len(list))
	for _, phone := range list {
		if !validPhone(phone) {
			return ErrInvalidArgument
		}
		jids = append(jids, types.NewJID(phone, types.DefaultUserServer))
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	a.statusPrivacy, a.statusList = p, jids
	return nil
}

// statusPrivacyAnswer is the answer to a client asking for its status privacy: one
// list, the default, with the people it names.
func (a *Account) statusPrivacyAnswerLocked() waBinary.Node {
	p := a.statusPrivacy
	if p == "" {
		p = StatusContacts
	}
	list := waBinary.Node{Tag: "list", Attrs: waBinary.Attrs{"type": string(p), "default": "true"}}
	if p != StatusContacts {
		users := make([]waBinary.Node, len(a.statusList))
		for i, jid := range a.statusList {
			users[i] = waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": jid}}
		}
		list.Content = users
	}
	return waBinary.Node{Tag: "privacy", Content: []waBinary.Node{list}}
}

// routeBroadcast routes a status update to the devices its poster encrypted it for.
// Broadcast lists other than status are not simulated (whatsmeow cannot send to them).
func (s *Simulator) routeBroadcast(c *conn, sender *device, node *waBinary.Node, to types.JID) {
	id := node.Attrs["id"].(string)
	now := time.Now().Unix()
	if to != types.StatusBroadcastJID {
		c.log.Info("broadcast lists are not simulated", "to", to)
		s.ackMessage(c, sender, id, to, now, "", 501)
		return
	}
	s.mu.Lock()
	participants, fanout := node.GetOptionalChildByTag("participants")
	if !fanout {
		s.routeStatusResendLocked(c, sender, node)
		return
	}
	var shared []waBinary.Node
	for _, child := range node.GetChildren() {
		if child.Tag == "enc" {
			shared = append(shared, child)
		}
	}
	identity, hasIdentity := node.GetOptionalChildByTag("device-identity")
	copies := make(map[*device]waBinary.Node)
	var order []*device
	var audience []types.JID
	for _, p := range participants.GetChildren() {
		djid, ok := p.Attrs["jid"].(types.JID)
		d := s.deviceByJIDLocked(djid)
		if p.Tag != "to" || !ok || d == nil || d == sender || copies[d].Tag != "" {
			continue
		}
		content := slices.Concat(p.GetChildren(), shared)
		if hasIdentity && hasPreKeyMessage(p.GetChildren()) {
			content = append(content, identity)
		}
		copies[d] = waBinary.Node{Tag: "message", Attrs: statusAttrs(node, sender, id, now), Content: content}
		order = append(order, d)
		audience = append(audience, djid)
	}
	phash := participantHash(append(audience, sender.jid))
	key := routeKey{sender: sender.acct.phone, chat: to.String(), id: id}
	t := s.deliverOnceLocked(c, key, now, order, copies)
	s.mu.Unlock()
	s.ackMessage(c, sender, id, to, t, phash, 0)
}

// statusAttrs are the attributes of a status update as a viewer's device gets it.
func statusAttrs(node *waBinary.Node, sender *device, id string, t int64) waBinary.Attrs {
	attrs := waBinary.Attrs{"from": types.StatusBroadcastJID, "id": id, "t": t, "participant": sender.jid}
	copyAttrs(attrs, node.Attrs, "t", "type", "edit", "category")
	if _, ok := attrs["type"]; !ok {
		attrs["type"] = "text"
	}
	if name := sender.acct.name; name != "" {
		attrs["notify"] = name
	}
	return attrs
}

// routeStatusResendLocked delivers the answer to a retry receipt to the one device it
// names. It unlocks s.mu.
func (s *Simulator) routeStatusResendLocked(c *conn, sender *device, node *waBinary.Node) {
	id := node.Attrs["id"].(string)
	now := time.Now().Unix()
	target, _ := node.Attrs["participant"].(types.JID)
	d := s.deviceByJIDLocked(target)
	if d == nil {
		s.mu.Unlock()
		c.log.Warn("refusing status resend for a device that does not exist", "id", id, "to", target, "code", errSmaxInvalid)
		s.ackMessage(c, sender, id, types.StatusBroadcastJID, now, "", errSmaxInvalid)
		return
	}
	msg := waBinary.Node{Tag: "message", Attrs: statusAttrs(node, sender, id, now), Content: node.GetChildren()}
	if err := s.deliverLocked(d, msg); err != nil {
		c.log.Error("cannot queue status resend", "id", id, "device", d.jid, "err", err)
	}
	s.mu.Unlock()
	s.ackMessage(c, sender, id, types.StatusBroadcastJID, now, "", 0)
}

// relayStatusReceipt relays a viewer's receipt about a status update
// (to=status@broadcast participant=<poster>) to the poster's devices, as
// from=status@broadcast participant=<viewer's device>.
func (s *Simulator) relayStatusReceipt(sender *device, node *waBinary.Node, _ types.JID) {
	poster, ok := node.Attrs["participant"].(types.JID)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountByJIDLocked(poster)
	if a == nil {
		return
	}
	for _, d := range a.devices {
		if d == sender || (poster.Device != 0 && d.jid.Device != poster.Device) {
			continue
		}
		attrs := maps.Clone(node.Attrs)
		delete(attrs, "to")
		attrs["from"] = types.StatusBroadcastJID
		attrs["participant"] = sender.jid
		if _, ok := attrs["t"]; !ok {
			attrs["t"] = time.Now().Unix()
		}
		if err := s.deliverLocked(d, waBinary.Node{Tag: "receipt", Attrs: attrs, Content: node.Content}); err != nil {
			s.log.Error("cannot queue status receipt", "device", d.jid, "err", err)
		}
	}
}
