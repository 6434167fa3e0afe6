package wasim_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/plugzapi/plugzapi/wasim"
)

// body encodes a request body for the control API.
func body(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The control API's media, group, profile and presence endpoints, checked through
// what a real client sees.
func TestControlAPIGroupsMediaProfile(t *testing.T) {
	t.Parallel()
	sim := startSim(t, wasim.Options{})
	a := api{t: t, base: "http://" + sim.Addr()}
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	carol := addAccount(t, sim, "Carol")
	dave := addAccount(t, sim, "Dave")
	c := newClient(t, sim)
	c.link(alice)
	ctx := testContext(t)
	bobPath := "/v1/accounts/" + bob.Phone()

	t.Run("profile and presence", func(t *testing.T) {
		var profile struct {
			Status    string `json:"status"`
			PictureID string `json:"pictureId"`
		}
		a.call("POST", bobPath+"/profile", body(t, map[string]string{
			"status": "Busy", "pictureBase64": base64.StdEncoding.EncodeToString(testJPEG),
		}), http.StatusOK, &profile)
		if profile.Status != "Busy" || profile.PictureID == "" {
			t.Errorf("profile answer %+v", profile)
		}
		pic, err := c.cli.GetProfilePictureInfo(ctx, bob.JID(), nil)
		if err != nil || pic.ID != profile.PictureID {
			t.Errorf("client sees picture %+v, %v", pic, err)
		}
		var acct struct {
			Status    string `json:"status"`
			PictureID string `json:"pictureId"`
			Available bool   `json:"available"`
		}
		a.call("GET", bobPath, "", http.StatusOK, &acct)
		if acct.Status != "Busy" || acct.PictureID != profile.PictureID || !acct.Available {
			t.Errorf("account %+v", acct)
		}
		a.call("POST", bobPath+"/profile", `{}`, http.StatusBadRequest, nil)
		a.call("POST", bobPath+"/profile", `{"pictureBase64":"%%%"}`, http.StatusBadRequest, nil)
		a.call("POST", bobPath+"/profile", body(t, map[string]string{"pictureBase64": base64.StdEncoding.EncodeToString([]byte("PNG"))}), http.StatusBadRequest, nil)
		a.call("POST", "/v1/accounts/5511900077777/profile", `{"status":"x"}`, http.StatusNotFound, nil)

		from := c.mark()
		if err := c.cli.SubscribePresence(ctx, bob.JID()); err != nil {
			t.Fatal(err)
		}
		waitEvent[*events.Presence](c, from, isPresence(bob.JID(), false))
		from = c.mark()
		a.call("POST", bobPath+"/presence", `{"state":"unavailable"}`, http.StatusOK, nil)
		waitEvent[*events.Presence](c, from, isPresence(bob.JID(), true))
		a.call("POST", bobPath+"/presence", `{"state":"available"}`, http.StatusOK, nil)
		waitEvent[*events.Presence](c, from, isPresence(bob.JID(), false))
		a.call("POST", bobPath+"/presence", `{"state":"dancing"}`, http.StatusBadRequest, nil)
	})

	t.Run("media messages", func(t *testing.T) {
		data := randomBytes(t, 900)
		var sent struct {
			ID string `json:"id"`
		}
		a.call("POST", bobPath+"/messages", body(t, map[string]any{
			"to": alice.Phone(), "type": "image", "mediaBase64": base64.StdEncoding.EncodeToString(data),
			"mimeType": "image/png", "caption": "look",
		}), http.StatusOK, &sent)
		evt := waitEvent[*events.Message](c, 0, isMessage(sent.ID))
		img := evt.Message.GetImageMessage()
		if got, err := c.cli.Download(ctx, img); err != nil || !bytes.Equal(got, data) || img.GetCaption() != "look" || img.GetMimetype() != "image/png" {
			t.Errorf("client got image %q %q: %d bytes, %v", img.GetCaption(), img.GetMimetype(), len(got), err)
		}
		a.call("POST", bobPath+"/messages", body(t, map[string]any{
			"to": alice.Phone(), "type": "audio", "ptt": true, "mediaBase64": base64.StdEncoding.EncodeToString(data),
		}), http.StatusOK, &sent)
		if voice := waitEvent[*events.Message](c, 0, isMessage(sent.ID)); !voice.Message.GetAudioMessage().GetPTT() {
			t.Error("voice note without ptt")
		}
		for _, bad := range []map[string]any{
			{"to": alice.Phone(), "type": "hologram", "mediaBase64": "AAAA"},
			{"to": alice.Phone(), "type": "image"},
			{"to": alice.Phone(), "type": "image", "mediaBase64": "not base64!"},
			{"to": alice.Phone(), "type": "text"},
		} {
			a.call("POST", bobPath+"/messages", body(t, bad), http.StatusBadRequest, nil)
		}

		// What the client sends lands in Bob's inbox with its media described.
		doc := randomBytes(t, 1100)
		up, err := c.cli.Upload(ctx, doc, whatsmeow.MediaDocument)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.cli.SendMessage(ctx, bob.JID(), mediaMessage(mediaCase{
			kind: wasim.MediaDocument, mimeType: "text/csv", caption: "numbers", fileName: "q3.csv",
		}, up))
		if err != nil {
			t.Fatal(err)
		}
		var entry []map[string]any
		eventually(t, "bob's inbox lists the document", func() bool {
			a.call("GET", bobPath+"/messages?since=", "", http.StatusOK, &entry)
			return len(entry) > 0 && entry[len(entry)-1]["id"] == resp.ID
		})
		last := entry[len(entry)-1]
		if last["type"] != "document" || last["caption"] != "numbers" || last["mimeType"] != "text/csv" ||
			last["fileName"] != "q3.csv" || last["mediaSha256"] != sha256Hex(doc) || last["mediaSize"] != float64(len(doc)) {
			t.Errorf("inbox entry %v", last)
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", a.base+bobPath+"/messages/"+url.PathEscape(resp.ID)+"/media", nil)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != http.StatusOK || !bytes.Equal(got, doc) || r.Header.Get("Content-Type") != "text/csv" {
			t.Errorf("media endpoint: status %d, %d bytes, type %q", r.StatusCode, len(got), r.Header.Get("Content-Type"))
		}
		a.call("GET", bobPath+"/messages/nothing/media", "", http.StatusNotFound, nil)
	})

	t.Run("groups", func(t *testing.T) {
		var created struct {
			ID  string `json:"id"`
			JID string `json:"jid"`
		}
		from := c.mark()
		a.call("POST", bobPath+"/groups", body(t, map[string]any{
			"subject": "Team", "participants": []string{alice.Phone(), "+" + carol.Phone()},
		}), http.StatusCreated, &created)
		digits, ok := strings.CutSuffix(created.ID, "-group")
		if !ok || created.JID != digits+"@g.us" {
			t.Fatalf("created %+v", created)
		}
		jid := types.NewJID(digits, types.GroupServer)
		waitEvent[*events.JoinedGroup](c, from, func(j *events.JoinedGroup) bool { return j.JID == jid && j.Name == "Team" })

		var info wasim.GroupInfo
		a.call("GET", "/v1/groups/"+created.ID, "", http.StatusOK, &info)
		if info.Subject != "Team" || len(info.Participants) != 3 || info.Creator != bob.Phone() {
			t.Errorf("group %+v", info)
		}
		a.call("GET", "/v1/groups/"+url.PathEscape(created.JID), "", http.StatusOK, &info)
		a.call("GET", "/v1/groups/120363000000000009-group", "", http.StatusNotFound, nil)
		a.call("GET", "/v1/groups/not-a-group", "", http.StatusBadRequest, nil)
		var mine []wasim.GroupInfo
		a.call("GET", "/v1/accounts/"+alice.Phone()+"/groups", "", http.StatusOK, &mine)
		if len(mine) != 1 || mine[0].ID != created.ID {
			t.Errorf("alice's groups %+v", mine)
		}

		var sent struct {
			ID string `json:"id"`
		}
		a.call("POST", bobPath+"/messages", body(t, map[string]string{"to": created.ID, "text": "hello team"}), http.StatusOK, &sent)
		if m := waitEvent[*events.Message](c, 0, isMessage(sent.ID)); messageText(m) != "hello team" || m.Info.Chat != jid {
			t.Errorf("client got %q in %s", messageText(m), m.Info.Chat)
		}
		a.call("POST", bobPath+"/messages", body(t, map[string]any{
			"to": created.JID, "type": "document", "fileName": "plan.txt", "mediaBase64": base64.StdEncoding.EncodeToString([]byte("step one")),
		}), http.StatusOK, &sent)
		if m := waitEvent[*events.Message](c, 0, isMessage(sent.ID)); m.Message.GetDocumentMessage().GetFileName() != "plan.txt" {
			t.Errorf("group document %v", m.Message)
		}

		groupPath := "/v1/groups/" + created.ID
		from = c.mark()
		var changed struct {
			Participants []wasim.ParticipantResult `json:"participants"`
		}
		a.call("POST", groupPath+"/participants", body(t, map[string]any{
			"by": bob.Phone(), "action": "promote", "participants": []string{carol.Phone()},
		}), http.StatusOK, &changed)
		if len(changed.Participants) != 1 || changed.Participants[0].Phone != carol.Phone() || changed.Participants[0].Error != 0 {
			t.Errorf("promote results %+v", changed)
		}
		waitEvent[*events.GroupInfo](c, from, func(g *events.GroupInfo) bool { return len(g.Promote) == 1 && g.Promote[0] == carol.JID() })
		a.call("POST", groupPath+"/participants", body(t, map[string]any{
			"by": alice.Phone(), "action": "remove", "participants": []string{carol.Phone()},
		}), http.StatusForbidden, nil)
		a.call("POST", groupPath+"/participants", body(t, map[string]any{
			"action": "add", "participants": []string{carol.Phone()},
		}), http.StatusBadRequest, nil)
		a.call("POST", groupPath+"/participants", body(t, map[string]any{
			"by": "5511900077777", "action": "add", "participants": []string{carol.Phone()},
		}), http.StatusNotFound, nil)
		a.call("POST", groupPath+"/participants", body(t, map[string]any{
			"by": bob.Phone(), "action": "kick", "participants": []string{carol.Phone()},
		}), http.StatusBadRequest, nil)

		from = c.mark()
		a.call("POST", groupPath+"/subject", body(t, map[string]string{"by": bob.Phone(), "subject": "Team 2"}), http.StatusOK, nil)
		waitEvent[*events.GroupInfo](c, from, func(g *events.GroupInfo) bool { return g.Name != nil && g.Name.Name == "Team 2" })
		a.call("POST", groupPath+"/subject", body(t, map[string]string{"by": bob.Phone(), "subject": ""}), http.StatusBadRequest, nil)
		a.call("POST", groupPath+"/description", body(t, map[string]string{"by": carol.Phone(), "description": "our team"}), http.StatusOK, nil)
		waitEvent[*events.GroupInfo](c, from, func(g *events.GroupInfo) bool { return g.Topic != nil && g.Topic.Topic == "our team" })
		// An invite link from the admin; Dave joins by it.
		var invite struct{ Link string }
		a.call("POST", groupPath+"/invite-link", body(t, map[string]string{"by": bob.Phone()}), http.StatusOK, &invite)
		a.call("POST", groupPath+"/invite-link", body(t, map[string]string{"by": alice.Phone()}), http.StatusForbidden, nil)
		var joined struct{ ID string }
		a.call("POST", "/v1/accounts/"+dave.Phone()+"/join-group", body(t, map[string]string{"link": invite.Link}), http.StatusOK, &joined)
		if joined.ID != created.ID {
			t.Errorf("Dave joined %q by %q", joined.ID, invite.Link)
		}
		a.call("POST", "/v1/accounts/"+dave.Phone()+"/join-group", body(t, map[string]string{"link": "https://chat.whatsapp.com/NoSuchCode000"}), http.StatusNotFound, nil)
		a.call("POST", groupPath+"/leave", body(t, map[string]string{"by": carol.Phone()}), http.StatusOK, nil)
		waitEvent[*events.GroupInfo](c, from, func(g *events.GroupInfo) bool { return len(g.Leave) == 1 && g.Leave[0] == carol.JID() })
		a.call("POST", groupPath+"/leave", body(t, map[string]string{"by": carol.Phone()}), http.StatusForbidden, nil)
		a.call("POST", "/v1/groups/120363000000000009-group/subject", body(t, map[string]string{"by": bob.Phone(), "subject": "x"}), http.StatusNotFound, nil)
		a.call("POST", bobPath+"/groups", `{"subject":""}`, http.StatusBadRequest, nil)
		a.call("POST", bobPath+"/groups", `{"subject":"x","participants":["not a number"]}`, http.StatusBadRequest, nil)
	})
}

// The control API's views of what a phone saw (receipts, presence), presence
// subscriptions, receipts only for what was received, and the LID moves of accounts
// and groups.
func TestControlAPIReceiptsPresenceAndAddressing(t *testing.T) {
	t.Parallel()
	sim := startSim(t, wasim.Options{})
	a := api{t: t, base: "http://" + sim.Addr()}
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	ctx := testContext(t)
	alicePath, bobPath := "/v1/accounts/"+alice.Phone(), "/v1/accounts/"+bob.Phone()

	id, err := alice.SendText(ctx, bob.Phone(), "hello", "")
	if err != nil {
		t.Fatal(err)
	}
	waitInbox(t, bob, id)
	a.call("POST", bobPath+"/read", body(t, map[string]any{"chat": alice.Phone(), "ids": []string{"NOT-RECEIVED"}}), http.StatusNotFound, nil)
	a.call("POST", bobPath+"/read", body(t, map[string]any{"chat": alice.Phone(), "ids": []string{id}}), http.StatusOK, nil)
	eventually(t, "Alice's phone lists Bob's read receipt", func() bool {
		var receipts []wasim.Receipt
		a.call("GET", alicePath+"/receipts", "", http.StatusOK, &receipts)
		for _, r := range receipts {
			if r.Type == "read" && r.From == bob.Phone() && len(r.IDs) == 1 && r.IDs[0] == id {
				return true
			}
		}
		return false
	})

	a.call("POST", alicePath+"/subscribe-presence", body(t, map[string]string{"to": "not a number"}), http.StatusBadRequest, nil)
	a.call("POST", alicePath+"/subscribe-presence", body(t, map[string]string{"to": bob.Phone()}), http.StatusOK, nil)
	eventually(t, "Alice's phone lists Bob's presence", func() bool {
		var presences []wasim.Presence
		a.call("GET", alicePath+"/presences", "", http.StatusOK, &presences)
		return len(presences) > 0 && presences[len(presences)-1].From == bob.Phone() && presences[len(presences)-1].Available
	})

	var acct struct {
		LID        string `json:"lid"`
		Addressing string `json:"addressing"`
	}
	a.call("GET", bobPath, "", http.StatusOK, &acct)
	if acct.LID != bob.LID().String() || acct.Addressing != "pn" {
		t.Errorf("account %+v", acct)
	}
	a.call("POST", bobPath+"/addressing", body(t, map[string]string{"mode": "nope"}), http.StatusBadRequest, nil)
	a.call("POST", bobPath+"/addressing", body(t, map[string]string{"mode": "lid"}), http.StatusOK, nil)
	a.call("POST", bobPath+"/addressing", body(t, map[string]string{"mode": "pn"}), http.StatusConflict, nil)
	a.call("GET", bobPath, "", http.StatusOK, &acct)
	if acct.Addressing != "lid" {
		t.Errorf("account after the move %+v", acct)
	}

	g, err := alice.CreateGroup(ctx, "moves", bob.Phone())
	if err != nil {
		t.Fatal(err)
	}
	var moved wasim.GroupInfo
	a.call("POST", "/v1/groups/"+g.ID+"/addressing", body(t, map[string]string{"mode": "lid"}), http.StatusOK, &moved)
	if moved.Addressing != wasim.AddressingLID {
		t.Errorf("group after the move %+v", moved)
	}
	a.call("POST", "/v1/groups/"+g.ID+"/addressing", body(t, map[string]string{"mode": "pn"}), http.StatusConflict, nil)
	a.call("POST", "/v1/groups/120363999999999999-group/addressing", body(t, map[string]string{"mode": "lid"}), http.StatusNotFound, nil)
}
