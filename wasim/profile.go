package wasim

import (
	"bytes"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waVnameCert"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// Profiles: profile pictures of accounts and groups (w:profile:picture), and the
// usync queries of whatsmeow's GetUserInfo (status text, picture id, business).

// maxPictureSize bounds a profile picture; WhatsApp's are small JPEGs.
const maxPictureSize = 5 << 20

var errIQNotAcceptable = &iqError{406, "not-acceptable"}

func (s *Simulator) registerProfiles(r *routes) {
	r.iq("w:profile:picture", s.handleProfilePicture)
	r.usync["status"] = usyncStatus
	r.usync["picture"] = usyncPicture
	r.usync["business"] = usyncBusiness
}

// handleProfilePicture gets and sets profile pictures. get answers the picture's id,
// URL and direct path (served by the media endpoints), 404 when none is set
// (whatsmeow's ErrProfilePictureNotSet), 401 when the owner's privacy hides it.
// set takes a JPEG for the asker's own account (no target, or its own JID) or for a
// group it is a member of; no picture removes it.
func (s *Simulator) handleProfilePicture(c *conn, iq *waBinary.Node) ([]waBinary.Node, error) {
	dev := s.loggedInDevice(c)
	typ, _ := iq.Attrs["type"].(string)
	target, hasTarget := iq.Attrs["target"].(types.JID)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch typ {
	case "get":
		req, ok := iq.GetOptionalChildByTag("picture")
		if !ok || !hasTarget {
			return nil, errIQBadRequest
		}
		id, err := s.pictureForLocked(dev.acct, target.ToNonAD())
		if err != nil {
			return nil, err
		}
		if known, _ := req.Attrs["id"].(string); known != "" && known == id {
			return []waBinary.Node{{Tag: "picture", Attrs: waBinary.Attrs{"status": "304"}}}, nil
		}
		kind, _ := req.Attrs["type"].(string)
		if kind != "preview" {
			kind = "image"
		}
		// There are no thumbnails: a preview is the picture itself.
		url, path := s.media.pictureURLs(id, time.Now())
		return []waBinary.Node{{Tag: "picture", Attrs: waBinary.Attrs{
			"id": id, "type": kind, "url": url, "direct_path": path,
		}}}, nil
	case "set":
		var data []byte
		if pic, ok := iq.GetOptionalChildByTag("picture"); ok {
			raw, isBytes := bytesContent(pic)
			if !isBytes || !isJPEG(raw) || len(raw) > maxPictureSize {
				return nil, errIQNotAcceptable
			}
			data = bytes.Clone(raw)
		}
		var id string
		switch {
		case !hasTarget || (target.ToNonAD() == dev.acct.jid):
			id = s.setAccountPictureLocked(dev.acct, data)
		case target.Server == types.GroupServer:
			g := s.groups[target.User]
			if g == nil {
				return nil, errIQNotFound
			}
			if g.member(dev.acct) == nil {
				return nil, errIQForbidden
			}
			id = s.setGroupPictureLocked(g, dev.acct, data)
		default:
			return nil, errIQNotAuthorized
		}
		if id == "" {
			return nil, nil
		}
		return []waBinary.Node{{Tag: "picture", Attrs: waBinary.Attrs{"id": id}}}, nil
	}
	return nil, errIQBadRequest
}

// pictureForLocked returns the picture id of an account or group as the asker may
// see it.
func (s *Simulator) pictureForLocked(asker *Account, target types.JID) (string, error) {
	var id string
	switch target.Server {
	case types.GroupServer:
		g := s.groups[target.User]
		if g == nil {
			return "", errIQNotFound
		}
		id = g.picture
	case types.DefaultUserServer, types.HiddenUserServer, types.LegacyUserServer:
		a := s.accountByJIDLocked(target)
		if a == nil {
			return "", errIQNotFound
		}
		if a != asker && a.privacy["profile"] == "none" {
			return "", errIQNotAuthorized
		}
		id = a.picture
	default:
		return "", errIQBadRequest
	}
	if id == "" {
		return "", errIQNotFound
	}
	return id, nil
}

// setAccountPictureLocked replaces (or, with nil data, removes) an account's picture
// and returns the new id ("" when removed).
func (s *Simulator) setAccountPictureLocked(a *Account, data []byte) string {
	a.picture = s.replacePictureLocked(a.picture, data)
	return a.picture
}

// setGroupPictureLocked replaces a group's picture and tells the members
// (events.Picture).
func (s *Simulator) setGroupPictureLocked(g *group, actor *Account, data []byte) string {
	g.picture = s.replacePictureLocked(g.picture, data)
	change := waBinary.Node{Tag: "set", Attrs: waBinary.Attrs{"jid": g.jid, "id": g.picture, "author": actor.jid}}
	if g.picture == "" {
		change = waBinary.Node{Tag: "delete", Attrs: waBinary.Attrs{"jid": g.jid, "author": actor.jid}}
	}
	node := waBinary.Node{
		Tag:     "notification",
		Attrs:   waBinary.Attrs{"from": g.jid, "type": "picture", "id": s.nextID(), "t": time.Now().Unix()},
		Content: []waBinary.Node{change},
	}
	for _, m := range g.members {
		for _, d := range m.acct.devices {
			if err := s.deliverLocked(d, node); err != nil {
				s.log.Error("cannot queue picture notification", "group", g.jid, "device", d.jid, "err", err)
			}
		}
	}
	return g.picture
}

func (s *Simulator) replacePictureLocked(old string, data []byte) string {
	if old != "" {
		s.media.deletePicture(old)
	}
	if data == nil {
		return ""
	}
	id := newPictureID()
	s.media.putPicture(id, data)
	return id
}

// isJPEG checks the JPEG start-of-image marker; WhatsApp accepts only JPEG profile
// pictures (whatsmeow's ErrInvalidImageFormat otherwise).
func isJPEG(b []byte) bool {
	return len(b) > 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF
}

// usyncStatus answers the account's "about" text.
func usyncStatus(u usyncUser, _ waBinary.Node) (waBinary.Node, bool) {
	if u.acct == nil {
		return waBinary.Node{}, false
	}
	return waBinary.Node{Tag: "status", Content: []byte(u.acct.status)}, true
}

// usyncPicture answers the account's picture id (no id when none is set).
func usyncPicture(u usyncUser, _ waBinary.Node) (waBinary.Node, bool) {
	if u.acct == nil {
		return waBinary.Node{}, false
	}
	n := waBinary.Node{Tag: "picture"}
	if u.acct.picture != "" {
		n.Attrs = waBinary.Attrs{"id": u.acct.picture}
	}
	return n, true
}

// usyncBusiness answers that the account has no verified business name: business
// profiles are not simulated.
func usyncBusiness(u usyncUser, _ waBinary.Node) (waBinary.Node, bool) {
	if u.acct == nil {
		return waBinary.Node{}, false
	}
	if !u.acct.business {
		return waBinary.Node{Tag: "business"}, true
	}
	return waBinary.Node{Tag: "business", Content: []waBinary.Node{verifiedNameLocked(u.acct)}}, true
}

// verifiedNameLocked is a business account's verified name certificate, its name as the
// business's: what whatsmeow reads as UserInfo.VerifiedName. WhatsApp signs it; clients
// do not check the signature, so the simulator leaves it out.
func verifiedNameLocked(a *Account) waBinary.Node {
	details, _ := proto.Marshal(&waVnameCert.VerifiedNameCertificate_Details{
		Serial: proto.Uint64(uint64(a.advRawID)), Issuer: proto.String("smb:wa"), VerifiedName: proto.String(a.name),
	})
	cert, _ := proto.Marshal(&waVnameCert.VerifiedNameCertificate{Details: details})
	return waBinary.Node{Tag: "verified_name", Attrs: waBinary.Attrs{"v": "2"}, Content: cert}
}
