package wasim_test

import (
	"errors"
	"slices"
	"testing"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/plugzapi/plugzapi/wasim"
)

// A group's settings, invite links and join requests, as whatsmeow drives them: only admins change settings
// and see links; announcement and locked groups hold members to them; a reset link is revoked; joining a group
// that needs approval makes a request an admin answers.
func TestGroupAdministration(t *testing.T) {
	t.Parallel()
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	carol := addAccount(t, sim, "Carol")
	dave := addAccount(t, sim, "Dave")
	ca := newClient(t, sim) // Alice's linked device, the group's admin
	ca.link(alice)
	cb := newClient(t, sim) // Bob's, a plain member
	cb.link(bob)
	ctx := testContext(t)
	info, err := ca.cli.CreateGroup(ctx, whatsmeow.ReqCreateGroup{Name: "Rules", Participants: []types.JID{bob.JID()}})
	if err != nil {
		t.Fatal(err)
	}
	group := info.JID
	waitEvent[*events.JoinedGroup](cb, 0, func(j *events.JoinedGroup) bool { return j.JID == group })

	t.Run("only admins change settings", func(t *testing.T) {
		for name, err := range map[string]error{
			"announce":    cb.cli.SetGroupAnnounce(ctx, group, true),
			"locked":      cb.cli.SetGroupLocked(ctx, group, true),
			"approval":    cb.cli.SetGroupJoinApprovalMode(ctx, group, true),
			"add mode":    cb.cli.SetGroupMemberAddMode(ctx, group, types.GroupMemberAddModeAllMember),
			"invite link": func() error { _, err := cb.cli.GetGroupInviteLink(ctx, group, false); return err }(),
		} {
			if !errors.Is(err, whatsmeow.ErrIQNotAuthorized) {
				t.Errorf("%s by a member: %v, want not-authorized", name, err)
			}
		}
	})

	t.Run("announcement and locked", func(t *testing.T) {
		from := cb.mark()
		if err := ca.cli.SetGroupAnnounce(ctx, group, true); err != nil {
			t.Fatal(err)
		}
		if err := ca.cli.SetGroupLocked(ctx, group, true); err != nil {
			t.Fatal(err)
		}
		if err := ca.cli.SetGroupMemberAddMode(ctx, group, types.GroupMemberAddModeAllMember); err != nil {
			t.Fatal(err)
		}
		waitEvent[*events.GroupInfo](cb, from, func(g *events.GroupInfo) bool { return g.Announce != nil && g.Announce.IsAnnounce })
		waitEvent[*events.GroupInfo](cb, from, func(g *events.GroupInfo) bool { return g.Locked != nil && g.Locked.IsLocked })
		seen, err := cb.cli.GetGroupInfo(ctx, group)
		if err != nil || !seen.IsAnnounce || !seen.IsLocked || seen.MemberAddMode != types.GroupMemberAddModeAllMember {
			t.Fatalf("the member sees %+v, %v", seen, err)
		}
		if _, err := cb.cli.SendMessage(ctx, group, textMessage("may I?")); err == nil {
			t.Error("a member sent to an announcement group")
		}
		if err := cb.cli.SetGroupName(ctx, group, "Mine"); !errors.Is(err, whatsmeow.ErrIQNotAuthorized) {
			t.Errorf("a member renamed a locked group: %v", err)
		}
		if _, err := ca.cli.SendMessage(ctx, group, textMessage("admins speak")); err != nil {
			t.Errorf("an admin in an announcement group: %v", err)
		}
		if err := ca.cli.SetGroupAnnounce(ctx, group, false); err != nil {
			t.Fatal(err)
		}
		if _, err := cb.cli.SendMessage(ctx, group, textMessage("now I may")); err != nil {
			t.Errorf("a member after announcement off: %v", err)
		}
	})

	link, err := ca.cli.GetGroupInviteLink(ctx, group, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("invite links", func(t *testing.T) {
		if again, _ := ca.cli.GetGroupInviteLink(ctx, group, false); again != link {
			t.Errorf("the link changed by itself: %s, then %s", link, again)
		}
		byLink, err := cb.cli.GetGroupInfoFromLink(ctx, link)
		if err != nil || byLink.JID != group || byLink.Name != "Rules" {
			t.Fatalf("group by link: %+v, %v", byLink, err)
		}
		if joined, err := carol.JoinGroupByLink(ctx, link); err != nil || joined != wasim.GroupID(group) {
			t.Fatalf("Carol joins: %s, %v", joined, err)
		}
		from := ca.mark()
		renewed, err := ca.cli.GetGroupInviteLink(ctx, group, true)
		if err != nil || renewed == link {
			t.Fatalf("reset: %s, %v", renewed, err)
		}
		waitEvent[*events.GroupInfo](ca, from, func(g *events.GroupInfo) bool { return g.NewInviteLink != nil && *g.NewInviteLink == renewed })
		if _, err := cb.cli.GetGroupInfoFromLink(ctx, link); !errors.Is(err, whatsmeow.ErrInviteLinkRevoked) {
			t.Errorf("the old link: %v, want revoked", err)
		}
		if _, err := cb.cli.GetGroupInfoFromLink(ctx, "NoSuchCode0000000000"); !errors.Is(err, whatsmeow.ErrInviteLinkInvalid) {
			t.Errorf("a code that never was: %v, want invalid", err)
		}
		link = renewed
	})

	t.Run("join requests", func(t *testing.T) {
		if err := ca.cli.SetGroupJoinApprovalMode(ctx, group, true); err != nil {
			t.Fatal(err)
		}
		if _, err := dave.JoinGroupByLink(ctx, link); err != nil {
			t.Fatal(err)
		}
		g, _ := sim.Group(wasim.GroupID(group))
		if slices.ContainsFunc(g.Participants, func(p wasim.GroupParticipant) bool { return p.Phone == dave.Phone() }) {
			t.Fatal("Dave joined a group that needs approval")
		}
		requests, err := ca.cli.GetGroupRequestParticipants(ctx, group)
		if err != nil || len(requests) != 1 || requests[0].JID != dave.JID() {
			t.Fatalf("requests: %+v, %v", requests, err)
		}
		if _, err := cb.cli.GetGroupRequestParticipants(ctx, group); !errors.Is(err, whatsmeow.ErrIQNotAuthorized) {
			t.Errorf("a member asks for the requests: %v", err)
		}
		res, err := ca.cli.UpdateGroupRequestParticipants(ctx, group, []types.JID{dave.JID(), bob.JID()}, whatsmeow.ParticipantChangeApprove)
		if err != nil || len(res) != 2 || res[0].Error != 0 || res[1].Error != 404 {
			t.Fatalf("approve: %+v, %v", res, err)
		}
		g, _ = sim.Group(wasim.GroupID(group))
		if !slices.ContainsFunc(g.Participants, func(p wasim.GroupParticipant) bool { return p.Phone == dave.Phone() }) || len(g.JoinRequests) != 0 {
			t.Errorf("after the approval: %+v", g)
		}
	})
}
