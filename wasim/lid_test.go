package wasim_test

import (
	"errors"
	"slices"
	"testing"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/plugzapi/plugzapi/wasim"
)

// LIDs as today's WhatsApp reveals them: a contact's LID comes with its messages and
// on request; an account that moves its chats to LIDs writes from its LID, with its
// phone number beside it; whatsmeow keeps talking across the move, renaming its
// sessions, and a device of a moving account moves with it.
func TestLIDChats(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim)
	c.link(alice)
	ctx := testContext(t)

	info, err := c.cli.GetUserInfo(ctx, []types.JID{bob.JID()})
	if err != nil {
		t.Fatal(err)
	}
	if info[bob.JID()].LID != bob.LID() {
		t.Errorf("Bob's LID from usync: %s, want %s", info[bob.JID()].LID, bob.LID())
	}
	id, err := bob.SendText(ctx, alice.Phone(), "by phone number", "")
	if err != nil {
		t.Fatal(err)
	}
	got := waitEvent[*events.Message](c, 0, isMessage(id))
	if got.Info.Chat != bob.JID() || got.Info.SenderAlt.ToNonAD() != bob.LID() {
		t.Errorf("phone-number chat: chat %s, sender alt %s, want %s and %s", got.Info.Chat, got.Info.SenderAlt, bob.JID(), bob.LID())
	}

	// Bob moves to LIDs: his next message comes from his LID, and the client answers
	// the chat it got, which reaches Bob's phone.
	if err := bob.MoveChatsToLID(ctx); err != nil {
		t.Fatal(err)
	}
	if bob.Addressing() != wasim.AddressingLID {
		t.Errorf("Bob's addressing %s after the move", bob.Addressing())
	}
	id, err = bob.SendText(ctx, alice.Phone(), "by LID", "")
	if err != nil {
		t.Fatal(err)
	}
	got = waitEvent[*events.Message](c, 0, isMessage(id))
	if got.Info.Chat != bob.LID() || got.Info.SenderAlt.ToNonAD() != bob.JID() || messageText(got) != "by LID" {
		t.Errorf("LID chat: chat %s, sender alt %s, text %q, want %s and %s", got.Info.Chat, got.Info.SenderAlt, messageText(got), bob.LID(), bob.JID())
	}
	reply, err := c.cli.SendMessage(ctx, got.Info.Chat, textMessage("answering your LID"))
	if err != nil {
		t.Fatal(err)
	}
	if m := waitInbox(t, bob, reply.ID); m.Text != "answering your LID" || m.Chat != alice.Phone() || m.From != alice.Phone() || m.Addressing != wasim.AddressingLID {
		t.Errorf("Bob's phone got %+v", m)
	}
	// Bob's phone reads it in the chat by LID; the receipt comes back from his LID.
	if err := bob.MarkRead(ctx, alice.Phone(), reply.ID); err != nil {
		t.Fatal(err)
	}
	if r := waitEvent[*events.Receipt](c, 0, isReceipt(reply.ID, types.ReceiptTypeRead)); r.Chat != bob.LID() {
		t.Errorf("read receipt in chat %s, want Bob's LID %s", r.Chat, bob.LID())
	}

	// Alice moves too: her linked device is told, and from then on writes by LID even
	// to a phone number. (The test sends once the client has handled the news: whatsmeow
	// writes it to its store unguarded, and a send meanwhile would race with that.)
	from := c.mark()
	if err := alice.MoveChatsToLID(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(c, from, func(m *events.Message) bool {
		return m.Message.GetProtocolMessage().GetLidMigrationMappingSyncMessage() != nil
	})
	eventually(t, "the client learns its account moved to LIDs", func() bool {
		resp, err := c.cli.SendMessage(ctx, bob.JID(), textMessage("after my move"))
		if err != nil {
			t.Fatal(err)
		}
		waitInbox(t, bob, resp.ID)
		return resp.Sender.Server == types.HiddenUserServer
	})
}

// A LID-addressed group names its members by LID, with their phone numbers beside; a
// group created by an account that moved to LIDs is one, and a group can move.
func TestLIDGroups(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	carol := addAccount(t, sim, "Carol")
	c := newClient(t, sim)
	c.link(alice)
	ctx := testContext(t)
	if err := bob.MoveChatsToLID(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := bob.CreateGroup(ctx, "by LID", alice.Phone(), carol.Phone())
	if err != nil {
		t.Fatal(err)
	}
	if info.Addressing != wasim.AddressingLID {
		t.Errorf("group %+v, want LID addressing", info)
	}
	joined := waitEvent[*events.JoinedGroup](c, 0, func(j *events.JoinedGroup) bool { return j.JID == info.JID })
	if joined.AddressingMode != types.AddressingModeLID || joined.OwnerJID != bob.LID() || joined.OwnerPN != bob.JID() {
		t.Errorf("joined group %+v", joined.GroupInfo)
	}
	for _, p := range joined.Participants {
		if p.JID.Server != types.HiddenUserServer || p.PhoneNumber.IsEmpty() || p.LID != p.JID {
			t.Errorf("participant %+v, want a LID with its phone number", p)
		}
	}
	id, err := bob.SendText(ctx, info.ID, "hello from my LID", "")
	if err != nil {
		t.Fatal(err)
	}
	got := waitEvent[*events.Message](c, 0, isMessage(id))
	if got.Info.Sender.ToNonAD() != bob.LID() || got.Info.SenderAlt.ToNonAD() != bob.JID() || got.Info.AddressingMode != types.AddressingModeLID {
		t.Errorf("group message info %+v", got.Info.MessageSource)
	}
	resp, err := c.cli.SendMessage(ctx, info.JID, textMessage("hello LID group"))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []*wasim.Account{bob, carol} {
		waitInbox(t, a, resp.ID)
	}

	// A group addressed by phone number moves to LIDs; members keep talking in it.
	pn, err := carol.CreateGroup(ctx, "by phone number", alice.Phone(), bob.Phone())
	if err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.JoinedGroup](c, 0, func(j *events.JoinedGroup) bool {
		return j.JID == pn.JID && j.AddressingMode == types.AddressingModePN
	})
	if err := sim.SetGroupAddressing(pn.ID, wasim.AddressingLID); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetGroupAddressing(pn.ID, wasim.AddressingPN); !errors.Is(err, wasim.ErrAddressingIrreversible) {
		t.Errorf("moving a group back to phone numbers: %v, want ErrAddressingIrreversible", err)
	}
	for _, text := range []string{"first after the move", "second after the move"} {
		resp, err := c.cli.SendMessage(ctx, pn.JID, textMessage(text))
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []*wasim.Account{bob, carol} {
			if m := waitInbox(t, a, resp.ID); m.Text != text {
				t.Errorf("%s got %+v", a.Name(), m)
			}
		}
	}
	g, err := sim.Group(pn.ID)
	if err != nil || g.Addressing != wasim.AddressingLID || !slices.ContainsFunc(g.Participants, func(p wasim.GroupParticipant) bool { return p.LID == alice.LID().String() }) {
		t.Errorf("moved group %+v, %v", g, err)
	}
}
