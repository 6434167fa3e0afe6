package wasim

import (
	"fmt"
	"strconv"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// Faults the tests of a WhatsApp client need: the ways WhatsApp's servers fail in
// production, on demand. Each names a linked device by its JID (phone-number or LID
// form); the phone itself (device 0) goes offline with Account.SetOnline instead.

func (s *Simulator) withDeviceLocked(jid types.JID, fn func(d *device) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deviceByJIDLocked(jid)
	if d == nil || d.primary() {
		return fmt.Errorf("%s: %w: not a linked device", jid, ErrUnknownDevice)
	}
	return fn(d)
}

// Drop closes the device's TCP connection without a word, like a network failure.
// whatsmeow emits events.Disconnected and reconnects on its own.
func (s *Simulator) Drop(dev types.JID) error {
	return s.withDeviceLocked(dev, func(d *device) error {
		if d.conn == nil {
			return fmt.Errorf("drop %s: %w", dev, ErrNotConnected)
		}
		d.conn.closeNow("dropped on request")
		return nil
	})
}

// StreamError sends the device a stream error and closes its connection after the
// grace period. Codes: "503" (whatsmeow reconnects), "515" (reconnect at once, as
// after pairing), "replaced" (another login took over: events.StreamReplaced, no
// reconnect), "device_removed" or "401" (the device is unlinked: events.LoggedOut),
// or any other number (events.StreamError, then a reconnect).
func (s *Simulator) StreamError(dev types.JID, code string) error {
	switch code {
	case "replaced", "device_removed":
	case "401":
		code = "device_removed"
	default:
		if n, err := strconv.Atoi(code); err != nil || n < 100 || n > 999 {
			return fmt.Errorf("stream error %q: %w", code, ErrInvalidArgument)
		}
	}
	return s.withDeviceLocked(dev, func(d *device) error {
		c := d.conn
		if c == nil {
			return fmt.Errorf("stream error to %s: %w", dev, ErrNotConnected)
		}
		if code == "device_removed" {
			s.removeDeviceLocked(d)
		}
		c.loggedIn = false
		d.conn = nil
		c.sendAndClose(streamErrorNode(code))
		return nil
	})
}

// Unlink removes a linked device, as the phone's "log out this device" does. A
// connected device gets stream error 401 device_removed (events.LoggedOut); an
// offline one fails its next login with 401.
func (s *Simulator) Unlink(dev types.JID) error {
	return s.withDeviceLocked(dev, func(d *device) error {
		c := d.conn
		s.removeDeviceLocked(d)
		if c != nil {
			c.loggedIn = false
			d.conn = nil
			c.sendAndClose(streamErrorNode("device_removed"))
		}
		return nil
	})
}

// FailNextLogin makes the device's next login attempt fail with f. It does not touch
// a current connection: combine it with Drop to make the device log in again.
func (s *Simulator) FailNextLogin(dev types.JID, f LoginFailure) error {
	if f.Reason < 100 || f.Reason > 999 {
		return fmt.Errorf("fail next login: %w: reason %d", ErrInvalidArgument, f.Reason)
	}
	return s.withDeviceLocked(dev, func(d *device) error {
		d.failNextLogin = &f
		return nil
	})
}

// DelayAcks holds back the server acks of the device's messages by d (0 restores
// prompt acks). The messages are routed at once; only the sender's confirmation is
// late, which is how a send times out at the client although it was delivered.
func (s *Simulator) DelayAcks(dev types.JID, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("delay acks: %w: negative delay", ErrInvalidArgument)
	}
	return s.withDeviceLocked(dev, func(dv *device) error {
		dv.ackDelay = d
		return nil
	})
}

// MuteKeepAlive stops (or resumes) answering the device's keepalive pings, so that
// whatsmeow reports events.KeepAliveTimeout (and events.KeepAliveRestored after).
func (s *Simulator) MuteKeepAlive(dev types.JID, mute bool) error {
	return s.withDeviceLocked(dev, func(d *device) error {
		d.muteKeepAlive = mute
		return nil
	})
}

// HoldDeliveries keeps an account offline as far as deliveries go: while held, what
// is sent to any of its devices waits in the simulator's queue, even for connected
// devices; releasing it delivers the queue. Senders see their messages acknowledged
// by the server but not delivered.
func (s *Simulator) HoldDeliveries(phone string, hold bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[phone]
	if a == nil {
		return fmt.Errorf("hold deliveries for %s: %w", phone, ErrUnknownAccount)
	}
	a.held = hold
	if !hold {
		for _, d := range a.devices {
			s.flushLocked(d)
		}
	}
	return nil
}

// Online reports whether a linked device is connected and logged in.
func (s *Simulator) Online(dev types.JID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deviceByJIDLocked(dev)
	return d != nil && d.conn != nil && d.conn.loggedIn
}

// GarbleNextMessage spoils the ciphertext of the next message queued for the device
// (its last byte, part of the MAC), as a message damaged on its way is: the device
// cannot decrypt it, asks the sender for it again with a retry receipt, and gets the
// resend.
func (s *Simulator) GarbleNextMessage(dev types.JID) error {
	return s.withDeviceLocked(dev, func(d *device) error {
		d.garbleNext = true
		return nil
	})
}

// garbled is a copy of a message stanza whose <enc> ciphertexts end with a wrong byte.
func garbled(node waBinary.Node) waBinary.Node {
	children := node.GetChildren()
	out := make([]waBinary.Node, len(children))
	for i, child := range children {
		out[i] = child
		if ct, ok := child.Content.([]byte); ok && child.Tag == "enc" && len(ct) > 0 {
			spoiled := append([]byte(nil), ct...)
			spoiled[len(spoiled)-1] ^= 0xff
			out[i].Content = spoiled
		}
	}
	node.Content = out
	return node
}
