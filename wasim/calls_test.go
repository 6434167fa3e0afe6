package wasim_test

import (
	"testing"

	"go.mau.fi/whatsmeow/types/events"

	"github.com/plugzapi/plugzapi/wasim"
)

// TestCalls: a phone's call rings on the callee's linked device as whatsmeow's CallOffer (video calls with
// <video>), by LID once the caller moved its chats; whatsmeow's RejectCall rejects it and the caller sees the
// reject; a call the caller hangs up ends with CallTerminate; rejecting a call that does not ring is refused.
func TestCalls(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim)
	dev := c.link(bob)
	ctx := testContext(t)

	from := c.mark()
	id, err := alice.Call(ctx, bob.Phone(), true)
	if err != nil {
		t.Fatal(err)
	}
	offer := waitEvent(c, from, func(e *events.CallOffer) bool { return e.CallID == id })
	if _, video := offer.Data.GetOptionalChildByTag("video"); offer.CallCreator.User != alice.Phone() || !video {
		t.Errorf("offer %+v, want a video call from %s", offer.BasicCallMeta, alice.Phone())
	}
	if err := c.cli.RejectCall(ctx, offer.From, offer.CallID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the call rejected by the linked device", func() bool {
		calls := alice.Calls()
		return len(calls) == 1 && calls[0].State == wasim.CallRejected && calls[0].RejectedBy == dev
	})
	// A second reject of a call that no longer rings changes nothing.
	if err := c.cli.RejectCall(ctx, offer.From, offer.CallID); err != nil {
		t.Fatal(err)
	}

	if err := alice.MoveChatsToLID(ctx); err != nil {
		t.Fatal(err)
	}
	from = c.mark()
	voice, err := alice.Call(ctx, bob.Phone(), false)
	if err != nil {
		t.Fatal(err)
	}
	offer = waitEvent(c, from, func(e *events.CallOffer) bool { return e.CallID == voice })
	if _, video := offer.Data.GetOptionalChildByTag("video"); offer.CallCreator.String() != alice.LID().String() ||
		offer.CallCreatorAlt.User != alice.Phone() || video {
		t.Errorf("offer %+v, want a voice call by LID from %s", offer.BasicCallMeta, alice.LID())
	}
	if err := alice.HangUp(ctx, voice); err != nil {
		t.Fatal(err)
	}
	waitEvent(c, from, func(e *events.CallTerminate) bool { return e.CallID == voice })
	if err := alice.HangUp(ctx, voice); err == nil {
		t.Error("hanging up a call that ended was not refused")
	}
	if err := bob.HangUp(ctx, id); err == nil {
		t.Error("the callee hung up the caller's call")
	}
	if _, err := alice.Call(ctx, "5511000000000", false); err == nil {
		t.Error("a call to a number not on WhatsApp was offered")
	}
	calls := alice.Calls()
	if len(calls) != 2 || calls[0].State != wasim.CallRejected || calls[1].State != wasim.CallHungUp || !calls[1].RejectedBy.IsEmpty() {
		t.Errorf("calls %+v", calls)
	}
}
