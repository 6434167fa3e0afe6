package e2e

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/wasim"
	"github.com/plugzapi/plugzapi/wasim/simclient"
)

// TestReceivedPhotos: the ReceivedCallback names the chat's picture (photo: the contact's, or the group's) and
// the sender's (senderPhoto) by the URLs WhatsApp gives, which serve the pictures the phones set; null where
// there is none or it is hidden; a group's new picture shows on its next message.
func TestReceivedPhotos(t *testing.T) {
	const bobPhone, carolPhone = "5511999990002", "5511999990003"
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	bob := addAccount(t, sim, bobPhone, "Bob")
	carol := addAccount(t, sim, carolPhone, "Carol")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "photos", hooks)
	link(t, in, business)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	alicePicture, carolPicture := randomFile("\xff\xd8\xff\xe0", 700), randomFile("\xff\xd8\xff\xe0", 800)
	for _, p := range []struct {
		acct *wasim.Account
		jpeg []byte
	}{{alice, alicePicture}, {carol, carolPicture}} {
		if _, err := p.acct.SetProfilePicture(ctx, p.jpeg); err != nil {
			t.Fatal(err)
		}
	}
	// Carol hides hers: WhatsApp answers 401 to whoever asks.
	if err := carol.SetPrivacy(ctx, types.PrivacySettingTypeProfile, types.PrivacySettingNone); err != nil {
		t.Fatal(err)
	}
	// The pictures' URLs are WhatsApp's; the simulator serves them wherever they point.
	wa := simclient.HTTPClient(sim.Addr())
	picture := func(t *testing.T, h hook, field string, want []byte) {
		t.Helper()
		url := h.str(field)
		if url == "" {
			t.Fatalf("%s is %v: %s", field, h.Body[field], h.Raw)
		}
		resp, err := wa.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK || sha256.Sum256(got) != sha256.Sum256(want) {
			t.Errorf("%s at %s: %d, %d bytes (want the %d bytes the phone set)", field, url, resp.StatusCode, len(got), len(want))
		}
	}
	null := func(t *testing.T, h hook, fields ...string) {
		t.Helper()
		for _, field := range fields {
			if v, ok := h.Body[field]; !ok || v != nil {
				t.Errorf("%s = %v, want null: %s", field, v, h.Raw)
			}
		}
	}
	received := func(t *testing.T, from *wasim.Account, to, text string) hook {
		t.Helper()
		id, err := from.SendText(ctx, to, text, "")
		if err != nil {
			t.Fatal(err)
		}
		h, _ := receivedContent(t, hooks, id, "text")
		return h
	}

	t.Run("a contact with a picture", func(t *testing.T) {
		h := received(t, alice, businessPhone, "oi")
		picture(t, h, "photo", alicePicture)
		picture(t, h, "senderPhoto", alicePicture)
	})
	t.Run("a contact without one, or who hides it", func(t *testing.T) {
		null(t, received(t, bob, businessPhone, "sem foto"), "photo", "senderPhoto")
		null(t, received(t, carol, businessPhone, "foto escondida"), "photo", "senderPhoto")
	})

	t.Run("in a group", func(t *testing.T) {
		group, err := alice.CreateGroup(ctx, "Fotos", businessPhone, bobPhone)
		if err != nil {
			t.Fatal(err)
		}
		groupPicture := randomFile("\xff\xd8\xff\xe0", 900)
		if err := alice.SetGroupPicture(ctx, group.ID, groupPicture); err != nil {
			t.Fatal(err)
		}
		h := received(t, alice, group.ID, "do grupo")
		picture(t, h, "photo", groupPicture)
		picture(t, h, "senderPhoto", alicePicture)
		h = received(t, bob, group.ID, "eu não tenho foto")
		picture(t, h, "photo", groupPicture)
		null(t, h, "senderPhoto")

		// A new picture: the members are told, and the next message shows it, not the one kept.
		newPicture := randomFile("\xff\xd8\xff\xe0", 950)
		if err := alice.SetGroupPicture(ctx, group.ID, newPicture); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "the group's new picture", func() error {
			h := received(t, bob, group.ID, "e agora?")
			if url := h.str("photo"); url == "" {
				t.Fatalf("photo after the change: %s", h.Raw)
			}
			resp, err := wa.Get(h.str("photo"))
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			if sha256.Sum256(got) != sha256.Sum256(newPicture) {
				time.Sleep(500 * time.Millisecond) // then one more message
				return fmt.Errorf("photo %s does not serve the new picture (%d)", h.str("photo"), resp.StatusCode)
			}
			return nil
		})
	})

	t.Run("a reaction made on the account's own phone is the account's", func(t *testing.T) {
		// What the account's phone sends comes through the received-delivery webhook (notifySentByMe).
		res := in.call(t, "PUT", "update-every-webhooks", map[string]any{"value": hooks.url() + "/every", "notifySentByMe": true})
		if res.status != http.StatusOK {
			t.Fatalf("notifySentByMe: %s", res)
		}
		incoming, err := alice.SendText(ctx, businessPhone, "reaja", "")
		if err != nil {
			t.Fatal(err)
		}
		receivedContent(t, hooks, incoming, "text")
		id, err := business.SendMessage(ctx, alicePhone, &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
			Key:  &waCommon.MessageKey{RemoteJID: proto.String(alicePhone + "@s.whatsapp.net"), FromMe: proto.Bool(false), ID: proto.String(incoming)},
			Text: proto.String("👍"), SenderTimestampMS: proto.Int64(time.Now().UnixMilli())}})
		if err != nil {
			t.Fatal(err)
		}
		h, c := receivedContent(t, hooks, id, "reaction")
		if h.Body["fromMe"] != true || c["reactionBy"] != businessPhone || h.str("phone") != alicePhone {
			t.Errorf("reaction from the account's phone: %s", h.Raw)
		}
		// The chat is Alice's; the sender is the account (which has no picture).
		picture(t, h, "photo", alicePicture)
		null(t, h, "senderPhoto")
	})
}
