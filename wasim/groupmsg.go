package wasim

import (
	"slices"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// Group messages use sender keys: the sender encrypts the message once (<enc
// type=skmsg>) and sends each member device the sender key distribution message
// (SKDM) in its own pairwise <enc pkmsg|msg>. The simulator gives every member
// device except the sender's its own SKDM first and the shared skmsg after it (the
// other order fails: whatsmeow would have no sender key yet), as
// from=<group> participant=<sender device>.

// routeGroup routes a message to a group. A message with <participants> is a normal
// send; one with a bare <enc> and a participant attribute is a resend answering a
// retry receipt, for that one device.
func (s *Simulator) routeGroup(c *conn, sender *device, node *waBinary.Node, to types.JID) {
	id := node.Attrs["id"].(string)
	s.mu.Lock()
	g := s.groups[to.User]
	code := 0
	switch {
	case g == nil:
		code = 404
	case g.member(sender.acct) == nil, !g.maySend(g.member(sender.acct)):
		code = 403
	}
	if code != 0 {
		s.mu.Unlock()
		c.log.Info("refusing group message", "id", id, "group", to, "code", code)
		s.ackMessage(c, sender, id, to, time.Now().Unix(), "", code)
		return
	}
	participants, fanout := node.GetOptionalChildByTag("participants")
	if !fanout {
		s.routeGroupResendLocked(c, sender, g, node)
		return
	}
	phash := participantHash(g.deviceJIDsLocked())
	msgType, _ := node.Attrs["type"].(string)
	if msgType == "" {
		msgType = "text"
	}
	// The pairwise part (the SKDM) for each device the sender encrypted one for.
	pairwise := make(map[types.JID][]waBinary.Node)
	for _, p := range participants.GetChildren() {
		djid, ok := p.Attrs["jid"].(types.JID)
		if p.Tag != "to" || !ok {
			continue
		}
		if d := s.deviceByJIDLocked(djid); d != nil {
			pairwise[d.jid] = p.GetChildren()
		}
	}
	var shared []waBinary.Node
	for _, child := range node.GetChildren() {
		if child.Tag == "enc" {
			shared = append(shared, child)
		}
	}
	identity, hasIdentity := node.GetOptionalChildByTag("device-identity")
	t := time.Now().Unix()
	copies := make(map[*device]waBinary.Node)
	var order []*device
	for _, m := range g.members {
		for _, djid := range m.acct.deviceJIDsLocked(types.DefaultUserServer) {
			d := m.acct.devices[djid.Device]
			if d == sender {
				continue
			}
			own := pairwise[d.jid]
			// A device the sender did not encrypt a sender key for (its device list
			// was stale) still gets the skmsg: it cannot decrypt it, asks for a retry,
			// and the sender's answer carries the sender key. That is WhatsApp's
			// recovery path, and the phash in the ack tells the sender its list is old.
			content := slices.Concat(own, shared)
			if hasIdentity && hasPreKeyMessage(own) {
				content = append(content, identity)
			}
			if len(content) == 0 {
				continue
			}
			attrs := g.messageAttrs(sender, id, t)
			attrs["type"] = msgType
			copyAttrs(attrs, node.Attrs, "edit", "category")
			if name := sender.acct.name; name != "" {
				attrs["notify"] = name
			}
			copies[d] = waBinary.Node{Tag: "message", Attrs: attrs, Content: content}
			order = append(order, d)
		}
	}
	key := routeKey{sender: sender.acct.phone, chat: g.jid.String(), id: id}
	t = s.deliverOnceLocked(c, key, t, order, copies)
	s.mu.Unlock()
	s.ackMessage(c, sender, id, to, t, phash, 0)
}

// messageAttrs are the attributes of a group message as its members get it: from the
// group, by the sender's device named in the group's addressing mode, with the
// sender's other identity beside it.
func (g *group) messageAttrs(sender *device, id string, t int64) waBinary.Attrs {
	attrs := waBinary.Attrs{"from": g.jid, "id": id, "t": t}
	g.setPerson(attrs, "participant", sender.acct, g.deviceJID(sender))
	if g.addressing == types.AddressingModeLID {
		attrs["addressing_mode"] = string(types.AddressingModeLID)
	}
	return attrs
}

// routeGroupResendLocked delivers a resend (the answer to a retry receipt) to the one
// member device it names. It unlocks s.mu.
func (s *Simulator) routeGroupResendLocked(c *conn, sender *device, g *group, node *waBinary.Node) {
	id := node.Attrs["id"].(string)
	now := time.Now().Unix()
	target, _ := node.Attrs["participant"].(types.JID)
	d := s.deviceByJIDLocked(target)
	if d == nil || g.member(d.acct) == nil {
		s.mu.Unlock()
		c.log.Warn("refusing group resend for a device that is not a member", "id", id, "to", target, "code", errSmaxInvalid)
		s.ackMessage(c, sender, id, g.jid, now, "", errSmaxInvalid)
		return
	}
	attrs := g.messageAttrs(sender, id, now)
	copyAttrs(attrs, node.Attrs, "t", "type", "edit", "category")
	if name := sender.acct.name; name != "" {
		attrs["notify"] = name
	}
	if err := s.deliverLocked(d, waBinary.Node{Tag: "message", Attrs: attrs, Content: node.GetChildren()}); err != nil {
		c.log.Error("cannot queue group resend", "id", id, "device", d.jid, "err", err)
	}
	s.mu.Unlock()
	s.ackMessage(c, sender, id, g.jid, now, "", 0)
}

// relayGroupReceipt relays a receipt about a group message (to=<group>
// participant=<the message's sender>) to the sender's devices, as
// from=<group> participant=<the reader's device>. A device-qualified participant
// (delivery and retry receipts) names one device; a user (read and played receipts)
// all of that user's devices. read-self and played-self go only to the reader's own
// other devices.
func (s *Simulator) relayGroupReceipt(sender *device, node *waBinary.Node, to types.JID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[to.User]
	if g == nil {
		return
	}
	typ, _ := node.Attrs["type"].(string)
	about, hasAbout := node.Attrs["participant"].(types.JID)
	var targets []*device
	switch {
	case typ == "read-self" || typ == "played-self":
		for _, d := range sender.acct.devices {
			if d != sender {
				targets = append(targets, d)
			}
		}
	case !hasAbout:
		return
	case about.Device != 0:
		if d := s.deviceByJIDLocked(about); d != nil && d != sender {
			targets = append(targets, d)
		}
	default:
		if a := s.accountByJIDLocked(about); a != nil {
			for _, d := range a.devices {
				if d != sender {
					targets = append(targets, d)
				}
			}
		}
	}
	for _, d := range targets {
		attrs := waBinary.Attrs{}
		for k, v := range node.Attrs {
			if k != "to" && k != "participant" {
				attrs[k] = v
			}
		}
		attrs["from"] = g.jid
		g.setPerson(attrs, "participant", sender.acct, g.deviceJID(sender))
		if _, ok := attrs["t"]; !ok {
			attrs["t"] = time.Now().Unix()
		}
		if err := s.deliverLocked(d, waBinary.Node{Tag: "receipt", Attrs: attrs, Content: node.Content}); err != nil {
			s.log.Error("cannot queue group receipt", "device", d.jid, "err", err)
		}
	}
}

// relayGroupChatState relays typing in a group to the other members' online
// devices, as from=<group> participant=<typist>. Like direct chat states they are not
// queued.
func (s *Simulator) relayGroupChatState(sender *device, node *waBinary.Node, to types.JID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[to.User]
	if g == nil || g.member(sender.acct) == nil {
		return
	}
	state := waBinary.Node{
		Tag:     "chatstate",
		Attrs:   waBinary.Attrs{"from": g.jid, "participant": g.userJID(sender.acct)},
		Content: node.GetChildren(),
	}
	for _, m := range g.members {
		if m.acct == sender.acct || m.acct.held {
			continue
		}
		s.sendChatStateLocked(m.acct, state)
	}
}
