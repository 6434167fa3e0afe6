package wasim

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// Groups: the w:g2 namespace (create, info, list, participants, subject,
// description, leave) and the w:gp2 notifications that tell members' devices what
// changed. Membership is per account: every linked device of a member takes part.
// Group messages, receipts and chat states are routed in groupmsg.go.

const (
	// maxSubjectLength and maxDescriptionLength are WhatsApp's limits, in characters.
	maxSubjectLength     = 100
	maxDescriptionLength = 2048
	// groupIDPrefix starts the ids of groups created today on WhatsApp (18 digits).
	groupIDPrefix = "120363"
)

var errIQConflict = &iqError{409, "conflict"}

// group is a group chat. Guarded by Simulator.mu.
type group struct {
	jid       types.JID
	subject   string
	subjectAt time.Time
	subjectBy *Account
	creator   *Account
	created   time.Time
	topic     string // the description
	topicID   string
	topicAt   time.Time
	topicBy   *Account
	members   []*member // in the order they joined
	picture   string    // profile picture id, "" when not set
	// addressing is how the group names its members in every stanza about it: by
	// phone number (pn), or by LID (lid) with the phone number beside it.
	addressing types.AddressingMode
	// announce, locked, approval and allMemberAdd are the settings (groupadmin.go): only admins send, only
	// admins edit the group's info, joining by link needs an admin's approval, every member may add people.
	announce, locked, approval, allMemberAdd bool
	// invite is the current invite code ("" until an admin asks for it); revokedInvites the codes reset before.
	invite         string
	revokedInvites []string
	// requests are the people waiting for approval to join, oldest first.
	requests []joinRequest
}

// userJID names an account as the group's stanzas do.
func (g *group) userJID(a *Account) types.JID {
	if g.addressing == types.AddressingModeLID {
		return a.lid
	}
	return a.jid
}

// deviceJID names a member's device as the group's stanzas do.
func (g *group) deviceJID(d *device) types.JID {
	if g.addressing == types.AddressingModeLID {
		return d.lid
	}
	return d.jid
}

// setPerson names an account under key, with its other identity beside it in the
// attribute clients read for it: key_pn in a LID-addressed group, key_lid otherwise.
func (g *group) setPerson(attrs waBinary.Attrs, key string, a *Account, jid types.JID) {
	attrs[key] = jid
	if g.addressing == types.AddressingModeLID {
		attrs[key+"_pn"] = a.jid
	} else {
		attrs[key+"_lid"] = a.lid
	}
}

// participant is a <participant> element naming a member: by phone number with its
// LID, or in a LID-addressed group by LID with its phone number.
func (g *group) participant(a *Account) waBinary.Node {
	if g.addressing == types.AddressingModeLID {
		return waBinary.Node{Tag: "participant", Attrs: waBinary.Attrs{"jid": a.lid, "phone_number": a.jid}}
	}
	return waBinary.Node{Tag: "participant", Attrs: waBinary.Attrs{"jid": a.jid, "lid": a.lid}}
}

type member struct {
	acct       *Account
	admin      bool
	superAdmin bool
}

func (g *group) member(a *Account) *member {
	for _, m := range g.members {
		if m.acct == a {
			return m
		}
	}
	return nil
}

func (g *group) removeMember(a *Account) {
	g.members = slices.DeleteFunc(g.members, func(m *member) bool { return m.acct == a })
}

func (g *group) memberAccounts() []*Account {
	out := make([]*Account, len(g.members))
	for i, m := range g.members {
		out[i] = m.acct
	}
	return out
}

// deviceJIDsLocked lists every device of every member, named in the group's
// addressing mode: the list a sender encrypts the sender key for, and whose hash is
// the message ack's phash.
func (g *group) deviceJIDsLocked() []types.JID {
	var out []types.JID
	server := types.DefaultUserServer
	if g.addressing == types.AddressingModeLID {
		server = types.HiddenUserServer
	}
	for _, m := range g.members {
		out = append(out, m.acct.deviceJIDsLocked(server)...)
	}
	return out
}

// node is the <group> element of info queries, group lists and create
// notifications, as whatsmeow's parseGroupNode reads it, naming people in the group's
// addressing mode.
func (g *group) node() waBinary.Node {
	children := make([]waBinary.Node, 0, len(g.members)+1)
	for _, m := range g.members {
		p := g.participant(m.acct)
		switch {
		case m.superAdmin:
			p.Attrs["type"] = "superadmin"
		case m.admin:
			p.Attrs["type"] = "admin"
		}
		children = append(children, p)
	}
	children = append(children, g.settingsNodes()...)
	if g.topic != "" {
		attrs := waBinary.Attrs{"id": g.topicID, "t": g.topicAt.Unix()}
		g.setPerson(attrs, "participant", g.topicBy, g.userJID(g.topicBy))
		children = append(children, waBinary.Node{
			Tag:     "description",
			Attrs:   attrs,
			Content: []waBinary.Node{{Tag: "body", Content: []byte(g.topic)}},
		})
	}
	attrs := waBinary.Attrs{
		"id":              g.jid.User,
		"subject":         g.subject,
		"s_t":             g.subjectAt.Unix(),
		"creation":        g.created.Unix(),
		"size":            len(g.members),
		"addressing_mode": string(g.addressing),
	}
	g.setPerson(attrs, "creator", g.creator, g.userJID(g.creator))
	g.setPerson(attrs, "s_o", g.subjectBy, g.userJID(g.subjectBy))
	return waBinary.Node{Tag: "group", Attrs: attrs, Content: children}
}

func (s *Simulator) registerGroups(r *routes) {
	r.iq("w:g2", s.handleGroupIQ)
	r.messages[types.GroupServer] = s.routeGroup
	r.receipts[types.GroupServer] = s.relayGroupReceipt
	r.chatstates[types.GroupServer] = s.relayGroupChatState
}

// handleGroupIQ answers the w:g2 namespace. Requests about no group in particular
// (create, participating, leave) go to g.us; the others to the group's JID.
// Unknown groups are 404 (whatsmeow's ErrGroupNotFound), groups the asker is not in
// 403 (ErrNotInGroup), changes that need an admin 401.
func (s *Simulator) handleGroupIQ(c *conn, iq *waBinary.Node) ([]waBinary.Node, error) {
	dev := s.loggedInDevice(c)
	to, _ := iq.Attrs["to"].(types.JID)
	typ, _ := iq.Attrs["type"].(string)
	children := iq.GetChildren()
	if dev == nil || to.Server != types.GroupServer || len(children) != 1 {
		return nil, errIQBadRequest
	}
	op := children[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	actor := dev.acct
	if to.User == "" {
		switch {
		case typ == "set" && op.Tag == "create":
			return s.createGroupLocked(actor, op)
		case typ == "get" && op.Tag == "participating":
			return s.participatingLocked(actor), nil
		case typ == "set" && op.Tag == "leave":
			return nil, s.leaveGroupsLocked(actor, op)
		case op.Tag == "invite":
			return s.handleInviteIQ(actor, typ, op)
		}
		return nil, errIQNotImplemented
	}
	g := s.groups[to.User]
	if g == nil {
		return nil, errIQNotFound
	}
	m := g.member(actor)
	if m == nil {
		return nil, errIQForbidden
	}
	if answer, ok, err := s.handleGroupAdminIQ(g, m, typ, op); ok {
		return answer, err
	}
	if (op.Tag == "subject" || op.Tag == "description") && !g.mayEditInfo(m) {
		return nil, errIQNotAuthorized
	}
	switch {
	case typ == "get" && op.Tag == "query":
		return []waBinary.Node{g.node()}, nil
	case typ == "set" && isParticipantAction(op.Tag):
		if !g.mayChangeParticipants(m, op.Tag) {
			return nil, errIQNotAuthorized
		}
		return s.changeParticipantsLocked(g, m, op)
	case typ == "set" && op.Tag == "subject":
		return nil, s.setSubjectLocked(g, actor, op)
	case typ == "set" && op.Tag == "description":
		return nil, s.setDescriptionLocked(g, actor, op)
	}
	return nil, errIQNotImplemented
}

func isParticipantAction(tag string) bool {
	return tag == "add" || tag == "remove" || tag == "promote" || tag == "demote"
}

// newGroupJIDLocked picks an unused group JID of 18 digits, like WhatsApp's.
func (s *Simulator) newGroupJIDLocked() types.JID {
	limit := big.NewInt(1e12)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			// crypto/rand does not fail on supported platforms; fall back to the clock.
			n = big.NewInt(time.Now().UnixNano() % 1e12)
		}
		id := fmt.Sprintf("%s%012d", groupIDPrefix, n)
		if _, taken := s.groups[id]; !taken {
			return types.NewJID(id, types.GroupServer)
		}
	}
}

// createGroupLocked creates a group with the actor as its super admin and the
// participants that are on WhatsApp; numbers that are not are reported with error
// 404 in the answer and left out. Every member device learns of the group through a
// <create> notification (events.JoinedGroup), the creator's included, with the
// create key the creator chose.
func (s *Simulator) createGroupLocked(actor *Account, op waBinary.Node) ([]waBinary.Node, error) {
	subject, _ := op.Attrs["subject"].(string)
	key, _ := op.Attrs["key"].(string)
	if !validText(subject, maxSubjectLength) || subject == "" {
		return nil, errIQBadRequest
	}
	now := time.Now()
	g := &group{
		jid:        s.newGroupJIDLocked(),
		subject:    subject,
		subjectAt:  now,
		subjectBy:  actor,
		creator:    actor,
		created:    now,
		members:    []*member{{acct: actor, admin: true, superAdmin: true}},
		addressing: types.AddressingModePN,
	}
	if actor.lidChats {
		// An account that moved its chats to LIDs creates LID-addressed groups.
		g.addressing = types.AddressingModeLID
	}
	var rejected []waBinary.Node
	for _, p := range op.GetChildren() {
		jid, ok := p.Attrs["jid"].(types.JID)
		if p.Tag != "participant" || !ok {
			continue
		}
		a := s.accountByJIDLocked(jid.ToNonAD())
		switch {
		case a == nil:
			rejected = append(rejected, participantResult(jid.ToNonAD(), 404))
		case g.member(a) == nil:
			g.members = append(g.members, &member{acct: a})
		}
	}
	s.groups[g.jid.User] = g
	create := waBinary.Node{Tag: "create", Attrs: waBinary.Attrs{"type": "new"}, Content: []waBinary.Node{g.node()}}
	if key != "" {
		create.Attrs["key"] = key
	}
	s.notifyGroupLocked(g, actor, create, g.memberAccounts())
	s.log.Info("group created", "group", g.jid, "creator", actor.phone, "members", len(g.members))
	answer := g.node()
	answer.Content = append(answer.GetChildren(), rejected...)
	return []waBinary.Node{answer}, nil
}

func participantResult(jid types.JID, code int) waBinary.Node {
	n := waBinary.Node{Tag: "participant", Attrs: waBinary.Attrs{"jid": jid}}
	if code != 0 {
		n.Attrs["error"] = code
	}
	return n
}

// participatingLocked lists the groups the account is a member of, oldest first.
func (s *Simulator) participatingLocked(a *Account) []waBinary.Node {
	var mine []*group
	for _, g := range s.groups {
		if g.member(a) != nil {
			mine = append(mine, g)
		}
	}
	slices.SortFunc(mine, func(x, y *group) int {
		if c := x.created.Compare(y.created); c != 0 {
			return c
		}
		return strings.Compare(x.jid.User, y.jid.User)
	})
	list := make([]waBinary.Node, len(mine))
	for i, g := range mine {
		list[i] = g.node()
	}
	return []waBinary.Node{{Tag: "groups", Content: list}}
}

// leaveGroupsLocked removes the actor from the groups listed in <leave>. The
// remaining members and the leaver's own devices get a <remove> notification; a
// group left without an admin gets its oldest member promoted, as on WhatsApp.
func (s *Simulator) leaveGroupsLocked(actor *Account, op waBinary.Node) error {
	var groups []*group
	for _, child := range op.GetChildren() {
		jid, ok := child.Attrs["id"].(types.JID)
		if child.Tag != "group" || !ok || jid.Server != types.GroupServer {
			return errIQBadRequest
		}
		g := s.groups[jid.User]
		if g == nil {
			return errIQNotFound
		}
		if g.member(actor) == nil {
			return errIQForbidden
		}
		groups = append(groups, g)
	}
	if len(groups) == 0 {
		return errIQBadRequest
	}
	for _, g := range groups {
		notified := g.memberAccounts()
		g.removeMember(actor)
		s.notifyGroupLocked(g, actor, g.participantsNode("remove", []*Account{actor}), notified)
		s.ensureAdminLocked(g, actor)
		s.log.Info("left group", "group", g.jid, "phone", actor.phone)
	}
	return nil
}

// ensureAdminLocked promotes the oldest member of a group that has none left.
func (s *Simulator) ensureAdminLocked(g *group, actor *Account) {
	if len(g.members) == 0 || slices.ContainsFunc(g.members, func(m *member) bool { return m.admin }) {
		return
	}
	g.members[0].admin = true
	s.notifyGroupLocked(g, actor, g.participantsNode("promote", []*Account{g.members[0].acct}), g.memberAccounts())
}

// participantsNode is a participant change (add, remove, promote, demote) naming the
// accounts it touched.
func (g *group) participantsNode(tag string, accounts []*Account) waBinary.Node {
	children := make([]waBinary.Node, len(accounts))
	for i, a := range accounts {
		children[i] = g.participant(a)
	}
	return waBinary.Node{Tag: tag, Content: children}
}

// changeParticipantsLocked adds, removes, promotes or demotes members, answering
// per participant as WhatsApp does: 404 for a number that is not on WhatsApp or not
// in the group, 409 for adding a member, 406 for touching the super admin without
// being it. Existing members learn of the change through a notification
// (events.GroupInfo); added accounts get a <create> notification
// (events.JoinedGroup); removed ones get the <remove> too.
func (s *Simulator) changeParticipantsLocked(g *group, actor *member, op waBinary.Node) ([]waBinary.Node, error) {
	action := op.Tag
	var results []waBinary.Node
	var touched []*Account
	for _, p := range op.GetChildren() {
		jid, ok := p.Attrs["jid"].(types.JID)
		if p.Tag != "participant" || !ok {
			return nil, errIQBadRequest
		}
		jid = jid.ToNonAD()
		a := s.accountByJIDLocked(jid)
		var target *member
		if a != nil {
			target = g.member(a)
		}
		code := 0
		switch {
		case a == nil:
			code = 404
		case action == "add" && target != nil:
			code = 409
		case action != "add" && target == nil:
			code = 404
		case (action == "remove" || action == "demote") && target.superAdmin && !actor.superAdmin:
			code = 406
		}
		if code == 0 {
			switch action {
			case "add":
				g.members = append(g.members, &member{acct: a})
			case "remove":
				g.removeMember(a)
			case "promote":
				target.admin = true
			case "demote":
				target.admin, target.superAdmin = false, false
			}
			touched = append(touched, a)
		}
		results = append(results, participantResult(jid, code))
	}
	if len(touched) > 0 {
		notified := g.memberAccounts()
		if action == "add" {
			notified = slices.DeleteFunc(notified, func(a *Account) bool { return slices.Contains(touched, a) })
		}
		if action == "remove" {
			notified = append(notified, touched...)
		}
		s.notifyGroupLocked(g, actor.acct, g.participantsNode(action, touched), notified)
		if action == "add" {
			create := waBinary.Node{Tag: "create", Content: []waBinary.Node{g.node()}}
			s.notifyGroupLocked(g, actor.acct, create, touched)
		}
		if action == "remove" || action == "demote" {
			s.ensureAdminLocked(g, actor.acct)
		}
		s.log.Info("group participants changed", "group", g.jid, "action", action, "by", actor.acct.phone, "count", len(touched))
	}
	return []waBinary.Node{{Tag: action, Content: results}}, nil
}

func (s *Simulator) setSubjectLocked(g *group, actor *Account, op waBinary.Node) error {
	raw, ok := bytesContent(op)
	subject := string(raw)
	if !ok || subject == "" || !validText(subject, maxSubjectLength) {
		return errIQBadRequest
	}
	g.subject, g.subjectAt, g.subjectBy = subject, time.Now(), actor
	change := waBinary.Attrs{"subject": subject, "s_t": g.subjectAt.Unix()}
	g.setPerson(change, "s_o", actor, g.userJID(actor))
	s.notifyGroupLocked(g, actor, waBinary.Node{Tag: "subject", Attrs: change}, g.memberAccounts())
	return nil
}

// setDescriptionLocked sets or deletes the group description. A request that names
// the description it replaces (prev, as whatsmeow's SetGroupTopic sends) conflicts
// (409) when another change came first.
func (s *Simulator) setDescriptionLocked(g *group, actor *Account, op waBinary.Node) error {
	id, _ := op.Attrs["id"].(string)
	prev, hasPrev := op.Attrs["prev"].(string)
	del, _ := op.Attrs["delete"].(string)
	if hasPrev && prev != g.topicID {
		return errIQConflict
	}
	var topic string
	if del != "true" {
		body, ok := op.GetOptionalChildByTag("body")
		raw, isBytes := bytesContent(body)
		if !ok || !isBytes || !validText(string(raw), maxDescriptionLength) {
			return errIQBadRequest
		}
		topic = string(raw)
	}
	if id == "" {
		id = s.nextID()
	}
	g.topic, g.topicID, g.topicAt, g.topicBy = topic, id, time.Now(), actor
	change := waBinary.Node{Tag: "description", Attrs: waBinary.Attrs{"id": id}}
	if topic == "" {
		change.Content = []waBinary.Node{{Tag: "delete"}}
	} else {
		change.Content = []waBinary.Node{{Tag: "body", Content: []byte(topic)}}
	}
	s.notifyGroupLocked(g, actor, change, g.memberAccounts())
	return nil
}

func validText(s string, maxChars int) bool {
	return utf8.ValidString(s) && utf8.RuneCountInString(s) <= maxChars
}

// notifyGroupLocked queues a w:gp2 notification about a change the actor made for
// every device of the given accounts (whatsmeow emits events.GroupInfo, or
// events.JoinedGroup for a <create>). The actor's own devices are told too, as
// WhatsApp tells every device of every participant.
func (s *Simulator) notifyGroupLocked(g *group, actor *Account, change waBinary.Node, accounts []*Account) {
	attrs := waBinary.Attrs{
		"from": g.jid,
		"type": "w:gp2",
		"id":   s.nextID(),
		"t":    time.Now().Unix(),
	}
	g.setPerson(attrs, "participant", actor, g.userJID(actor))
	if actor.name != "" {
		attrs["notify"] = actor.name
	}
	node := waBinary.Node{Tag: "notification", Attrs: attrs, Content: []waBinary.Node{change}}
	seen := make(map[*Account]bool, len(accounts))
	for _, a := range accounts {
		if seen[a] {
			continue
		}
		seen[a] = true
		for _, d := range a.devices {
			if err := s.deliverLocked(d, node); err != nil {
				s.log.Error("cannot queue group notification", "group", g.jid, "device", d.jid, "err", err)
			} else if d.jid.Device == 0 && a.engine != nil {
				a.engine.groupNoticeQueued()
			}
		}
	}
}
