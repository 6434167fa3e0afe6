package wasim

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
	r.iq("abt", s.handleABProps)
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

// handlePrivacy gets and sets the account's privacy settings (they matter to
// whatsmeow's MarkRead: with read receipts set to "none" it sends read-self
// receipts), and issues privacy tokens.
func (s *Simulator) handlePrivacy(c *conn, iq *waBinary.Node) ([]waBinary.Node, error) {
	dev := s.loggedInDevice(c)
	if tokens, ok := iq.GetOptionalChildByTag("tokens"); ok {
		return nil, s.issuePrivacyTokens(dev, tokens)
	}
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

// issuePrivacyTokens handles a client issuing "trusted contact" privacy tokens (as
// Baileys does when it starts a chat): for each contact named, WhatsApp mints a token
// that the contact's clients may show when they ask about the issuer (profile
// picture, presence), and sends it to the contact's devices and the issuer's other
// devices in a privacy_token notification. The simulator mints and delivers tokens
// but never asks for them.
func (s *Simulator) issuePrivacyTokens(issuer *device, tokens waBinary.Node) error {
	type grant struct {
		to *Account
		t  string
	}
	var grants []grant
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tok := range tokens.GetChildren() {
		jid, ok := tok.Attrs["jid"].(types.JID)
		t, _ := tok.Attrs["t"].(string)
		typ, _ := tok.Attrs["type"].(string)
		if tok.Tag != "token" || !ok || typ != "trusted_contact" {
			return errIQBadRequest
		}
		if _, err := strconv.ParseInt(t, 10, 64); err != nil {
			return errIQBadRequest
		}
		if to := s.accountByJIDLocked(jid.ToNonAD()); to != nil {
			grants = append(grants, grant{to, t})
		}
	}
	for _, g := range grants {
		// Opaque to clients; a MAC under the simulator's secret keeps it unguessable.
		token := s.media.sign(32, "tctoken", issuer.acct.phone, g.to.phone, g.t)
		node := waBinary.Node{
			Tag:   "notification",
			Attrs: waBinary.Attrs{"from": issuer.acct.jid, "type": "privacy_token", "id": s.nextID(), "t": time.Now().Unix()},
			Content: []waBinary.Node{{Tag: "tokens", Content: []waBinary.Node{{
				Tag:     "token",
				Attrs:   waBinary.Attrs{"jid": g.to.jid, "t": g.t, "type": "trusted_contact"},
				Content: []byte(token),
			}}}},
		}
		for _, d := range slices.Concat(g.to.sortedDevicesLocked(), issuer.acct.sortedDevicesLocked()) {
			if d == issuer || (d.acct == issuer.acct && g.to == issuer.acct) {
				continue
			}
			if err := s.deliverLocked(d, node); err != nil {
				s.log.Error("cannot queue privacy token", "device", d.jid, "err", err)
			}
		}
	}
	return nil
}

// abPropsHash names the simulator's (empty) set of A/B properties; a client that
// sends it back is told nothing changed.
const abPropsHash = "wasim-1"

// handleABProps answers the A/B properties query (Baileys' fetchProps). WhatsApp's
// servers answer with the experiment flags of the account; the simulator runs no
// experiments and answers none, with a hash and a refresh interval as WhatsApp does.
func (s *Simulator) handleABProps(_ *conn, iq *waBinary.Node) ([]waBinary.Node, error) {
	props, ok := iq.GetOptionalChildByTag("props")
	if typ, _ := iq.Attrs["type"].(string); typ != "get" || !ok {
		return nil, errIQBadRequest
	}
	attrs := waBinary.Attrs{"protocol": "1", "hash": abPropsHash, "refresh": 86400}
	if v, _ := props.Attrs["protocol"].(string); v != "" {
		attrs["protocol"] = v
	}
	if hash, _ := props.Attrs["hash"].(string); hash == abPropsHash {
		attrs["delta_update"] = "true"
	}
	return []waBinary.Node{{Tag: "props", Attrs: attrs}}, nil
}

// handleBlocklist gets and updates the account's block list. As on WhatsApp, the
// people blocked are accounts (named by phone number or LID, kept by phone number),
// the account's messages from them are not delivered (blocksLocked), and nobody can
// block a number that is not on WhatsApp (404) or themself (400).
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
			other := s.accountByJIDLocked(jid.ToNonAD())
			switch {
			case other == nil:
				return nil, errIQNotFound
			case other == a:
				return nil, errIQBadRequest
			}
			jid = other.jid
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
	dhash := hex.EncodeToString(sum[:8])
	if typ, _ := iq.Attrs["type"].(string); typ == "set" {
		s.notifyBlocklistLocked(dev, dhash, iq.GetChildren())
	}
	return []waBinary.Node{{Tag: "list", Attrs: waBinary.Attrs{"dhash": dhash}, Content: items}}, nil
}

// notifyBlocklistLocked tells the account's other devices of a change to its block
// list (whatsmeow's events.Blocklist), as WhatsApp keeps every device's list the same.
func (s *Simulator) notifyBlocklistLocked(from *device, dhash string, items []waBinary.Node) {
	node := waBinary.Node{
		Tag:   "notification",
		Attrs: waBinary.Attrs{"from": from.acct.jid, "type": "account_sync", "id": s.nextID(), "t": time.Now().Unix()},
		Content: []waBinary.Node{{
			Tag: "blocklist", Attrs: waBinary.Attrs{"dhash": dhash, "action": "modify"}, Content: items,
		}},
	}
	for _, d := range from.acct.sortedDevicesLocked() {
		if d == from {
			continue
		}
		if err := s.deliverLocked(d, node); err != nil {
			s.log.Error("cannot queue blocklist notification", "device", d.jid, "err", err)
		}
	}
}

// blocksLocked reports whether a has blocked other.
func (a *Account) blocksLocked(other *Account) bool {
	return other != nil && slices.Contains(a.blocked, other.jid)
}

// handleStatus stores the account's "about" text (whatsmeow's SetStatusMessage), and
// tells a client who sees its status updates (GetStatusPrivacy, before it posts one).
func (s *Simulator) handleStatus(c *conn, iq *waBinary.Node) ([]waBinary.Node, error) {
	dev := s.loggedInDevice(c)
	typ, _ := iq.Attrs["type"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := iq.GetOptionalChildByTag("privacy"); ok && typ == "get" {
		return []waBinary.Node{dev.acct.statusPrivacyAnswerLocked()}, nil
	}
	text, ok := bytesContent(iq.GetChildByTag("status"))
	if typ != "set" || !ok {
		return nil, errIQNotImplemented
	}
	if utf8.RuneCount(text) > maxAboutChars {
		return nil, errIQNotAcceptable
	}
	dev.acct.status = string(text)
	return nil, nil
}

// maxAboutChars is the longest "about" text WhatsApp takes.
const maxAboutChars = 139
