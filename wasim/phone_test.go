package wasim_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/plugzapi/plugzapi/wasim"
)

// The phone is device 0, as on WhatsApp: listed first in its account's devices, the
// sender of what the phone sends, and a recipient that senders encrypt to, whose
// decrypted inbox is the phone's.
func TestPhoneIsDeviceZero(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim)
	c.link(alice)
	ctx := testContext(t)

	devices, err := c.cli.GetUserDevices(ctx, []types.JID{bob.JID()})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(devices, bob.JID()) || bob.PhoneDevice() != bob.JID() {
		t.Errorf("Bob's devices %v lack his phone %s", devices, bob.JID())
	}
	id, err := bob.SendText(ctx, alice.Phone(), "from the phone", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := waitEvent[*events.Message](c, 0, isMessage(id)); got.Info.Sender != bob.JID() {
		t.Errorf("sender %s, want the phone %s (device 0)", got.Info.Sender, bob.JID())
	}
	resp, err := c.cli.SendMessage(ctx, bob.JID(), textMessage("to the phone"))
	if err != nil {
		t.Fatal(err)
	}
	if m := waitInbox(t, bob, resp.ID); m.Text != "to the phone" {
		t.Errorf("the phone read %+v", m)
	}
	if n := sim.DeliveriesByDevice(resp.ID)[bob.JID()]; n != 1 {
		t.Errorf("copies encrypted to device 0: %d, want 1 (%v)", n, sim.DeliveriesByDevice(resp.ID))
	}
	if infos := bob.DeviceInfos(); len(infos) == 0 || !infos[0].Phone || infos[0].JID != bob.JID() {
		t.Errorf("device infos %+v: the phone must come first, as device 0", infos)
	}
	if err := sim.Unlink(bob.JID()); !errors.Is(err, wasim.ErrUnknownDevice) {
		t.Errorf("unlinking the phone: %v, want ErrUnknownDevice (it is not a linked device)", err)
	}
}

// A freshly linked device gets what WhatsApp's phones send it: the app state key, with
// which it reads the account's push name from its app state, and a history sync, with
// no delay. A device linked while the phone is offline gets them once the phone is
// back.
func TestFreshLinkIsWelcomedByThePhone(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	c := newClient(t, sim)
	dev := c.link(alice) // waits for the history sync, every app state collection and the push name
	eventually(t, "the simulator sees the device settled", func() bool {
		for _, d := range alice.DeviceInfos() {
			if d.JID == dev {
				return d.Welcomed && d.WelcomeAcknowledged && d.AppStateSynced
			}
		}
		return false
	})
	history := waitEvent[*events.HistorySync](c, 0, nil)
	if h := history.Data; len(h.GetPushnames()) != 1 || h.GetPushnames()[0].GetPushname() != "Alice" ||
		len(h.GetPhoneNumberToLidMappings()) != 1 || h.GetPhoneNumberToLidMappings()[0].GetLidJID() != alice.LID().String() {
		t.Errorf("history sync %v", h)
	}

	ctx := testContext(t)
	if err := alice.SetOnline(ctx, false); err != nil {
		t.Fatal(err)
	}
	late := newClient(t, sim)
	code := late.connectForQR()
	if _, err := alice.ScanQR(ctx, code); err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.Connected](late, 0, nil)
	late.never(0, 500*time.Millisecond, "a history sync while the phone is offline", func(e any) bool {
		_, ok := e.(*events.HistorySync)
		return ok
	})
	if err := alice.SetOnline(ctx, true); err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.HistorySync](late, 0, nil)
}

// WhatsApp shows presence only to who subscribed, and counts the delivery receipts of
// a linked device that did not announce itself available as inactive, whatever it
// sent.
func TestPresenceAndReceiptsAsWhatsAppEnforcesThem(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim)
	c.link(alice)
	c.cli.SetForceActiveDeliveryReceipts(true) // sends plain "delivered" receipts
	ctx := testContext(t)

	id, err := bob.SendText(ctx, alice.Phone(), "are you there?", "")
	if err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.Message](c, 0, isMessage(id))
	eventually(t, "Bob's phone gets the client's receipt as inactive", func() bool {
		return slices.ContainsFunc(bob.Receipts(), func(r wasim.Receipt) bool {
			return slices.Contains(r.IDs, id) && r.From == alice.Phone() && r.Type == "inactive"
		})
	})
	c.beAvailable(alice)
	id, err = bob.SendText(ctx, alice.Phone(), "now you are", "")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "Bob's phone gets the available client's receipt as delivered", func() bool {
		return slices.ContainsFunc(bob.Receipts(), func(r wasim.Receipt) bool {
			return slices.Contains(r.IDs, id) && r.From == alice.Phone() && r.Type == "delivered"
		})
	})

	from := c.mark()
	if err := bob.SetPresence(ctx, false); err != nil {
		t.Fatal(err)
	}
	c.never(from, 500*time.Millisecond, "presence without a subscription", func(e any) bool {
		_, ok := e.(*events.Presence)
		return ok
	})
	if err := c.cli.SubscribePresence(ctx, bob.JID()); err != nil {
		t.Fatal(err)
	}
	if p := waitEvent[*events.Presence](c, from, nil); p.From != bob.JID() || !p.Unavailable {
		t.Errorf("presence %+v, want Bob unavailable", p)
	}
}

// A phone marks read only what it received: a receipt cannot stand in for a delivery.
func TestPhoneMarksReadOnlyWhatItReceived(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim) // Bob's linked device
	c.link(bob)
	ctx := testContext(t)
	id, err := alice.SendText(ctx, bob.Phone(), "read me", "")
	if err != nil {
		t.Fatal(err)
	}
	waitInbox(t, bob, id)
	if err := bob.MarkRead(ctx, alice.Phone(), "3EB0NEVERSENT"); !errors.Is(err, wasim.ErrUnknownMessage) {
		t.Errorf("MarkRead of a message never received: %v, want ErrUnknownMessage", err)
	}
	// What Bob's other device sent reaches his phone too, but is not the phone's to mark.
	own, err := c.cli.SendMessage(ctx, alice.JID(), textMessage("sent by my other device"))
	if err != nil {
		t.Fatal(err)
	}
	if m := waitInbox(t, bob, own.ID); !m.FromMe {
		t.Fatalf("the phone's copy %+v is not marked as its own", m)
	}
	if err := bob.MarkRead(ctx, alice.Phone(), own.ID); !errors.Is(err, wasim.ErrUnknownMessage) {
		t.Errorf("MarkRead of the account's own message: %v, want ErrUnknownMessage", err)
	}
	if err := bob.MarkRead(ctx, alice.Phone(), id); err != nil {
		t.Errorf("MarkRead of a received message: %v", err)
	}
}

// A phone scans the QR codes WhatsApp Web shows today (a wa.me link with the companion
// platform as a fifth field), as well as whatsmeow's four fields.
func TestScanQRInWhatsAppWebForm(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	c := newClient(t, sim)
	code := c.connectForQR()
	ctx := testContext(t)
	for _, bad := range []string{
		"https://wa.me/settings/linked_devices#" + code,              // four fields after the link
		"https://wa.me/settings/linked_devices#" + code + ",chrome",  // the platform is a number
		"https://example.com/settings/linked_devices#" + code + ",1", // another link
	} {
		if _, err := alice.ScanQR(ctx, bad); !errors.Is(err, wasim.ErrInvalidQR) {
			t.Errorf("ScanQR(%q): %v, want ErrInvalidQR", bad, err)
		}
	}
	dev, err := alice.ScanQR(ctx, "https://wa.me/settings/linked_devices#"+code+",1")
	if err != nil {
		t.Fatalf("ScanQR of the link form: %v", err)
	}
	waitEvent[*events.Connected](c, 0, nil)
	if !slices.Contains(sim.Devices(alice.Phone()), dev) {
		t.Errorf("device %s not linked", dev)
	}
}

// WhatsApp refuses (error 479) a message that reaches none of its recipient's devices,
// such as one to a number that is not on WhatsApp: whatsmeow's send fails instead of
// reporting a message nobody got as sent.
func TestMessageToNoDeviceFailsTheSend(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	c := newClient(t, sim)
	c.link(alice)
	_, err := c.cli.SendMessage(testContext(t), types.NewJID("5511900099999", types.DefaultUserServer), textMessage("anyone?"))
	if !errors.Is(err, whatsmeow.ErrServerReturnedError) || !strings.Contains(err.Error(), "479") {
		t.Errorf("send to a number without devices: %v, want server error 479", err)
	}
}

// A phone answers a retry receipt for a message it sent before its last 256, which whatsmeow's own cache of sent
// messages no longer holds, from what the phone keeps.
func TestPhoneAnswersRetryReceiptsForOlderMessages(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	carol := addAccount(t, sim, "Carol")
	recipient := newClient(t, sim)
	rdev := recipient.link(bob)
	ctx := testContext(t)

	id, err := alice.SendText(ctx, bob.Phone(), "hello", "")
	if err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.Message](recipient, 0, isMessage(id))
	// The next message reaches Bob's linked device spoiled, once 256 others left Alice's phone since.
	if err := sim.HoldDeliveries(bob.Phone(), true); err != nil {
		t.Fatal(err)
	}
	if err := sim.GarbleNextMessage(rdev); err != nil {
		t.Fatal(err)
	}
	old, err := alice.SendText(ctx, bob.Phone(), "older than the cache", "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 256 {
		if _, err := alice.SendText(ctx, carol.Phone(), fmt.Sprintf("filler %d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := sim.HoldDeliveries(bob.Phone(), false); err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.UndecryptableMessage](recipient, 0, func(u *events.UndecryptableMessage) bool { return u.Info.ID == old })
	got := waitEvent[*events.Message](recipient, 0, isMessage(old))
	if messageText(got) != "older than the cache" {
		t.Errorf("the resent message says %q", messageText(got))
	}
}
