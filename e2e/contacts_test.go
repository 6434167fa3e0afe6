package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/media/mediatest"
	"github.com/plugzapi/plugzapi/wasim"
	"github.com/plugzapi/plugzapi/wasim/simclient"
)

// contactJSON is a contact as GET contacts and GET contacts/{phone} answer.
type contactJSON struct {
	Name, Short, Notify, VName *string
	Phone                      string
	ImgURL                     *string `json:"imgUrl"`
}

func orNull(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

// TestContacts: a freshly linked number knows its phone's contacts (saved names from app state, push names from
// the phone's history, business names from messages) and keeps them across a restart; phone-exists (one and batch) asks WhatsApp; a contact's
// metadata and picture are WhatsApp's; a blocked contact's messages do not arrive until unblocked.
func TestContacts(t *testing.T) {
	const bobPhone, nobody = "5511999990002", "5511999990099"
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	alice := addAccount(t, sim, alicePhone, "Alice")
	bob := addAccount(t, sim, bobPhone, "Bob")
	bob.SetBusiness(true) // a WhatsApp Business account: its messages carry its verified name
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Before the number is linked: Alice writes to it (its phone learns her push name), it saves Bob in its
	// address book, and Alice sets a picture.
	if _, err := alice.SendText(ctx, businessPhone, "hello before linking", ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the phone gets Alice's message", func() error {
		if len(business.Messages("")) == 0 {
			return fmt.Errorf("no message")
		}
		return nil
	})
	if err := business.SaveContact(ctx, bobPhone, "Bob Builder"); err != nil {
		t.Fatal(err)
	}
	if err := business.SetStatus(ctx, "Open 9 to 18"); err != nil {
		t.Fatal(err)
	}
	alicePicture := randomFile("\xff\xd8\xff\xe0", 900)
	if _, err := alice.SetProfilePicture(ctx, alicePicture); err != nil {
		t.Fatal(err)
	}

	hooks := newReceiver(t)
	srv := startServer(t, sim)
	in := createInstance(t, srv, "contacts", hooks)
	link(t, in, business)

	// Bob's business name comes with his messages.
	id, err := bob.SendText(ctx, businessPhone, "our catalogue", "")
	if err != nil {
		t.Fatal(err)
	}
	hooks.waitFor(t, "Bob's message", func(h hook) bool { return h.Type == "ReceivedCallback" && h.str("messageId") == id })

	t.Run("phone-exists", func(t *testing.T) {
		var got []struct {
			Exists bool
			Phone  string
			LID    *string
		}
		res := in.call(t, "GET", "phone-exists/"+alicePhone, nil)
		res.decode(t, &got)
		if res.status != http.StatusOK || len(got) != 1 || !got[0].Exists || got[0].Phone != alicePhone {
			t.Errorf("phone-exists of Alice: %s", res)
		}
		res = in.call(t, "GET", "phone-exists/"+nobody, nil)
		res.decode(t, &got)
		if res.status != http.StatusOK || len(got) != 1 || got[0].Exists {
			t.Errorf("phone-exists of a number not on WhatsApp: %s", res)
		}
		in.call(t, "GET", "phone-exists/55119999x", nil).wantError(t, http.StatusBadRequest, "invalid_phone")
	})

	t.Run("phone-exists-batch", func(t *testing.T) {
		var got []struct {
			Exists                  bool
			InputPhone, OutputPhone string
		}
		res := in.call(t, "POST", "phone-exists-batch", map[string]any{"phones": []string{nobody, alicePhone, bobPhone}})
		res.decode(t, &got)
		want := []bool{false, true, true}
		if res.status != http.StatusOK || len(got) != 3 {
			t.Fatalf("batch: %s", res)
		}
		for i, p := range []string{nobody, alicePhone, bobPhone} {
			if got[i].InputPhone != p || got[i].Exists != want[i] || got[i].OutputPhone != p {
				t.Errorf("batch answer %d: %+v, want %s exists=%v", i, got[i], p, want[i])
			}
		}
		in.call(t, "POST", "phone-exists-batch", map[string]any{"phones": []string{}}).wantError(t, http.StatusBadRequest, "missing_fields")
		in.call(t, "POST", "phone-exists-batch", map[string]any{"phones": []string{alicePhone, "+55 11"}}).wantError(t, http.StatusBadRequest, "invalid_phone")
		tooMany := slices.Repeat([]string{alicePhone}, 1001)
		in.call(t, "POST", "phone-exists-batch", map[string]any{"phones": tooMany}).wantError(t, http.StatusBadRequest, "invalid_field")
	})

	// The names a freshly linked device has: Bob as the phone saved him, Alice by her push name.
	wantContacts := func(t *testing.T) {
		t.Helper()
		eventually(t, 30*time.Second, "contacts with their names", func() error {
			var got []contactJSON
			res := in.call(t, "GET", "contacts", nil)
			res.decode(t, &got)
			byPhone := map[string]contactJSON{}
			for _, c := range got {
				byPhone[c.Phone] = c
			}
			a, b := byPhone[alicePhone], byPhone[bobPhone]
			if orNull(a.Notify) != "Alice" || orNull(a.VName) != "<null>" || orNull(b.Name) != "Bob Builder" ||
				orNull(b.Short) != "Bob" || orNull(b.Notify) != "Bob" || orNull(b.VName) != "Bob" || len(got) != 2 {
				return fmt.Errorf("contacts %s", res)
			}
			return nil
		})
	}
	t.Run("contacts", func(t *testing.T) {
		wantContacts(t)
		var page1, page2, page3 []contactJSON
		in.call(t, "GET", "contacts?page=1&pageSize=1", nil).decode(t, &page1)
		in.call(t, "GET", "contacts?page=2&pageSize=1", nil).decode(t, &page2)
		in.call(t, "GET", "contacts?page=3&pageSize=1", nil).decode(t, &page3)
		if len(page1) != 1 || len(page2) != 1 || len(page3) != 0 || page1[0].Phone != alicePhone || page2[0].Phone != bobPhone {
			t.Errorf("pages %+v %+v %+v", page1, page2, page3)
		}
		in.call(t, "GET", "contacts?page=0&pageSize=10", nil).wantError(t, http.StatusBadRequest, "invalid_query")
		in.call(t, "GET", "contacts?page=1&pageSize=5000", nil).wantError(t, http.StatusBadRequest, "invalid_query")
	})

	// A picture's URL is WhatsApp's; the simulator serves it wherever it points.
	wa := simclient.HTTPClient(sim.Addr())
	wantPicture := func(t *testing.T, url string) {
		t.Helper()
		resp, err := wa.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || sha256.Sum256(got) != sha256.Sum256(alicePicture) {
			t.Errorf("picture at %s: %d, %d bytes (want the %d bytes Alice set)", url, resp.StatusCode, len(got), len(alicePicture))
		}
	}

	t.Run("contact metadata", func(t *testing.T) {
		var got contactJSON
		res := in.call(t, "GET", "contacts/"+alicePhone, nil)
		res.decode(t, &got)
		if res.status != http.StatusOK || got.Phone != alicePhone || orNull(got.Notify) != "Alice" || got.ImgURL == nil {
			t.Fatalf("contact Alice: %s", res)
		}
		wantPicture(t, *got.ImgURL)
		res = in.call(t, "GET", "contacts/"+bobPhone, nil)
		res.decode(t, &got)
		if res.status != http.StatusOK || orNull(got.Name) != "Bob Builder" || got.ImgURL != nil {
			t.Errorf("contact Bob (saved, no picture): %s", res)
		}
		in.call(t, "GET", "contacts/"+nobody, nil).wantError(t, http.StatusNotFound, "not_on_whatsapp")
		in.call(t, "GET", "contacts/abc", nil).wantError(t, http.StatusBadRequest, "invalid_phone")
	})

	t.Run("profile-picture", func(t *testing.T) {
		var got []struct{ Link *string }
		res := in.call(t, "GET", "profile-picture?phone="+alicePhone, nil)
		res.decode(t, &got)
		if res.status != http.StatusOK || len(got) != 1 || got[0].Link == nil {
			t.Fatalf("Alice's picture: %s", res)
		}
		wantPicture(t, *got[0].Link)
		res = in.call(t, "GET", "profile-picture?phone="+bobPhone, nil)
		res.decode(t, &got)
		if res.status != http.StatusOK || len(got) != 1 || got[0].Link != nil {
			t.Errorf("Bob has no picture: %s", res)
		}
		in.call(t, "GET", "profile-picture", nil).wantError(t, http.StatusBadRequest, "invalid_query")
		in.call(t, "GET", "profile-picture?phone="+nobody, nil).wantError(t, http.StatusNotFound, "not_on_whatsapp")
	})

	t.Run("block and unblock", func(t *testing.T) {
		arrived := func(text string) bool {
			for _, h := range hooks.hooks() {
				if h.Type == "ReceivedCallback" && bytes.Contains(h.Raw, []byte(text)) {
					return true
				}
			}
			return false
		}
		modify := func(action string) {
			t.Helper()
			res := in.call(t, "POST", "contacts/modify-blocked", map[string]any{"phone": alicePhone, "action": action})
			if res.status != http.StatusOK || !strings.Contains(string(res.body), `"value":true`) {
				t.Fatalf("%s Alice: %s", action, res)
			}
		}
		about := func() string {
			t.Helper()
			seen, err := alice.SeenProfile(ctx, businessPhone)
			if err != nil {
				t.Fatal(err)
			}
			return seen.About
		}
		modify("block")
		if got := business.Blocked(); !slices.Equal(got, []string{alicePhone}) {
			t.Errorf("WhatsApp has the block list %v", got)
		}
		if got := about(); got != "" {
			t.Errorf("Alice, blocked, sees the about text %q", got)
		}
		if _, err := alice.SendText(ctx, businessPhone, "sent while blocked", ""); err != nil {
			t.Fatal(err)
		}
		modify("unblock")
		if got := business.Blocked(); len(got) != 0 {
			t.Errorf("WhatsApp has the block list %v after unblocking", got)
		}
		if got := about(); got != "Open 9 to 18" {
			t.Errorf("Alice, unblocked, sees the about text %q", got)
		}
		if _, err := alice.SendText(ctx, businessPhone, "sent once unblocked", ""); err != nil {
			t.Fatal(err)
		}
		hooks.waitFor(t, "the message sent once unblocked", func(h hook) bool {
			return h.Type == "ReceivedCallback" && bytes.Contains(h.Raw, []byte("sent once unblocked"))
		})
		if arrived("sent while blocked") {
			t.Error("the message Alice sent while blocked arrived")
		}
		for _, m := range business.Messages("") {
			if m.Text == "sent while blocked" {
				t.Error("the phone got the message Alice sent while blocked")
			}
		}
		in.call(t, "POST", "contacts/modify-blocked", map[string]any{"phone": alicePhone, "action": "mute"}).wantError(t, http.StatusBadRequest, "invalid_field")
		in.call(t, "POST", "contacts/modify-blocked", map[string]any{"phone": alicePhone}).wantError(t, http.StatusBadRequest, "missing_fields")
		in.call(t, "POST", "contacts/modify-blocked", map[string]any{"phone": nobody, "action": "block"}).wantError(t, http.StatusNotFound, "not_on_whatsapp")
	})

	t.Run("a picture from an internal address", func(t *testing.T) {
		// This server keeps the default policy: it fetches nothing from loopback or private addresses.
		for _, url := range []string{"http://127.0.0.1:8080/logo.jpg", "https://10.1.2.3/logo.jpg"} {
			in.call(t, "PUT", "profile-picture", map[string]any{"value": url}).wantError(t, http.StatusBadRequest, "invalid_media")
		}
	})

	t.Run("after a restart", func(t *testing.T) {
		srv.restart()
		waitConnected(t, in)
		wantContacts(t)
	})
}

// TestProfile: the name, about text and picture the API sets are what a contact sees on their phone; bad input is
// refused before WhatsApp is asked.
func TestProfile(t *testing.T) {
	const bobPhone = "5511999990002"
	sim := startSimulator(t)
	business := addAccount(t, sim, businessPhone, "Business")
	bob := addAccount(t, sim, bobPhone, "Bob")
	// The instance does not show itself online: its new name must reach WhatsApp all the same.
	srv := startServer(t, sim, withEnv("PLUGZAPI_ALLOW_INSECURE_MEDIA", "1"), withEnv("PLUGZAPI_SHOW_ONLINE", "0"))
	in := createInstance(t, srv, "profile", nil)
	linkDevice(t, in, business, false)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	files := fileServer(t, map[string][]byte{"/logo.jpg": mediatest.JPEG(300, 500, 4), "/page.jpg": []byte("<html>no</html>")})

	put := func(t *testing.T, route string, value any) {
		t.Helper()
		res := in.call(t, "PUT", route, map[string]any{"value": value})
		if res.status != http.StatusOK || !strings.Contains(string(res.body), `"value":true`) {
			t.Fatalf("PUT %s: %s", route, res)
		}
	}
	seen := func(t *testing.T, what string, ok func(wasim.SeenProfile) bool) wasim.SeenProfile {
		t.Helper()
		var last wasim.SeenProfile
		eventually(t, 30*time.Second, "Bob sees "+what, func() error {
			var err error
			if last, err = bob.SeenProfile(ctx, businessPhone); err != nil {
				return err
			}
			if !ok(last) {
				return fmt.Errorf("Bob sees %+v", last)
			}
			return nil
		})
		return last
	}

	t.Run("name", func(t *testing.T) {
		put(t, "profile-name", "Acme Store")
		// Contacts learn a push name from the messages it comes with.
		sendText(t, in, bobPhone, "hello from the new name")
		seen(t, "the new name", func(p wasim.SeenProfile) bool { return p.PushName == "Acme Store" })
		if got := business.Name(); got != "Acme Store" {
			t.Errorf("WhatsApp has the name %q", got)
		}
	})

	t.Run("description", func(t *testing.T) {
		put(t, "profile-description", "Open 9 to 18")
		seen(t, "the about text", func(p wasim.SeenProfile) bool { return p.About == "Open 9 to 18" })
	})

	wa := simclient.HTTPClient(sim.Addr())
	pictureSize := func(t *testing.T, url string) (w, h int) {
		t.Helper()
		resp, err := wa.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		cfg, err := jpeg.DecodeConfig(resp.Body)
		if err != nil {
			t.Fatalf("the picture at %s is not a JPEG: %v", url, err)
		}
		return cfg.Width, cfg.Height
	}
	t.Run("picture", func(t *testing.T) {
		put(t, "profile-picture", dataURI("image/png", mediatest.PNG(800, 400, 5)))
		first := seen(t, "a picture", func(p wasim.SeenProfile) bool { return p.PictureURL != "" })
		if w, h := pictureSize(t, first.PictureURL); w != 400 || h != 400 {
			t.Errorf("the picture is %dx%d, want the 400x400 centre of the PNG", w, h)
		}
		put(t, "profile-picture", files.URL+"/logo.jpg")
		second := seen(t, "the new picture", func(p wasim.SeenProfile) bool { return p.PictureID != first.PictureID && p.PictureURL != "" })
		if w, h := pictureSize(t, second.PictureURL); w != 300 || h != 300 {
			t.Errorf("the picture from the URL is %dx%d, want 300x300", w, h)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for _, c := range []struct {
			route  string
			body   any
			status int
			code   string
		}{
			{"profile-name", map[string]any{"value": ""}, http.StatusBadRequest, "missing_fields"},
			{"profile-name", map[string]any{}, http.StatusBadRequest, "missing_fields"},
			{"profile-name", map[string]any{"value": strings.Repeat("n", 26)}, http.StatusBadRequest, "invalid_field"},
			{"profile-name", map[string]any{"value": 7}, http.StatusBadRequest, "invalid_field"},
			{"profile-description", map[string]any{"value": strings.Repeat("d", 140)}, http.StatusBadRequest, "invalid_field"},
			{"profile-description", map[string]any{"value": " "}, http.StatusBadRequest, "missing_fields"},
			{"profile-picture", map[string]any{}, http.StatusBadRequest, "missing_fields"},
			{"profile-picture", map[string]any{"value": "not base64!"}, http.StatusBadRequest, "invalid_media"},
			{"profile-picture", map[string]any{"value": dataURI("text/plain", []byte("hello"))}, http.StatusBadRequest, "invalid_media"},
			{"profile-picture", map[string]any{"value": files.URL + "/page.jpg"}, http.StatusBadRequest, "invalid_media"},
			{"profile-picture", map[string]any{"value": files.URL + "/missing.jpg"}, http.StatusBadRequest, "invalid_media"},
		} {
			in.call(t, "PUT", c.route, c.body).wantError(t, c.status, c.code)
		}
		if got := business.Name(); got != "Acme Store" {
			t.Errorf("a refused name changed it to %q", got)
		}
	})
}
