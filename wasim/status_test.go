package wasim_test

import (
	"net/http"
	"testing"

	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/plugzapi/plugzapi/wasim"
)

// A status update reaches the poster's contacts as their status privacy allows, and
// no one else; the viewers' receipts come back to the poster. The address book and the
// setting are set through the control API.
func TestStatusUpdatesReachContacts(t *testing.T) {
	ctx := testContext(t)
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	carol := addAccount(t, sim, "Carol")
	c := newClient(t, sim)
	c.link(alice)
	a := api{t: t, base: "http://" + sim.Addr()}
	alicePath := "/v1/accounts/" + alice.Phone()

	from := c.mark()
	a.call("POST", alicePath+"/contacts", body(t, map[string]string{"phone": bob.Phone(), "name": "Bob Silva"}), http.StatusOK, nil)
	// The phone's change reaches its linked device through app state: the device fetches the contacts
	// collection when told it changed (its first version of it is a full sync, which whatsmeow reports so).
	waitEvent(c, from, func(e *events.AppStateSyncComplete) bool { return e.Name == appstate.WAPatchCriticalUnblockLow })
	// (The store is read once the client is done writing it: whatsmeow's contact cache is not safe to read
	// while a sync writes it.)
	if info, err := c.cli.Store.Contacts.GetContact(ctx, bob.JID()); err != nil || info.FullName != "Bob Silva" {
		t.Fatalf("the device knows Bob as %+v, %v", info, err)
	}

	from = c.mark()
	resp, err := c.cli.SendMessage(ctx, types.StatusBroadcastJID, textMessage("first story"))
	if err != nil {
		t.Fatalf("post status: %v", err)
	}
	got := waitInbox(t, bob, resp.ID)
	if got.Chat != types.StatusBroadcastJID.String() || got.From != alice.Phone() || got.Text != "first story" {
		t.Errorf("Bob's phone shows %+v, want Alice's status update", got)
	}
	waitInbox(t, alice, resp.ID) // the poster's phone shows its own update
	waitEvent(c, from, func(r *events.Receipt) bool {
		return r.Chat == types.StatusBroadcastJID && r.Sender.User == bob.Phone() && isReceipt(resp.ID, types.ReceiptTypeDelivered)(r)
	})

	// Only the people chosen see the next one.
	a.call("POST", alicePath+"/status-privacy", body(t, map[string]any{"type": "whitelist", "phones": []string{carol.Phone()}}),
		http.StatusOK, nil)
	resp2, err := c.cli.SendMessage(ctx, types.StatusBroadcastJID, textMessage("for Carol"))
	if err != nil {
		t.Fatalf("post status: %v", err)
	}
	waitInbox(t, carol, resp2.ID)
	for _, phone := range []*wasim.Account{bob, carol} {
		if _, ok := findMessage(phone, resp.ID); ok != (phone == bob) {
			t.Errorf("%s's phone has the first update: %v", phone.Name(), ok)
		}
	}
	if _, ok := findMessage(bob, resp2.ID); ok {
		t.Error("Bob's phone has an update posted for Carol only")
	}

	a.call("POST", alicePath+"/contacts", `{"phone":"12","name":"x"}`, http.StatusBadRequest, nil)
	a.call("POST", alicePath+"/contacts", body(t, map[string]string{"phone": carol.Phone()}), http.StatusBadRequest, nil)
	a.call("POST", alicePath+"/status-privacy", `{"type":"friends"}`, http.StatusBadRequest, nil)
	a.call("POST", "/v1/accounts/5511900077777/status-privacy", `{"type":"contacts"}`, http.StatusNotFound, nil)
}
