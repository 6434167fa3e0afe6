package wasim_test

import (
	"testing"

	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/plugzapi/plugzapi/wasim"
)

// A phone sends a device it links the push names of the people whose messages reached it, in a PUSH_NAME history
// sync of its own with their phone number↔LID mappings: the device names them at once.
func TestFreshLinkLearnsThePushNamesThePhoneKnows(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	ctx := testContext(t)
	id, err := bob.SendText(ctx, alice.Phone(), "hi", "")
	if err != nil {
		t.Fatal(err)
	}
	waitInbox(t, alice, id)

	c := newClient(t, sim)
	c.link(alice)
	names := waitEvent[*events.HistorySync](c, 0, func(e *events.HistorySync) bool {
		return e.Data.GetSyncType() == waHistorySync.HistorySync_PUSH_NAME
	})
	mapped := false
	for _, m := range names.Data.GetPhoneNumberToLidMappings() {
		mapped = mapped || (m.GetPnJID() == bob.JID().String() && m.GetLidJID() == bob.LID().String())
	}
	if !mapped {
		t.Errorf("the push names came without Bob's LID mapping: %v", names.Data)
	}
	eventually(t, "the device knows Bob's push name", func() bool {
		// GetAllContacts, not GetContact: this whatsmeow's GetContact copies the cached entry after unlocking
		// it, racing with the history sync still storing names.
		all, err := c.cli.Store.Contacts.GetAllContacts(ctx)
		return err == nil && all[bob.JID()].PushName == "Bob"
	})
}
