package wasim_test

import (
	"errors"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/plugzapi/plugzapi/wasim"
)

// A blocked person's messages are not delivered to the account that blocked them (the sender sees them sent); the
// account's other devices are told of the change; nobody blocks a number without WhatsApp, and unblocking lets
// messages through again.
func TestBlocklist(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c, other := newClient(t, sim), newClient(t, sim)
	c.link(alice)
	other.link(alice)
	ctx := testContext(t)

	from := other.mark()
	list, err := c.cli.UpdateBlocklist(ctx, bob.JID(), events.BlocklistChangeActionBlock)
	if err != nil || len(list.JIDs) != 1 || list.JIDs[0] != bob.JID() {
		t.Fatalf("block Bob: %+v, %v", list, err)
	}
	waitEvent[*events.Blocklist](other, from, func(e *events.Blocklist) bool {
		return len(e.Changes) == 1 && e.Changes[0].JID == bob.JID() && e.Changes[0].Action == events.BlocklistChangeActionBlock
	})

	from = c.mark()
	blocked, err := bob.SendText(ctx, alice.Phone(), "let me in", "")
	if err != nil {
		t.Fatalf("Bob's message to who blocked him is taken all the same: %v", err)
	}
	c.never(from, 2*time.Second, "the blocked message", func(evt any) bool {
		m, ok := evt.(*events.Message)
		return ok && m.Info.ID == blocked
	})
	if n := sim.Deliveries(blocked); n != 0 {
		t.Errorf("the blocked message went to %d devices", n)
	}

	var iq *whatsmeow.IQError
	if _, err := c.cli.UpdateBlocklist(ctx, types.NewJID("5511900000000", types.DefaultUserServer), events.BlocklistChangeActionBlock); !errors.As(err, &iq) || iq.Code != 404 {
		t.Errorf("blocking a number without WhatsApp: %v, want IQ error 404", err)
	}

	if _, err := c.cli.UpdateBlocklist(ctx, bob.JID(), events.BlocklistChangeActionUnblock); err != nil {
		t.Fatalf("unblock Bob: %v", err)
	}
	from = c.mark()
	id, err := bob.SendText(ctx, alice.Phone(), "thanks", "")
	if err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.Message](c, from, isMessage(id))
}
