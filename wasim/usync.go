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
	r.usync["lid"] = usyncLID
}

// usyncLID reveals the user's LID, as WhatsApp does to anyone who asks (Baileys asks
// before it fetches prekeys, which it does only by LID).
func usyncLID(u usyncUser, _ waBinary.Node) (waBinary.Node, bool) {
	if u.acct == nil {
		return waBinary.Node{}, false
	}
	return waBinary.Node{Tag: "lid", Attrs: waBinary.Attrs{"val": u.acct.lid}}, true
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

// usyncDevices lists the user's devices as WhatsApp does: the phone (device 0), then
// each linked device with the key index the phone signed it with, and the phone's
// signed list of valid key indexes. Clients that check key indexes (Baileys) send to
// no linked device listed without one.
func usyncDevices(u usyncUser, _ waBinary.Node) (waBinary.Node, bool) {
	var list []waBinary.Node
	var children []waBinary.Node
	if u.acct != nil {
		for _, jid := range u.acct.deviceJIDsLocked(types.DefaultUserServer) {
			list = append(list, deviceNode(u.acct.devices[jid.Device], false))
		}
		children = append(children, waBinary.Node{Tag: "device-list", Content: list})
		if kil, ok := u.acct.keyIndexListLocked(); ok {
			children = append(children, kil)
		}
	} else {
		children = append(children, waBinary.Node{Tag: "device-list"})
	}
	return waBinary.Node{Tag: "devices", Content: children}, true
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
