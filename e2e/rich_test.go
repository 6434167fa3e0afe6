package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/media/mediatest"
	"github.com/plugzapi/plugzapi/wasim"
)

// queue posts to a send route and returns the messageId it answered, checking the answer's shape.
func queue(t *testing.T, in instance, route string, body map[string]any) string {
	t.Helper()
	res := in.call(t, "POST", route, body)
	if res.status != http.StatusOK {
		t.Fatalf("%s: %s", route, res)
	}
	var q struct{ ZaapID, MessageID, ID string }
	res.decode(t, &q)
	if q.MessageID == "" || q.ZaapID == "" || q.ID != q.MessageID {
		t.Fatalf("%s answered %s", route, res.body)
	}
	return q.MessageID
}

// delivered waits for a sent message's DeliveryCallback without error, then SENT and RECEIVED.
func delivered(t *testing.T, hooks *receiver, what, id string) {
	t.Helper()
	if d := hooks.waitFor(t, what+" delivered", delivery(id)); d.Body["error"] != nil {
		t.Errorf("%s: DeliveryCallback = %s", what, d.Raw)
	}
	hooks.waitFor(t, what+" SENT", status("SENT", id))
	hooks.waitFor(t, what+" RECEIVED", status("RECEIVED", id))
}

// receivedBy waits until the server reported a message from a contact (so that it knows who wrote it).
func receivedBy(t *testing.T, hooks *receiver, id string) hook {
	t.Helper()
	return hooks.waitFor(t, "received "+id, func(h hook) bool { return h.Type == "ReceivedCallback" && h.str("messageId") == id })
}

// button returns the interactive button of the given name, failing the test when there is none.
func button(t *testing.T, in *wasim.Interactive, name string) wasim.InteractiveButton {
	t.Helper()
	for _, b := range in.Buttons {
		if b.Name == name {
			return b
		}
	}
	t.Fatalf("no %s button in %+v", name, in.Buttons)
	return wasim.InteractiveButton{}
}

// richCase is one message of TestSendRich: a route, its body, and a check of what the contact's phone shows.
type richCase struct {
	name, route string
	body        map[string]any
	check       func(t *testing.T, got wasim.Message)
}

// TestSendRich: every send route that is neither text nor a file. The contact's phone gets exactly that
// content under the returned ID (a location's coordinates, contact cards, a poll, interactive messages with the
// <biz> flow WhatsApp needs to show them), and SENT and RECEIVED follow; mentions name the members; an edit
// changes the earlier message; a delete for everyone empties it, an admin's delete of a member's message too,
// while a member's attempt at it changes nothing; a reaction shows on the contact's message and goes when
// removed; a vote on the poll comes back to the server; read-message makes a READ receipt at the contact's
// phone; forward-message answers that it cannot.
func TestSendRich(t *testing.T) {
	const bobPhone = "5511999990002"
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	bob := addAccount(t, sim, bobPhone, "Bob")
	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "rich", hooks)
	link(t, in, business)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	first := sendText(t, in, alicePhone, "seu pedido")
	cases := []richCase{
		{"location, quoting", "send-location",
			map[string]any{"title": "Loja Centro", "address": "Av. Paulista, 1000", "latitude": "-23.5614", "longitude": "-46.6559", "messageId": first},
			func(t *testing.T, got wasim.Message) {
				want := wasim.Location{Latitude: -23.5614, Longitude: -46.6559, Name: "Loja Centro", Address: "Av. Paulista, 1000"}
				if got.Type != "location" || got.Location == nil || *got.Location != want || got.QuotedID != first {
					t.Errorf("got %+v (location %+v), want %+v quoting %s", got, got.Location, want, first)
				}
			}},
		{"contact", "send-contact",
			map[string]any{"contactName": "Padaria; Pão, Bom", "contactPhone": "5511988887777", "contactBusinessDescription": "Pães"},
			func(t *testing.T, got wasim.Message) {
				if got.Type != "contact" || len(got.Contacts) != 1 || got.Contacts[0].Name != "Padaria; Pão, Bom" {
					t.Fatalf("got %+v", got)
				}
				v := got.Contacts[0].VCard
				for _, want := range []string{"BEGIN:VCARD", `FN:Padaria\; Pão\, Bom`, "TEL;waid=5511988887777:+5511988887777", "X-WA-BIZ-DESCRIPTION:Pães", "END:VCARD"} {
					if !strings.Contains(v, want) {
						t.Errorf("the vCard lacks %q:\n%s", want, v)
					}
				}
			}},
		{"contacts", "send-contacts",
			map[string]any{"contacts": []map[string]any{
				{"name": "Ana", "phones": []string{"5511911112222"}},
				{"name": "Caio", "phones": []string{"5511933334444", "5521955556666"}},
			}},
			func(t *testing.T, got wasim.Message) {
				if got.Type != "contacts" || len(got.Contacts) != 2 || got.Contacts[0].Name != "Ana" || got.Contacts[1].Name != "Caio" ||
					!strings.Contains(got.Contacts[1].VCard, "waid=5521955556666") || !strings.Contains(got.Contacts[0].VCard, "waid=5511911112222") {
					t.Errorf("got %+v", got)
				}
			}},
		{"poll", "send-poll",
			map[string]any{"message": "Melhor dia?", "poll": []map[string]string{{"name": "Seg"}, {"name": "Ter"}, {"name": "Qua"}}, "pollMaxOptions": 1},
			func(t *testing.T, got wasim.Message) {
				want := wasim.Poll{Question: "Melhor dia?", Options: []string{"Seg", "Ter", "Qua"}, Selectable: 1}
				if got.Type != "poll" || got.Poll == nil || !reflect.DeepEqual(*got.Poll, want) {
					t.Errorf("got %+v (poll %+v)", got, got.Poll)
				}
			}},
		{"button list", "send-button-list",
			map[string]any{"message": "Confirma?", "buttonList": map[string]any{"buttons": []map[string]string{{"id": "yes", "label": "Sim"}, {"label": "Não"}}}},
			func(t *testing.T, got wasim.Message) {
				in := got.Interactive
				if got.Type != "interactive" || got.Text != "Confirma?" || in == nil || in.Hidden || in.Flow != "mixed" || len(in.Buttons) != 2 {
					t.Fatalf("got %+v (interactive %+v)", got, in)
				}
				for i, want := range []map[string]any{{"display_text": "Sim", "id": "yes"}, {"display_text": "Não", "id": "2"}} {
					if b := in.Buttons[i]; b.Name != "quick_reply" || !reflect.DeepEqual(b.Params, want) {
						t.Errorf("button %d = %+v, want quick_reply %v", i, b, want)
					}
				}
			}},
		{"button list under a picture", "send-button-list",
			map[string]any{"message": "Gostou?", "buttonList": map[string]any{"image": dataURI("image/jpeg", mediatest.JPEG(120, 80, 4)),
				"buttons": []map[string]string{{"label": "Sim"}}}},
			func(t *testing.T, got wasim.Message) {
				if in := got.Interactive; in == nil || in.Hidden || in.HeaderMedia != "image/jpeg" || len(in.Buttons) != 1 {
					t.Errorf("got %+v (interactive %+v)", got, in)
				}
			}},
		{"button actions", "send-button-actions",
			map[string]any{"message": "Fale conosco", "title": "Atendimento", "footer": "8h às 18h", "buttonActions": []map[string]string{
				{"type": "URL", "url": "https://loja.example.com/", "label": "Site"},
				{"type": "CALL", "phone": "551130000000", "label": "Ligar"},
				{"type": "REPLY", "id": "human", "label": "Falar com alguém"},
			}},
			func(t *testing.T, got wasim.Message) {
				in := got.Interactive
				if got.Type != "interactive" || in == nil || in.Hidden || in.Title != "Atendimento" || in.Footer != "8h às 18h" || len(in.Buttons) != 3 {
					t.Fatalf("got %+v (interactive %+v)", got, in)
				}
				if p := button(t, in, "cta_url").Params; p["url"] != "https://loja.example.com/" || p["display_text"] != "Site" {
					t.Errorf("URL button %v", p)
				}
				if p := button(t, in, "cta_call").Params; p["phone_number"] != "+551130000000" || p["display_text"] != "Ligar" {
					t.Errorf("CALL button %v", p)
				}
				if p := button(t, in, "quick_reply").Params; p["id"] != "human" {
					t.Errorf("REPLY button %v", p)
				}
			}},
		{"option list", "send-option-list",
			map[string]any{"message": "Escolha o sabor", "optionList": map[string]any{"title": "Sabores", "buttonLabel": "Ver sabores",
				"options": []map[string]string{{"id": "m", "title": "Morango", "description": "da estação"}, {"title": "Chocolate"}}}},
			func(t *testing.T, got wasim.Message) {
				in := got.Interactive
				if got.Type != "interactive" || got.Text != "Escolha o sabor" || in == nil || in.Hidden || len(in.Buttons) != 1 {
					t.Fatalf("got %+v (interactive %+v)", got, in)
				}
				want := map[string]any{"title": "Ver sabores", "sections": []any{map[string]any{"title": "Sabores", "rows": []any{
					map[string]any{"id": "m", "title": "Morango", "description": "da estação"},
					map[string]any{"id": "2", "title": "Chocolate"},
				}}}}
				if p := button(t, in, "single_select").Params; !reflect.DeepEqual(p, want) {
					t.Errorf("list %v\nwant %v", p, want)
				}
			}},
		{"pix button", "send-button-pix",
			map[string]any{"pixKey": "loja@example.com", "type": "EMAIL", "merchantName": "Loja"},
			func(t *testing.T, got wasim.Message) {
				in := got.Interactive
				if got.Type != "interactive" || in == nil || in.Hidden || in.Flow != "payment_info" {
					t.Fatalf("got %+v (interactive %+v)", got, in)
				}
				settings, _ := button(t, in, "payment_info").Params["payment_settings"].([]any)
				want := []any{map[string]any{"type": "pix_static_code", "pix_static_code": map[string]any{
					"merchant_name": "Loja", "key": "loja@example.com", "key_type": "EMAIL"}}}
				if !reflect.DeepEqual(settings, want) {
					t.Errorf("payment settings %v, want %v", settings, want)
				}
			}},
		{"otp button", "send-button-otp",
			map[string]any{"message": "Seu código", "code": "123456"},
			func(t *testing.T, got wasim.Message) {
				in := got.Interactive
				if got.Type != "interactive" || got.Text != "Seu código" || in == nil || in.Hidden {
					t.Fatalf("got %+v (interactive %+v)", got, in)
				}
				if p := button(t, in, "cta_copy").Params; p["copy_code"] != "123456" || p["display_text"] != "Copiar código" {
					t.Errorf("copy button %v", p)
				}
			}},
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		c.body["phone"] = alicePhone
		ids[i] = queue(t, in, c.route, c.body)
	}
	for i, c := range cases {
		got := waitMessage(t, alice, ids[i])
		if got.From != businessPhone {
			t.Errorf("%s: from %s", c.name, got.From)
		}
		t.Run(c.name, func(t *testing.T) { c.check(t, got) })
		delivered(t, hooks, c.name, ids[i])
	}
	pollID := ids[slices.IndexFunc(cases, func(c richCase) bool { return c.route == "send-poll" })]

	t.Run("a vote on the poll comes back, decrypted", func(t *testing.T) {
		vote, err := alice.VotePoll(ctx, businessPhone, pollID, "Ter")
		if err != nil {
			t.Fatalf("Alice votes: %v", err)
		}
		got := receivedBy(t, hooks, vote)
		pv, _ := got.Body["pollVote"].(map[string]any)
		if pv["pollMessageId"] != pollID || !reflect.DeepEqual(pv["options"], []any{map[string]any{"name": "Ter"}}) {
			t.Errorf("the vote's ReceivedCallback: %s", got.Raw)
		}
	})

	t.Run("edit", func(t *testing.T) {
		id := sendText(t, in, alicePhone, "entrega amanhã")
		waitMessage(t, alice, id)
		edit := queue(t, in, "send-text", map[string]any{"phone": alicePhone, "message": "entrega hoje", "editMessageId": id})
		if edit == id {
			t.Fatalf("the edit answered the edited message's ID")
		}
		delivered(t, hooks, "edit", edit)
		eventually(t, 30*time.Second, "the edit applied on Alice's phone", func() error {
			if got, _ := findMessage(alice, id); got.Text != "entrega hoje" || !got.Edited {
				return fmt.Errorf("the message is %+v", got)
			}
			return nil
		})
	})

	t.Run("delete for everyone", func(t *testing.T) {
		id := sendText(t, in, alicePhone, "mensagem errada")
		waitMessage(t, alice, id)
		res := in.call(t, "DELETE", "messages?"+url.Values{"messageId": {id}, "phone": {alicePhone}, "owner": {"true"}}.Encode(), nil)
		if res.status != http.StatusNoContent || len(res.body) != 0 {
			t.Fatalf("DELETE /messages: %s", res)
		}
		eventually(t, 30*time.Second, "the message deleted on Alice's phone", func() error {
			if got, _ := findMessage(alice, id); !got.Revoked || got.Text != "" {
				return fmt.Errorf("the message is %+v", got)
			}
			return nil
		})
	})

	t.Run("reaction, then its removal", func(t *testing.T) {
		theirs, err := alice.SendText(ctx, businessPhone, "chegou!", "")
		if err != nil {
			t.Fatal(err)
		}
		receivedBy(t, hooks, theirs)
		reaction := queue(t, in, "send-reaction", map[string]any{"phone": alicePhone, "messageId": theirs, "reaction": "❤️"})
		if got := waitMessage(t, alice, reaction); got.Type != "reaction" || got.Text != "❤️" || got.QuotedID != theirs {
			t.Errorf("Alice's phone got %+v", got)
		}
		eventually(t, 30*time.Second, "the reaction on Alice's message", func() error {
			if r := alice.Reactions(theirs); r[businessPhone] != "❤️" {
				return fmt.Errorf("reactions %v", r)
			}
			return nil
		})
		delivered(t, hooks, "reaction", reaction)
		removal := queue(t, in, "send-remove-reaction", map[string]any{"phone": alicePhone, "messageId": theirs})
		waitMessage(t, alice, removal)
		eventually(t, 30*time.Second, "the reaction gone from Alice's message", func() error {
			if r := alice.Reactions(theirs); len(r) != 0 {
				return fmt.Errorf("reactions %v", r)
			}
			return nil
		})
	})

	t.Run("read-message", func(t *testing.T) {
		theirs, err := alice.SendText(ctx, businessPhone, "você viu?", "")
		if err != nil {
			t.Fatal(err)
		}
		receivedBy(t, hooks, theirs)
		res := in.call(t, "POST", "read-message", map[string]any{"phone": alicePhone, "messageId": theirs})
		if res.status != http.StatusNoContent || len(res.body) != 0 {
			t.Fatalf("read-message: %s", res)
		}
		eventually(t, 30*time.Second, "a READ receipt at Alice's phone", func() error {
			for _, r := range alice.Receipts() {
				if r.Type == "read" && r.From == businessPhone && slices.Contains(r.IDs, theirs) {
					return nil
				}
			}
			return fmt.Errorf("receipts %+v", alice.Receipts())
		})
	})

	t.Run("forward-message cannot", func(t *testing.T) {
		res := in.call(t, "POST", "forward-message", map[string]any{"phone": bobPhone, "messageId": first, "messagePhone": alicePhone})
		var body struct{ Error, Code string }
		res.decode(t, &body)
		if res.status != http.StatusUnprocessableEntity || body.Code != "cannot_forward" {
			t.Errorf("forward-message: %s", res)
		}
	})

	t.Run("in a group: mentions, an admin's delete, a member's attempt", func(t *testing.T) {
		group, err := business.CreateGroup(ctx, "Loja", alicePhone, bobPhone)
		if err != nil {
			t.Fatal(err)
		}
		hello := queue(t, in, "send-text", map[string]any{"phone": group.ID, "message": "Olá @" + alicePhone, "mentioned": []string{alicePhone},
			"groupMentioned": []map[string]string{{"phone": group.ID, "subject": "Loja"}}})
		if got := waitMessage(t, bob, hello); !slices.Equal(got.Mentioned, []string{alicePhone}) ||
			!slices.Equal(got.GroupMentioned, []string{group.JID.String()}) {
			t.Errorf("Bob's phone got %+v", got)
		}

		spam, err := bob.SendText(ctx, group.ID, "compre já", "")
		if err != nil {
			t.Fatal(err)
		}
		waitMessage(t, alice, spam)
		receivedBy(t, hooks, spam)
		// Alice is no admin: her phone's delete of Bob's message reaches the others and changes nothing.
		attempt := &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum(),
			Key: &waCommon.MessageKey{RemoteJID: proto.String(group.JID.String()), FromMe: proto.Bool(false), ID: proto.String(spam),
				Participant: proto.String(bob.JID().String())}}}
		attemptID, err := alice.SendMessage(ctx, group.ID, attempt)
		if err != nil {
			t.Fatal(err)
		}
		waitMessage(t, business, attemptID)
		if got, _ := findMessage(business, spam); got.Revoked || got.Text != "compre já" {
			t.Errorf("a member's delete of another's message took effect: %+v", got)
		}
		// The business is the group's admin: its delete goes.
		res := in.call(t, "DELETE", "messages?"+url.Values{"messageId": {spam}, "phone": {group.ID}, "owner": {"false"}}.Encode(), nil)
		if res.status != http.StatusNoContent {
			t.Fatalf("DELETE /messages as admin: %s", res)
		}
		eventually(t, 30*time.Second, "Bob's message deleted on Alice's phone", func() error {
			if got, _ := findMessage(alice, spam); !got.Revoked {
				return fmt.Errorf("the message is %+v", got)
			}
			return nil
		})
	})
}
