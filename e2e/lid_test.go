package e2e

import (
	"context"
	"testing"
	"time"
)

// TestLIDContacts: contacts who write by LID, as most of WhatsApp does today, are reported by their phone number
// (which WhatsApp gives beside the LID) with their LID in Z-API's fields; a message can be sent to a LID; receipts
// from a LID chat name the phone number; in a LID-addressed group the member is named the same way.
func TestLIDContacts(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	const bobPhone = "5511999990002"
	bob := addAccount(t, sim, bobPhone, "Bob")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "lids", hooks)
	link(t, in, business)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := alice.MoveChatsToLID(ctx); err != nil {
		t.Fatal(err)
	}
	aliceLID := alice.LID().String()

	// A contact who writes by LID.
	id, err := alice.SendText(ctx, businessPhone, "oi, pelo LID", "")
	if err != nil {
		t.Fatal(err)
	}
	h := hooks.waitFor(t, "received from a LID", func(h hook) bool { return h.Type == "ReceivedCallback" && h.str("messageId") == id })
	if h.str("phone") != alicePhone || h.str("chatLid") != aliceLID || h.str("senderLid") != aliceLID || h.Body["participantLid"] != nil {
		t.Errorf("received from a LID: phone %q chatLid %q senderLid %q participantLid %v, want %s and %s",
			h.str("phone"), h.str("chatLid"), h.str("senderLid"), h.Body["participantLid"], alicePhone, aliceLID)
	}

	// Sending to the LID the webhook gave; the contact's read receipt names her phone number.
	out := sendText(t, in, aliceLID, "respondendo ao LID")
	if m := waitMessage(t, alice, out); m.From != businessPhone || m.Text != "respondendo ao LID" {
		t.Errorf("Alice's phone got %+v", m)
	}
	if err := alice.MarkRead(ctx, businessPhone, out); err != nil {
		t.Fatal(err)
	}
	if read := hooks.waitFor(t, "READ from a LID chat", status("READ", out)); read.str("phone") != alicePhone {
		t.Errorf("READ with phone %q, want %s", read.str("phone"), alicePhone)
	}

	// A LID-addressed group (Alice's account creates them so): a member named by phone number and LID.
	group, err := alice.CreateGroup(ctx, "por LID", businessPhone, bobPhone)
	if err != nil {
		t.Fatal(err)
	}
	gid, err := bob.SendText(ctx, group.ID, "olá grupo", "")
	if err != nil {
		t.Fatal(err)
	}
	g := hooks.waitFor(t, "received in a LID group", func(h hook) bool { return h.Type == "ReceivedCallback" && h.str("messageId") == gid })
	if g.str("phone") != group.ID || g.str("participantPhone") != bobPhone || g.str("participantLid") != bob.LID().String() ||
		g.str("senderLid") != bob.LID().String() {
		t.Errorf("received in a LID group: %s", g.Raw)
	}
}
