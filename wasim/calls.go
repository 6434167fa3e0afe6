package wasim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// Calls: only their signalling, as a linked device sees it. A phone offers a call
// (Account.Call): the server rings every device of the callee with a <call><offer>
// (whatsmeow's events.CallOffer; a video call's offer carries <video>), from the
// caller's phone, named by LID (with caller_pn) when the caller's chats moved to LIDs.
// A device of the callee may reject it (whatsmeow's RejectCall: <call><reject>): the
// caller's devices get the reject, the callee's other devices stop ringing (a
// terminate). The caller may hang up first (Account.HangUp): the callee's devices get
// <call><terminate>. Only the callee's devices may reject, and only a call that rings;
// anything else is refused and logged. No media flows and nobody answers: WhatsApp's
// relays and the audio are out of scope.

// CallState is where a call stands.
type CallState string

// The states of a call.
const (
	CallRinging  CallState = "ringing"
	CallRejected CallState = "rejected"
	CallHungUp   CallState = "hung-up"
)

// Call is a call between two accounts, as the simulator saw it.
type Call struct {
	ID string `json:"id"`
	// From and To are the caller's and the callee's phone numbers.
	From  string    `json:"from"`
	To    string    `json:"to"`
	Video bool      `json:"video"`
	State CallState `json:"state"`
	// RejectedBy is the device of the callee that rejected the call.
	RejectedBy types.JID `json:"rejectedBy,omitzero"`
	Started    time.Time `json:"started"`
}

// maxCalls bounds the calls the simulator remembers, oldest forgotten first.
const maxCalls = 256

func (s *Simulator) registerCalls(r *routes) {
	r.stanzas["call"] = s.handleCall
}

// Call has the account's phone call another account (video or voice), ringing every
// device of the callee. It returns the call's ID.
func (a *Account) Call(ctx context.Context, to string, video bool) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	id := strings.ToUpper(hex.EncodeToString(raw[:]))
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	callee := s.accounts[to]
	if callee == nil {
		return "", fmt.Errorf("call %s: %w", to, ErrUnknownAccount)
	}
	if callee == a {
		return "", fmt.Errorf("call %s: %w: an account cannot call itself", to, ErrInvalidArgument)
	}
	call := &Call{ID: id, From: a.phone, To: to, Video: video, State: CallRinging, Started: time.Now()}
	s.calls = append(s.calls, call)
	if len(s.calls) > maxCalls {
		s.calls = s.calls[1:]
	}
	media := []waBinary.Node{{Tag: "audio", Attrs: waBinary.Attrs{"enc": "opus", "rate": "16000"}}}
	if video {
		media = append(media, waBinary.Node{Tag: "video", Attrs: waBinary.Attrs{"enc": "vp8", "dec": "vp8"}})
	}
	for _, d := range callee.devices {
		if d.conn == nil || !d.conn.loggedIn {
			continue // a call rings where the callee is online, and is not kept for later
		}
		offer := s.callNodeLocked(a, call, "offer", nil, media)
		offer.Attrs["platform"], offer.Attrs["version"] = "android", "2.24.21.77"
		if err := s.deliverLocked(d, offer); err != nil {
			return "", fmt.Errorf("call %s: %w", to, err)
		}
	}
	s.log.Info("call offered", "call_id", id, "from", a.phone, "to", to, "video", video)
	return id, nil
}

// HangUp ends a call the account made while it rings: the callee's devices stop ringing.
func (a *Account) HangUp(ctx context.Context, callID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	call := s.callLocked(callID)
	if call == nil || call.From != a.phone || call.State != CallRinging {
		return fmt.Errorf("hang up %s: %w: no call of this account rings with that id", callID, ErrInvalidArgument)
	}
	call.State = CallHungUp
	s.terminateLocked(call, nil)
	return nil
}

// isCallerLocked reports whether a call stanza is addressed to the call's caller (by
// phone number or LID), as whatsmeow's RejectCall addresses it.
func (s *Simulator) isCallerLocked(node *waBinary.Node, call *Call) bool {
	to, _ := node.Attrs["to"].(types.JID)
	a := s.accountByJIDLocked(to.ToNonAD())
	return a != nil && a.phone == call.From
}

// Calls lists the calls the account made or got, oldest first.
func (a *Account) Calls() []Call {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	var out []Call
	for _, c := range a.s.calls {
		if c.From == a.phone || c.To == a.phone {
			out = append(out, *c)
		}
	}
	return out
}

func (s *Simulator) callLocked(id string) *Call {
	i := slices.IndexFunc(s.calls, func(c *Call) bool { return c.ID == id })
	if i < 0 {
		return nil
	}
	return s.calls[i]
}

// callNodeLocked is a <call> stanza about call, sent by the caller's phone (from the
// caller's LID, with its phone number beside, when its chats moved to LIDs), or by
// device by when set.
func (s *Simulator) callNodeLocked(caller *Account, call *Call, tag string, by *device, content []waBinary.Node) waBinary.Node {
	creator, from := caller.jid, caller.jid
	child := waBinary.Attrs{"call-id": call.ID}
	if caller.lidChats {
		creator, from = caller.lid, caller.lid
		child["caller_pn"] = caller.jid
	}
	child["call-creator"] = creator
	if by != nil {
		from = by.jidLike(creator)
	}
	attrs := waBinary.Attrs{"from": from, "id": s.nextID(), "t": time.Now().Unix()}
	if by == nil {
		attrs["notify"] = caller.name
	}
	return waBinary.Node{Tag: "call", Attrs: attrs, Content: []waBinary.Node{{Tag: tag, Attrs: child, Content: content}}}
}

// terminateLocked stops a call ringing on the callee's devices, except the one that
// ended it.
func (s *Simulator) terminateLocked(call *Call, except *device) {
	caller, callee := s.accounts[call.From], s.accounts[call.To]
	if caller == nil || callee == nil {
		return
	}
	for _, d := range callee.devices {
		if d == except {
			continue
		}
		end := s.callNodeLocked(caller, call, "terminate", nil, nil)
		if err := s.deliverLocked(d, end); err != nil {
			s.log.Error("cannot end a call", "call_id", call.ID, "device", d.jid, "err", err)
		}
	}
}

// handleCall takes a <call> stanza of a device: a reject of a call ringing on it. The
// server acknowledges every call stanza, as WhatsApp does.
func (s *Simulator) handleCall(c *conn, node *waBinary.Node) {
	dev := s.loggedInDevice(c)
	if dev == nil {
		return
	}
	id, _ := node.Attrs["id"].(string)
	children := node.GetChildren()
	if len(children) != 1 {
		c.log.Warn("refusing a call stanza without exactly one child", "id", id)
		return
	}
	child := children[0]
	callID, _ := child.Attrs["call-id"].(string)
	if err := c.send(waBinary.Node{Tag: "ack", Attrs: waBinary.Attrs{"class": "call", "id": id, "type": child.Tag}}); err != nil {
		c.log.Error("cannot ack a call stanza", "id", id, "err", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	call := s.callLocked(callID)
	switch {
	case child.Tag != "reject":
		c.log.Warn("ignoring a call stanza the simulator does not handle", "tag", child.Tag, "call_id", callID)
	case call == nil || call.To != dev.acct.phone || !s.isCallerLocked(node, call):
		c.log.Warn("refusing to reject a call that does not ring on this device", "call_id", callID, "device", dev.jid)
	case call.State != CallRinging:
		c.log.Warn("refusing to reject a call that no longer rings", "call_id", callID, "state", call.State)
	default:
		call.State, call.RejectedBy = CallRejected, dev.jid
		caller := s.accounts[call.From]
		for _, d := range caller.devices {
			reject := s.callNodeLocked(caller, call, "reject", dev, nil)
			reject.Content.([]waBinary.Node)[0].Attrs["count"] = "0"
			if err := s.deliverLocked(d, reject); err != nil {
				s.log.Error("cannot relay a call reject", "call_id", callID, "device", d.jid, "err", err)
			}
		}
		s.terminateLocked(call, dev)
		s.log.Info("call rejected", "call_id", callID, "by", dev.jid)
	}
}
