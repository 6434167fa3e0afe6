package wasim

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sort"
	"strings"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// defaultPrivacy is a fresh account's privacy settings.
var defaultPrivacy = map[string]string{
	"groupadd":     "all",
	"last":         "all",
	"status":       "all",
	"profile":      "all",
	"readreceipts": "all",
	"online":       "all",
	"calladd":      "all",
}

func (s *Simulator) registerAccountIQs(r *routes) {
	r.iq("privacy", s.handlePrivacy)
	r.iq("blocklist", s.handleBlocklist)
	r.iq("status", s.handleStatus)
	r.iq("passive", acceptIQ)
	r.iq("urn:xmpp:whatsapp:dirty", acceptIQ)
	r.iq("urn:xmpp:whatsapp:push", acceptIQ)
	r.iq("disappearing_mode", acceptIQ)
}

// acceptIQ answers with an empty result: the request is accepted and has no effect
// the simulator models (passive/active mode, dirty bits, push config…).
func acceptIQ(*conn, *waBinary.Node) ([]waBinary.Node, error) { return nil, nil }

// handlePrivacy gets and sets the account's privacy settings. They matter to
// whatsmeow's MarkRead: with read receipts set to "none" it sends read-self receipts.
func (s *Simulator) handlePrivacy(c *conn, iq *waBinary.Node) ([]waBinary.Node, error) {
	dev := s.loggedInDevice(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	a := dev.acct
	var changed []string
	if typ, _ := iq.Attrs["type"].(string); typ == "set" {
		for _, cat := range childrenOf(iq.GetChildByTag("privacy")) {
			name, _ := cat.Attrs["name"].(string)
			value, _ := cat.Attrs["value"].(string)
			if cat.Tag != "category" || name == "" || value == "" {
				return nil, errIQBadRequest
			}
			a.privacy[name] = value
			changed = append(changed, name)
		}
	} else {
		for name := range a.privacy {
			changed = append(changed, name)
		}
	}
	sort.Strings(changed)
	cats := make([]waBinary.Node, len(changed))
	for i, name := range changed {
		cats[i] = waBinary.Node{Tag: "category", Attrs: waBinary.Attrs{"name": name, "value": a.privacy[name]}}
	}
	return []waBinary.Node{{Tag: "privacy", Content: cats}}, nil
}

// handleBlocklist gets and updates the account's block list. Blocking is recorded
// and reported but does not stop delivery.
func (s *Simulator) handleBlocklist(c *conn, iq *waBinary.Node) ([]waBinary.Node, error) {
	dev := s.loggedInDevice(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	a := dev.acct
	if typ, _ := iq.Attrs["type"].(string); typ == "set" {
		for _, item := range iq.GetChildren() {
			jid, ok := item.Attrs["jid"].(types.JID)
			action, _ := item.Attrs["action"].(string)
			if item.Tag != "item" || !ok {
				return nil, errIQBadRequest
			}
			jid = jid.ToNonAD()
			switch action {
			case "block":
				if !slices.Contains(a.blocked, jid) {
					a.blocked = append(a.blocked, jid)
				}
			case "unblock":
				a.blocked = slices.DeleteFunc(a.blocked, func(j types.JID) bool { return j == jid })
			default:
				return nil, errIQBadRequest
			}
		}
	}
	items := make([]waBinary.Node, len(a.blocked))
	strs := make([]string, len(a.blocked))
	for i, j := range a.blocked {
		items[i] = waBinary.Node{Tag: "item", Attrs: waBinary.Attrs{"jid": j}}
		strs[i] = j.String()
	}
	sum := sha256.Sum256([]byte(strings.Join(strs, ",")))
	return []waBinary.Node{{Tag: "list", Attrs: waBinary.Attrs{"dhash": hex.EncodeToString(sum[:8])}, Content: items}}, nil
}

// handleStatus stores the account's "about" text (whatsmeow's SetStatusMessage).
func (s *Simulator) handleStatus(c *conn, iq *waBinary.Node) ([]waBinary.Node, error) {
	dev := s.loggedInDevice(c)
	text, ok := bytesContent(iq.GetChildByTag("status"))
	if typ, _ := iq.Attrs["type"].(string); typ != "set" || !ok {
		return nil, errIQNotImplemented
	}
	s.mu.Lock()
	dev.acct.status = string(text)
	s.mu.Unlock()
	return nil, nil
}
