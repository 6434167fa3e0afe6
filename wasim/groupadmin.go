package wasim

import (
	"crypto/rand"
	"slices"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
)

// Group settings, invite links and join requests, as WhatsApp enforces them:
//   - announcement: only admins send messages (groupmsg.go refuses the others' with 403);
//   - locked: only admins change the subject, description and picture (401 for the others);
//   - member add mode: admin_add (the default here) lets only admins add people, all_member_add every member;
//   - invite links: only admins get or reset one (401); a reset revokes the old code, which then answers 410
//     (whatsmeow's ErrInviteLinkRevoked); a code that never existed answers 406 (ErrInviteLinkInvalid); anyone
//     may look at the group an invite is to;
//   - membership approval: who joins by link while it is on is not a member but a requester, until an admin
//     approves (the requester is added) or rejects the request; the admins are told of new requests
//     (<created_membership_requests>) and of rejected ones (<revoked_membership_requests>).

// gone is WhatsApp's answer for a revoked invite.
var errIQGone = &iqError{410, "gone"}

// inviteAlphabet are the characters of invite codes.
const inviteAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// joinRequest is someone who asked to join a group that needs approval.
type joinRequest struct {
	acct *Account
	at   time.Time
}

func newInviteCode() string {
	b := make([]byte, 22)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	for i := range b {
		b[i] = inviteAlphabet[int(b[i])%len(inviteAlphabet)]
	}
	return string(b)
}

// inviteLocked is the group's invite code, made on first use.
func (g *group) inviteLocked() string {
	if g.invite == "" {
		g.invite = newInviteCode()
	}
	return g.invite
}

// groupByInviteLocked finds the group of an invite code: 406 for a code that never was, 410 for a revoked one.
func (s *Simulator) groupByInviteLocked(code string) (*group, error) {
	for _, g := range s.groups {
		switch {
		case code == "":
		case g.invite == code:
			return g, nil
		case slices.Contains(g.revokedInvites, code):
			return nil, errIQGone
		}
	}
	return nil, errIQNotAcceptable
}

// handleInviteIQ answers the invite queries sent to g.us: get describes the group, set joins it.
func (s *Simulator) handleInviteIQ(actor *Account, typ string, op waBinary.Node) ([]waBinary.Node, error) {
	code, _ := op.Attrs["code"].(string)
	g, err := s.groupByInviteLocked(code)
	if err != nil {
		return nil, err
	}
	if typ == "get" {
		return []waBinary.Node{g.node()}, nil
	}
	switch {
	case g.member(actor) != nil:
		// Already in: WhatsApp answers with the group, as for a join.
	case g.approval:
		if !slices.ContainsFunc(g.requests, func(r joinRequest) bool { return r.acct == actor }) {
			g.requests = append(g.requests, joinRequest{acct: actor, at: time.Now()})
			// The admins are told, the requester named as a <requested_user>.
			asked := g.participant(actor)
			asked.Tag = "requested_user"
			s.notifyGroupLocked(g, actor, waBinary.Node{Tag: "created_membership_requests",
				Attrs: waBinary.Attrs{"request_method": "invite_link"}, Content: []waBinary.Node{asked}}, g.adminAccounts())
			s.log.Info("asked to join group", "group", g.jid, "phone", actor.phone)
		}
		return []waBinary.Node{{Tag: "membership_approval_request", Attrs: waBinary.Attrs{"jid": g.jid}}}, nil
	default:
		s.addMembersLocked(g, actor, []*Account{actor}, "invite")
		s.log.Info("joined group by invite", "group", g.jid, "phone", actor.phone)
	}
	return []waBinary.Node{{Tag: "group", Attrs: waBinary.Attrs{"jid": g.jid}}}, nil
}

// addMembersLocked makes accounts members, telling the members (add) and the new ones (create). reason is
// WhatsApp's reason for the add ("invite" for a join by link), "" for an admin's add.
func (s *Simulator) addMembersLocked(g *group, actor *Account, added []*Account, reason string) {
	notified := g.memberAccounts()
	for _, a := range added {
		g.members = append(g.members, &member{acct: a})
	}
	change := g.participantsNode("add", added)
	if reason != "" {
		change.Attrs = waBinary.Attrs{"reason": reason}
	}
	s.notifyGroupLocked(g, actor, change, notified)
	s.notifyGroupLocked(g, actor, waBinary.Node{Tag: "create", Content: []waBinary.Node{g.node()}}, added)
}

// handleGroupAdminIQ answers what only a group's admins may ask: settings, invite links and join requests.
// It reports false for a request that is none of these.
func (s *Simulator) handleGroupAdminIQ(g *group, m *member, typ string, op waBinary.Node) ([]waBinary.Node, bool, error) {
	setting := map[string]func(){
		"announcement":     func() { g.announce = true },
		"not_announcement": func() { g.announce = false },
		"locked":           func() { g.locked = true },
		"unlocked":         func() { g.locked = false },
	}
	change, isSetting := setting[op.Tag]
	isAdminOp := isSetting || op.Tag == "invite" || op.Tag == "membership_approval_mode" || op.Tag == "member_add_mode" ||
		op.Tag == "membership_approval_requests" || op.Tag == "membership_requests_action"
	if !isAdminOp {
		return nil, false, nil
	}
	if !m.admin {
		return nil, true, errIQNotAuthorized
	}
	switch {
	case isSetting && typ == "set":
		change()
		attrs := waBinary.Attrs{}
		if op.Tag == "announcement" || op.Tag == "not_announcement" {
			attrs["v_id"] = s.nextID() // whatsmeow requires it
		}
		s.notifyGroupLocked(g, m.acct, waBinary.Node{Tag: op.Tag, Attrs: attrs}, g.memberAccounts())
		return nil, true, nil
	case op.Tag == "invite" && typ == "get":
		return []waBinary.Node{{Tag: "invite", Attrs: waBinary.Attrs{"code": g.inviteLocked()}}}, true, nil
	case op.Tag == "invite" && typ == "set":
		if g.invite != "" {
			g.revokedInvites = append(g.revokedInvites, g.invite)
		}
		g.invite = newInviteCode()
		s.notifyGroupLocked(g, m.acct, waBinary.Node{Tag: "invite", Attrs: waBinary.Attrs{"code": g.invite}}, g.memberAccounts())
		return []waBinary.Node{{Tag: "invite", Attrs: waBinary.Attrs{"code": g.invite}}}, true, nil
	case op.Tag == "membership_approval_mode" && typ == "set":
		join, ok := op.GetOptionalChildByTag("group_join")
		state, _ := join.Attrs["state"].(string)
		if !ok || (state != "on" && state != "off") {
			return nil, true, errIQBadRequest
		}
		g.approval = state == "on"
		s.notifyGroupLocked(g, m.acct, waBinary.Node{Tag: "membership_approval_mode",
			Content: []waBinary.Node{{Tag: "group_join", Attrs: waBinary.Attrs{"state": state}}}}, g.memberAccounts())
		return nil, true, nil
	case op.Tag == "member_add_mode" && typ == "set":
		mode, _ := bytesContent(op)
		if string(mode) != memberAddAdmin && string(mode) != memberAddAll {
			return nil, true, errIQBadRequest
		}
		g.allMemberAdd = string(mode) == memberAddAll
		s.notifyGroupLocked(g, m.acct, g.memberAddNode(), g.memberAccounts())
		return nil, true, nil
	case op.Tag == "membership_approval_requests" && typ == "get":
		list := make([]waBinary.Node, len(g.requests))
		for i, r := range g.requests {
			list[i] = waBinary.Node{Tag: "membership_approval_request",
				Attrs: waBinary.Attrs{"jid": g.userJID(r.acct), "request_time": r.at.Unix()}}
		}
		return []waBinary.Node{{Tag: "membership_approval_requests", Content: list}}, true, nil
	case op.Tag == "membership_requests_action" && typ == "set":
		answer, err := s.answerJoinRequestsLocked(g, m.acct, op)
		return answer, true, err
	}
	return nil, true, errIQBadRequest
}

// answerJoinRequestsLocked approves (adds) or rejects requesters, answering per participant: 404 for someone
// who made no request.
func (s *Simulator) answerJoinRequestsLocked(g *group, actor *Account, op waBinary.Node) ([]waBinary.Node, error) {
	children := op.GetChildren()
	if len(children) != 1 || (children[0].Tag != "approve" && children[0].Tag != "reject") {
		return nil, errIQBadRequest
	}
	action := children[0]
	var results []waBinary.Node
	var approved, rejected []*Account
	for _, p := range action.GetChildren() {
		jid, ok := p.Attrs["jid"].(types.JID)
		if p.Tag != "participant" || !ok {
			return nil, errIQBadRequest
		}
		a := s.accountByJIDLocked(jid.ToNonAD())
		i := slices.IndexFunc(g.requests, func(r joinRequest) bool { return r.acct == a })
		if a == nil || i < 0 {
			results = append(results, participantResult(jid, 404))
			continue
		}
		g.requests = slices.Delete(g.requests, i, i+1)
		switch {
		case action.Tag == "reject":
			rejected = append(rejected, a)
		case g.member(a) == nil:
			approved = append(approved, a)
		}
		results = append(results, participantResult(jid, 0))
	}
	if len(approved) > 0 {
		s.addMembersLocked(g, actor, approved, "")
	}
	if len(rejected) > 0 {
		revoked := g.participantsNode("revoked_membership_requests", rejected)
		s.notifyGroupLocked(g, actor, revoked, g.adminAccounts())
	}
	s.log.Info("join requests answered", "group", g.jid, "action", action.Tag, "by", actor.phone, "count", len(results))
	return []waBinary.Node{{Tag: "membership_requests_action",
		Content: []waBinary.Node{{Tag: action.Tag, Content: results}}}}, nil
}

// adminAccounts are the group's admins.
func (g *group) adminAccounts() []*Account {
	var out []*Account
	for _, m := range g.members {
		if m.admin {
			out = append(out, m.acct)
		}
	}
	return out
}

// settingsNodes are the <group> element's children that tell its settings.
func (g *group) settingsNodes() []waBinary.Node {
	var out []waBinary.Node
	if g.announce {
		out = append(out, waBinary.Node{Tag: "announcement"})
	}
	if g.locked {
		out = append(out, waBinary.Node{Tag: "locked"})
	}
	out = append(out, g.memberAddNode())
	if g.approval {
		out = append(out, waBinary.Node{Tag: "membership_approval_mode",
			Content: []waBinary.Node{{Tag: "group_join", Attrs: waBinary.Attrs{"state": "on"}}}})
	}
	return out
}

// The member add modes.
const (
	memberAddAdmin = "admin_add"
	memberAddAll   = "all_member_add"
)

// memberAddNode tells who may add people, in group info and in the notification of its change.
func (g *group) memberAddNode() waBinary.Node {
	mode := memberAddAdmin
	if g.allMemberAdd {
		mode = memberAddAll
	}
	return waBinary.Node{Tag: "member_add_mode", Content: []byte(mode)}
}

// mayChangeParticipants: admins add, remove, promote and demote; members only add, and only when the group lets
// every member add people.
func (g *group) mayChangeParticipants(m *member, action string) bool {
	return m.admin || (action == "add" && g.allMemberAdd)
}

// mayEditInfo: in a locked group only admins change the subject, description and picture.
func (g *group) mayEditInfo(m *member) bool { return !g.locked || m.admin }

// maySend: in an announcement group only admins send messages.
func (g *group) maySend(m *member) bool { return !g.announce || m.admin }
