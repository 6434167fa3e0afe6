package wasim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
)

// groupIDSuffix marks a group id in PlugZapi's form, <digits>-group.
const groupIDSuffix = "-group"

// GroupID returns a group's id as the control API and PlugZapi name it:
// <digits>-group.
func GroupID(jid types.JID) string { return jid.User + groupIDSuffix }

// parseGroupID accepts a group as <digits>-group, <digits>@g.us or <digits>.
func parseGroupID(id string) (types.JID, error) {
	user := strings.TrimSpace(id)
	user = strings.TrimSuffix(user, "@"+types.GroupServer)
	user = strings.TrimSuffix(user, groupIDSuffix)
	if user == "" || strings.Trim(user, "0123456789-") != "" {
		return types.EmptyJID, fmt.Errorf("%w: %q is not a group id (<digits>-group or <digits>@g.us)", ErrInvalidArgument, id)
	}
	return types.NewJID(user, types.GroupServer), nil
}

// GroupInfo describes a group as the simulator knows it.
type GroupInfo struct {
	// ID is the group's id in PlugZapi's form, <digits>-group.
	ID string `json:"id"`
	// JID is the group's JID, <digits>@g.us.
	JID         types.JID `json:"jid"`
	Subject     string    `json:"subject"`
	Description string    `json:"description,omitempty"`
	Creator     string    `json:"creator"` // phone number
	Created     time.Time `json:"created"`
	PictureID   string    `json:"pictureId,omitempty"`
	// Addressing is how the group names its members: pn or lid.
	Addressing   Addressing         `json:"addressing"`
	Participants []GroupParticipant `json:"participants"`
	// AdminOnlyMessage, AdminOnlySettings and ApprovalRequired are the settings: only admins send, only admins
	// edit the group's info, joining by link needs approval.
	AdminOnlyMessage  bool `json:"adminOnlyMessage"`
	AdminOnlySettings bool `json:"adminOnlySettings"`
	ApprovalRequired  bool `json:"approvalRequired"`
	// AllMemberAdd: every member may add people, not only admins.
	AllMemberAdd bool `json:"allMemberAdd"`
	// JoinRequests are the phone numbers of the people waiting for approval to join.
	JoinRequests []string `json:"joinRequests,omitempty"`
}

// GroupParticipant is a member of a group.
type GroupParticipant struct {
	Phone      string `json:"phone"`
	LID        string `json:"lid"`
	Admin      bool   `json:"admin"`
	SuperAdmin bool   `json:"superAdmin"`
}

func (g *group) info() GroupInfo {
	out := GroupInfo{
		ID:                GroupID(g.jid),
		JID:               g.jid,
		Subject:           g.subject,
		Description:       g.topic,
		Creator:           g.creator.phone,
		Created:           g.created,
		PictureID:         g.picture,
		Addressing:        Addressing(g.addressing),
		Participants:      make([]GroupParticipant, len(g.members)),
		AdminOnlyMessage:  g.announce,
		AdminOnlySettings: g.locked,
		ApprovalRequired:  g.approval,
		AllMemberAdd:      g.allMemberAdd,
	}
	for _, r := range g.requests {
		out.JoinRequests = append(out.JoinRequests, r.acct.phone)
	}
	for i, m := range g.members {
		out.Participants[i] = GroupParticipant{Phone: m.acct.phone, LID: m.acct.lid.String(), Admin: m.admin, SuperAdmin: m.superAdmin}
	}
	return out
}

// Group describes a group by id (<digits>-group, <digits>@g.us or <digits>).
func (s *Simulator) Group(id string) (GroupInfo, error) {
	jid, err := parseGroupID(id)
	if err != nil {
		return GroupInfo{}, fmt.Errorf("group: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groups[jid.User]
	if g == nil {
		return GroupInfo{}, fmt.Errorf("group %s: %w", id, ErrUnknownGroup)
	}
	return g.info(), nil
}

// Groups describes the groups the account is a member of, oldest first.
func (a *Account) Groups() []GroupInfo {
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	var out []GroupInfo
	for _, g := range a.s.groups {
		if g.member(a) != nil {
			out = append(out, g.info())
		}
	}
	slices.SortFunc(out, func(x, y GroupInfo) int {
		if c := x.Created.Compare(y.Created); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return out
}

// checkGroup finds a group the account acts in, for clear errors before the phone
// sends its request.
func (a *Account) checkGroup(id string, needAdmin bool) (types.JID, error) {
	jid, err := parseGroupID(id)
	if err != nil {
		return types.EmptyJID, err
	}
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	g := a.s.groups[jid.User]
	if g == nil {
		return types.EmptyJID, fmt.Errorf("%s: %w", id, ErrUnknownGroup)
	}
	m := g.member(a)
	switch {
	case m == nil:
		return types.EmptyJID, fmt.Errorf("%s in %s: %w", a.phone, id, ErrNotInGroup)
	case needAdmin && !m.admin:
		return types.EmptyJID, fmt.Errorf("%s in %s: %w", a.phone, id, ErrNotGroupAdmin)
	}
	return jid, nil
}

// groupError maps the IQ errors of the w:g2 namespace to the simulator's errors.
func groupError(err error) error {
	switch {
	case errors.Is(err, whatsmeow.ErrIQNotFound), errors.Is(err, whatsmeow.ErrGroupNotFound),
		errors.Is(err, whatsmeow.ErrInviteLinkInvalid), errors.Is(err, whatsmeow.ErrInviteLinkRevoked):
		return fmt.Errorf("%w: %v", ErrUnknownGroup, err)
	case errors.Is(err, whatsmeow.ErrIQForbidden), errors.Is(err, whatsmeow.ErrNotInGroup):
		return fmt.Errorf("%w: %v", ErrNotInGroup, err)
	case errors.Is(err, whatsmeow.ErrIQNotAuthorized):
		return fmt.Errorf("%w: %v", ErrNotGroupAdmin, err)
	case errors.Is(err, whatsmeow.ErrIQBadRequest):
		return fmt.Errorf("%w: %v", ErrInvalidArgument, err)
	}
	return err
}

func parsePeople(people []string) ([]types.JID, error) {
	out := make([]types.JID, 0, len(people))
	for _, p := range people {
		jid, err := parseChat(p)
		if err != nil {
			return nil, err
		}
		if jid.Server != types.DefaultUserServer {
			return nil, fmt.Errorf("%w: %q is not a phone number", ErrInvalidArgument, p)
		}
		out = append(out, jid)
	}
	return out, nil
}

// CreateGroup creates a group from this account's phone, with the account as its
// super admin and the given people (phone numbers) as members; numbers that are not
// on WhatsApp are left out. Every member's devices get events.JoinedGroup.
func (a *Account) CreateGroup(ctx context.Context, subject string, participants ...string) (GroupInfo, error) {
	if subject == "" || !validText(subject, maxSubjectLength) {
		return GroupInfo{}, fmt.Errorf("create group: %w: the subject must have 1 to %d characters", ErrInvalidArgument, maxSubjectLength)
	}
	people, err := parsePeople(participants)
	if err != nil {
		return GroupInfo{}, fmt.Errorf("create group: %w", err)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return GroupInfo{}, fmt.Errorf("create group: %w", err)
	}
	info, err := e.cli.CreateGroup(ctx, whatsmeow.ReqCreateGroup{Name: subject, Participants: people})
	if err != nil {
		return GroupInfo{}, fmt.Errorf("create group %q: %w", subject, groupError(err))
	}
	return a.s.Group(info.JID.User)
}

// ParticipantResult is the outcome of a participant change for one person: Error is
// 0 on success, else WhatsApp's code (404 not on WhatsApp or not a member, 409
// already a member, 406 the super admin cannot be changed).
type ParticipantResult struct {
	Phone string `json:"phone"`
	Error int    `json:"error,omitempty"`
}

// UpdateGroupParticipants adds, removes, promotes or demotes members of a group, as
// a group admin on this account's phone. action is add, remove, promote or demote.
func (a *Account) UpdateGroupParticipants(ctx context.Context, group, action string, participants ...string) ([]ParticipantResult, error) {
	change := whatsmeow.ParticipantChange(action)
	switch change {
	case whatsmeow.ParticipantChangeAdd, whatsmeow.ParticipantChangeRemove,
		whatsmeow.ParticipantChangePromote, whatsmeow.ParticipantChangeDemote:
	default:
		return nil, fmt.Errorf("update participants: %w: action %q is not add, remove, promote or demote", ErrInvalidArgument, action)
	}
	people, err := parsePeople(participants)
	if err != nil {
		return nil, fmt.Errorf("update participants: %w", err)
	}
	if len(people) == 0 {
		return nil, fmt.Errorf("update participants: %w: nobody to %s", ErrInvalidArgument, action)
	}
	// Whether the account may is the group's to say (members may add people when the group lets them).
	jid, err := a.checkGroup(group, false)
	if err != nil {
		return nil, fmt.Errorf("%s participants: %w", action, err)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s participants: %w", action, err)
	}
	res, err := e.cli.UpdateGroupParticipants(ctx, jid, people, change)
	if err != nil {
		return nil, fmt.Errorf("%s participants in %s: %w", action, jid, groupError(err))
	}
	out := make([]ParticipantResult, len(res))
	for i, p := range res {
		out[i] = ParticipantResult{Phone: p.JID.User, Error: p.Error}
	}
	return out, nil
}

// SetGroupSubject renames a group from this account's phone.
func (a *Account) SetGroupSubject(ctx context.Context, group, subject string) error {
	if subject == "" || !validText(subject, maxSubjectLength) {
		return fmt.Errorf("set subject: %w: the subject must have 1 to %d characters", ErrInvalidArgument, maxSubjectLength)
	}
	jid, err := a.checkGroup(group, false)
	if err != nil {
		return fmt.Errorf("set subject: %w", err)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return fmt.Errorf("set subject: %w", err)
	}
	if err := e.cli.SetGroupName(ctx, jid, subject); err != nil {
		return fmt.Errorf("set subject of %s: %w", jid, groupError(err))
	}
	return nil
}

// SetGroupDescription sets (or, when empty, deletes) a group's description from
// this account's phone.
func (a *Account) SetGroupDescription(ctx context.Context, group, description string) error {
	if !validText(description, maxDescriptionLength) {
		return fmt.Errorf("set description: %w: more than %d characters", ErrInvalidArgument, maxDescriptionLength)
	}
	jid, err := a.checkGroup(group, false)
	if err != nil {
		return fmt.Errorf("set description: %w", err)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return fmt.Errorf("set description: %w", err)
	}
	if err := e.cli.SetGroupTopic(ctx, jid, "", "", description); err != nil {
		return fmt.Errorf("set description of %s: %w", jid, groupError(err))
	}
	return nil
}

// SetGroupPicture sets (or, with nil, removes) a group's picture from this account's
// phone; the members' devices are told (events.Picture).
func (a *Account) SetGroupPicture(ctx context.Context, group string, jpeg []byte) error {
	if jpeg != nil && (!isJPEG(jpeg) || len(jpeg) > maxPictureSize) {
		return fmt.Errorf("set group picture: %w: not a JPEG of at most %d bytes", ErrInvalidArgument, maxPictureSize)
	}
	jid, err := a.checkGroup(group, false)
	if err != nil {
		return fmt.Errorf("set group picture: %w", err)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return fmt.Errorf("set group picture: %w", err)
	}
	if _, err := e.cli.SetGroupPhoto(ctx, jid, jpeg); err != nil {
		return fmt.Errorf("set picture of %s: %w", jid, groupError(err))
	}
	return nil
}

// LeaveGroup makes this account leave a group.
func (a *Account) LeaveGroup(ctx context.Context, group string) error {
	jid, err := a.checkGroup(group, false)
	if err != nil {
		return fmt.Errorf("leave group: %w", err)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return fmt.Errorf("leave group: %w", err)
	}
	if err := e.cli.LeaveGroup(ctx, jid); err != nil {
		return fmt.Errorf("leave %s: %w", jid, groupError(err))
	}
	return nil
}

// JoinGroupByLink joins, from this account's phone, the group an invite link
// (https://chat.whatsapp.com/<code>) is to, and returns its id. In a group that needs
// approval the account is only a requester afterwards (GroupInfo.JoinRequests).
func (a *Account) JoinGroupByLink(ctx context.Context, link string) (string, error) {
	e, err := a.ready(ctx)
	if err != nil {
		return "", fmt.Errorf("join group: %w", err)
	}
	jid, err := e.cli.JoinGroupWithLink(ctx, link)
	if err != nil {
		return "", fmt.Errorf("join group by %s: %w", link, groupError(err))
	}
	return GroupID(jid), nil
}

// GroupInviteLink is a group's invite link (https://chat.whatsapp.com/<code>), as
// this account's phone, an admin of the group, gets it.
func (a *Account) GroupInviteLink(ctx context.Context, group string) (string, error) {
	jid, err := a.checkGroup(group, true)
	if err != nil {
		return "", fmt.Errorf("get invite link: %w", err)
	}
	e, err := a.ready(ctx)
	if err != nil {
		return "", fmt.Errorf("get invite link: %w", err)
	}
	link, err := e.cli.GetGroupInviteLink(ctx, jid, false)
	if err != nil {
		return "", fmt.Errorf("get invite link of %s: %w", jid, groupError(err))
	}
	return link, nil
}
