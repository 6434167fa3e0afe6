package baileys_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/wasim"
	"github.com/plugzapi/plugzapi/wasim/baileys"
)

// TestBaileysGroupAdministration checks wasim's group settings, invite links and join requests against
// Baileys' (groups.ts), the second client besides whatsmeow: Baileys, made an admin of a phone's group, turns
// on announcement and locked modes and sees them in the metadata, gets and resets the invite link (the old code
// is gone), takes join requests and approves one, and joins another group by its link.
//
//	go test -count=1 -v -run TestBaileysGroupAdministration ./wasim/baileys/
func TestBaileysGroupAdministration(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if _, err := baileys.Install(ctx); err != nil {
		t.Fatalf("install Baileys: %v", err)
	}
	sim, err := wasim.Start(ctx, wasim.Options{Logger: testLogger()})
	if err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	phones := map[string]*wasim.Account{}
	for _, p := range []struct{ phone, name string }{
		{"5511900000021", "Admin"}, {"5511900000022", "Alice"}, {"5511900000023", "Carol"}, {"5511900000024", "Dave"},
	} {
		a, err := sim.AddAccount(ctx, p.phone, p.name)
		if err != nil {
			t.Fatal(err)
		}
		phones[p.name] = a
	}
	admin, alice, carol, dave := phones["Admin"], phones["Alice"], phones["Carol"], phones["Dave"]
	c, err := baileys.Start(ctx, baileys.Options{SimAddr: sim.Addr(), AuthDir: t.TempDir(), Name: "group-admin-baileys"})
	if err != nil {
		t.Fatalf("start Baileys: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Link(ctx, admin); err != nil {
		t.Fatal(err)
	}
	group, err := alice.CreateGroup(ctx, "Regras", admin.Phone())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.UpdateGroupParticipants(ctx, group.ID, "promote", admin.Phone()); err != nil {
		t.Fatal(err)
	}
	jid := group.JID.String()
	call := func(cmd string, args map[string]any, result any) {
		t.Helper()
		if err := c.Call(ctx, cmd, args, result); err != nil {
			t.Fatalf("%s %v: %v", cmd, args, err)
		}
	}
	onPhone := func() wasim.GroupInfo {
		g, err := sim.Group(group.ID)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}

	call("groupSettingUpdate", map[string]any{"jid": jid, "setting": "announcement"}, nil)
	call("groupSettingUpdate", map[string]any{"jid": jid, "setting": "locked"}, nil)
	call("groupMemberAddMode", map[string]any{"jid": jid, "mode": "all_member_add"}, nil)
	if g := onPhone(); !g.AdminOnlyMessage || !g.AdminOnlySettings || !g.AllMemberAdd {
		t.Errorf("after announcement and locked the phone shows %+v", g)
	}
	var meta struct {
		Subject          string `json:"subject"`
		Announce         bool   `json:"announce"`
		Restrict         bool   `json:"restrict"`
		JoinApprovalMode bool   `json:"joinApprovalMode"`
		MemberAddMode    bool   `json:"memberAddMode"`
	}
	call("groupMetadata", map[string]any{"jid": jid}, &meta)
	if !meta.Announce || !meta.Restrict || meta.JoinApprovalMode || !meta.MemberAddMode || meta.Subject != "Regras" {
		t.Errorf("Baileys parsed the metadata as %+v", meta)
	}

	var code, renewed struct {
		Code string `json:"code"`
	}
	call("groupInviteCode", map[string]any{"jid": jid}, &code)
	if code.Code == "" {
		t.Fatal("no invite code")
	}
	if joined, err := carol.JoinGroupByLink(ctx, "https://chat.whatsapp.com/"+code.Code); err != nil || joined != group.ID {
		t.Fatalf("Carol joins by Baileys' code: %s, %v", joined, err)
	}
	call("groupRevokeInvite", map[string]any{"jid": jid}, &renewed)
	if renewed.Code == "" || renewed.Code == code.Code {
		t.Fatalf("reset gave %q after %q", renewed.Code, code.Code)
	}
	if err := c.Call(ctx, "groupGetInviteInfo", map[string]any{"code": code.Code}, nil); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("the revoked code: %v, want gone (410)", err)
	}
	var byCode struct {
		ID      string `json:"id"`
		Subject string `json:"subject"`
		Size    int    `json:"size"`
	}
	call("groupGetInviteInfo", map[string]any{"code": renewed.Code}, &byCode)
	if byCode.ID != jid || byCode.Subject != "Regras" || byCode.Size != 3 {
		t.Errorf("invite info: %+v", byCode)
	}

	call("groupJoinApprovalMode", map[string]any{"jid": jid, "mode": "on"}, nil)
	if _, err := dave.JoinGroupByLink(ctx, "https://chat.whatsapp.com/"+renewed.Code); err != nil {
		t.Fatal(err)
	}
	var requests []struct {
		JID string `json:"jid"`
	}
	call("groupRequestParticipantsList", map[string]any{"jid": jid}, &requests)
	if len(requests) != 1 || !strings.HasPrefix(requests[0].JID, dave.Phone()+"@") {
		t.Fatalf("requests: %+v", requests)
	}
	var answered []struct {
		Status string `json:"status"`
		JID    string `json:"jid"`
	}
	call("groupRequestParticipantsUpdate", map[string]any{"jid": jid, "participants": []string{requests[0].JID}, "action": "approve"}, &answered)
	if len(answered) != 1 || answered[0].Status != "200" {
		t.Errorf("approve answered %+v", answered)
	}
	if g := onPhone(); !slices.ContainsFunc(g.Participants, func(p wasim.GroupParticipant) bool { return p.Phone == dave.Phone() }) {
		t.Errorf("Dave is not in after the approval: %+v", g)
	}

	// Baileys joins another group by its link.
	other, err := alice.CreateGroup(ctx, "Outro", dave.Phone())
	if err != nil {
		t.Fatal(err)
	}
	link, err := alice.GroupInviteLink(ctx, other.ID)
	if err != nil {
		t.Fatal(err)
	}
	var accepted struct {
		JID string `json:"jid"`
	}
	call("groupAcceptInvite", map[string]any{"code": strings.TrimPrefix(link, "https://chat.whatsapp.com/")}, &accepted)
	g, _ := sim.Group(other.ID)
	if accepted.JID != other.JID.String() || !slices.ContainsFunc(g.Participants, func(p wasim.GroupParticipant) bool { return p.Phone == admin.Phone() }) {
		t.Errorf("accept answered %q; the group is %+v", accepted.JID, g)
	}
}
