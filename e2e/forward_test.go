package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/media/mediatest"
	"github.com/plugzapi/plugzapi/wasim"
)

// TestForwardMessage: with PLUGZAPI_FORWARD_WINDOW set, a message the instance sent (a text, an image) or
// received is forwarded to another contact, who gets the same content (the image's bytes, downloaded, have the
// same hash: it was not uploaded again) marked forwarded, under the ID the API returned, without what the
// original quoted; a forward of a forward counts 2; a message deleted for everyone or edited is no longer kept. A forward accepted survives a kill -9 before its turn and
// goes once, with its ID. A message named in another chat, or unknown, is a 404; once the window is over, so is
// every kept message, which the sweep destroys: then no content is left in the data directory.
func TestForwardMessage(t *testing.T) {
	// Long enough for every step before "after the window" (about 3 s under the race detector here), short enough
	// not to make the suite wait: the last subtest waits for it to end.
	const window = 12 * time.Second
	const bobPhone = "5511999990002"
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	bob := addAccount(t, sim, bobPhone, "Bob")
	hooks := newReceiver(t)
	srv := startServer(t, sim, withEnv("PLUGZAPI_FORWARD_WINDOW", window.String()))
	in := createInstance(t, srv, "forward", hooks)
	link(t, in, business)

	// forwardKeyed forwards, with an Idempotency-Key when key is not empty, and returns the forward's ID.
	forwardKeyed := func(t *testing.T, key, to, messageID, messagePhone string) string {
		t.Helper()
		body := map[string]any{"phone": to, "messageId": messageID, "messagePhone": messagePhone}
		var res response
		if key == "" {
			res = in.call(t, "POST", "forward-message", body)
		} else {
			res = in.withHeader(t, "POST", "forward-message", body, "Idempotency-Key", key)
		}
		if res.status != http.StatusOK {
			t.Fatalf("forward-message: %s", res)
		}
		var q struct{ ZaapID, MessageID, ID string }
		res.decode(t, &q)
		if q.ZaapID == "" || q.MessageID == "" || q.ID != q.MessageID {
			t.Fatalf("forward-message answered %s", res.body)
		}
		return q.MessageID
	}
	forward := func(t *testing.T, to, messageID, messagePhone string) string {
		t.Helper()
		return forwardKeyed(t, "", to, messageID, messagePhone)
	}
	forwarded := func(t *testing.T, to *wasim.Account, id string, score uint32) wasim.Message {
		t.Helper()
		got := waitMessage(t, to, id)
		if !got.Forwarded || got.ForwardingScore != score || got.From != businessPhone || got.QuotedID != "" {
			t.Errorf("%s got forward %s as %+v, want forwarded (score %d) by the business, quoting nothing", to.Phone(), id, got, score)
		}
		if d := hooks.waitFor(t, "forward delivered", delivery(id)); d.Body["error"] != nil {
			t.Errorf("DeliveryCallback of the forward = %s", d.Raw)
		}
		return got
	}

	text := marker("forwarded-text")
	sentText := sendText(t, in, alicePhone, text)
	waitMessage(t, alice, sentText)
	// A message sent is kept once its sending is recorded, which its delivery webhook follows: the recipient
	// may have it a little before.
	hooks.waitFor(t, "delivery of the text", delivery(sentText))
	var textForward string
	t.Run("a sent text", func(t *testing.T) {
		textForward = forwardKeyed(t, "forward-1", bobPhone, sentText, alicePhone)
		if got := forwarded(t, bob, textForward, 1); got.Type != "text" || got.Text != text {
			t.Errorf("Bob got %+v, want the text %q", got, text)
		}
	})

	t.Run("kill -9 between accept and send", func(t *testing.T) {
		// The message before it holds the queue for 6 s: the forward is accepted, then the server dies.
		res := in.call(t, "POST", "send-text", map[string]any{"phone": alicePhone, "message": "wait for me", "delayMessage": 6})
		if res.status != http.StatusOK {
			t.Fatalf("send-text: %s", res)
		}
		var first struct{ MessageID string }
		res.decode(t, &first)
		id := forward(t, alicePhone, sentText, alicePhone)
		waitMessage(t, alice, first.MessageID)
		srv.kill()
		if _, n := findMessage(alice, id); n != 0 {
			t.Fatal("the forward went before the kill: the test proves nothing")
		}
		srv.start()
		if got := forwarded(t, alice, id, 1); got.Text != text {
			t.Errorf("Alice got the forward as %+v", got)
		}
		if d := sim.Deliveries(id); d != 1 {
			t.Errorf("the forward was delivered %d times", d)
		}
	})

	photo := mediatest.JPEG(320, 240, 7)
	t.Run("a sent image", func(t *testing.T) {
		res := in.call(t, "POST", "send-image", map[string]any{"phone": alicePhone, "image": dataURI("image/jpeg", photo), "caption": "the photo"})
		if res.status != http.StatusOK {
			t.Fatalf("send-image: %s", res)
		}
		var q struct{ MessageID string }
		res.decode(t, &q)
		waitMessage(t, alice, q.MessageID)
		hooks.waitFor(t, "delivery of the image", delivery(q.MessageID))
		got := forwarded(t, bob, forward(t, bobPhone, q.MessageID, alicePhone), 1)
		if got.Type != "image" || got.Caption != "the photo" || got.MediaError != "" ||
			got.MediaSHA256 != sha256Hex(photo) || got.MediaSize != int64(len(photo)) || got.ThumbnailSize == 0 {
			t.Errorf("Bob got %+v, want the image (SHA-256 %s)", got, sha256Hex(photo))
		}
	})

	received := marker("received-text")
	t.Run("a received message, without its quote", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		id, err := alice.SendText(ctx, businessPhone, received, sentText)
		if err != nil {
			t.Fatal(err)
		}
		// Its content, not the placeholder of a message the instance could not decrypt yet (after the kill).
		h := hooks.waitFor(t, "received", func(h hook) bool {
			return h.Type == "ReceivedCallback" && h.str("messageId") == id && h.Body["waitingMessage"] == false
		})
		// messagePhone is the chat as the webhook named it.
		if got := forwarded(t, bob, forward(t, bobPhone, id, h.str("phone")), 1); got.Type != "text" || got.Text != received {
			t.Errorf("Bob got %+v, want the text %q", got, received)
		}
	})

	t.Run("a forward of a forward", func(t *testing.T) {
		if got := forwarded(t, alice, forward(t, alicePhone, textForward, bobPhone), 2); got.Text != text {
			t.Errorf("Alice got %+v", got)
		}
	})

	t.Run("edited or deleted: no longer kept", func(t *testing.T) {
		deleted := sendText(t, in, alicePhone, "to be deleted")
		waitMessage(t, alice, deleted)
		hooks.waitFor(t, "delivery of the message to delete", delivery(deleted))
		if res := in.call(t, "DELETE", "messages?messageId="+deleted+"&phone="+alicePhone+"&owner=true", nil); res.status != http.StatusNoContent {
			t.Fatalf("delete: %s", res)
		}
		in.call(t, "POST", "forward-message", map[string]any{"phone": bobPhone, "messageId": deleted, "messagePhone": alicePhone}).
			wantError(t, http.StatusNotFound, "message_not_found")
		// Alice's phone (a whatsmeow client) has the delete before it sends. In 2 of about 20 runs the server
		// refused Alice's next message ("old counter": her session went back a step) when her phone sent while
		// it took this delete. Suspected: whatsmeow's send path holds the sessions it encrypts with in memory
		// from before it fetches keys until after it encrypts, so a decryption meanwhile can be overwritten.
		// A phone's own app does one at a time.
		eventually(t, 30*time.Second, "Alice's phone has the delete", func() error {
			if m, _ := findMessage(alice, deleted); !m.Revoked {
				return fmt.Errorf("not yet: %+v", m)
			}
			return nil
		})

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		edited, err := alice.SendText(ctx, businessPhone, "tpyo", "")
		if err != nil {
			t.Fatal(err)
		}
		hooks.waitFor(t, "received", func(h hook) bool { return h.str("messageId") == edited && h.Body["waitingMessage"] == false })
		key := &waCommon.MessageKey{RemoteJID: proto.String(businessPhone + "@s.whatsapp.net"), FromMe: proto.Bool(true), ID: proto.String(edited)}
		if _, err := alice.SendMessage(ctx, businessPhone, &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
			Type: waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(), Key: key, EditedMessage: &waE2E.Message{Conversation: proto.String("typo")},
			TimestampMS: proto.Int64(time.Now().UnixMilli())}}); err != nil {
			t.Fatal(err)
		}
		hooks.waitFor(t, "edit", func(h hook) bool { return h.str("messageId") == edited && h.Body["isEdit"] == true })
		in.call(t, "POST", "forward-message", map[string]any{"phone": bobPhone, "messageId": edited, "messagePhone": alicePhone}).
			wantError(t, http.StatusNotFound, "message_not_found")
	})

	t.Run("not kept", func(t *testing.T) {
		for name, body := range map[string]map[string]any{
			"named in another chat": {"phone": bobPhone, "messageId": sentText, "messagePhone": bobPhone},
			"unknown":               {"phone": bobPhone, "messageId": "3EB0000000000000000000", "messagePhone": alicePhone},
		} {
			res := in.call(t, "POST", "forward-message", body)
			t.Run(name, func(t *testing.T) { res.wantError(t, http.StatusNotFound, "message_not_found") })
		}
	})

	t.Run("after the window", func(t *testing.T) {
		// Every forward sent is kept too: wait for the last window to end, without sending more.
		eventually(t, window+15*time.Second, "the windows end", func() error {
			if n := countRows(t, srv, fmt.Sprintf(`SELECT COUNT(*) FROM vault WHERE key LIKE '%%/fwd/%%' AND expires_ms > %d`,
				time.Now().UnixMilli())); n != 0 {
				return fmt.Errorf("%d messages in their window", n)
			}
			return nil
		})
		in.call(t, "POST", "forward-message", map[string]any{"phone": bobPhone, "messageId": sentText, "messagePhone": alicePhone}).
			wantError(t, http.StatusNotFound, "message_not_found")
		// A retry of a forward accepted in the window is answered as it was, and sends nothing.
		if id := forwardKeyed(t, "forward-1", bobPhone, sentText, alicePhone); id != textForward {
			t.Errorf("the retry of the first forward got %s, want %s", id, textForward)
		}
		if _, n := findMessage(bob, textForward); n != 1 {
			t.Errorf("Bob has the first forward %d times", n)
		}
		eventually(t, window, "the kept messages destroyed", func() error {
			if n := countRows(t, srv, `SELECT COUNT(*) FROM vault WHERE key LIKE '%/fwd/%'`); n != 0 {
				return fmt.Errorf("%d messages still kept", n)
			}
			return nil
		})
		srv.stop()
		for name, needle := range map[string][]byte{"sent text": []byte(text), "received text": []byte(received),
			"image": photo[len(photo)/2 : len(photo)/2+64]} {
			if files := findAtRest(t, srv, needle); len(files) > 0 {
				t.Errorf("the %s is in %v after the window", name, files)
			}
		}
	})
}
