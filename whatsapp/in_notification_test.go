package whatsapp

import (
	"slices"
	"strings"
	"testing"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

// TestGroupSettingNotifications: the changes whatsmeow parses into a GroupInfo (settings, invite link) and the
// join requests it leaves unparsed become notifications naming people by phone, in a LID-addressed group too.
func TestGroupSettingNotifications(t *testing.T) {
	group := types.NewJID("120363000000000001", types.GroupServer)
	admin := types.NewJID("5511999990001", types.DefaultUserServer)
	dave, daveLID := types.NewJID("5511999990004", types.DefaultUserServer), types.NewJID("4444", types.HiddenUserServer)
	eveLID := types.NewJID("5555", types.HiddenUserServer)
	eve := types.NewJID("5511999990005", types.DefaultUserServer)
	tr := translator{lids: fakeLIDs{eveLID: eve}}
	link := "https://chat.whatsapp.com/abc"
	got, ok := tr.translate(&events.GroupInfo{JID: group, Sender: &admin, Timestamp: time.Unix(1700000000, 0),
		Announce: &types.GroupAnnounce{IsAnnounce: true}, Locked: &types.GroupLocked{IsLocked: false}, NewInviteLink: &link,
		UnknownChanges: []*waBinary.Node{
			{Tag: "created_membership_requests", Content: []waBinary.Node{
				{Tag: "requested_user", Attrs: waBinary.Attrs{"jid": daveLID, "phone_number": dave}}}},
			{Tag: "revoked_membership_requests", Content: []waBinary.Node{{Tag: "participant", Attrs: waBinary.Attrs{"jid": eveLID}}}},
			{Tag: "member_add_mode", Content: []byte("all_member_add")},
			{Tag: "something_new"},
		}})
	if !ok {
		t.Fatal("no notifications")
	}
	var codes []string
	for _, m := range got.(GroupNotifications) {
		n := m.Message.GetContent().GetNotification()
		codes = append(codes, n.GetCode()+" "+strings.Join(n.GetParameters(), ","))
	}
	want := []string{"GROUP_CHANGE_ANNOUNCE on", "GROUP_CHANGE_RESTRICT off", "GROUP_CHANGE_INVITE_LINK ",
		"MEMBERSHIP_APPROVAL_REQUEST 5511999990004", "REVOKED_MEMBERSHIP_REQUESTS 5511999990005", "GROUP_MEMBER_ADD_MODE all_member_add"}
	if !slices.Equal(codes, want) {
		t.Errorf("notifications %q, want %q", codes, want)
	}
	icon, ok := tr.translate(&events.Picture{JID: group, Author: admin, Timestamp: time.Unix(1700000001, 0), PictureID: "1"})
	if m, isMsg := icon.(MessageReceived); !ok || !isMsg || m.Message.GetContent().GetNotification().GetCode() != "GROUP_CHANGE_ICON" ||
		m.Message.GetParticipant() != "5511999990001" {
		t.Errorf("group picture: %v", icon)
	}
	if _, ok := tr.translate(&events.Picture{JID: admin, PictureID: "2"}); ok {
		t.Error("a person's new picture was reported")
	}
}
