package wasim_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/plugzapi/plugzapi/wasim"
)

func isGroupChange(group types.JID, match func(*events.GroupInfo) bool) func(*events.GroupInfo) bool {
	return func(g *events.GroupInfo) bool { return g.JID == group && match(g) }
}

func participantPhones(info *types.GroupInfo) []string {
	var out []string
	for _, p := range info.Participants {
		out = append(out, p.JID.User)
	}
	slices.Sort(out)
	return out
}

func sortedPhones(phones ...string) []string {
	slices.Sort(phones)
	return phones
}

// A group's whole life, driven by a client and by simulated phones: creation,
// messages with sender keys and their receipts, participant changes, subject,
// description, picture, typing, leaving, and the errors whatsmeow maps.
func TestGroups(t *testing.T) {
	t.Parallel()
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	carol := addAccount(t, sim, "Carol")
	dave := addAccount(t, sim, "Dave")
	ca := newClient(t, sim) // Alice's linked device, the group's creator
	ca.link(alice)
	cb := newClient(t, sim) // Bob's linked device, next to Bob's phone
	cb.link(bob)
	ctx := testContext(t)

	created, err := ca.cli.CreateGroup(ctx, whatsmeow.ReqCreateGroup{
		Name: "Plans", Participants: []types.JID{bob.JID(), carol.JID(), types.NewJID("5511900088888", types.DefaultUserServer)},
		CreateKey: "3EB0CAFE",
	})
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	group := created.JID
	if group.Server != types.GroupServer || created.Name != "Plans" || created.OwnerJID != alice.JID() {
		t.Errorf("created %+v", created)
	}
	for _, p := range created.Participants {
		switch p.JID.User {
		case alice.Phone():
			if !p.IsSuperAdmin || !p.IsAdmin {
				t.Errorf("creator is not the super admin: %+v", p)
			}
		case "5511900088888":
			if p.Error != 404 {
				t.Errorf("a number not on WhatsApp was not refused: %+v", p)
			}
		}
	}

	t.Run("members learn of the group", func(t *testing.T) {
		joined := waitEvent[*events.JoinedGroup](cb, 0, func(j *events.JoinedGroup) bool { return j.JID == group })
		if joined.Name != "Plans" || joined.Type != "new" || joined.Sender == nil || joined.Sender.User != alice.Phone() {
			t.Errorf("bob's device got %+v", joined)
		}
		mine := waitEvent[*events.JoinedGroup](ca, 0, func(j *events.JoinedGroup) bool { return j.JID == group })
		if mine.CreateKey != "CAFE" {
			t.Errorf("creator's create key %q, want the one it chose", mine.CreateKey)
		}
		info, err := cb.cli.GetGroupInfo(ctx, group)
		if err != nil {
			t.Fatalf("bob's group info: %v", err)
		}
		if got, want := participantPhones(info), sortedPhones(alice.Phone(), bob.Phone(), carol.Phone()); !slices.Equal(got, want) {
			t.Errorf("participants %v, want %v", got, want)
		}
		joinedGroups, err := ca.cli.GetJoinedGroups(ctx)
		if err != nil || len(joinedGroups) != 1 || joinedGroups[0].JID != group {
			t.Errorf("joined groups %v, %v", joinedGroups, err)
		}
	})

	t.Run("messages with sender keys and receipts", func(t *testing.T) {
		resp, err := ca.cli.SendMessage(ctx, group, textMessage("hello group"))
		if err != nil {
			t.Fatalf("send to group: %v", err)
		}
		evt := waitEvent[*events.Message](cb, 0, isMessage(resp.ID))
		if messageText(evt) != "hello group" || evt.Info.Chat != group || evt.Info.Sender.User != alice.Phone() || !evt.Info.IsGroup {
			t.Errorf("bob's device got %q in %s from %s", messageText(evt), evt.Info.Chat, evt.Info.Sender)
		}
		for _, a := range []*wasim.Account{bob, carol} {
			if m := waitInbox(t, a, resp.ID); m.Chat != group.String() || m.From != alice.Phone() || m.Text != "hello group" {
				t.Errorf("%s's phone got %+v", a.Name(), m)
			}
		}
		if _, ok := findMessage(dave, resp.ID); ok {
			t.Error("a non-member got the group message")
		}
		delivered := waitEvent[*events.Receipt](ca, 0, isReceipt(resp.ID, types.ReceiptTypeDelivered))
		if delivered.Chat != group || !delivered.IsGroup {
			t.Errorf("delivery receipt in %s", delivered.Chat)
		}
		if err := carol.MarkRead(ctx, group.String(), resp.ID); err != nil {
			t.Fatal(err)
		}
		read := waitEvent[*events.Receipt](ca, 0, isReceipt(resp.ID, types.ReceiptTypeRead))
		if read.Chat != group || read.Sender.User != carol.Phone() {
			t.Errorf("read receipt from %s in %s", read.Sender, read.Chat)
		}
		// Every member device got exactly one copy; the sender's device none.
		per := sim.DeliveriesByDevice(resp.ID)
		if per[*ca.cli.Store.ID] != 0 || per[*cb.cli.Store.ID] != 1 || per[carol.PhoneDevice()] != 1 || per[alice.PhoneDevice()] != 1 {
			t.Errorf("deliveries %v", per)
		}

		// Bob's phone answers; his other device sees its own message.
		from := ca.mark()
		id, err := bob.SendText(ctx, wasim.GroupID(group), "hi all", resp.ID)
		if err != nil {
			t.Fatalf("phone sends to group: %v", err)
		}
		answer := waitEvent[*events.Message](ca, from, isMessage(id))
		if messageText(answer) != "hi all" || answer.Info.Sender.User != bob.Phone() {
			t.Errorf("alice's device got %q from %s", messageText(answer), answer.Info.Sender)
		}
		if q := answer.Message.GetExtendedTextMessage().GetContextInfo().GetStanzaID(); q != resp.ID {
			t.Errorf("reply quotes %q, want %s", q, resp.ID)
		}
		own := waitEvent[*events.Message](cb, 0, isMessage(id))
		if !own.Info.IsFromMe || own.Info.Chat != group {
			t.Errorf("bob's device copy: fromMe %v chat %s", own.Info.IsFromMe, own.Info.Chat)
		}

		// Each device decrypted at once: its sender key came before the skmsg, so
		// nobody had to ask for a retry.
		for _, c := range []*client{ca, cb} {
			if u := eventsOf[*events.UndecryptableMessage](c); len(u) > 0 {
				t.Errorf("undecryptable group messages: %+v", u[0].Info)
			}
		}
		if ca.logs.contains("different participant list hash") || ca.logs.contains("Failed to encrypt") {
			t.Error("the group ack's phash or the device list disagrees with the sender's")
		}
		// A crash resend with the original id is acked as the original.
		again, err := ca.cli.SendMessage(ctx, group, textMessage("hello group"), whatsmeow.SendRequestExtra{ID: resp.ID})
		if err != nil {
			t.Fatalf("resend: %v", err)
		}
		if !again.Timestamp.Equal(resp.Timestamp) || sim.Deliveries(resp.ID) != 1 {
			t.Errorf("resend acked at %v (original %v), deliveries %d", again.Timestamp, resp.Timestamp, sim.Deliveries(resp.ID))
		}
	})

	t.Run("retry receipt in a group", func(t *testing.T) {
		// Bob's device loses its session with Alice's: it cannot decrypt the next
		// sender key message, asks for a retry, and the resend reaches it alone.
		cb.forgetSessionWith(ca)
		resp, err := ca.cli.SendMessage(ctx, group, textMessage("after the loss"))
		if err != nil {
			t.Fatal(err)
		}
		waitEvent[*events.UndecryptableMessage](cb, 0, func(u *events.UndecryptableMessage) bool { return u.Info.ID == resp.ID })
		waitEvent[*events.Receipt](ca, 0, func(r *events.Receipt) bool {
			return isReceipt(resp.ID, types.ReceiptTypeRetry)(r) && r.Sender == *cb.cli.Store.ID && r.Chat == group
		})
		if got := waitEvent[*events.Message](cb, 0, isMessage(resp.ID)); messageText(got) != "after the loss" || got.Info.Chat != group {
			t.Errorf("retried group message %q in %s", messageText(got), got.Info.Chat)
		}
		if per := sim.DeliveriesByDevice(resp.ID); per[*cb.cli.Store.ID] != 1 {
			t.Errorf("deliveries %v: the resend is the same delivery", per)
		}
	})

	t.Run("media in a group", func(t *testing.T) {
		data := randomBytes(t, 1800)
		from := ca.mark()
		id, err := bob.SendMedia(ctx, group.String(), wasim.Media{Kind: wasim.MediaImage, Data: data, Caption: "the view"})
		if err != nil {
			t.Fatal(err)
		}
		evt := waitEvent[*events.Message](ca, from, isMessage(id))
		got, err := ca.cli.Download(ctx, evt.Message.GetImageMessage())
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("download group image: %d bytes, %v", len(got), err)
		}
		if m := waitInbox(t, carol, id); m.MediaSHA256 != sha256Hex(data) || m.Caption != "the view" {
			t.Errorf("carol's phone got %+v", m)
		}
	})

	t.Run("typing in a group", func(t *testing.T) {
		ca.beAvailable(alice)
		from := ca.mark()
		if err := bob.Typing(ctx, group.String(), "composing"); err != nil {
			t.Fatal(err)
		}
		cp := waitEvent[*events.ChatPresence](ca, from, nil)
		if cp.Chat != group || cp.Sender.User != bob.Phone() || cp.State != types.ChatPresenceComposing {
			t.Errorf("chat presence %+v", cp)
		}
	})

	t.Run("participants", func(t *testing.T) {
		from := cb.mark()
		res, err := ca.cli.UpdateGroupParticipants(ctx, group, []types.JID{dave.JID(), bob.JID(), types.NewJID("5511900088888", types.DefaultUserServer)}, whatsmeow.ParticipantChangeAdd)
		if err != nil {
			t.Fatalf("add: %v", err)
		}
		codes := map[string]int{}
		for _, p := range res {
			codes[p.JID.User] = p.Error
		}
		if codes[dave.Phone()] != 0 || codes[bob.Phone()] != 409 || codes["5511900088888"] != 404 {
			t.Errorf("add results %v", codes)
		}
		added := waitEvent[*events.GroupInfo](cb, from, isGroupChange(group, func(g *events.GroupInfo) bool { return len(g.Join) > 0 }))
		if len(added.Join) != 1 || added.Join[0] != dave.JID() || added.Sender == nil || added.Sender.User != alice.Phone() {
			t.Errorf("join event %+v", added)
		}
		eventually(t, "dave is in the group", func() bool {
			g, err := sim.Group(wasim.GroupID(group))
			return err == nil && len(g.Participants) == 4
		})

		from = cb.mark()
		if _, err := ca.cli.UpdateGroupParticipants(ctx, group, []types.JID{bob.JID()}, whatsmeow.ParticipantChangePromote); err != nil {
			t.Fatalf("promote: %v", err)
		}
		promoted := waitEvent[*events.GroupInfo](cb, from, isGroupChange(group, func(g *events.GroupInfo) bool { return len(g.Promote) > 0 }))
		if promoted.Promote[0] != bob.JID() {
			t.Errorf("promote event %+v", promoted)
		}
		// Bob, now an admin, may not remove the super admin.
		res, err = cb.cli.UpdateGroupParticipants(ctx, group, []types.JID{alice.JID()}, whatsmeow.ParticipantChangeRemove)
		if err != nil || len(res) != 1 || res[0].Error != 406 {
			t.Errorf("admin removes the super admin: %+v, %v", res, err)
		}
		from = cb.mark()
		if _, err := ca.cli.UpdateGroupParticipants(ctx, group, []types.JID{bob.JID()}, whatsmeow.ParticipantChangeDemote); err != nil {
			t.Fatalf("demote: %v", err)
		}
		waitEvent[*events.GroupInfo](cb, from, isGroupChange(group, func(g *events.GroupInfo) bool { return len(g.Demote) == 1 && g.Demote[0] == bob.JID() }))
		var iqErr *whatsmeow.IQError
		if _, err := cb.cli.UpdateGroupParticipants(ctx, group, []types.JID{dave.JID()}, whatsmeow.ParticipantChangeRemove); !errors.As(err, &iqErr) || iqErr.Code != 401 {
			t.Errorf("a member who is not an admin removes someone: %v, want IQ error 401", err)
		}
	})

	t.Run("subject, description and picture", func(t *testing.T) {
		from := ca.mark()
		if err := cb.cli.SetGroupName(ctx, group, "Weekend plans"); err != nil {
			t.Fatalf("set name: %v", err)
		}
		named := waitEvent[*events.GroupInfo](ca, from, isGroupChange(group, func(g *events.GroupInfo) bool { return g.Name != nil }))
		if named.Name.Name != "Weekend plans" || named.Name.NameSetBy.User != bob.Phone() {
			t.Errorf("name event %+v", named.Name)
		}
		from = cb.mark()
		if err := ca.cli.SetGroupTopic(ctx, group, "", "", "Saturday at noon"); err != nil {
			t.Fatalf("set topic: %v", err)
		}
		topic := waitEvent[*events.GroupInfo](cb, from, isGroupChange(group, func(g *events.GroupInfo) bool { return g.Topic != nil }))
		if topic.Topic.Topic != "Saturday at noon" || topic.Topic.TopicID == "" {
			t.Errorf("topic event %+v", topic.Topic)
		}
		info, err := cb.cli.GetGroupInfo(ctx, group)
		if err != nil || info.Name != "Weekend plans" || info.Topic != "Saturday at noon" || info.TopicSetBy.User != alice.Phone() {
			t.Errorf("group info after changes: %+v, %v", info, err)
		}
		// A stale previous description id conflicts.
		if err := ca.cli.SetGroupTopic(ctx, group, "not-the-current-id", "", "x"); err == nil {
			t.Error("description change with a stale prev id succeeded")
		}

		if _, err := cb.cli.GetProfilePictureInfo(ctx, group, nil); !errors.Is(err, whatsmeow.ErrProfilePictureNotSet) {
			t.Errorf("group picture before one is set: %v, want ErrProfilePictureNotSet", err)
		}
		from = cb.mark()
		pictureID, err := ca.cli.SetGroupPhoto(ctx, group, testJPEG)
		if err != nil {
			t.Fatalf("set group photo: %v", err)
		}
		pic := waitEvent[*events.Picture](cb, from, func(p *events.Picture) bool { return p.JID == group })
		if pic.PictureID != pictureID || pic.Author.User != alice.Phone() {
			t.Errorf("picture event %+v", pic)
		}
		got, err := cb.cli.GetProfilePictureInfo(ctx, group, nil)
		if err != nil || got.ID != pictureID {
			t.Fatalf("group picture %+v, %v", got, err)
		}
		if body := download(t, sim, got.URL); !bytes.Equal(body, testJPEG) {
			t.Error("the group picture URL serves other bytes")
		}
		if _, err := ca.cli.SetGroupPhoto(ctx, group, []byte("not a jpeg")); !errors.Is(err, whatsmeow.ErrInvalidImageFormat) {
			t.Errorf("non-JPEG group photo: %v, want ErrInvalidImageFormat", err)
		}
	})

	t.Run("leave and remove", func(t *testing.T) {
		from := ca.mark()
		if err := carol.LeaveGroup(ctx, wasim.GroupID(group)); err != nil {
			t.Fatalf("carol leaves: %v", err)
		}
		left := waitEvent[*events.GroupInfo](ca, from, isGroupChange(group, func(g *events.GroupInfo) bool { return len(g.Leave) > 0 }))
		if left.Leave[0] != carol.JID() || left.Sender.User != carol.Phone() {
			t.Errorf("leave event %+v", left)
		}
		if err := carol.LeaveGroup(ctx, wasim.GroupID(group)); !errors.Is(err, wasim.ErrNotInGroup) {
			t.Errorf("leaving twice: %v, want ErrNotInGroup", err)
		}

		from = cb.mark()
		if _, err := ca.cli.UpdateGroupParticipants(ctx, group, []types.JID{bob.JID()}, whatsmeow.ParticipantChangeRemove); err != nil {
			t.Fatalf("remove bob: %v", err)
		}
		// Carol's leave may reach Bob's device after the mark too: wait for his own removal.
		removed := waitEvent[*events.GroupInfo](cb, from, isGroupChange(group, func(g *events.GroupInfo) bool {
			return slices.Contains(g.Leave, bob.JID())
		}))
		if removed.Sender == nil || removed.Sender.User != alice.Phone() {
			t.Errorf("bob's removal %+v, want it by Alice", removed)
		}
		if _, err := cb.cli.GetGroupInfo(ctx, group); !errors.Is(err, whatsmeow.ErrNotInGroup) {
			t.Errorf("group info for a removed member: %v, want ErrNotInGroup", err)
		}
		if _, err := bob.SendText(ctx, group.String(), "still here?", ""); err == nil {
			t.Error("a removed member could send to the group")
		}
		unknown := types.NewJID("120363000000000001", types.GroupServer)
		if _, err := ca.cli.GetGroupInfo(ctx, unknown); !errors.Is(err, whatsmeow.ErrGroupNotFound) {
			t.Errorf("unknown group: %v, want ErrGroupNotFound", err)
		}
		// Messages go only to the members left: Alice's phone and Dave's.
		resp, err := ca.cli.SendMessage(ctx, group, textMessage("just us"))
		if err != nil {
			t.Fatal(err)
		}
		waitInbox(t, dave, resp.ID)
		cb.never(0, 300*time.Millisecond, "a group message after removal", func(e any) bool {
			m, ok := e.(*events.Message)
			return ok && m.Info.ID == resp.ID
		})
		// The notifications kept the sender's member list current: its phash matched.
		if ca.logs.contains("different participant list hash") {
			t.Error("the sender's member list went stale despite the notifications")
		}
	})

	t.Run("a phone runs a group", func(t *testing.T) {
		from := ca.mark()
		info, err := dave.CreateGroup(ctx, "Dave's", alice.Phone())
		if err != nil {
			t.Fatalf("phone creates group: %v", err)
		}
		if info.ID != info.JID.User+"-group" || info.Creator != dave.Phone() || len(info.Participants) != 2 {
			t.Errorf("created %+v", info)
		}
		waitEvent[*events.JoinedGroup](ca, from, func(j *events.JoinedGroup) bool { return j.JID == info.JID && j.Name == "Dave's" })
		from = ca.mark()
		if _, err := dave.UpdateGroupParticipants(ctx, info.ID, "add", carol.Phone()); err != nil {
			t.Fatal(err)
		}
		waitEvent[*events.GroupInfo](ca, from, isGroupChange(info.JID, func(g *events.GroupInfo) bool { return len(g.Join) == 1 && g.Join[0] == carol.JID() }))
		if err := dave.SetGroupSubject(ctx, info.JID.String(), "Renamed"); err != nil {
			t.Fatal(err)
		}
		waitEvent[*events.GroupInfo](ca, from, isGroupChange(info.JID, func(g *events.GroupInfo) bool { return g.Name != nil && g.Name.Name == "Renamed" }))
		id, err := dave.SendText(ctx, info.ID, "welcome", "")
		if err != nil {
			t.Fatal(err)
		}
		waitEvent[*events.Message](ca, from, isMessage(id))
		if _, err := carol.UpdateGroupParticipants(ctx, info.ID, "remove", alice.Phone()); !errors.Is(err, wasim.ErrNotGroupAdmin) {
			t.Errorf("non-admin phone removes: %v, want ErrNotGroupAdmin", err)
		}
		if err := bob.SetGroupSubject(ctx, info.ID, "x"); !errors.Is(err, wasim.ErrNotInGroup) {
			t.Errorf("non-member phone renames: %v, want ErrNotInGroup", err)
		}
		if err := bob.SetGroupSubject(ctx, "120363000000000001-group", "x"); !errors.Is(err, wasim.ErrUnknownGroup) {
			t.Errorf("unknown group: %v, want ErrUnknownGroup", err)
		}
		if groups := alice.Groups(); len(groups) != 2 {
			t.Errorf("alice is in %d groups, want 2", len(groups))
		}
	})
}
