package wasim

import (
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// Presence, enforced as WhatsApp enforces it: an account is available while at least
// one of its connected devices last announced itself available (whatsmeow's
// SendPresence). Only connections that subscribed to an account (SubscribePresence)
// are told its presence: at once and on every change, with the last-seen time when it
// goes unavailable (or "deny" when the account hides it). Subscriptions last as long
// as the subscribing connection. Chat states (typing, recording) reach only devices
// that announced themselves available, and a linked device that has not sends
// "inactive" delivery receipts: a client that never sends available presence sees no
// one type, and its receipts never show as delivered. Nothing about presence is
// queued: an offline device misses it.

func (s *Simulator) registerPresence(r *routes) {
	r.stanzas["presence"] = s.handlePresence
	r.stanzas["chatstate"] = s.handleChatState
	r.chatstates[types.DefaultUserServer] = s.relayDirectChatState
	r.chatstates[types.HiddenUserServer] = s.relayDirectChatState
}

// handlePresence records a device's own presence, and presence subscriptions. The
// push name a presence carries (whatsmeow requires one to send presence) becomes the
// account's name, shown to others as the notify attribute of its messages.
func (s *Simulator) handlePresence(c *conn, node *waBinary.Node) {
	dev := s.loggedInDevice(c)
	if dev == nil {
		return
	}
	typ, _ := node.Attrs["type"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch typ {
	case "available", "unavailable":
		if name, _ := node.Attrs["name"].(string); name != "" {
			dev.acct.name = name
		}
		dev.available = typ == "available"
		s.presenceChangedLocked(dev.acct)
	case "subscribe", "unsubscribe":
		to, ok := node.Attrs["to"].(types.JID)
		if !ok {
			c.log.Debug("ignoring presence subscription without a target")
			return
		}
		target := s.accountByJIDLocked(to.ToNonAD())
		if target == nil {
			return
		}
		if typ == "unsubscribe" {
			delete(target.subscribers, c)
			return
		}
		if target.subscribers == nil {
			target.subscribers = make(map[*conn]types.JID)
		}
		target.subscribers[c] = to.ToNonAD()
		if err := c.send(s.presenceNodeLocked(target, to.ToNonAD())); err != nil {
			c.log.Error("cannot send presence", "of", target.jid, "err", err)
		}
	default:
		c.log.Debug("ignoring presence", "type", typ)
	}
}

// PresenceSubscribers lists the devices whose connections subscribed to this account's presence.
func (a *Account) PresenceSubscribers() []types.JID {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	var out []types.JID
	for c := range a.subscribers {
		if c.dev != nil {
			out = append(out, c.dev.jid)
		}
	}
	return out
}

// availableLocked reports whether any connected device of the account announced
// itself available.
func (a *Account) availableLocked() bool {
	for _, d := range a.devices {
		if d.available && d.conn != nil && d.conn.loggedIn {
			return true
		}
	}
	return false
}

// presenceChangedLocked tells the account's subscribers when its presence changed.
// Call it after anything that may change it: a presence stanza, a device that logs
// in or goes away.
func (s *Simulator) presenceChangedLocked(a *Account) {
	now := a.availableLocked()
	if now == a.available {
		return
	}
	a.available = now
	if !now {
		a.lastSeen = time.Now()
	}
	for c, as := range a.subscribers {
		if !c.loggedIn {
			continue
		}
		if err := c.send(s.presenceNodeLocked(a, as)); err != nil {
			c.log.Error("cannot send presence", "of", a.jid, "err", err)
		}
	}
}

// presenceNodeLocked is the <presence> whatsmeow turns into events.Presence, from the
// account as the subscriber named it (phone number or LID).
func (s *Simulator) presenceNodeLocked(a *Account, as types.JID) waBinary.Node {
	attrs := waBinary.Attrs{"from": as}
	if !a.available {
		attrs["type"] = "unavailable"
		switch {
		case a.privacy["last"] == "none":
			attrs["last"] = "deny"
		case !a.lastSeen.IsZero():
			attrs["last"] = a.lastSeen.Unix()
		}
	}
	return waBinary.Node{Tag: "presence", Attrs: attrs}
}

// forgetConnPresenceLocked ends a closed connection's subscriptions and updates the
// presence of its device's account.
func (s *Simulator) forgetConnPresenceLocked(c *conn) {
	for _, a := range s.accounts {
		delete(a.subscribers, c)
	}
	if c.dev != nil {
		s.presenceChangedLocked(c.dev.acct)
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
	s.sendChatStateLocked(a, state)
}

// sendChatStateLocked shows a chat state to the account's devices that are online and
// announced themselves available; the others never see it.
func (s *Simulator) sendChatStateLocked(a *Account, state waBinary.Node) {
	for _, d := range a.sortedDevicesLocked() {
		if d.available && d.conn != nil && d.conn.loggedIn {
			if err := d.conn.send(state); err != nil {
				s.log.Error("cannot relay chatstate", "device", d.jid, "err", err)
			}
		}
	}
}
