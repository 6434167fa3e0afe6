package wasim

import (
	"maps"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

func (s *Simulator) registerReceipts(r *routes) {
	r.stanzas["receipt"] = s.handleReceipt
	r.receipts[types.DefaultUserServer] = s.relayDirectReceipt
	r.receipts[types.HiddenUserServer] = s.relayDirectReceipt
}

// handleReceipt relays a client's receipt (delivered, inactive, read, played, sender,
// retry…) to the devices it is addressed to. A receipt also acknowledges the messages
// it names, which leave the sending device's queue.
func (s *Simulator) handleReceipt(c *conn, node *waBinary.Node) {
	dev := s.loggedInDevice(c)
	if dev == nil {
		return
	}
	id, _ := node.Attrs["id"].(string)
	to, ok := node.Attrs["to"].(types.JID)
	if id == "" || !ok {
		c.log.Warn("ignoring receipt without id or destination")
		return
	}
	typ, _ := node.Attrs["type"].(string)
	s.mu.Lock()
	for _, mid := range receiptIDs(node) {
		s.ackLocked(dev, "message", mid, to, "", true)
	}
	for _, mid := range receiptIDs(node) {
		delete(dev.welcomeReceipts, mid+"/"+typ)
	}
	if typ == "retry" {
		// The device could not decrypt the message and asks its sender for it again:
		// a resend with the same id is for it (see routeResendLocked).
		for _, rec := range s.routed.byID[id] {
			if rec.deliveries[dev.jid] > 0 {
				if rec.retryFrom == nil {
					rec.retryFrom = make(map[*device]bool)
				}
				rec.retryFrom[dev] = true
			}
		}
	}
	relayed := node
	if typ == "" && !dev.available && !dev.primary() {
		// A linked device that did not announce itself available is not in use: its
		// delivery receipts are inactive, whatever it claims. (A phone's receipts say
		// delivered whether its app is open or not.)
		relayed = &waBinary.Node{Tag: node.Tag, Attrs: maps.Clone(node.Attrs), Content: node.Content}
		relayed.Attrs["type"] = "inactive"
	}
	s.mu.Unlock()
	if route := s.routes.receipts[to.Server]; route != nil {
		route(dev, relayed, to)
	} else {
		c.log.Debug("not relaying receipt to this server", "to", to)
	}
	ack := waBinary.Node{Tag: "ack", Attrs: waBinary.Attrs{"class": "receipt", "id": id, "from": to}}
	if typ != "" {
		ack.Attrs["type"] = typ
	}
	if err := c.send(ack); err != nil {
		c.log.Error("cannot ack receipt", "id", id, "err", err)
	}
}

// receiptIDs lists the message ids a receipt covers: its id and those of its <list>.
func receiptIDs(node *waBinary.Node) []string {
	ids := []string{node.Attrs["id"].(string)}
	for _, item := range childrenOf(node.GetChildByTag("list")) {
		if id, ok := item.Attrs["id"].(string); ok && item.Tag == "item" {
			ids = append(ids, id)
		}
	}
	return ids
}

// relayDirectReceipt relays a receipt addressed to a user: to one device when the
// address is device-qualified (delivery and retry receipts answer the device that
// sent the message), to every device of the user otherwise (read and played receipts
// name the chat), and only to the reader's own devices for read-self and played-self.
func (s *Simulator) relayDirectReceipt(sender *device, node *waBinary.Node, to types.JID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var targets []*device
	typ, _ := node.Attrs["type"].(string)
	self := typ == "read-self" || typ == "played-self"
	if self {
		// The reader's privacy hides read receipts from the chat: only the reader's
		// own other devices learn that the messages were read.
		for _, d := range sender.acct.devices {
			if d != sender {
				targets = append(targets, d)
			}
		}
	} else if to.Device != 0 {
		if d := s.deviceByJIDLocked(to); d != nil {
			targets = append(targets, d)
		}
	} else if a := s.accountByJIDLocked(to); a != nil {
		for _, d := range a.devices {
			if d != sender {
				targets = append(targets, d)
			}
		}
	}
	for _, d := range targets {
		attrs := waBinary.Attrs{}
		for k, v := range node.Attrs {
			if k != "to" {
				attrs[k] = v
			}
		}
		setSender(attrs, sender, to, d)
		if self {
			attrs["recipient"] = to.ToNonAD()
		}
		if _, ok := attrs["t"]; !ok {
			attrs["t"] = time.Now().Unix()
		}
		if err := s.deliverLocked(d, waBinary.Node{Tag: "receipt", Attrs: attrs, Content: node.Content}); err != nil {
			s.log.Error("cannot queue receipt", "device", d.jid, "err", err)
		}
	}
}
