package account

import (
	"context"
	"strings"
	"time"
)

// Groups is what a Client answers about groups: creating and running groups, their participants, settings and invite links.
//
// A group is named by its API ID (either form package recipient knows); people by phone number, or "<digits>@lid"
// when only their LID is known. An invite is its code, the last part of its https://chat.whatsapp.com/ link.
type Groups interface {
	// CreateGroup creates a group with the account as its super admin and the people of phones in it. Phones not
	// on WhatsApp are left out and named in the answer; ErrNotOnWhatsApp when none of them is.
	CreateGroup(ctx context.Context, name string, phones []string) (CreatedGroup, error)
	// RenameGroup sets the group's subject.
	RenameGroup(ctx context.Context, group, name string) error
	// SetGroupPicture sets the group's picture: any image, made into the square JPEG WhatsApp takes.
	SetGroupPicture(ctx context.Context, group string, picture Image) error
	// SetGroupDescription sets the group's description; "" deletes it.
	SetGroupDescription(ctx context.Context, group, description string) error
	// SetGroupSettings changes the settings s sets, leaving the others as they are.
	SetGroupSettings(ctx context.Context, group string, s GroupSettings) error
	// ChangeParticipants adds, removes, promotes or demotes people. ErrNotOnWhatsApp (naming them) before
	// anything changes when a phone is not on WhatsApp; ErrRefused naming the people WhatsApp refused.
	ChangeParticipants(ctx context.Context, group string, change ParticipantChange, phones []string) error
	// LeaveGroup makes the account leave the group.
	LeaveGroup(ctx context.Context, group string) error
	// Group describes a group the account is in; withLink adds its invite link when the account is an admin.
	Group(ctx context.Context, group string, withLink bool) (Group, error)
	// JoinedGroups describes the groups the account is in, oldest first.
	JoinedGroups(ctx context.Context) ([]Group, error)
	// InviteLink is the group's invite link; reset revokes the current one and makes a new one.
	InviteLink(ctx context.Context, group string, reset bool) (string, error)
	// GroupByInvite describes the group an invite is to, without joining it. ErrNotFound for an invite that is
	// unknown or revoked.
	GroupByInvite(ctx context.Context, code string) (Group, error)
	// JoinGroup joins the group an invite is to. In a group that needs an admin's approval, the account has asked
	// to join and is not in yet: pending is true.
	JoinGroup(ctx context.Context, code string) (group string, pending bool, err error)
	// AnswerJoinRequests approves or rejects the requests of people who asked to join the group.
	AnswerJoinRequests(ctx context.Context, group string, approve bool, phones []string) error
}

// Group is a group as WhatsApp describes it.
type Group struct {
	// ID is the group's API ID.
	ID string
	// Owner is who created the group, OwnerLID its LID when known.
	Owner, OwnerLID string
	Subject         string
	SubjectTime     time.Time
	// SubjectOwner is who set the subject.
	SubjectOwner string
	Created      time.Time
	Description  string
	// InvitationLink is the group's invite link, when asked for and the account may see it.
	InvitationLink string
	// Settings, all set.
	Settings GroupSettings
	// CommunityID is the community the group belongs to, "" when none.
	CommunityID string
	// Size is how many participants the group has (Participants may be absent from an invite's description).
	Size         int
	Participants []Participant
}

// Participant is a member of a group: Phone is the phone number where known (else the LID), LID the LID beside it.
type Participant struct {
	Phone, LID        string
	Admin, SuperAdmin bool
}

// GroupSettings are who may do what in a group. A nil field is not set (in a change: left as it is).
type GroupSettings struct {
	// AdminOnlyMessage: only admins may send messages (an announcement group).
	AdminOnlyMessage *bool
	// AdminOnlySettings: only admins may change the subject, description and picture (a locked group).
	AdminOnlySettings *bool
	// RequireAdminApproval: who joins by invite link waits for an admin's approval.
	RequireAdminApproval *bool
	// AdminOnlyAddMember: only admins may add people (else every member may).
	AdminOnlyAddMember *bool
}

// NotOnWhatsAppError is ErrNotOnWhatsApp naming the phones that are not on WhatsApp.
type NotOnWhatsAppError struct {
	Phones []string
}

func (e *NotOnWhatsAppError) Error() string {
	return ErrNotOnWhatsApp.Error() + ": " + strings.Join(e.Phones, ", ")
}

// Is makes a NotOnWhatsAppError an ErrNotOnWhatsApp.
func (e *NotOnWhatsAppError) Is(target error) bool { return target == ErrNotOnWhatsApp }

// CreatedGroup is what creating a group gives.
type CreatedGroup struct {
	// ID is the new group's API ID.
	ID string
	// InvitationLink is its invite link.
	InvitationLink string
	// NotAdded are the phones WhatsApp did not add (not on WhatsApp, or their privacy settings refuse it).
	NotAdded []string
}

// ParticipantChange is what ChangeParticipants does to people.
type ParticipantChange string

// The participant changes.
const (
	AddParticipants    ParticipantChange = "add"
	RemoveParticipants ParticipantChange = "remove"
	PromoteToAdmin     ParticipantChange = "promote"
	DemoteFromAdmin    ParticipantChange = "demote"
)
