package wasim

import (
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

func (s *Simulator) registerPresence(r *routes) {
	r.stanzas["presence"] = s.handlePresence
	r.stanzas["chatstate"] = s.handleChatState
	r.chatstates[types.DefaultUserServer] = s.relayDirectChatState
	r.chatstates[types.HiddenUserServer] = s.relayDirectChatState
}

// handlePresence records a device's own presence. The push name it carries
// (whatsmeow requires one to send presence) becomes the account's name, shown to
// others as the notify attribute of its messages.
func (s *Simulator) handlePresence(c *conn, node *waBinary.Node) {
	dev := s.loggedInDevice(c)
	if dev == nil {
		return
	}
	typ, _ := node.Attrs["type"].(string)
	switch typ {
	case "available", "unavailable":
		s.mu.Lock()
		if name, _ := node.Attrs["name"].(string); name != "" {
			dev.acct.name = name
		}
		dev.available = typ == "available"
		s.mu.Unlock()
	default:
		c.log.Debug("ignoring presence", "type", typ)
	}
}

// handleChatState relays typing notifications (composing, paused; composing with
// media="audio" is recording) to the chat's devices. Chat states are not queued: a
// device that is offline simply misses them, as on WhatsApp.
func (s *Simulator) handleChatState(c *conn, node *waBinary.Node) {
	dev := s.loggedInDevice(c)
	if dev == nil {
		return
	}
	to, ok := node.Attrs["to"].(types.JID)
	if !ok || len(node.GetChildren()) != 1 {
		c.log.Debug("ignoring malformed chatstate")
		return
	}
	if route := s.routes.chatstates[to.Server]; route != nil {
		route(dev, node, to)
	}
}

func (s *Simulator) relayDirectChatState(sender *device, node *waBinary.Node, to types.JID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountByJIDLocked(to)
	if a == nil || a == sender.acct || a.held {
		return
	}
	state := waBinary.Node{
		Tag:     "chatstate",
		Attrs:   waBinary.Attrs{"from": sender.jidLike(to).ToNonAD()},
		Content: node.GetChildren(),
	}
	for _, d := range a.devices {
		if d.conn != nil && d.conn.loggedIn {
			if err := d.conn.send(state); err != nil {
				s.log.Error("cannot relay chatstate", "device", d.jid, "err", err)
			}
		}
	}
}
