package wasim_test

import (
	"errors"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/wasim"
)

func textMessage(s string) *waE2E.Message { return &waE2E.Message{Conversation: proto.String(s)} }

// findMessage returns the message with this id in an account's inbox.
func findMessage(a *wasim.Account, id string) (wasim.Message, bool) {
	for _, m := range a.Messages("") {
		if m.ID == id {
			return m, true
		}
	}
	return wasim.Message{}, false
}

func waitInbox(t *testing.T, a *wasim.Account, id string) wasim.Message {
	t.Helper()
	var got wasim.Message
	eventually(t, a.Name()+"'s phone has message "+id, func() bool {
		var ok bool
		got, ok = findMessage(a, id)
		return ok
	})
	return got
}

func isReceipt(id string, typ types.ReceiptType) func(*events.Receipt) bool {
	return func(r *events.Receipt) bool {
		if r.Type != typ {
			return false
		}
		for _, m := range r.MessageIDs {
			if m == id {
				return true
			}
		}
		return false
	}
}

// isMessage matches the event of the message with this id. A group message comes
// as two events (whatsmeow emits one per decrypted part): the first carries only the
// sender key, and is skipped.
func isMessage(id string) func(*events.Message) bool {
	return func(m *events.Message) bool { return m.Info.ID == id && !senderKeyOnly(m.Message) }
}

func senderKeyOnly(m *waE2E.Message) bool {
	if m.GetSenderKeyDistributionMessage() == nil {
		return false
	}
	rest := proto.Clone(m).(*waE2E.Message)
	rest.SenderKeyDistributionMessage = nil
	rest.MessageContextInfo = nil
	return proto.Size(rest) == 0
}

// A client linked to Alice's number talks with Bob's phone: real Signal both ways.
func TestTextBothWays(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim)
	dev := c.link(alice)
	if dev.User != alice.Phone() || dev.Device == 0 {
		t.Fatalf("linked device %s is not a companion of %s", dev, alice.Phone())
	}
	ctx := testContext(t)

	before := time.Now().Add(-time.Second)
	resp, err := c.cli.SendMessage(ctx, bob.JID(), textMessage("hi bob"))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if resp.Timestamp.Before(before) || resp.Timestamp.After(time.Now().Add(time.Second)) {
		t.Errorf("server ack timestamp %v is not now", resp.Timestamp)
	}
	got := waitInbox(t, bob, resp.ID)
	if got.Text != "hi bob" || got.From != alice.Phone() || got.Chat != alice.Phone() || got.Type != "text" || got.FromMe {
		t.Errorf("bob got %+v", got)
	}
	if !got.Time.Equal(resp.Timestamp) {
		t.Errorf("bob's copy has time %v, the sender's ack said %v", got.Time, resp.Timestamp)
	}
	// Bob's phone announced itself available, so its receipt is a plain delivery.
	waitEvent[*events.Receipt](c, 0, isReceipt(resp.ID, types.ReceiptTypeDelivered))

	from := c.mark()
	id, err := bob.SendText(ctx, alice.Phone(), "hi alice", resp.ID)
	if err != nil {
		t.Fatalf("bob sends: %v", err)
	}
	evt := waitEvent[*events.Message](c, from, isMessage(id))
	if messageText(evt) != "hi alice" {
		t.Errorf("client got text %q", messageText(evt))
	}
	if evt.Info.Chat != bob.JID() || evt.Info.Sender.User != bob.Phone() || evt.Info.IsFromMe {
		t.Errorf("client got chat %s sender %s fromMe %v", evt.Info.Chat, evt.Info.Sender, evt.Info.IsFromMe)
	}
	if evt.Info.PushName != "Bob" {
		t.Errorf("push name %q, want Bob", evt.Info.PushName)
	}
	ci := evt.Message.GetExtendedTextMessage().GetContextInfo()
	if ci.GetStanzaID() != resp.ID || ci.GetQuotedMessage().GetConversation() != "hi bob" || ci.GetParticipant() != alice.JID().String() {
		t.Errorf("reply context %+v, want a quote of %s", ci, resp.ID)
	}
	if n := sim.Deliveries(id); n != 1 {
		t.Errorf("Deliveries(%s) = %d, want 1", id, n)
	}
	// The second message in each direction rides the established sessions.
	resp2, err := c.cli.SendMessage(ctx, bob.JID(), textMessage("again"))
	if err != nil {
		t.Fatalf("second send: %v", err)
	}
	if m := waitInbox(t, bob, resp2.ID); m.Text != "again" {
		t.Errorf("bob's second message: %+v", m)
	}
	if msgs := bob.Messages(resp.ID); len(msgs) != 1 || msgs[0].ID != resp2.ID {
		t.Errorf("Messages(since first) = %+v, want only the second", msgs)
	}
}

// What a device sends reaches the account's other devices as a sent-message copy,
// and they answer with sender receipts.
func TestSentMessageReachesOwnDevices(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c1 := newClient(t, sim)
	c1.link(alice)
	c2 := newClient(t, sim)
	dev2 := c2.link(alice)
	ctx := testContext(t)

	resp, err := c1.cli.SendMessage(ctx, bob.JID(), textMessage("from device one"))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	copy2 := waitEvent[*events.Message](c2, 0, isMessage(resp.ID))
	if !copy2.Info.IsFromMe || copy2.Info.Chat != bob.JID() || messageText(copy2) != "from device one" {
		t.Errorf("other device got fromMe=%v chat=%s text=%q", copy2.Info.IsFromMe, copy2.Info.Chat, messageText(copy2))
	}
	phoneCopy := waitInbox(t, alice, resp.ID)
	if !phoneCopy.FromMe || phoneCopy.Chat != bob.Phone() {
		t.Errorf("alice's phone copy: %+v", phoneCopy)
	}
	waitInbox(t, bob, resp.ID)
	sender := waitEvent[*events.Receipt](c1, 0, func(r *events.Receipt) bool {
		return isReceipt(resp.ID, types.ReceiptTypeSender)(r) && r.Sender == dev2
	})
	if sender.MessageSender.User != bob.Phone() && sender.Chat.User != bob.Phone() {
		t.Errorf("sender receipt names %s / %s, want the chat with bob", sender.MessageSender, sender.Chat)
	}
	per := sim.DeliveriesByDevice(resp.ID)
	if len(per) != 3 || per[dev2] != 1 || per[bob.PhoneDevice()] != 1 || per[alice.PhoneDevice()] != 1 {
		t.Errorf("deliveries %v, want one each to bob's phone, alice's phone and alice's other device", per)
	}
}

func TestReceipts(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	carol := addAccount(t, sim, "Carol")
	c := newClient(t, sim)
	c.link(alice)
	ctx := testContext(t)

	t.Run("read and played from a phone", func(t *testing.T) {
		resp, err := c.cli.SendMessage(ctx, bob.JID(), textMessage("read me"))
		if err != nil {
			t.Fatal(err)
		}
		waitInbox(t, bob, resp.ID)
		waitEvent[*events.Receipt](c, 0, isReceipt(resp.ID, types.ReceiptTypeDelivered))
		if err := bob.MarkRead(ctx, alice.Phone(), resp.ID); err != nil {
			t.Fatalf("mark read: %v", err)
		}
		read := waitEvent[*events.Receipt](c, 0, isReceipt(resp.ID, types.ReceiptTypeRead))
		if read.Chat != bob.JID() || read.Sender.User != bob.Phone() {
			t.Errorf("read receipt from %s in %s", read.Sender, read.Chat)
		}
		if err := bob.MarkPlayed(ctx, alice.Phone(), resp.ID); err != nil {
			t.Fatalf("mark played: %v", err)
		}
		waitEvent[*events.Receipt](c, 0, isReceipt(resp.ID, types.ReceiptTypePlayed))
	})

	t.Run("several ids in one read receipt", func(t *testing.T) {
		var ids []string
		for _, text := range []string{"one", "two"} {
			resp, err := c.cli.SendMessage(ctx, bob.JID(), textMessage(text))
			if err != nil {
				t.Fatal(err)
			}
			waitInbox(t, bob, resp.ID)
			ids = append(ids, resp.ID)
		}
		if err := bob.MarkRead(ctx, alice.Phone(), ids...); err != nil {
			t.Fatal(err)
		}
		r := waitEvent[*events.Receipt](c, 0, isReceipt(ids[1], types.ReceiptTypeRead))
		if len(r.MessageIDs) != 2 || r.MessageIDs[0] != ids[0] {
			t.Errorf("read receipt covers %v, want %v", r.MessageIDs, ids)
		}
	})

	t.Run("inactive from a client that never sent presence", func(t *testing.T) {
		quiet := newClient(t, sim)
		quiet.link(carol)
		id, err := alice.SendText(ctx, carol.Phone(), "are you there", "")
		if err != nil {
			t.Fatal(err)
		}
		waitEvent[*events.Message](quiet, 0, isMessage(id))
		from := c.mark()
		resp, err := c.cli.SendMessage(ctx, carol.JID(), textMessage("hello carol"))
		if err != nil {
			t.Fatal(err)
		}
		waitEvent[*events.Message](quiet, 0, isMessage(resp.ID))
		// Both carol's phone (available) and the quiet client answer; the client's
		// receipt is the inactive one.
		inactive := waitEvent[*events.Receipt](c, from, isReceipt(resp.ID, types.ReceiptTypeInactive))
		if inactive.Sender.User != carol.Phone() || inactive.Sender.Device == carol.PhoneDevice().Device {
			t.Errorf("inactive receipt from %s, want carol's quiet client", inactive.Sender)
		}
		waitEvent[*events.Receipt](c, from, isReceipt(resp.ID, types.ReceiptTypeDelivered))
	})
}

// With read receipts turned off, a reader's receipts go only to its own devices.
func TestReadSelfReceipts(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	dave := addAccount(t, sim, "Dave")
	c := newClient(t, sim)
	c.link(alice)
	reader := newClient(t, sim)
	reader.link(dave)
	other := newClient(t, sim)
	otherDev := other.link(dave)
	ctx := testContext(t)
	if _, err := reader.cli.SetPrivacySetting(ctx, types.PrivacySettingTypeReadReceipts, types.PrivacySettingNone); err != nil {
		t.Fatalf("set privacy: %v", err)
	}
	settings, err := other.cli.TryFetchPrivacySettings(ctx, true)
	if err != nil || settings.ReadReceipts != types.PrivacySettingNone {
		t.Fatalf("privacy seen by the account's other device: %+v, %v", settings, err)
	}
	resp, err := c.cli.SendMessage(ctx, dave.JID(), textMessage("secretly read"))
	if err != nil {
		t.Fatal(err)
	}
	msg := waitEvent[*events.Message](reader, 0, isMessage(resp.ID))
	if err := reader.cli.MarkRead(ctx, []types.MessageID{resp.ID}, time.Now(), msg.Info.Chat, msg.Info.Sender); err != nil {
		t.Fatal(err)
	}
	self := waitEvent[*events.Receipt](other, 0, isReceipt(resp.ID, types.ReceiptTypeReadSelf))
	if !self.IsFromMe || self.Chat != alice.JID() || self.Sender == otherDev {
		t.Errorf("read-self receipt %+v", self)
	}
	c.never(0, 300*time.Millisecond, "a read receipt the reader's privacy hides", func(e any) bool {
		r, ok := e.(*events.Receipt)
		return ok && (isReceipt(resp.ID, types.ReceiptTypeRead)(r) || isReceipt(resp.ID, types.ReceiptTypeReadSelf)(r))
	})
}

// Messages to an account that is offline wait for it and are delivered, with their
// receipts, when it comes back.
func TestOfflineDelivery(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim)
	c.link(alice)
	ctx := testContext(t)

	t.Run("phone offline", func(t *testing.T) {
		if err := bob.SetOnline(ctx, false); err != nil {
			t.Fatal(err)
		}
		eventually(t, "bob's phone is offline", func() bool { return !sim.Online(bob.PhoneDevice()) })
		resp, err := c.cli.SendMessage(ctx, bob.JID(), textMessage("while you were out"))
		if err != nil {
			t.Fatalf("send to an offline phone: %v", err)
		}
		c.never(0, 300*time.Millisecond, "delivery receipt from an offline phone", func(e any) bool {
			r, ok := e.(*events.Receipt)
			return ok && isReceipt(resp.ID, types.ReceiptTypeDelivered)(r)
		})
		if _, ok := findMessage(bob, resp.ID); ok {
			t.Fatal("offline phone received the message")
		}
		if _, err := bob.SendText(ctx, alice.Phone(), "x", ""); !errors.Is(err, wasim.ErrEngineOffline) {
			t.Errorf("offline phone sends: %v, want ErrEngineOffline", err)
		}
		if err := bob.SetOnline(ctx, true); err != nil {
			t.Fatal(err)
		}
		if m := waitInbox(t, bob, resp.ID); m.Text != "while you were out" {
			t.Errorf("bob got %+v", m)
		}
		waitEvent[*events.Receipt](c, 0, isReceipt(resp.ID, types.ReceiptTypeDelivered))
	})

	t.Run("client offline", func(t *testing.T) {
		c.cli.Disconnect()
		id, err := bob.SendText(ctx, alice.Phone(), "queued for you", "")
		if err != nil {
			t.Fatal(err)
		}
		from := c.mark()
		if err := c.cli.Connect(); err != nil {
			t.Fatal(err)
		}
		evt := waitEvent[*events.Message](c, from, isMessage(id))
		if messageText(evt) != "queued for you" {
			t.Errorf("got %q", messageText(evt))
		}
		sync := waitEvent[*events.OfflineSyncCompleted](c, from, nil)
		if sync.Count < 1 {
			t.Errorf("offline sync count %d, want at least the queued message", sync.Count)
		}
	})

	t.Run("held deliveries", func(t *testing.T) {
		if err := sim.HoldDeliveries(bob.Phone(), true); err != nil {
			t.Fatal(err)
		}
		resp, err := c.cli.SendMessage(ctx, bob.JID(), textMessage("held"))
		if err != nil {
			t.Fatal(err)
		}
		c.never(0, 300*time.Millisecond, "delivery while held", func(e any) bool {
			r, ok := e.(*events.Receipt)
			return ok && isReceipt(resp.ID, types.ReceiptTypeDelivered)(r)
		})
		if err := sim.HoldDeliveries(bob.Phone(), false); err != nil {
			t.Fatal(err)
		}
		waitInbox(t, bob, resp.ID)
		waitEvent[*events.Receipt](c, 0, isReceipt(resp.ID, types.ReceiptTypeDelivered))
	})
}

// A message the device did not acknowledge is delivered again on its next login,
// which is what makes a client's synchronous-ack inbound handling at-least-once.
func TestUnacknowledgedMessageIsRedelivered(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	sender := newClient(t, sim)
	sender.link(bob)
	c := newClient(t, sim)
	// As the server under test configures it: ack a message only once it is stored.
	c.cli.SynchronousAck = true
	c.cli.EnableDecryptedEventBuffer = true
	dev := c.link(alice)
	failFirst := make(chan struct{}, 1)
	failFirst <- struct{}{}
	c.cli.AddEventHandlerWithSuccessStatus(func(evt any) bool {
		if m, ok := evt.(*events.Message); !ok || messageText(m) != "store me" {
			return true
		}
		select {
		case <-failFirst:
			return false // the handler could not store it: no receipt, no ack
		default:
			return true
		}
	})
	ctx := testContext(t)
	resp, err := sender.cli.SendMessage(ctx, alice.JID(), textMessage("store me"))
	if err != nil {
		t.Fatal(err)
	}
	id := resp.ID
	waitEvent[*events.Message](c, 0, isMessage(id))
	sender.never(0, 300*time.Millisecond, "a receipt for a message the handler failed", func(e any) bool {
		r, ok := e.(*events.Receipt)
		return ok && isReceipt(id, types.ReceiptTypeInactive)(r)
	})
	if err := sim.Drop(dev); err != nil {
		t.Fatal(err)
	}
	// After the reconnect the unacknowledged message comes again, and this time the
	// handler succeeds, so the sender finally gets its delivery receipt.
	eventually(t, "the message is handled twice", func() bool {
		n := 0
		for _, e := range eventsOf[*events.Message](c) {
			if e.Info.ID == id {
				n++
			}
		}
		return n == 2
	})
	waitEvent[*events.Receipt](sender, 0, isReceipt(id, types.ReceiptTypeInactive))
	if sim.Deliveries(id) != 1 {
		t.Errorf("Deliveries = %d: a redelivery of the same stanza is not a new delivery", sim.Deliveries(id))
	}
}

func eventsOf[T any](c *client) []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []T
	for _, e := range c.events {
		if v, ok := e.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// A sender that re-sends a message with its original id (after a crash, or after a
// send timed out) gets the original ack and the message is not delivered twice.
func TestCrashResendIsDeliveredOnce(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	sender := newClient(t, sim)
	sender.link(alice)
	recipient := newClient(t, sim)
	recipient.link(bob)
	ctx := testContext(t)

	id := sender.cli.GenerateMessageID()
	first, err := sender.cli.SendMessage(ctx, bob.JID(), textMessage("once"), whatsmeow.SendRequestExtra{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.Message](recipient, 0, isMessage(id))
	waitInbox(t, bob, id)
	// Make the resend land in a later second than the original.
	eventually(t, "a new second starts", func() bool { return time.Now().Unix() > first.Timestamp.Unix() })
	again, err := sender.cli.SendMessage(ctx, bob.JID(), textMessage("once"), whatsmeow.SendRequestExtra{ID: id})
	if err != nil {
		t.Fatalf("resend: %v", err)
	}
	if !again.Timestamp.Equal(first.Timestamp) {
		t.Errorf("resend acked with %v, original with %v", again.Timestamp, first.Timestamp)
	}
	// A later message proves the recipient has processed everything sent before it.
	marker, err := sender.cli.SendMessage(ctx, bob.JID(), textMessage("marker"))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.Message](recipient, 0, isMessage(marker.ID))
	n := 0
	for _, e := range eventsOf[*events.Message](recipient) {
		if e.Info.ID == id {
			n++
		}
	}
	if n != 1 {
		t.Errorf("recipient saw the message %d times, want once", n)
	}
	if d := sim.Deliveries(id); d != 1 {
		t.Errorf("Deliveries = %d, want 1", d)
	}

	// The same id in another chat is another message.
	carol := addAccount(t, sim, "Carol")
	if _, err := sender.cli.SendMessage(ctx, carol.JID(), textMessage("same id, other chat"), whatsmeow.SendRequestExtra{ID: id}); err != nil {
		t.Fatal(err)
	}
	if m := waitInbox(t, carol, id); m.Text != "same id, other chat" {
		t.Errorf("carol got %+v", m)
	}
}

// A send whose ack is late times out at the client although the message was
// delivered; resending it with the same id completes without a second delivery.
func TestDelayedAckThenResend(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim)
	dev := c.link(alice)
	ctx := testContext(t)

	if err := sim.DelayAcks(dev, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	id := c.cli.GenerateMessageID()
	_, err := c.cli.SendMessage(ctx, bob.JID(), textMessage("slow ack"), whatsmeow.SendRequestExtra{ID: id, Timeout: 300 * time.Millisecond})
	if !errors.Is(err, whatsmeow.ErrMessageTimedOut) {
		t.Fatalf("send with a delayed ack: %v, want ErrMessageTimedOut", err)
	}
	waitInbox(t, bob, id)
	if err := sim.DelayAcks(dev, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.cli.SendMessage(ctx, bob.JID(), textMessage("slow ack"), whatsmeow.SendRequestExtra{ID: id}); err != nil {
		t.Fatalf("resend: %v", err)
	}
	if d := sim.Deliveries(id); d != 1 {
		t.Errorf("Deliveries = %d, want 1", d)
	}
}

// When a recipient cannot decrypt, its retry receipt reaches the sender, whose resend
// goes to that one device.
func TestRetryReceipt(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	sender := newClient(t, sim)
	sender.link(alice)
	recipient := newClient(t, sim)
	rdev := recipient.link(bob)
	ctx := testContext(t)

	first, err := sender.cli.SendMessage(ctx, bob.JID(), textMessage("establish"))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.Message](recipient, 0, isMessage(first.ID))
	// Lose the session on the recipient's side: the next message cannot be decrypted.
	recipient.forgetSessionWith(sender)
	resp, err := sender.cli.SendMessage(ctx, bob.JID(), textMessage("after the loss"))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.UndecryptableMessage](recipient, 0, func(u *events.UndecryptableMessage) bool { return u.Info.ID == resp.ID })
	waitEvent[*events.Receipt](sender, 0, func(r *events.Receipt) bool {
		return isReceipt(resp.ID, types.ReceiptTypeRetry)(r) && r.Sender == rdev
	})
	got := waitEvent[*events.Message](recipient, 0, isMessage(resp.ID))
	if messageText(got) != "after the loss" {
		t.Errorf("retried message text %q", messageText(got))
	}
}

func TestIsOnWhatsApp(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim)
	c.link(alice)
	unknown := "5511900099999"
	res, err := c.cli.IsOnWhatsApp(testContext(t), []string{"+" + bob.Phone(), "+" + unknown})
	if err != nil {
		t.Fatalf("is on whatsapp: %v", err)
	}
	if len(res) != 2 {
		t.Fatalf("got %d answers, want 2: %+v", len(res), res)
	}
	byQuery := map[string]types.IsOnWhatsAppResponse{}
	for _, r := range res {
		byQuery[r.Query] = r
	}
	if r := byQuery["+"+bob.Phone()]; !r.IsIn || r.JID != bob.JID() {
		t.Errorf("bob: %+v, want registered as %s", r, bob.JID())
	}
	if r := byQuery["+"+unknown]; r.IsIn || r.JID.User != unknown {
		t.Errorf("unknown number: %+v, want not registered", r)
	}
}

func TestUnknownIQIsAnswered501(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	c := newClient(t, sim)
	c.link(alice)
	ctx := testContext(t)
	start := time.Now()
	_, err := c.cli.ResolveContactQRLink(ctx, "ABCDEFGH")
	var iqErr *whatsmeow.IQError
	if !errors.As(err, &iqErr) || iqErr.Code != 501 {
		t.Fatalf("unknown iq: %v, want IQ error 501", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the 501 took %v", time.Since(start))
	}
	// The account IQs the server uses get real answers.
	if _, err := c.cli.TryFetchPrivacySettings(ctx, true); err != nil {
		t.Errorf("privacy settings: %v", err)
	}
	if _, err := c.cli.GetBlocklist(ctx); err != nil {
		t.Errorf("blocklist: %v", err)
	}
	if err := c.cli.SetStatusMessage(ctx, "busy"); err != nil {
		t.Errorf("status: %v", err)
	}
}

// A device whose one-time prekeys run low is told so, and uploads a new batch.
func TestPreKeyExhaustionTriggersUpload(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	fetcher := newClient(t, sim)
	fetcher.link(alice)
	target := newClient(t, sim)
	tdev := target.link(bob)
	ctx := testContext(t)

	count, err := target.cli.DangerousInternals().GetServerPreKeyCount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The phone took one for the session it welcomed the device through.
	if count != 811 {
		t.Fatalf("server holds %d prekeys after the first login, want the 812 uploaded but the phone's", count)
	}
	// Each requested bundle hands out one key; ask for all but two in one query.
	users := make([]types.JID, count-2)
	for i := range users {
		users[i] = tdev
	}
	bundles, err := fetcher.cli.DangerousInternals().FetchPreKeys(ctx, users)
	if err != nil {
		t.Fatal(err)
	}
	if len(bundles) != 1 {
		t.Fatalf("got bundles for %d devices, want 1", len(bundles))
	}
	// Two left is below whatsmeow's minimum of 5: it uploads its batch of 50.
	eventually(t, "the target re-uploads prekeys", func() bool {
		n, err := target.cli.DangerousInternals().GetServerPreKeyCount(ctx)
		return err == nil && n == 52
	})
	// Messages still flow to the device.
	resp, err := fetcher.cli.SendMessage(ctx, bob.JID(), textMessage("fresh keys"))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.Message](target, 0, isMessage(resp.ID))
}

func TestTyping(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim)
	c.link(alice)
	ctx := testContext(t)
	// A client that has not announced itself available sees no one type.
	from := c.mark()
	if err := bob.Typing(ctx, alice.Phone(), "composing"); err != nil {
		t.Fatal(err)
	}
	c.never(from, time.Second, "chat state before available presence", func(e any) bool {
		_, ok := e.(*events.ChatPresence)
		return ok
	})
	c.beAvailable(alice)
	for _, tc := range []struct {
		state string
		want  types.ChatPresence
		media types.ChatPresenceMedia
	}{
		{"composing", types.ChatPresenceComposing, ""},
		{"recording", types.ChatPresenceComposing, types.ChatPresenceMediaAudio},
		{"paused", types.ChatPresencePaused, ""},
	} {
		from := c.mark()
		if err := bob.Typing(ctx, alice.Phone(), tc.state); err != nil {
			t.Fatalf("%s: %v", tc.state, err)
		}
		got := waitEvent[*events.ChatPresence](c, from, nil)
		if got.State != tc.want || got.Media != tc.media || got.Chat != bob.JID() {
			t.Errorf("%s: got %+v", tc.state, got)
		}
	}
	if err := bob.Typing(ctx, alice.Phone(), "dancing"); !errors.Is(err, wasim.ErrInvalidArgument) {
		t.Errorf("unknown state: %v, want ErrInvalidArgument", err)
	}

	// The other way: Bob's phone records what the client shows it.
	for _, tc := range []struct {
		state types.ChatPresence
		media types.ChatPresenceMedia
		want  string
	}{
		{types.ChatPresenceComposing, "", "composing"},
		{types.ChatPresenceComposing, types.ChatPresenceMediaAudio, "recording"},
		{types.ChatPresencePaused, "", "paused"},
	} {
		before := len(bob.ChatStates())
		if err := c.cli.SendChatPresence(ctx, bob.JID(), tc.state, tc.media); err != nil {
			t.Fatal(err)
		}
		eventually(t, "Bob's phone sees "+tc.want, func() bool {
			states := bob.ChatStates()
			if len(states) <= before {
				return false
			}
			last := states[len(states)-1]
			return last.State == tc.want && last.Chat == alice.Phone() && last.From == alice.Phone()
		})
	}
}

func TestKeepAlive(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	c := newClient(t, sim)
	dev := c.link(alice)
	from := c.mark()
	if err := sim.MuteKeepAlive(dev, true); err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.KeepAliveTimeout](c, from, nil)
	if err := sim.MuteKeepAlive(dev, false); err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.KeepAliveRestored](c, from, nil)
}

// A device linked after a contact cached the account's device list still gets that
// contact's next message: the simulator announces the new device, with a device-list
// hash whatsmeow accepts.
func TestNewDeviceGetsMessagesFromCachedSenders(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim)
	c.link(bob)
	ctx := testContext(t)
	first, err := c.cli.SendMessage(ctx, alice.JID(), textMessage("caches alice's devices"))
	if err != nil {
		t.Fatal(err)
	}
	waitInbox(t, alice, first.ID)

	late := newClient(t, sim)
	late.link(alice)
	// The notification carries the phone-number list's hash and the LID list's; bob's
	// client cached the list by phone number, and that hash must match.
	changed := alice.JID().String() + "'s device list hash changed"
	eventually(t, "bob's client applied the device notification", func() bool { return c.logs.contains(changed) })
	if c.logs.contains(changed, "New hash doesn't match") || !c.logs.contains(changed, "New hash matches") {
		t.Error("whatsmeow rejected the device list hash of the notification")
	}
	resp, err := c.cli.SendMessage(ctx, alice.JID(), textMessage("hello new device"))
	if err != nil {
		t.Fatal(err)
	}
	got := waitEvent[*events.Message](late, 0, isMessage(resp.ID))
	if messageText(got) != "hello new device" {
		t.Errorf("new device got %q", messageText(got))
	}
	if c.logs.contains("Server returned different participant list hash") {
		t.Error("the message ack's phash differs from the client's device list")
	}
}

// whatsmeow re-sends a message whose ack was cut off by a disconnect, with the same
// id, once it has reconnected: the simulator acks the resend as the original and
// delivers nothing twice.
func TestSendInterruptedByDisconnectIsRetriedOnce(t *testing.T) {
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim)
	dev := c.link(alice)
	ctx := testContext(t)
	// The welcome's stanzas acknowledged first: whatsmeow acks on goroutines of its own, and an ack in flight
	// when the connection is dropped below races with its FrameSocket.Close (a data race in whatsmeow).
	eventually(t, "the device acknowledged its welcome", func() bool { return !busy(alice, dev) })

	if err := sim.DelayAcks(dev, time.Hour); err != nil {
		t.Fatal(err)
	}
	type result struct {
		resp whatsmeow.SendResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := c.cli.SendMessage(ctx, bob.JID(), textMessage("interrupted"))
		done <- result{resp, err}
	}()
	var routed wasim.Message
	eventually(t, "the message reached bob", func() bool {
		msgs := bob.Messages("")
		if len(msgs) == 0 {
			return false
		}
		routed = msgs[0]
		return true
	})
	if err := sim.DelayAcks(dev, 0); err != nil {
		t.Fatal(err)
	}
	if err := sim.Drop(dev); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(waitTimeout):
		t.Fatal("the interrupted send never completed")
	}
	if r.err != nil {
		t.Fatalf("interrupted send: %v", r.err)
	}
	if r.resp.ID != routed.ID || !r.resp.Timestamp.Equal(routed.Time) {
		t.Errorf("send completed as %s at %v, bob has %s at %v", r.resp.ID, r.resp.Timestamp, routed.ID, routed.Time)
	}
	if d := sim.Deliveries(routed.ID); d != 1 {
		t.Errorf("Deliveries = %d, want 1", d)
	}
}
