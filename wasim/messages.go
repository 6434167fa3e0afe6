package wasim

import (
	"maps"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

func (s *Simulator) registerMessages(r *routes) {
	r.stanzas["message"] = s.handleMessage
	r.stanzas["ack"] = s.handleClientAck
	r.messages[types.DefaultUserServer] = s.routeDirect
	r.messages[types.HiddenUserServer] = s.routeDirect
}

// handleMessage routes a client's <message> by its destination's server. The
// simulator never decrypts: each <enc> goes to the device it was encrypted for.
func (s *Simulator) handleMessage(c *conn, node *waBinary.Node) {
	dev := s.loggedInDevice(c)
	if dev == nil {
		c.log.Debug("ignoring message from a connection that is not logged in")
		return
	}
	id, _ := node.Attrs["id"].(string)
	if id == "" {
		c.log.Warn("ignoring message without id")
		return
	}
	to, ok := node.Attrs["to"].(types.JID)
	if !ok {
		s.ackMessage(c, dev, id, types.EmptyJID, time.Now().Unix(), "", 400)
		return
	}
	if code := s.checkInteractive(id, node); code != 0 {
		s.ackMessage(c, dev, id, to, time.Now().Unix(), "", code)
		return
	}
	route := s.routes.messages[to.Server]
	if route == nil {
		c.log.Info("cannot route message to this server", "to", to)
		s.ackMessage(c, dev, id, to, time.Now().Unix(), "", 501)
		return
	}
	route(c, dev, node, to)
}

// errSmaxInvalid is the error code of the ack refusing a message stanza that fails the
// server's validation (Baileys names it SMAX_INVALID): here, one that reaches no device
// of its recipient. whatsmeow's SendMessage fails with ErrServerReturnedError.
const errSmaxInvalid = 479

// ackMessage is the server ack that completes whatsmeow's SendMessage: t becomes the
// message timestamp, a phash that differs from the client's makes it drop its cached
// device list, a non-zero code fails the send. A DelayAcks fault holds it back.
func (s *Simulator) ackMessage(c *conn, sender *device, id string, to types.JID, t int64, phash string, code int) {
	attrs := waBinary.Attrs{"class": "message", "id": id, "t": t}
	if !to.IsEmpty() {
		attrs["from"] = to
	}
	if phash != "" {
		attrs["phash"] = phash
	}
	if code != 0 {
		attrs["error"] = code
	}
	ack := waBinary.Node{Tag: "ack", Attrs: attrs}
	s.mu.Lock()
	delay := sender.ackDelay
	s.mu.Unlock()
	send := func() {
		if err := c.send(ack); err != nil {
			c.log.Error("cannot ack message", "id", id, "err", err)
		}
	}
	if delay > 0 {
		s.after(delay, send)
		return
	}
	send()
}

// routeDirect routes a message to a user (1:1 chat). A message with <participants>
// is a normal send: every <to> gets its own ciphertext, the recipient's devices see it
// from the sender, the sender's other devices get it with recipient=chat (their copy is
// a DeviceSentMessage). A message with a bare <enc> is addressed to one device: a
// resend answering a retry receipt, or a peer message to the phone.
func (s *Simulator) routeDirect(c *conn, sender *device, node *waBinary.Node, to types.JID) {
	id := node.Attrs["id"].(string)
	participants, fanout := node.GetOptionalChildByTag("participants")
	if !fanout {
		s.routeToDevice(c, sender, node, to)
		return
	}
	t, phash, code := s.fanOutDirect(c, sender, node, to.ToNonAD(), participants)
	s.ackMessage(c, sender, id, to, t, phash, code)
}

// fanOutDirect queues a 1:1 message's copies for the devices its <participants> name
// and returns what to acknowledge the sender with: the message's timestamp, the
// participant hash of the devices it should have named, and an error code.
func (s *Simulator) fanOutDirect(c *conn, sender *device, node *waBinary.Node, chat types.JID, participants waBinary.Node) (t int64, phash string, code int) {
	id := node.Attrs["id"].(string)
	msgType, _ := node.Attrs["type"].(string)
	if msgType == "" {
		msgType = "text"
	}
	identity, hasIdentity := node.GetOptionalChildByTag("device-identity")

	s.mu.Lock()
	defer s.mu.Unlock()
	target := s.accountByJIDLocked(chat)
	phash = s.phashLocked(sender.acct, target, chat.Server)
	t = time.Now().Unix()
	if target == nil {
		c.log.Warn("refusing message to a user who is not on WhatsApp", "id", id, "to", chat, "code", errSmaxInvalid)
		return t, phash, errSmaxInvalid
	}
	// Each device's copy: from the sender as the chat names it, its own ciphertext,
	// and the sender's device identity with a prekey message.
	copies := make(map[*device]waBinary.Node)
	var order []*device
	reached := false // a device of the recipient, not only the sender's own
	for _, p := range participants.GetChildren() {
		djid, ok := p.Attrs["jid"].(types.JID)
		if p.Tag != "to" || !ok {
			continue
		}
		d := s.deviceByJIDLocked(djid)
		if d == nil || d == sender || (d.acct != target && d.acct != sender.acct) {
			c.log.Warn("not routing to unknown or unrelated device", "id", id, "device", djid)
			continue
		}
		reached = reached || d.acct == target
		if d.acct == target && target.blocksLocked(sender.acct) {
			// WhatsApp takes a message to someone who blocked the sender and never
			// delivers it: the sender sees it sent and no more.
			continue
		}
		attrs := waBinary.Attrs{"id": id, "t": t, "type": msgType}
		setSender(attrs, sender, chat, d)
		copyAttrs(attrs, node.Attrs, "edit", "category", "addressing_mode")
		if name := sender.acct.name; name != "" {
			attrs["notify"] = name
		}
		if d.acct == sender.acct {
			// The sender's other devices get the message in its chat, with the
			// chat's other identity.
			attrs["recipient"] = chat
			if chat.Server == types.HiddenUserServer {
				attrs["peer_recipient_pn"] = target.jid
			} else {
				attrs["peer_recipient_lid"] = target.lid
			}
		}
		content := p.GetChildren()
		if hasIdentity && hasPreKeyMessage(content) {
			content = append(content, identity)
		}
		if vname, ok := sender.acct.verifiedNameLocked(); ok && d.acct == target {
			content = append(content, vname)
		}
		copies[d] = waBinary.Node{Tag: "message", Attrs: attrs, Content: content}
		order = append(order, d)
	}
	// The chat by phone number, however it was addressed: a sender may address a
	// resend by LID after its chats moved.
	key := routeKey{sender: sender.acct.phone, chat: target.jid.String(), id: id}
	if !reached && target != sender.acct && s.routed.get(key) == nil {
		// Nothing would reach the recipient: WhatsApp refuses such a stanza rather than
		// acknowledge a message nobody can read.
		c.log.Warn("refusing message that reaches none of the recipient's devices", "id", id, "to", chat, "code", errSmaxInvalid)
		return t, phash, errSmaxInvalid
	}
	return s.deliverOnceLocked(c, key, t, order, copies), phash, 0
}

// deliverOnceLocked queues a message's copy for each device, in order, and records it as routed. A message
// whose key was routed already is a resend: only the devices that asked for it again get theirs
// (routeResendLocked). It returns the message's timestamp, the first one's for a resend.
func (s *Simulator) deliverOnceLocked(c *conn, key routeKey, t int64, order []*device, copies map[*device]waBinary.Node) int64 {
	if prev := s.routed.get(key); prev != nil {
		s.routeResendLocked(c, prev, copies)
		return prev.t
	}
	rec := &routedMessage{key: key, t: t, deliveries: make(map[types.JID]int)}
	for _, d := range order {
		if err := s.deliverLocked(d, copies[d]); err != nil {
			c.log.Error("cannot queue message", "id", key.id, "chat", key.chat, "device", d.jid, "err", err)
			continue
		}
		rec.deliveries[d.jid]++
	}
	s.routed.add(rec)
	return t
}

// routeResendLocked handles a message sent again with the id of one already routed.
// Devices that asked for it again (a retry receipt: they could not decrypt it) get
// this copy; nobody else gets anything, which makes a sender that resends with its
// original id after a crash exactly-once. (whatsmeow answers a retry with a copy for
// the one device; Baileys, for a retry from a phone, sends the whole message again.)
func (s *Simulator) routeResendLocked(c *conn, prev *routedMessage, copies map[*device]waBinary.Node) {
	resent := 0
	for d := range prev.retryFrom {
		if cp, ok := copies[d]; ok {
			if err := s.deliverLocked(d, cp); err != nil {
				c.log.Error("cannot queue resend", "id", prev.key.id, "device", d.jid, "err", err)
				continue
			}
			delete(prev.retryFrom, d)
			resent++
		}
	}
	c.log.Info("message sent again, delivered only to devices that asked for a retry", "id", prev.key.id, "chat", prev.key.chat, "resent", resent)
}

// routeToDevice delivers a message whose single <enc> was encrypted for one device.
func (s *Simulator) routeToDevice(c *conn, sender *device, node *waBinary.Node, to types.JID) {
	id := node.Attrs["id"].(string)
	now := time.Now().Unix()
	s.mu.Lock()
	d := s.deviceByJIDLocked(to)
	if d == nil {
		s.mu.Unlock()
		c.log.Warn("refusing message for a device that does not exist", "id", id, "to", to, "code", errSmaxInvalid)
		s.ackMessage(c, sender, id, to, now, "", errSmaxInvalid)
		return
	}
	attrs := waBinary.Attrs{"id": id, "t": now}
	setSender(attrs, sender, to, d)
	copyAttrs(attrs, node.Attrs, "t", "type", "edit", "category", "recipient", "participant")
	if name := sender.acct.name; name != "" {
		attrs["notify"] = name
	}
	if err := s.deliverLocked(d, waBinary.Node{Tag: "message", Attrs: attrs, Content: node.GetChildren()}); err != nil {
		c.log.Error("cannot queue message", "id", id, "device", d.jid, "err", err)
	}
	s.mu.Unlock()
	s.ackMessage(c, sender, id, to, now, "", 0)
}

// phashLocked is the hash of the device list a sender must have encrypted for: the
// recipient's devices and the sender's own.
func (s *Simulator) phashLocked(sender, target *Account, server string) string {
	var all []types.JID
	if target != nil {
		all = append(all, target.deviceJIDsLocked(server)...)
	}
	if target != sender {
		all = append(all, sender.deviceJIDsLocked(server)...)
	}
	return participantHash(all)
}

func hasPreKeyMessage(encs []waBinary.Node) bool {
	for _, e := range encs {
		if t, _ := e.Attrs["type"].(string); e.Tag == "enc" && t == "pkmsg" {
			return true
		}
	}
	return false
}

func copyAttrs(dst, src waBinary.Attrs, keys ...string) {
	for _, k := range keys {
		if v, ok := src[k]; ok {
			dst[k] = v
		}
	}
}

// handleClientAck removes the stanza a client acknowledged from its device's queue.
// whatsmeow acks receipts and notifications with <ack>, and messages with a receipt
// (or with an <ack> when it cannot decrypt them).
func (s *Simulator) handleClientAck(c *conn, node *waBinary.Node) {
	dev := s.loggedInDevice(c)
	if dev == nil {
		return
	}
	class, _ := node.Attrs["class"].(string)
	id, _ := node.Attrs["id"].(string)
	to, hasTo := node.Attrs["to"].(types.JID)
	typ, _ := node.Attrs["type"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch class {
	case "message":
		s.ackLocked(dev, "message", id, to, "", hasTo)
	case "receipt":
		s.ackLocked(dev, "receipt", id, to, typ, hasTo)
	case "notification":
		s.ackLocked(dev, "notification", id, to, typ, false)
	case "call":
		s.ackLocked(dev, "call", id, to, typ, hasTo)
	}
}

// routeKey identifies a message for de-duplication: WhatsApp message ids are chosen
// by the sender, so the same id from another sender or in another chat is another
// message.
type routeKey struct {
	sender string // sender's phone number
	chat   string // destination chat JID (a person's by phone number)
	id     string
}

type routedMessage struct {
	key        routeKey
	t          int64
	deliveries map[types.JID]int // copies queued per device
	retryFrom  map[*device]bool  // devices that asked for it again (retry receipt)
}

// routedLog remembers the most recent routed messages, oldest evicted first.
type routedLog struct {
	max   int
	byKey map[routeKey]*routedMessage
	byID  map[string][]*routedMessage
	order []routeKey
}

func newRoutedLog(max int) *routedLog {
	return &routedLog{max: max, byKey: make(map[routeKey]*routedMessage), byID: make(map[string][]*routedMessage)}
}

func (l *routedLog) get(k routeKey) *routedMessage { return l.byKey[k] }

func (l *routedLog) add(m *routedMessage) {
	l.byKey[m.key] = m
	l.byID[m.key.id] = append(l.byID[m.key.id], m)
	l.order = append(l.order, m.key)
	for len(l.order) > l.max {
		old := l.order[0]
		l.order = l.order[1:]
		delete(l.byKey, old)
		rest := l.byID[old.id][:0]
		for _, r := range l.byID[old.id] {
			if r.key != old {
				rest = append(rest, r)
			}
		}
		if len(rest) == 0 {
			delete(l.byID, old.id)
		} else {
			l.byID[old.id] = rest
		}
	}
}

// Deliveries reports how many times the message with this id was routed to the
// device that got it most often: 1 means every recipient device got exactly one copy,
// 0 that the message was never routed (or is no longer remembered, see
// Options.RoutedMemory). A stanza re-sent because the device did not acknowledge it
// before its connection dropped, and resends answering retry receipts, are the same
// delivery and do not count.
func (s *Simulator) Deliveries(id string) int {
	most := 0
	for _, n := range s.DeliveriesByDevice(id) {
		most = max(most, n)
	}
	return most
}

// DeliveriesByDevice reports, per device, how many copies of the message with this id
// were routed to it.
func (s *Simulator) DeliveriesByDevice(id string) map[types.JID]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[types.JID]int)
	for _, m := range s.routed.byID[id] {
		for d, n := range maps.All(m.deliveries) {
			out[d] += n
		}
	}
	return out
}
