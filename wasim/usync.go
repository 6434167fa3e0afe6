package wasim

import (
	"strings"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// usyncQuery answers one query kind (a child of <query>, by tag) for one user of a
// usync list. It runs with Simulator.mu held, so it may read the registry. It returns
// the child to put in the answer's <user> element, or false to leave it out.
type usyncQuery func(u usyncUser, query waBinary.Node) (waBinary.Node, bool)

// usyncUser is one entry of a usync list being answered.
type usyncUser struct {
	jid     types.JID     // the user's JID as answered (never device-qualified)
	acct    *Account      // nil if the number is not on WhatsApp
	request waBinary.Node // the <user> element of the request
	asker   *device
}

func (s *Simulator) registerUsync(r *routes) {
	r.iq("usync", s.handleUsync)
	r.usync["devices"] = usyncDevices
	r.usync["contact"] = usyncContact
	// "lid" is left unanswered on purpose: see the LID policy in registry.go.
}

// handleUsync answers user-sync queries: device lists (before sending), and whether
// numbers are on WhatsApp (IsOnWhatsApp). Query kinds are pluggable (routes.usync).
func (s *Simulator) handleUsync(c *conn, iq *waBinary.Node) ([]waBinary.Node, error) {
	asker := s.loggedInDevice(c)
	req, ok := iq.GetOptionalChildByTag("usync")
	if !ok {
		return nil, errIQBadRequest
	}
	queries := childrenOf(req.GetChildByTag("query"))
	s.mu.Lock()
	defer s.mu.Unlock()
	var users []waBinary.Node
	for _, u := range childrenOf(req.GetChildByTag("list")) {
		if u.Tag != "user" {
			continue
		}
		uu := usyncUser{request: u, asker: asker}
		if jid, ok := u.Attrs["jid"].(types.JID); ok {
			uu.jid = jid.ToNonAD()
			uu.acct = s.accountByJIDLocked(uu.jid)
		} else if raw, ok := bytesContent(u.GetChildByTag("contact")); ok {
			phone := digitsOnly(string(raw))
			if phone == "" {
				continue
			}
			uu.jid = types.NewJID(phone, types.DefaultUserServer)
			uu.acct = s.accounts[phone]
		} else {
			continue
		}
		var children []waBinary.Node
		for _, q := range queries {
			if answer := s.routes.usync[q.Tag]; answer != nil {
				if child, ok := answer(uu, q); ok {
					children = append(children, child)
				}
			}
		}
		users = append(users, waBinary.Node{Tag: "user", Attrs: waBinary.Attrs{"jid": uu.jid}, Content: children})
	}
	attrs := waBinary.Attrs{"last": "true", "index": "0"}
	for _, k := range []string{"sid", "mode", "context"} {
		if v, ok := req.Attrs[k].(string); ok {
			attrs[k] = v
		}
	}
	return []waBinary.Node{{Tag: "usync", Attrs: attrs, Content: []waBinary.Node{{Tag: "list", Content: users}}}}, nil
}

// usyncDevices lists the user's linked devices. Device 0, the phone, is left out: the
// simulated phones have no Signal endpoint, and a listed device without keys would
// only make every sender log an encryption failure.
func usyncDevices(u usyncUser, _ waBinary.Node) (waBinary.Node, bool) {
	var list []waBinary.Node
	if u.acct != nil {
		for _, d := range u.acct.deviceJIDsLocked(u.jid.Server) {
			list = append(list, waBinary.Node{Tag: "device", Attrs: waBinary.Attrs{"id": int(d.Device)}})
		}
	}
	return waBinary.Node{Tag: "devices", Content: []waBinary.Node{{Tag: "device-list", Content: list}}}, true
}

// usyncContact says whether the queried number is on WhatsApp, echoing the query.
func usyncContact(u usyncUser, _ waBinary.Node) (waBinary.Node, bool) {
	typ := "out"
	if u.acct != nil {
		typ = "in"
	}
	query, ok := bytesContent(u.request.GetChildByTag("contact"))
	if !ok {
		query = []byte("+" + u.jid.User + "@" + types.LegacyUserServer)
	}
	return waBinary.Node{Tag: "contact", Attrs: waBinary.Attrs{"type": typ}, Content: query}, true
}

func digitsOnly(s string) string {
	if at := strings.IndexByte(s, '@'); at >= 0 {
		s = s[:at]
	}
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
