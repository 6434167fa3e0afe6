package whatsapp

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// Notification codes, as PlugZapi names WhatsApp's system messages.
const (
	notificationCiphertext         = "CIPHERTEXT"
	notificationGroupCreate        = "GROUP_CREATE"
	notificationParticipantAdd     = "GROUP_PARTICIPANT_ADD"
	notificationParticipantRemove  = "GROUP_PARTICIPANT_REMOVE"
	notificationParticipantLeave   = "GROUP_PARTICIPANT_LEAVE"
	notificationParticipantPromote = "GROUP_PARTICIPANT_PROMOTE"
	notificationParticipantDemote  = "GROUP_PARTICIPANT_DEMOTE"
	notificationChangeSubject      = "GROUP_CHANGE_SUBJECT"
	notificationChangeDescription  = "GROUP_CHANGE_DESCRIPTION"
	notificationParticipantInvite  = "GROUP_PARTICIPANT_INVITE" // joined by the invite link
	notificationChangeIcon         = "GROUP_CHANGE_ICON"
	notificationChangeAnnounce     = "GROUP_CHANGE_ANNOUNCE"
	notificationChangeRestrict     = "GROUP_CHANGE_RESTRICT"
	notificationChangeInviteLink   = "GROUP_CHANGE_INVITE_LINK"
	notificationApprovalMode       = "GROUP_MEMBERSHIP_JOIN_APPROVAL_MODE"
	notificationMemberAddMode      = "GROUP_MEMBER_ADD_MODE" // admin_add or all_member_add
	// Z-API's names for a request to join (to the admins) and its rejection.
	notificationJoinRequest        = "MEMBERSHIP_APPROVAL_REQUEST"
	notificationJoinRequestRevoked = "REVOKED_MEMBERSHIP_REQUESTS"
)

// onOff is a setting as a notification's parameter.
func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

func notification(code string, parameters ...string) *messagesv1.Content {
	return &messagesv1.Content{Kind: &messagesv1.Content_Notification{Notification: &messagesv1.Notification{
		Code: code, Parameters: parameters}}}
}

// GroupNotifications are the notifications of one change WhatsApp reported about a group, each reported as a
// MessageReceived of its own.
type GroupNotifications []MessageReceived

func (GroupNotifications) isEvent() {}

// groupChange reports a change to a group's members or settings as notifications: PlugZapi sends one
// ReceivedCallback per change, from the group, naming who it concerns. Several changes in one WhatsApp
// notification make several events, each with its own ID.
func (tr translator) groupChange(e *events.GroupInfo) (Event, bool) {
	var changes []*messagesv1.Content
	if len(e.Join) > 0 {
		code := notificationParticipantAdd
		if e.JoinReason == "invite" {
			code = notificationParticipantInvite
		}
		changes = append(changes, notification(code, tr.phones(e.Join)...))
	}
	if len(e.Leave) > 0 {
		code := notificationParticipantRemove
		if e.Sender != nil && len(e.Leave) == 1 && e.Leave[0].User == e.Sender.User {
			code = notificationParticipantLeave
		}
		changes = append(changes, notification(code, tr.phones(e.Leave)...))
	}
	if len(e.Promote) > 0 {
		changes = append(changes, notification(notificationParticipantPromote, tr.phones(e.Promote)...))
	}
	if len(e.Demote) > 0 {
		changes = append(changes, notification(notificationParticipantDemote, tr.phones(e.Demote)...))
	}
	if e.Name != nil {
		changes = append(changes, notification(notificationChangeSubject, e.Name.Name))
	}
	if e.Topic != nil {
		changes = append(changes, notification(notificationChangeDescription, e.Topic.Topic))
	}
	if e.Announce != nil {
		changes = append(changes, notification(notificationChangeAnnounce, onOff(e.Announce.IsAnnounce)))
	}
	if e.Locked != nil {
		changes = append(changes, notification(notificationChangeRestrict, onOff(e.Locked.IsLocked)))
	}
	if e.NewInviteLink != nil {
		changes = append(changes, notification(notificationChangeInviteLink))
	}
	if e.MembershipApprovalMode != nil {
		// whatsmeow reports the change without the new state: the group's metadata tells it.
		changes = append(changes, notification(notificationApprovalMode))
	}
	changes = append(changes, tr.unparsedChanges(e.UnknownChanges)...)
	if len(changes) == 0 {
		return nil, false
	}
	var out GroupNotifications
	for _, c := range changes {
		out = append(out, tr.groupNotification(e.JID, e.Sender, e.SenderPN, e.Timestamp.UnixMilli(), c))
	}
	return out, true
}

// joinedGroup reports that this account was put in a group: GROUP_CREATE with the subject for a new group,
// GROUP_PARTICIPANT_ADD otherwise.
func (tr translator) joinedGroup(e *events.JoinedGroup) (Event, bool) {
	c := notification(notificationParticipantAdd)
	if e.Type == "new" {
		c = notification(notificationGroupCreate, e.GroupInfo.Name)
	}
	at := e.GroupInfo.GroupCreated
	if e.GroupInfo.GroupName.NameSetAt.After(at) && e.Type != "new" {
		at = e.GroupInfo.GroupName.NameSetAt
	}
	if e.Type != "new" && tr.own != nil {
		if pn, _ := tr.own(); !pn.IsEmpty() {
			c = notification(notificationParticipantAdd, phoneOf(pn))
		}
	}
	m := tr.groupNotification(e.GroupInfo.JID, e.Sender, e.SenderPN, at.UnixMilli(), c)
	m.Message.ChatName = e.GroupInfo.Name
	return m, true
}

// groupNotification is one notification of a group. Its ID is derived from what it says, so that WhatsApp
// telling it again is recognised as the same.
func (tr translator) groupNotification(group types.JID, sender, senderPN *types.JID, atMs int64, c *messagesv1.Content) MessageReceived {
	n := c.GetNotification()
	sum := sha256.Sum256([]byte(strings.Join(append([]string{group.String(), n.GetCode(), strconv.FormatInt(atMs, 10)}, n.GetParameters()...), "\x00")))
	m := &messagesv1.Inbound{
		MessageId: "NOTIF" + strings.ToUpper(hex.EncodeToString(sum[:8])), Phone: phoneOf(group), IsGroup: true,
		Type: messagesv1.Kind_KIND_NOTIFICATION, SentTimeMs: atMs, Content: c,
	}
	if sender != nil {
		alt := types.EmptyJID
		if senderPN != nil {
			alt = *senderPN
		}
		who, lid := tr.person(*sender, alt)
		m.Participant, m.SenderLid = phoneOf(who), lidOf(lid)
	}
	return MessageReceived{Message: m}
}

// phones are people as the API names them: phone numbers when known.
func (tr translator) phones(jids []types.JID) []string {
	out := make([]string, 0, len(jids))
	for _, j := range jids {
		pn, _ := tr.person(j, types.EmptyJID)
		out = append(out, phoneOf(pn))
	}
	return out
}

// groupPicture reports a new or removed group picture as GROUP_CHANGE_ICON, from who changed it. A person's
// new picture is no message of any chat: it is not reported.
func (tr translator) groupPicture(e *events.Picture) (Event, bool) {
	if !isGroup(e.JID) {
		return nil, false
	}
	var author *types.JID
	if !e.Author.IsEmpty() {
		author = &e.Author
	}
	return tr.groupNotification(e.JID, author, nil, e.Timestamp.UnixMilli(), notification(notificationChangeIcon)), true
}

// unparsedChanges reports what whatsmeow does not parse of a group change: who may add people, and requests to
// join that admins are told of and their rejection, naming the people (as <requested_user> or <participant>, by
// LID in a LID-addressed group with the phone number beside).
func (tr translator) unparsedChanges(unknown []*waBinary.Node) []*messagesv1.Content {
	var out []*messagesv1.Content
	for _, n := range unknown {
		code, tag := notificationJoinRequest, "requested_user"
		switch n.Tag {
		case "member_add_mode":
			// Bytes as whatsmeow decodes them; a string if WhatsApp ever sends the mode as a token.
			switch mode := n.Content.(type) {
			case []byte:
				out = append(out, notification(notificationMemberAddMode, string(mode)))
			case string:
				out = append(out, notification(notificationMemberAddMode, mode))
			}
			continue
		case "created_membership_requests":
		case "revoked_membership_requests":
			code, tag = notificationJoinRequestRevoked, "participant"
		default:
			continue
		}
		var people []string
		for _, p := range n.GetChildrenByTag(tag) {
			jid, ok := p.Attrs["jid"].(types.JID)
			if !ok {
				continue
			}
			alt, _ := p.Attrs["phone_number"].(types.JID)
			if lid, isLID := p.Attrs["lid"].(types.JID); isLID {
				alt = lid
			}
			pn, _ := tr.person(jid, alt)
			people = append(people, phoneOf(pn))
		}
		out = append(out, notification(code, people...))
	}
	return out
}
