package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/wasim"
)

// groupMetadataJSON is what group-metadata answers, as far as the tests read it.
type groupMetadataJSON struct {
	Phone, Owner, Subject, Description, SubjectOwner string
	InvitationLink                                   *string
	AdminOnlyMessage, AdminOnlySettings              bool
	RequireAdminApproval, AdminOnlyAddMember         bool
	ParticipantsCount                                int
	Participants                                     []struct {
		Phone, LID            string
		IsAdmin, IsSuperAdmin bool
	}
}

func (g groupMetadataJSON) participant(phone string) (admin, super, ok bool) {
	for _, p := range g.Participants {
		if p.Phone == phone {
			return p.IsAdmin, p.IsSuperAdmin, true
		}
	}
	return false, false, false
}

// TestGroupsLifecycle: a group is created and run through the API, and the members' phones really see what it
// did (subject, description, picture, settings, admins, members); invite links let another phone in, with and
// without an admin's approval; the instance leaves and comes back by link; the changes come to the webhook as
// notifications; a LID-addressed group names its people by phone, with the LIDs beside.
func TestGroupsLifecycle(t *testing.T) {
	const bobPhone, carolPhone, davePhone, evePhone = "5511999990002", "5511999990003", "5511999990004", "5511999990005"
	const nobody = "5511999990099"
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	addAccount(t, sim, bobPhone, "Bob")
	carol := addAccount(t, sim, carolPhone, "Carol")
	dave := addAccount(t, sim, davePhone, "Dave")
	eve := addAccount(t, sim, evePhone, "Eve")
	hooks := newReceiver(t)
	// The picture given by URL is served from this machine.
	srv := startServer(t, sim, withEnv("PLUGZAPI_ALLOW_INSECURE_MEDIA", "1"))
	in := createInstance(t, srv, "groups", hooks)
	link(t, in, business)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	ok := func(t *testing.T, res response) {
		t.Helper()
		if res.status != http.StatusOK || !strings.Contains(string(res.body), `true`) {
			t.Fatalf("got %s, want 200 {value: true}", res)
		}
	}
	onPhone := func(t *testing.T, id, what string, check func(wasim.GroupInfo) bool) wasim.GroupInfo {
		t.Helper()
		var g wasim.GroupInfo
		eventually(t, 10*time.Second, what, func() error {
			var err error
			if g, err = sim.Group(id); err != nil {
				return err
			}
			if !check(g) {
				return fmt.Errorf("the group is %+v", g)
			}
			return nil
		})
		return g
	}
	var group string
	notified := func(t *testing.T, code string, params ...any) hook {
		t.Helper()
		return hooks.waitFor(t, code, func(h hook) bool {
			got, _ := h.Body["notificationParameters"].([]any)
			return h.Type == "ReceivedCallback" && h.str("phone") == group && h.str("notification") == code &&
				slices.Equal(got, params)
		})
	}
	metadata := func(t *testing.T, route, id string) groupMetadataJSON {
		t.Helper()
		res := in.call(t, "GET", route+"/"+id, nil)
		if res.status != http.StatusOK {
			t.Fatalf("%s: %s", route, res)
		}
		var g groupMetadataJSON
		res.decode(t, &g)
		return g
	}
	var invitation string

	t.Run("create-group", func(t *testing.T) {
		res := in.call(t, "POST", "create-group", map[string]any{
			"groupName": "Projeto", "phones": []string{alicePhone, bobPhone, nobody}})
		var created struct {
			Phone, InvitationLink string
			PhonesNotAdded        []string
		}
		res.decode(t, &created)
		if res.status != http.StatusOK || !strings.HasSuffix(created.Phone, "-group") ||
			!strings.HasPrefix(created.InvitationLink, "https://chat.whatsapp.com/") ||
			!slices.Equal(created.PhonesNotAdded, []string{nobody}) {
			t.Fatalf("create-group: %s", res)
		}
		group, invitation = created.Phone, created.InvitationLink
		g := onPhone(t, group, "the group on the phones", func(g wasim.GroupInfo) bool { return len(g.Participants) == 3 })
		if g.Subject != "Projeto" || g.Creator != businessPhone || !slices.ContainsFunc(alice.Groups(), func(g wasim.GroupInfo) bool { return g.ID == group }) {
			t.Errorf("on the phones: %+v", g)
		}
		notified(t, "GROUP_CREATE", "Projeto")
	})

	t.Run("name, description and photo", func(t *testing.T) {
		ok(t, in.call(t, "POST", "update-group-name", map[string]any{"groupId": group, "groupName": "Projeto X"}))
		ok(t, in.call(t, "POST", "update-group-description", map[string]any{"groupId": group, "groupDescription": "Só o essencial"}))
		ok(t, in.call(t, "POST", "update-group-photo", map[string]any{"groupId": group, "groupPhoto": dataURI("image/png", pngImage(t, 300, 200))}))
		first := onPhone(t, group, "the new name, description and picture", func(g wasim.GroupInfo) bool {
			return g.Subject == "Projeto X" && g.Description == "Só o essencial" && g.PictureID != ""
		}).PictureID
		files := fileServer(t, map[string][]byte{"/logo.png": pngImage(t, 120, 160)})
		ok(t, in.call(t, "POST", "update-group-photo", map[string]any{"groupId": group, "groupPhoto": files.URL + "/logo.png"}))
		onPhone(t, group, "the picture from a URL", func(g wasim.GroupInfo) bool { return g.PictureID != "" && g.PictureID != first })
		notified(t, "GROUP_CHANGE_SUBJECT", "Projeto X")
		notified(t, "GROUP_CHANGE_DESCRIPTION", "Só o essencial")
		if h := notified(t, "GROUP_CHANGE_ICON"); h.str("participantPhone") != businessPhone {
			t.Errorf("icon change by: %s", h.Raw)
		}
	})

	t.Run("settings", func(t *testing.T) {
		ok(t, in.call(t, "POST", "update-group-settings", map[string]any{"groupId": group, "adminOnlyMessage": true, "adminOnlySettings": true}))
		onPhone(t, group, "the settings", func(g wasim.GroupInfo) bool { return g.AdminOnlyMessage && g.AdminOnlySettings })
		notified(t, "GROUP_CHANGE_ANNOUNCE", "on")
		notified(t, "GROUP_CHANGE_RESTRICT", "on")
		// WhatsApp holds a plain member to them.
		if _, err := alice.SendText(ctx, group, "posso falar?", ""); err == nil {
			t.Error("a member sent a message to an admins-only group")
		}
		if err := alice.SetGroupSubject(ctx, group, "Meu"); err == nil {
			t.Error("a member renamed a locked group")
		}
		ok(t, in.call(t, "POST", "update-group-settings", map[string]any{"phone": group, "adminOnlyMessage": false}))
		onPhone(t, group, "messages open again", func(g wasim.GroupInfo) bool { return !g.AdminOnlyMessage && g.AdminOnlySettings })
		if _, err := alice.SendText(ctx, group, "agora sim", ""); err != nil {
			t.Errorf("a member of an open group: %v", err)
		}
		// Only admins add people, until every member may.
		if _, err := alice.UpdateGroupParticipants(ctx, group, "add", evePhone); err == nil {
			t.Error("a member added someone to a group where only admins may")
		}
		ok(t, in.call(t, "POST", "update-group-settings", map[string]any{"groupId": group, "adminOnlyAddMember": false}))
		onPhone(t, group, "every member may add", func(g wasim.GroupInfo) bool { return g.AllMemberAdd })
		notified(t, "GROUP_MEMBER_ADD_MODE", "all_member_add")
		if g := metadata(t, "light-group-metadata", group); g.AdminOnlyAddMember {
			t.Errorf("metadata: adminOnlyAddMember after it was turned off")
		}
		if res, err := alice.UpdateGroupParticipants(ctx, group, "add", evePhone); err != nil || res[0].Error != 0 {
			t.Errorf("a member adds Eve: %+v, %v", res, err)
		}
		if _, err := alice.UpdateGroupParticipants(ctx, group, "remove", evePhone); err == nil {
			t.Error("a member removed someone")
		}
		ok(t, in.call(t, "POST", "remove-participant", map[string]any{"groupId": group, "phones": []string{evePhone}}))
		ok(t, in.call(t, "POST", "update-group-settings", map[string]any{"groupId": group, "adminOnlyAddMember": true}))
		onPhone(t, group, "only admins add again, Eve out", func(g wasim.GroupInfo) bool { return !g.AllMemberAdd && !isMember(g, evePhone) })
	})

	t.Run("admins and participants", func(t *testing.T) {
		ok(t, in.call(t, "POST", "add-admin", map[string]any{"groupId": group, "phones": []string{alicePhone}}))
		onPhone(t, group, "Alice an admin", func(g wasim.GroupInfo) bool { return isAdmin(g, alicePhone) })
		notified(t, "GROUP_PARTICIPANT_PROMOTE", alicePhone)
		ok(t, in.call(t, "POST", "remove-admin", map[string]any{"groupId": group, "phones": []string{alicePhone}}))
		onPhone(t, group, "Alice no admin", func(g wasim.GroupInfo) bool { return !isAdmin(g, alicePhone) })
		notified(t, "GROUP_PARTICIPANT_DEMOTE", alicePhone)
		ok(t, in.call(t, "POST", "remove-participant", map[string]any{"groupId": group, "phones": []string{bobPhone}}))
		onPhone(t, group, "Bob out", func(g wasim.GroupInfo) bool { return !isMember(g, bobPhone) })
		notified(t, "GROUP_PARTICIPANT_REMOVE", bobPhone)
		ok(t, in.call(t, "POST", "add-participant", map[string]any{"groupId": group, "phones": []string{bobPhone}}))
		onPhone(t, group, "Bob back", func(g wasim.GroupInfo) bool { return isMember(g, bobPhone) })
		notified(t, "GROUP_PARTICIPANT_ADD", bobPhone)
		// One number not on WhatsApp: nothing changes, and the answer names it.
		res := in.call(t, "POST", "add-participant", map[string]any{"groupId": group, "phones": []string{davePhone, nobody}})
		res.wantError(t, http.StatusNotFound, "not_on_whatsapp")
		if !strings.Contains(string(res.body), nobody) || strings.Contains(string(res.body), davePhone) || isMember(onPhone(t, group, "", func(wasim.GroupInfo) bool { return true }), davePhone) {
			t.Errorf("add with a number not on WhatsApp: %s", res)
		}
	})

	t.Run("metadata", func(t *testing.T) {
		g := metadata(t, "group-metadata", group)
		if g.Phone != group || g.Owner != businessPhone || g.Subject != "Projeto X" || g.Description != "Só o essencial" ||
			g.InvitationLink == nil || *g.InvitationLink != invitation || g.AdminOnlyMessage || !g.AdminOnlySettings ||
			g.SubjectOwner != businessPhone || len(g.Participants) != 3 {
			t.Errorf("group-metadata: %+v", g)
		}
		if admin, super, found := g.participant(businessPhone); !admin || !super || !found {
			t.Errorf("the instance in the group: %+v", g.Participants)
		}
		if admin, _, found := g.participant(alicePhone); admin || !found {
			t.Errorf("Alice in the group: %+v", g.Participants)
		}
		if light := metadata(t, "light-group-metadata", group); light.InvitationLink != nil || light.Subject != "Projeto X" {
			t.Errorf("light-group-metadata: %+v", light)
		}
		res := in.call(t, "GET", "groups?page=1&pageSize=10", nil)
		var list []struct {
			IsGroup     bool
			Name, Phone string
		}
		res.decode(t, &list)
		if res.status != http.StatusOK || len(list) != 1 || list[0].Phone != group || list[0].Name != "Projeto X" || !list[0].IsGroup {
			t.Errorf("groups: %s", res)
		}
		if res := in.call(t, "GET", "groups?page=2&pageSize=10", nil); res.status != http.StatusOK || strings.TrimSpace(string(res.body)) != "[]" {
			t.Errorf("groups, page 2: %s", res)
		}
	})

	t.Run("invite links", func(t *testing.T) {
		res := in.call(t, "GET", "group-invitation-link/"+group, nil)
		var link struct{ Phone, InvitationLink string }
		res.decode(t, &link)
		if res.status != http.StatusOK || link.InvitationLink != invitation {
			t.Fatalf("group-invitation-link: %s", res)
		}
		res = in.call(t, "GET", "group-invitation-metadata?url="+url.QueryEscape(invitation), nil)
		var byInvite groupMetadataJSON
		res.decode(t, &byInvite)
		if res.status != http.StatusOK || byInvite.Phone != group || byInvite.Subject != "Projeto X" || byInvite.ParticipantsCount != 3 {
			t.Errorf("group-invitation-metadata: %s", res)
		}
		// Carol joins by the link.
		if joined, err := carol.JoinGroupByLink(ctx, invitation); err != nil || joined != group {
			t.Fatalf("Carol joins: %q, %v", joined, err)
		}
		onPhone(t, group, "Carol in", func(g wasim.GroupInfo) bool { return isMember(g, carolPhone) })
		notified(t, "GROUP_PARTICIPANT_INVITE", carolPhone)

		// A new link: the old one no longer works.
		res = in.call(t, "POST", "redefine-invitation-link/"+group, map[string]any{})
		res.decode(t, &link)
		if res.status != http.StatusOK || link.InvitationLink == invitation || !strings.HasPrefix(link.InvitationLink, "https://chat.whatsapp.com/") {
			t.Fatalf("redefine-invitation-link: %s", res)
		}
		notified(t, "GROUP_CHANGE_INVITE_LINK")
		in.call(t, "GET", "group-invitation-metadata?url="+url.QueryEscape(invitation), nil).wantError(t, http.StatusNotFound, "not_found")
		invitation = link.InvitationLink
	})

	t.Run("join requests", func(t *testing.T) {
		ok(t, in.call(t, "POST", "update-group-settings", map[string]any{"groupId": group, "requireAdminApproval": true}))
		onPhone(t, group, "approval required", func(g wasim.GroupInfo) bool { return g.ApprovalRequired })
		notified(t, "GROUP_MEMBERSHIP_JOIN_APPROVAL_MODE")
		if _, err := dave.JoinGroupByLink(ctx, invitation); err != nil {
			t.Fatal(err)
		}
		g := onPhone(t, group, "Dave waiting", func(g wasim.GroupInfo) bool { return slices.Equal(g.JoinRequests, []string{davePhone}) })
		if h := notified(t, "MEMBERSHIP_APPROVAL_REQUEST", davePhone); h.str("participantPhone") != davePhone {
			t.Errorf("the request, from: %s", h.Raw)
		}
		if isMember(g, davePhone) {
			t.Fatal("Dave joined a group that needs approval")
		}
		if !metadata(t, "group-metadata", group).RequireAdminApproval {
			t.Error("group-metadata does not say approval is required")
		}
		// Nobody else asked.
		in.call(t, "POST", "reject-participant", map[string]any{"groupId": group, "phones": []string{bobPhone}}).
			wantError(t, http.StatusUnprocessableEntity, "refused_by_whatsapp")
		ok(t, in.call(t, "POST", "approve-participant", map[string]any{"groupId": group, "phones": []string{davePhone}}))
		onPhone(t, group, "Dave in", func(g wasim.GroupInfo) bool { return isMember(g, davePhone) && len(g.JoinRequests) == 0 })
		// Eve asks too, and is turned down.
		if _, err := eve.JoinGroupByLink(ctx, invitation); err != nil {
			t.Fatal(err)
		}
		notified(t, "MEMBERSHIP_APPROVAL_REQUEST", evePhone)
		ok(t, in.call(t, "POST", "reject-participant", map[string]any{"groupId": group, "phones": []string{evePhone}}))
		notified(t, "REVOKED_MEMBERSHIP_REQUESTS", evePhone)
		if g := onPhone(t, group, "no requests left", func(g wasim.GroupInfo) bool { return len(g.JoinRequests) == 0 }); isMember(g, evePhone) {
			t.Error("a rejected request made Eve a member")
		}
	})

	t.Run("leave and accept an invite", func(t *testing.T) {
		// Alice becomes an admin, so the group keeps one when the instance leaves.
		ok(t, in.call(t, "POST", "add-admin", map[string]any{"groupId": group, "phones": []string{alicePhone}}))
		ok(t, in.call(t, "POST", "update-group-settings", map[string]any{"groupId": group, "requireAdminApproval": false}))
		ok(t, in.call(t, "POST", "leave-group", map[string]any{"groupId": group}))
		onPhone(t, group, "the instance out", func(g wasim.GroupInfo) bool { return !isMember(g, businessPhone) })
		in.call(t, "GET", "group-metadata/"+group, nil).wantError(t, http.StatusForbidden, "not_participant")
		res := in.call(t, "GET", "accept-invite-group?url="+url.QueryEscape(invitation), nil)
		var accepted struct {
			Success bool
			Phone   string
			Pending bool
		}
		res.decode(t, &accepted)
		if res.status != http.StatusOK || !accepted.Success || accepted.Phone != group || accepted.Pending {
			t.Fatalf("accept-invite-group: %s", res)
		}
		onPhone(t, group, "the instance back", func(g wasim.GroupInfo) bool { return isMember(g, businessPhone) })
	})

	t.Run("a LID-addressed group", func(t *testing.T) {
		if err := sim.SetGroupAddressing(group, wasim.AddressingLID); err != nil {
			t.Fatal(err)
		}
		g := metadata(t, "light-group-metadata", group)
		for _, p := range g.Participants {
			acct, known := sim.Account(p.Phone)
			if !known || p.LID != acct.LID().String() {
				t.Errorf("participant %+v: want a phone number with its LID beside", p)
			}
		}
		if g.Owner != businessPhone || len(g.Participants) != 5 {
			t.Errorf("LID group: %+v", g)
		}
		// Alice is an admin now: she removes Bob (the notification names him by phone) and makes the instance an
		// admin again (it came back by link, as a member).
		if _, err := alice.UpdateGroupParticipants(ctx, group, "remove", bobPhone); err != nil {
			t.Fatal(err)
		}
		notified(t, "GROUP_PARTICIPANT_REMOVE", bobPhone)
		if _, err := alice.UpdateGroupParticipants(ctx, group, "promote", businessPhone); err != nil {
			t.Fatal(err)
		}
		notified(t, "GROUP_PARTICIPANT_PROMOTE", businessPhone)
		ok(t, in.call(t, "POST", "add-participant", map[string]any{"groupId": group, "phones": []string{bobPhone}}))
		onPhone(t, group, "Bob back in the LID group", func(g wasim.GroupInfo) bool { return isMember(g, bobPhone) })
		ok(t, in.call(t, "POST", "add-admin", map[string]any{"groupId": group, "phones": []string{bobPhone}}))
		onPhone(t, group, "Bob an admin of the LID group", func(g wasim.GroupInfo) bool { return isAdmin(g, bobPhone) })
		notified(t, "GROUP_PARTICIPANT_PROMOTE", bobPhone)
		// Someone not in the group: WhatsApp refuses, naming them as the request did.
		res := in.call(t, "POST", "remove-participant", map[string]any{"groupId": group, "phones": []string{evePhone}})
		res.wantError(t, http.StatusUnprocessableEntity, "refused_by_whatsapp")
		if !strings.Contains(string(res.body), evePhone) {
			t.Errorf("refusal: %s", res)
		}
	})
}

// TestGroupsErrors: what WhatsApp refuses comes back as a clear 4xx: not an admin, not a participant, no such
// group or invite, numbers not on WhatsApp; bad input is a 400 before WhatsApp is asked.
func TestGroupsErrors(t *testing.T) {
	const bobPhone, nobody = "5511999990002", "5511999990099"
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	addAccount(t, sim, bobPhone, "Bob")
	srv := startServer(t, sim)
	in := createInstance(t, srv, "group-errors", newReceiver(t))
	link(t, in, business)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	member, err := alice.CreateGroup(ctx, "Da Alice", businessPhone, bobPhone)
	if err != nil {
		t.Fatal(err)
	}
	outside, err := alice.CreateGroup(ctx, "Sem a empresa", bobPhone)
	if err != nil {
		t.Fatal(err)
	}
	const unknown = "120363000000000001-group"
	for _, c := range []struct {
		name, method, route string
		body                any
		status              int
		code                string
	}{
		{"not an admin: add", "POST", "add-participant", map[string]any{"groupId": member.ID, "phones": []string{alicePhone}}, 403, "not_admin"},
		{"not an admin: settings", "POST", "update-group-settings", map[string]any{"groupId": member.ID, "adminOnlyMessage": true}, 403, "not_admin"},
		{"not an admin: invite link", "GET", "group-invitation-link/" + member.ID, nil, 403, "not_admin"},
		{"not an admin: approve", "POST", "approve-participant", map[string]any{"groupId": member.ID, "phones": []string{bobPhone}}, 403, "not_admin"},
		{"not a participant: metadata", "GET", "group-metadata/" + outside.ID, nil, 403, "not_participant"},
		{"not a participant: rename", "POST", "update-group-name", map[string]any{"groupId": outside.ID, "groupName": "x"}, 403, "not_participant"},
		{"not a participant: leave", "POST", "leave-group", map[string]any{"groupId": outside.ID}, 403, "not_participant"},
		{"unknown group", "GET", "group-metadata/" + unknown, nil, 404, "not_found"},
		{"unknown group, old form", "GET", "group-metadata/5511999990001-1623281429", nil, 404, "not_found"},
		{"unknown group: rename", "POST", "update-group-name", map[string]any{"groupId": unknown, "groupName": "x"}, 404, "not_found"},
		{"unknown invite", "GET", "group-invitation-metadata?url=https://chat.whatsapp.com/AAAAAAAAAAAAAAAAAAAAAA", nil, 404, "not_found"},
		{"unknown invite: accept", "GET", "accept-invite-group?url=https://chat.whatsapp.com/AAAAAAAAAAAAAAAAAAAAAA", nil, 404, "not_found"},
		{"nobody on WhatsApp", "POST", "create-group", map[string]any{"groupName": "x", "phones": []string{nobody}}, 404, "not_on_whatsapp"},
		{"bad group id", "POST", "update-group-name", map[string]any{"groupId": "abc", "groupName": "x"}, 400, "invalid_phone"},
		{"a phone for a group", "GET", "group-metadata/" + alicePhone, nil, 400, "invalid_phone"},
		{"no phones", "POST", "create-group", map[string]any{"groupName": "x", "phones": []string{}}, 400, "missing_fields"},
		{"bad phone", "POST", "add-participant", map[string]any{"groupId": member.ID, "phones": []string{"12"}}, 400, "invalid_phone"},
		{"blank name", "POST", "create-group", map[string]any{"groupName": " ", "phones": []string{alicePhone}}, 400, "invalid_field"},
		{"no description", "POST", "update-group-description", map[string]any{"groupId": member.ID}, 400, "missing_fields"},
		{"no settings", "POST", "update-group-settings", map[string]any{"groupId": member.ID}, 400, "missing_fields"},
		{"not an image", "POST", "update-group-photo", map[string]any{"groupId": member.ID, "groupPhoto": base64.StdEncoding.EncodeToString([]byte("not an image at all"))}, 400, "invalid_media"},
		{"a picture from a private address", "POST", "update-group-photo", map[string]any{"groupId": member.ID, "groupPhoto": "http://127.0.0.1:9/a.png"}, 400, "invalid_media"},
		{"bad invite url", "GET", "group-invitation-metadata?url=https://example.com/abc", nil, 400, "invalid_query"},
		{"no invite url", "GET", "accept-invite-group", nil, 400, "missing_fields"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in.call(t, c.method, c.route, c.body).wantError(t, c.status, c.code)
		})
	}
	// A member that is no admin sees the group, without its invite link.
	res := in.call(t, "GET", "group-metadata/"+member.ID, nil)
	var g groupMetadataJSON
	res.decode(t, &g)
	if res.status != http.StatusOK || g.Subject != "Da Alice" || g.InvitationLink != nil || g.Owner != alicePhone {
		t.Errorf("group-metadata as a member: %s", res)
	}
	// Nothing happened to the groups.
	if g, _ := sim.Group(member.ID); g.Subject != "Da Alice" || len(g.Participants) != 3 || g.AdminOnlyMessage {
		t.Errorf("the group changed: %+v", g)
	}
}

func isMember(g wasim.GroupInfo, phone string) bool {
	return slices.ContainsFunc(g.Participants, func(p wasim.GroupParticipant) bool { return p.Phone == phone })
}

func isAdmin(g wasim.GroupInfo, phone string) bool {
	return slices.ContainsFunc(g.Participants, func(p wasim.GroupParticipant) bool { return p.Phone == phone && p.Admin })
}

// pngImage is a w×h PNG: not the square JPEG WhatsApp takes, which the server makes of it.
func pngImage(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
