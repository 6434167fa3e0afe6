package whatsapp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/media"
	"github.com/plugzapi/plugzapi/recipient"
)

// account.Groups, answered by asking WhatsApp (the w:g2 namespace) through whatsmeow.

// groupError is accountError for the group (w:g2) namespace, where WhatsApp answers 403 to an account that is not
// a participant, 401 to one that is not an admin, and another 4xx to a request it refuses as made (409 a
// conflicting change, 406 a name too long…); whatsmeow names some of these answers itself.
func groupError(doing string, err error) error {
	var known error
	var iq *whatsmeow.IQError
	switch {
	case errors.Is(err, whatsmeow.ErrInvalidImageFormat):
		known = account.ErrBadPicture
	case errors.Is(err, whatsmeow.ErrGroupNotFound), errors.Is(err, whatsmeow.ErrInviteLinkInvalid),
		errors.Is(err, whatsmeow.ErrInviteLinkRevoked):
		known = account.ErrNotFound
	case errors.Is(err, whatsmeow.ErrNotInGroup), errors.Is(err, whatsmeow.ErrIQForbidden):
		known = account.ErrNotParticipant
	case errors.Is(err, whatsmeow.ErrGroupInviteLinkUnauthorized), errors.Is(err, whatsmeow.ErrIQNotAuthorized):
		known = account.ErrNotAdmin
	case errors.As(err, &iq) && iq.Code >= 400 && iq.Code < 500 && iq.Code != 404:
		known = account.ErrRefused
	default:
		return accountError(doing, err)
	}
	return fmt.Errorf("%s: %w (%v)", doing, known, err)
}

// groupJID is the JID of a group named by its API ID.
func groupJID(group string) (types.JID, error) {
	jid, err := recipientJID(group)
	if err != nil {
		return types.EmptyJID, err
	}
	if jid.Server != types.GroupServer {
		return types.EmptyJID, fmt.Errorf("%w: %q is not a group", recipient.ErrInvalid, group)
	}
	return jid, nil
}

// people are the JIDs of the people phones names, and the phone each JID was asked for by. Phone numbers are
// looked up; those not on WhatsApp are returned apart.
func (c *Conn) people(ctx context.Context, phones []string) (jids []types.JID, asked map[types.JID]string, missing []string, err error) {
	asked = make(map[types.JID]string, len(phones))
	for _, p := range phones {
		jid, err := c.recipient(ctx, p)
		switch {
		case errors.Is(err, ErrNotOnWhatsApp):
			missing = append(missing, p)
			continue
		case err != nil:
			return nil, nil, nil, err
		case jid.Server != types.DefaultUserServer && jid.Server != types.HiddenUserServer:
			return nil, nil, nil, fmt.Errorf("%w: %q is not a person", recipient.ErrInvalid, p)
		}
		if _, dup := asked[jid]; !dup {
			jids = append(jids, jid)
			asked[jid] = p
		}
	}
	return jids, asked, missing, nil
}

func notOnWhatsApp(phones []string) error {
	return &account.NotOnWhatsAppError{Phones: phones}
}

// CreateGroup creates a group with the people of phones who are on WhatsApp.
func (c *Conn) CreateGroup(ctx context.Context, name string, phones []string) (account.CreatedGroup, error) {
	jids, asked, missing, err := c.people(ctx, phones)
	if err != nil {
		return account.CreatedGroup{}, groupError("create group", err)
	}
	if len(jids) == 0 {
		// WhatsApp needs someone besides the creator.
		return account.CreatedGroup{}, fmt.Errorf("create group: %w", notOnWhatsApp(missing))
	}
	info, err := c.cli.CreateGroup(ctx, whatsmeow.ReqCreateGroup{Name: name, Participants: jids})
	if err != nil {
		return account.CreatedGroup{}, groupError("create group", err)
	}
	c.noteSubject(info.JID, info.Name)
	out := account.CreatedGroup{ID: phoneOf(info.JID), NotAdded: missing}
	for _, p := range info.Participants {
		if p.Error != 0 {
			out.NotAdded = append(out.NotAdded, askedAs(asked, p))
		}
	}
	if out.InvitationLink, err = c.cli.GetGroupInviteLink(ctx, info.JID, false); err != nil {
		return out, groupError("get the new group's invite link", err)
	}
	return out, nil
}

// inGroupAddressing names people as the group names its members: a LID-addressed group by LID, as WhatsApp's own
// clients do (whatsmeow adds the phone number beside a LID it adds). A person whose LID is not known yet keeps
// the phone number. asked learns the new names.
func (c *Conn) inGroupAddressing(ctx context.Context, group types.JID, jids []types.JID, asked map[types.JID]string) ([]types.JID, error) {
	info, err := c.cli.GetGroupInfo(ctx, group)
	if err != nil || info.AddressingMode != types.AddressingModeLID {
		return jids, err
	}
	out := make([]types.JID, len(jids))
	for i, jid := range jids {
		out[i] = jid
		if jid.Server != types.DefaultUserServer {
			continue
		}
		if lid, err := c.cli.Store.LIDs.GetLIDForPN(ctx, jid); err == nil && !lid.IsEmpty() {
			out[i] = lid
			asked[lid] = asked[jid]
		}
	}
	return out, nil
}

// askedAs names a participant of WhatsApp's answer as the request named it.
func askedAs(asked map[types.JID]string, p types.GroupParticipant) string {
	for _, jid := range []types.JID{p.JID, p.PhoneNumber, p.LID} {
		if phone, ok := asked[jid.ToNonAD()]; ok {
			return phone
		}
	}
	return phoneOf(p.JID.ToNonAD())
}

// RenameGroup sets a group's subject.
func (c *Conn) RenameGroup(ctx context.Context, group, name string) error {
	jid, err := groupJID(group)
	if err == nil {
		err = c.cli.SetGroupName(ctx, jid, name)
	}
	if err == nil {
		c.noteSubject(jid, name)
	}
	return groupError("rename group", err)
}

// SetGroupPicture fetches the picture when given by URL and sets it as the group's, made square.
func (c *Conn) SetGroupPicture(ctx context.Context, group string, picture account.Image) error {
	jid, err := groupJID(group)
	if err != nil {
		return groupError("set group picture", err)
	}
	data, err := c.imageData(ctx, picture)
	if err != nil {
		return fmt.Errorf("set group picture: %w", err)
	}
	jpeg, err := media.SquareJPEG(data, pictureSide)
	if err != nil {
		return fmt.Errorf("set group picture: %w: %w", account.ErrBadPicture, err)
	}
	_, err = c.cli.SetGroupPhoto(ctx, jid, jpeg)
	return groupError("set group picture", err)
}

// SetGroupDescription sets or deletes a group's description.
func (c *Conn) SetGroupDescription(ctx context.Context, group, description string) error {
	jid, err := groupJID(group)
	if err == nil {
		err = c.cli.SetGroupTopic(ctx, jid, "", "", description)
	}
	return groupError("set group description", err)
}

// SetGroupSettings changes the settings s sets, one request each, as WhatsApp takes them.
func (c *Conn) SetGroupSettings(ctx context.Context, group string, s account.GroupSettings) error {
	jid, err := groupJID(group)
	if err != nil {
		return groupError("set group settings", err)
	}
	changes := []struct {
		value *bool
		set   func(context.Context, types.JID, bool) error
	}{
		{s.AdminOnlyMessage, c.cli.SetGroupAnnounce},
		{s.AdminOnlySettings, c.cli.SetGroupLocked},
		{s.RequireAdminApproval, c.cli.SetGroupJoinApprovalMode},
		{s.AdminOnlyAddMember, func(ctx context.Context, jid types.JID, adminOnly bool) error {
			mode := types.GroupMemberAddModeAllMember
			if adminOnly {
				mode = types.GroupMemberAddModeAdmin
			}
			return c.cli.SetGroupMemberAddMode(ctx, jid, mode)
		}},
	}
	for _, ch := range changes {
		if ch.value == nil {
			continue
		}
		if err := ch.set(ctx, jid, *ch.value); err != nil {
			return groupError("set group settings", err)
		}
	}
	return nil
}

// ChangeParticipants adds, removes, promotes or demotes people, all or (when one is not on WhatsApp) none.
func (c *Conn) ChangeParticipants(ctx context.Context, group string, change account.ParticipantChange, phones []string) error {
	doing := string(change) + " participants"
	jid, err := groupJID(group)
	if err != nil {
		return groupError(doing, err)
	}
	jids, asked, missing, err := c.people(ctx, phones)
	if err != nil {
		return groupError(doing, err)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: %w", doing, notOnWhatsApp(missing))
	}
	if jids, err = c.inGroupAddressing(ctx, jid, jids, asked); err != nil {
		return groupError(doing, err)
	}
	results, err := c.cli.UpdateGroupParticipants(ctx, jid, jids, whatsmeow.ParticipantChange(change))
	if err != nil {
		return groupError(doing, err)
	}
	var refused []string
	for _, p := range results {
		if p.Error == 0 || (change == account.AddParticipants && p.Error == 409) {
			continue // 409: already a member, which is what was asked
		}
		refused = append(refused, fmt.Sprintf("%s (%s)", askedAs(asked, p), participantRefusal(p.Error)))
	}
	if len(refused) > 0 {
		return fmt.Errorf("%s: %w for %s", doing, account.ErrRefused, strings.Join(refused, ", "))
	}
	return nil
}

// participantRefusal says what WhatsApp's per-participant error codes mean.
func participantRefusal(code int) string {
	switch code {
	case 403:
		return "their privacy settings allow only their contacts to add them; send them the invite link"
	case 404:
		return "not a participant of the group"
	case 406:
		return "the group's creator can only be changed by the creator"
	case 408:
		return "they left the group recently"
	case 409:
		return "already a participant"
	}
	return fmt.Sprintf("error %d", code)
}

// LeaveGroup makes the account leave a group.
func (c *Conn) LeaveGroup(ctx context.Context, group string) error {
	jid, err := groupJID(group)
	if err == nil {
		err = c.cli.LeaveGroup(ctx, jid)
	}
	return groupError("leave group", err)
}

// Group describes a group; withLink asks for its invite link too, which only admins may see (Z-API leaves it
// empty for others).
func (c *Conn) Group(ctx context.Context, group string, withLink bool) (account.Group, error) {
	jid, err := groupJID(group)
	if err != nil {
		return account.Group{}, groupError("get group", err)
	}
	info, err := c.cli.GetGroupInfo(ctx, jid)
	if err != nil {
		return account.Group{}, groupError("get group", err)
	}
	g := c.describeGroup(info)
	if withLink {
		link, err := c.cli.GetGroupInviteLink(ctx, jid, false)
		switch {
		case err == nil:
			g.InvitationLink = link
		case !errors.Is(err, whatsmeow.ErrGroupInviteLinkUnauthorized):
			return g, groupError("get group invite link", err)
		}
	}
	return g, nil
}

// JoinedGroups describes the groups the account is in, oldest first: WhatsApp lists them in no stated order, and
// the API pages through them.
func (c *Conn) JoinedGroups(ctx context.Context) ([]account.Group, error) {
	infos, err := c.cli.GetJoinedGroups(ctx)
	if err != nil {
		return nil, groupError("list groups", err)
	}
	out := make([]account.Group, len(infos))
	for i, info := range infos {
		out[i] = c.describeGroup(info)
	}
	slices.SortFunc(out, func(a, b account.Group) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

// InviteLink gets (or, with reset, renews) a group's invite link.
func (c *Conn) InviteLink(ctx context.Context, group string, reset bool) (string, error) {
	jid, err := groupJID(group)
	if err != nil {
		return "", groupError("get group invite link", err)
	}
	link, err := c.cli.GetGroupInviteLink(ctx, jid, reset)
	return link, groupError("get group invite link", err)
}

// GroupByInvite describes the group an invite code is to.
func (c *Conn) GroupByInvite(ctx context.Context, code string) (account.Group, error) {
	info, err := c.cli.GetGroupInfoFromLink(ctx, code)
	if err != nil {
		return account.Group{}, groupError("get group by invite", err)
	}
	return c.describeGroup(info), nil
}

// JoinGroup joins the group an invite code is to. whatsmeow answers the group's JID whether the account joined
// or only asked to (a group that needs approval), so the group is asked after: only a participant may see it.
func (c *Conn) JoinGroup(ctx context.Context, code string) (string, bool, error) {
	jid, err := c.cli.JoinGroupWithLink(ctx, code)
	if err != nil {
		return "", false, groupError("join group", err)
	}
	_, err = c.cli.GetGroupInfo(ctx, jid)
	switch {
	case errors.Is(err, whatsmeow.ErrNotInGroup), errors.Is(err, whatsmeow.ErrIQForbidden):
		return phoneOf(jid), true, nil
	case err != nil:
		return phoneOf(jid), false, groupError("join group", err)
	}
	return phoneOf(jid), false, nil
}

// AnswerJoinRequests approves or rejects requests to join a group.
func (c *Conn) AnswerJoinRequests(ctx context.Context, group string, approve bool, phones []string) error {
	action, doing := whatsmeow.ParticipantChangeReject, "reject join requests"
	if approve {
		action, doing = whatsmeow.ParticipantChangeApprove, "approve join requests"
	}
	jid, err := groupJID(group)
	if err != nil {
		return groupError(doing, err)
	}
	jids, asked, missing, err := c.people(ctx, phones)
	if err != nil {
		return groupError(doing, err)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: %w", doing, notOnWhatsApp(missing))
	}
	results, err := c.cli.UpdateGroupRequestParticipants(ctx, jid, jids, action)
	if err != nil {
		return groupError(doing, err)
	}
	var refused []string
	for _, p := range results {
		if p.Error != 0 {
			refused = append(refused, askedAs(asked, p))
		}
	}
	if len(refused) > 0 {
		return fmt.Errorf("%s: %w: no request to join from %s", doing, account.ErrRefused, strings.Join(refused, ", "))
	}
	return nil
}

// describeGroup turns whatsmeow's description of a group into the account's, naming people by phone number
// wherever the phone number ↔ LID mapping is known.
func (c *Conn) describeGroup(info *types.GroupInfo) account.Group {
	tr := translator{lids: c.cli.Store.LIDs}
	owner, ownerLID := tr.person(info.OwnerJID, info.OwnerPN)
	subjectBy, _ := tr.person(info.NameSetBy, info.NameSetByPN)
	announce, locked, approval := info.IsAnnounce, info.IsLocked, info.IsJoinApprovalRequired
	// WhatsApp lets only admins add people unless the group says otherwise.
	adminAdd := info.MemberAddMode != types.GroupMemberAddModeAllMember
	g := account.Group{
		ID: phoneOf(info.JID), Owner: personPhone(owner), OwnerLID: lidOf(ownerLID),
		Subject: info.Name, SubjectTime: info.NameSetAt, SubjectOwner: personPhone(subjectBy),
		Created: info.GroupCreated, Description: info.Topic, Size: info.ParticipantCount,
		Settings: account.GroupSettings{AdminOnlyMessage: &announce, AdminOnlySettings: &locked,
			RequireAdminApproval: &approval, AdminOnlyAddMember: &adminAdd},
	}
	if !info.LinkedParentJID.IsEmpty() {
		g.CommunityID = phoneOf(info.LinkedParentJID)
	}
	for _, p := range info.Participants {
		alt := p.PhoneNumber
		if p.JID.Server == types.DefaultUserServer {
			alt = p.LID
		}
		pn, lid := tr.person(p.JID, alt)
		g.Participants = append(g.Participants, account.Participant{
			Phone: phoneOf(pn), LID: lidOf(lid), Admin: p.IsAdmin, SuperAdmin: p.IsSuperAdmin,
		})
	}
	if g.Size < len(g.Participants) {
		g.Size = len(g.Participants)
	}
	return g
}

// personPhone is phoneOf for someone who may be unknown ("").
func personPhone(jid types.JID) string {
	if jid.IsEmpty() {
		return ""
	}
	return phoneOf(jid)
}
