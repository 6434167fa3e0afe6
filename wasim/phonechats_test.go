package wasim_test

import (
	"slices"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/appstate"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/plugzapi/plugzapi/wasim"
)

// A business account's phone tells its new device that it is one (pair-success) and hands it its chat list in the
// history sync; the phone applies the chat actions and labels its devices write into the app state, and ignores
// what its account cannot have: a label it does not have on a chat, labels on a personal account. The server
// takes no app state collection WhatsApp does not have.
func TestPhoneChatsAndLabels(t *testing.T) {
	ctx := testContext(t)
	sim := startSim(t, wasim.Options{})
	shop := addAccount(t, sim, "Shop")
	shop.SetBusiness(true)
	person := addAccount(t, sim, "Person")
	friend := addAccount(t, sim, "Friend")
	if _, err := friend.SendText(ctx, shop.Phone(), "oi", ""); err != nil {
		t.Fatalf("friend writes: %v", err)
	}
	eventually(t, "the shop's phone has the friend's chat", func() bool {
		c, ok := shop.Chat(friend.Phone())
		return ok && c.Unread == 1 && c.Name == "Friend"
	})

	c := newClient(t, sim)
	// A collection's first version reaches a device as a full sync: the server under test has whatsmeow report
	// those changes too.
	c.cli.EmitAppStateEventsOnFullSync = true
	from := c.mark()
	c.link(shop)
	if c.cli.Store.BusinessName != "Shop" {
		t.Errorf("the device of a business account got business name %q", c.cli.Store.BusinessName)
	}
	history := waitEvent(c, from, func(e *events.HistorySync) bool { return len(e.Data.GetConversations()) > 0 })
	conv := history.Data.GetConversations()[0]
	if conv.GetID() != friend.JID().String() || conv.GetUnreadCount() != 1 || conv.GetConversationTimestamp() == 0 {
		t.Errorf("history conversation %v", conv)
	}
	// The push names come in a history sync of their own, which whatsmeow may store after reporting this one.
	// (GetAllContacts: this whatsmeow's GetContact copies its cache entry without the lock.)
	eventually(t, "the device knows the friend's push name (from the push name history sync)", func() bool {
		all, err := c.cli.Store.Contacts.GetAllContacts(ctx)
		return err == nil && all[friend.JID()].PushName == "Friend"
	})

	from = c.mark()
	label, err := shop.AddLabel(ctx, "Pago", 5)
	if err != nil {
		t.Fatalf("add label: %v", err)
	}
	waitEvent(c, from, func(e *events.LabelEdit) bool { return e.LabelID == label.ID && e.Action.GetName() == "Pago" })
	for _, p := range []appstate.PatchInfo{
		appstate.BuildLabelChat(friend.JID(), "77", true), // no such label: ignored
		appstate.BuildLabelChat(friend.JID(), label.ID, true),
		appstate.BuildArchive(friend.JID(), true, time.Time{}, nil),
	} {
		if err := c.cli.SendAppState(ctx, p); err != nil {
			t.Fatalf("send app state: %v", err)
		}
	}
	eventually(t, "the phone shows the chat archived and labeled", func() bool {
		ch, ok := shop.Chat(friend.Phone())
		return ok && ch.Archived && slices.Equal(ch.Labels, []string{label.ID})
	})

	if _, err := person.AddLabel(ctx, "Amigos", 1); err == nil {
		t.Error("a personal account's phone made a label")
	}
	p := newClient(t, sim)
	p.link(person)
	if p.cli.Store.BusinessName != "" {
		t.Errorf("the device of a personal account got business name %q", p.cli.Store.BusinessName)
	}
	for _, patch := range []appstate.PatchInfo{
		appstate.BuildLabelEdit("1", "Amigos", 1, false),
		appstate.BuildPin(friend.JID(), true),
	} {
		if err := p.cli.SendAppState(ctx, patch); err != nil {
			t.Fatalf("send app state: %v", err)
		}
	}
	eventually(t, "the personal phone pins the chat", func() bool {
		ch, ok := person.Chat(friend.Phone())
		return ok && ch.Pinned
	})
	if labels := person.Labels(); len(labels) != 0 {
		t.Errorf("a personal account's phone took labels %+v", labels)
	}

	bogus := appstate.BuildPin(friend.JID(), false)
	bogus.Type = "regular_extra"
	if err := p.cli.SendAppState(ctx, bogus); err == nil {
		t.Error("the server took a patch to a collection WhatsApp does not have")
	}
}
