package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/wasim"
)

const bobPhone = "5511999990002"

// chatJSON is a chat as GET chats and GET chats/{phone} answer it.
type chatJSON struct {
	Name, Phone, Unread, LastMessageTime, IsMuted string
	Archived, Pinned, IsGroup                     bool
	Tags                                          []string
}

// getChat is GET chats/{phone}, decoded; ok is false on 404.
func getChat(t *testing.T, in instance, phone string) (chatJSON, bool) {
	t.Helper()
	res := in.call(t, "GET", "chats/"+phone, nil)
	if res.status == http.StatusNotFound {
		res.wantError(t, http.StatusNotFound, "not_found")
		return chatJSON{}, false
	}
	if res.status != http.StatusOK {
		t.Fatalf("GET chats/%s: %s", phone, res)
	}
	var c chatJSON
	res.decode(t, &c)
	return c, true
}

// listChats is GET chats, decoded.
func listChats(t *testing.T, in instance, query string) []chatJSON {
	t.Helper()
	res := in.call(t, "GET", "chats"+query, nil)
	if res.status != http.StatusOK {
		t.Fatalf("GET chats%s: %s", query, res)
	}
	var out []chatJSON
	res.decode(t, &out)
	return out
}

func findChat(list []chatJSON, phone string) (chatJSON, bool) {
	i := slices.IndexFunc(list, func(c chatJSON) bool { return c.Phone == phone })
	if i < 0 {
		return chatJSON{}, false
	}
	return list[i], true
}

// phoneChat waits until the account's phone shows the chat as want says.
func phoneChat(t *testing.T, acct *wasim.Account, chat, what string, want func(c wasim.Chat, ok bool) bool) {
	t.Helper()
	eventually(t, 30*time.Second, "the phone shows "+what, func() error {
		c, ok := acct.Chat(chat)
		if !want(c, ok) {
			return fmt.Errorf("phone's chat %s: %+v (present %v)", chat, c, ok)
		}
		return nil
	})
}

func modifyChat(t *testing.T, in instance, phone, action string) {
	t.Helper()
	res := in.call(t, "POST", "modify-chat", map[string]any{"phone": phone, "action": action})
	if res.status != http.StatusOK || strings.TrimSpace(string(res.body)) != `{"value":true}` {
		t.Fatalf("modify-chat %s %s: %s", action, phone, res)
	}
}

// TestChats: a freshly linked number lists the chats its phone had (history sync) and the chats that start
// afterwards, with unread counts; every modify-chat action reaches the phone through the app state, and the next
// read sees it; a deleted chat is gone on both sides; a restart keeps the chats.
func TestChats(t *testing.T) {
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	bob := addAccount(t, sim, bobPhone, "Bob")
	srv := startServer(t, sim)
	in := createInstance(t, srv, "chats", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Alice writes before the number is linked: only the phone's history can tell the server about her chat.
	if _, err := alice.SendText(ctx, businessPhone, "Oi, vocês abrem sábado?", ""); err != nil {
		t.Fatalf("Alice writes: %v", err)
	}
	phoneChat(t, business, alicePhone, "Alice's message", func(c wasim.Chat, ok bool) bool { return ok && c.Unread == 1 })
	dev := link(t, in, business)
	eventually(t, 30*time.Second, "Alice's chat from the history sync", func() error {
		c, ok := findChat(listChats(t, in, ""), alicePhone)
		if !ok || c.Unread != "1" || c.LastMessageTime == "0" || c.Name != "Alice" { // named from the history
			return fmt.Errorf("chats: %+v", listChats(t, in, ""))
		}
		return nil
	})

	for _, text := range []string{"Bom dia", "Tem o modelo azul?"} {
		if _, err := bob.SendText(ctx, businessPhone, text, ""); err != nil {
			t.Fatalf("Bob writes: %v", err)
		}
	}
	eventually(t, 30*time.Second, "Bob's chat with 2 unread", func() error {
		list := listChats(t, in, "?page=1&pageSize=10")
		if len(list) != 2 || list[0].Phone != bobPhone || list[0].Name != "Bob" || list[0].Unread != "2" ||
			list[0].IsMuted != "0" || list[0].IsGroup {
			return fmt.Errorf("chats: %+v", list)
		}
		return nil
	})
	if page2 := listChats(t, in, "?page=2&pageSize=1"); len(page2) != 1 || page2[0].Phone != alicePhone {
		t.Errorf("page 2 of 1 = %+v, want Alice's chat", page2)
	}
	if c, _ := getChat(t, in, bobPhone); c.Unread != "2" || c.Name != "" {
		t.Errorf("GET chats/%s = %+v: want 2 unread and no name (PlugZapi's metadata has none)", bobPhone, c)
	}

	t.Run("chat-messages is a documented empty list", func(t *testing.T) {
		res := in.call(t, "GET", "chat-messages/"+bobPhone, nil)
		if res.status != http.StatusOK || strings.TrimSpace(string(res.body)) != "[]" {
			t.Errorf("chat-messages: %s", res)
		}
		in.call(t, "GET", "chat-messages/5511999990099", nil).wantError(t, http.StatusNotFound, "not_found")
	})

	t.Run("a chat the instance does not have", func(t *testing.T) {
		in.call(t, "POST", "modify-chat", map[string]any{"phone": "5511999990099", "action": "archive"}).
			wantError(t, http.StatusNotFound, "not_found")
	})

	actions := []struct {
		action string
		api    func(c chatJSON) bool
		phone  func(c wasim.Chat) bool
	}{
		{"archive", func(c chatJSON) bool { return c.Archived }, func(c wasim.Chat) bool { return c.Archived }},
		{"unarchive", func(c chatJSON) bool { return !c.Archived }, func(c wasim.Chat) bool { return !c.Archived }},
		{"pin", func(c chatJSON) bool { return c.Pinned }, func(c wasim.Chat) bool { return c.Pinned }},
		{"unpin", func(c chatJSON) bool { return !c.Pinned }, func(c wasim.Chat) bool { return !c.Pinned }},
		{"mute", func(c chatJSON) bool { return c.IsMuted == "1" }, func(c wasim.Chat) bool { return c.MutedUntil == -1 }},
		{"unmute", func(c chatJSON) bool { return c.IsMuted == "0" }, func(c wasim.Chat) bool { return c.MutedUntil == 0 }},
		{"read", func(c chatJSON) bool { return c.Unread == "0" }, func(c wasim.Chat) bool { return c.Unread == 0 && !c.MarkedUnread }},
		{"unread", func(c chatJSON) bool { return c.Unread == "1" }, func(c wasim.Chat) bool { return c.MarkedUnread }},
		{"clear", func(c chatJSON) bool { return c.Unread == "0" }, func(c wasim.Chat) bool { return c.Cleared == 1 }},
	}
	for _, a := range actions {
		t.Run(a.action, func(t *testing.T) {
			modifyChat(t, in, bobPhone, a.action)
			// The same client reads its write at once, with no waiting.
			if c, ok := getChat(t, in, bobPhone); !ok || !a.api(c) {
				t.Errorf("after %s, GET chats/%s = %+v", a.action, bobPhone, c)
			}
			phoneChat(t, business, bobPhone, a.action, func(c wasim.Chat, ok bool) bool { return ok && a.phone(c) })
		})
	}

	t.Run("delete", func(t *testing.T) {
		modifyChat(t, in, bobPhone, "delete")
		if c, ok := getChat(t, in, bobPhone); ok {
			t.Errorf("deleted chat still served: %+v", c)
		}
		if _, ok := findChat(listChats(t, in, ""), bobPhone); ok {
			t.Error("deleted chat still listed")
		}
		eventually(t, 30*time.Second, "the phone deletes the chat", func() error {
			if _, ok := business.Chat(bobPhone); ok || business.DeletedChat(bobPhone) != 1 {
				return fmt.Errorf("phone still has the chat (deleted %d times)", business.DeletedChat(bobPhone))
			}
			return nil
		})
	})

	t.Run("an account whose chats moved to LIDs", func(t *testing.T) {
		// WhatsApp's apps then name people by LID in the app state: so must the server, or the phone would
		// not find the chat.
		if err := business.MoveChatsToLID(ctx); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "the instance's device takes the move", func() error {
			for _, d := range business.DeviceInfos() {
				if d.JID == dev && d.Queued > 0 {
					return fmt.Errorf("%d stanzas queued for the device", d.Queued)
				}
			}
			return nil
		})
		modifyChat(t, in, alicePhone, "pin")
		if c, ok := getChat(t, in, alicePhone); !ok || !c.Pinned {
			t.Errorf("after pin, GET chats/%s = %+v", alicePhone, c)
		}
		phoneChat(t, business, alicePhone, "the LID chat pinned", func(c wasim.Chat, ok bool) bool { return ok && c.Pinned })
	})

	t.Run("restart keeps the chats", func(t *testing.T) {
		modifyChat(t, in, alicePhone, "archive")
		srv.restart()
		waitConnected(t, in)
		list := listChats(t, in, "")
		if len(list) != 1 || list[0].Phone != alicePhone || !list[0].Archived || list[0].Pinned || list[0].Unread != "1" {
			t.Errorf("after restart, chats = %+v", list)
		}
		// A chat that was deleted comes back with its next message.
		if _, err := bob.SendText(ctx, businessPhone, "Ainda tem?", ""); err != nil {
			t.Fatalf("Bob writes: %v", err)
		}
		eventually(t, 30*time.Second, "Bob's chat again", func() error {
			if c, ok := getChat(t, in, bobPhone); !ok || c.Unread != "1" {
				return fmt.Errorf("GET chats/%s = %+v", bobPhone, c)
			}
			return nil
		})
	})
}

// TestChatsBadInput: malformed chat and tag requests get clear 4xx errors.
func TestChatsBadInput(t *testing.T) {
	sim := startSimulator(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "strict-chats", nil)
	cases := []struct {
		name, method, rest string
		body               any
		status             int
		code               string
	}{
		{"modify-chat without action", "POST", "modify-chat", map[string]any{"phone": alicePhone}, 400, "missing_fields"},
		{"modify-chat without phone", "POST", "modify-chat", map[string]any{"action": "read"}, 400, "missing_fields"},
		{"modify-chat bad phone", "POST", "modify-chat", map[string]any{"phone": "55-11", "action": "read"}, 400, "invalid_phone"},
		{"modify-chat unknown action", "POST", "modify-chat", map[string]any{"phone": alicePhone, "action": "explode"}, 400, "invalid_field"},
		{"modify-chat wrong type", "POST", "modify-chat", `{"phone":5511999990001,"action":"read"}`, 400, "invalid_field"},
		{"modify-chat not linked", "POST", "modify-chat", map[string]any{"phone": alicePhone, "action": "read"}, 409, "not_linked"},
		{"chats page 0", "GET", "chats?page=0&pageSize=10", nil, 400, "invalid_query"},
		{"chats huge page", "GET", "chats?page=1&pageSize=100000", nil, 400, "invalid_query"},
		{"chat bad phone", "GET", "chats/abc", nil, 400, "invalid_phone"},
		{"unknown chat", "GET", "chats/" + alicePhone, nil, 404, "not_found"},
		{"chat-messages bad phone", "GET", "chat-messages/abc", nil, 400, "invalid_phone"},
		{"tag bad phone", "PUT", "chats/abc/tags/1/add", map[string]any{}, 400, "invalid_phone"},
		{"tags of a personal account", "GET", "tags", nil, 501, "unsupported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in.call(t, c.method, c.rest, c.body).wantError(t, c.status, c.code)
		})
	}
	t.Run("wrong token", func(t *testing.T) {
		bad := instance{srv: srv, id: in.id, token: strings.Repeat("0", 32)}
		bad.call(t, "GET", "chats", nil).wantError(t, http.StatusNotFound, "instance_not_found")
		bad.call(t, "GET", "tags", nil).wantError(t, http.StatusNotFound, "instance_not_found")
	})
}

// TestLabels: a business account's labels (made on its phone, before and after linking) are listed, put on a
// chat and taken off it (the phone sees both); a personal account gets 501 unsupported.
func TestLabels(t *testing.T) {
	sim := startSimulator(t)
	shop := addAccount(t, sim, businessPhone, "Loja")
	shop.SetBusiness(true)
	person := addAccount(t, sim, bobPhone, "Bob")
	alice := addAccount(t, sim, alicePhone, "Alice")
	srv := startServer(t, sim)
	biz := createInstance(t, srv, "business", nil)
	personal := createInstance(t, srv, "personal", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	if _, err := shop.AddLabel(ctx, "Novo cliente", 1); err != nil {
		t.Fatalf("add label: %v", err)
	}
	if _, err := person.AddLabel(ctx, "Amigos", 2); err == nil {
		t.Fatal("a personal account's phone made a label")
	}
	if _, err := alice.SendText(ctx, businessPhone, "Olá", ""); err != nil {
		t.Fatalf("Alice writes: %v", err)
	}
	link(t, biz, shop)
	link(t, personal, person)
	paid, err := shop.AddLabel(ctx, "Pago", 5)
	if err != nil {
		t.Fatalf("add label: %v", err)
	}
	var tags []struct {
		ID, Name string
		Color    int
	}
	eventually(t, 30*time.Second, "both labels", func() error {
		res := biz.call(t, "GET", "tags", nil)
		if res.status != http.StatusOK {
			return fmt.Errorf("%s", res)
		}
		res.decode(t, &tags)
		if len(tags) != 2 || tags[0].Name != "Novo cliente" || tags[0].Color != 1 || tags[1].ID != paid.ID || tags[1].Name != "Pago" {
			return fmt.Errorf("tags %s", res.body)
		}
		return nil
	})

	res := biz.call(t, "PUT", "chats/"+alicePhone+"/tags/"+paid.ID+"/add", map[string]any{})
	if res.status != http.StatusOK || strings.TrimSpace(string(res.body)) != `{"value":true}` {
		t.Fatalf("add tag: %s", res)
	}
	if c, _ := getChat(t, biz, alicePhone); !slices.Equal(c.Tags, []string{paid.ID}) {
		t.Errorf("GET chats/%s tags = %v, want [%s]", alicePhone, c.Tags, paid.ID)
	}
	phoneChat(t, shop, alicePhone, "the label", func(c wasim.Chat, ok bool) bool { return ok && slices.Equal(c.Labels, []string{paid.ID}) })

	// A PUT carries a JSON body (PlugZapi answers 415 without its Content-Type); a GET none.
	body := func(method string) any {
		if method == "PUT" {
			return map[string]any{}
		}
		return nil
	}
	for _, method := range []string{"GET", "PUT"} { // PlugZapi removes with GET, Z-API with PUT
		res := biz.call(t, "PUT", "chats/"+alicePhone+"/tags/"+tags[0].ID+"/add", map[string]any{})
		if res.status != http.StatusOK {
			t.Fatalf("add tag: %s", res)
		}
		phoneChat(t, shop, alicePhone, "two labels", func(c wasim.Chat, ok bool) bool { return ok && len(c.Labels) == 2 })
		res = biz.call(t, method, "chats/"+alicePhone+"/tags/"+tags[0].ID+"/remove", body(method))
		if res.status != http.StatusOK || strings.TrimSpace(string(res.body)) != `{"value":true}` {
			t.Fatalf("%s remove tag: %s", method, res)
		}
		if c, _ := getChat(t, biz, alicePhone); !slices.Equal(c.Tags, []string{paid.ID}) {
			t.Errorf("after %s remove, tags = %v", method, c.Tags)
		}
		phoneChat(t, shop, alicePhone, "the label off", func(c wasim.Chat, ok bool) bool { return ok && slices.Equal(c.Labels, []string{paid.ID}) })
	}

	biz.call(t, "PUT", "chats/"+alicePhone+"/tags/99/add", map[string]any{}).wantError(t, http.StatusNotFound, "not_found")
	biz.call(t, "PUT", "chats/5511999990099/tags/"+paid.ID+"/add", map[string]any{}).wantError(t, http.StatusNotFound, "not_found")
	personal.call(t, "GET", "tags", nil).wantError(t, http.StatusNotImplemented, "unsupported")
	personal.call(t, "PUT", "chats/"+alicePhone+"/tags/1/add", map[string]any{}).wantError(t, http.StatusNotImplemented, "unsupported")
	personal.call(t, "GET", "chats/"+alicePhone+"/tags/1/remove", nil).wantError(t, http.StatusNotImplemented, "unsupported")
}
