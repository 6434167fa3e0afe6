package wasim_test

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/plugzapi/plugzapi/wasim"
	"github.com/plugzapi/plugzapi/wasim/simclient"
)

// testJPEG is enough of a JPEG for WhatsApp's format check: start and end markers.
var testJPEG = append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00}, append(make([]byte, 64), 0xFF, 0xD9)...)

// download fetches a URL the way a client configured for the simulator does.
func download(t *testing.T, sim *wasim.Simulator, url string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := simclient.HTTPClient(sim.Addr()).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, %v", url, resp.StatusCode, err)
	}
	return body
}

// User info, profile pictures (set and not set) and the status text, as a client
// asks for them.
func TestUserInfoAndProfilePicture(t *testing.T) {
	t.Parallel()
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim)
	c.link(alice)
	ctx := testContext(t)

	if _, err := c.cli.GetProfilePictureInfo(ctx, bob.JID(), nil); !errors.Is(err, whatsmeow.ErrProfilePictureNotSet) {
		t.Errorf("picture before one is set: %v, want ErrProfilePictureNotSet", err)
	}
	info, err := c.cli.GetUserInfo(ctx, []types.JID{bob.JID()})
	if err != nil {
		t.Fatalf("user info: %v", err)
	}
	if got := info[bob.JID()]; got.Status != "" || got.PictureID != "" || !slices.Contains(got.Devices, bob.PhoneDevice()) {
		t.Errorf("bob's info before changes: %+v", got)
	}

	if err := bob.SetStatus(ctx, "At work"); err != nil {
		t.Fatal(err)
	}
	pictureID, err := bob.SetProfilePicture(ctx, testJPEG)
	if err != nil || pictureID == "" {
		t.Fatalf("set picture: %q, %v", pictureID, err)
	}
	info, err = c.cli.GetUserInfo(ctx, []types.JID{bob.JID()})
	if err != nil {
		t.Fatal(err)
	}
	if got := info[bob.JID()]; got.Status != "At work" || got.PictureID != pictureID {
		t.Errorf("bob's info after changes: %+v, want status and picture %s", got, pictureID)
	}
	pic, err := c.cli.GetProfilePictureInfo(ctx, bob.JID(), nil)
	if err != nil {
		t.Fatalf("picture: %v", err)
	}
	if pic.ID != pictureID || pic.Type != "image" || pic.DirectPath == "" {
		t.Errorf("picture info %+v", pic)
	}
	if body := download(t, sim, pic.URL); string(body) != string(testJPEG) {
		t.Error("the picture URL serves other bytes")
	}
	if unchanged, err := c.cli.GetProfilePictureInfo(ctx, bob.JID(), &whatsmeow.GetProfilePictureParams{ExistingID: pictureID}); unchanged != nil || err != nil {
		t.Errorf("picture asked with its current id: %+v, %v; want nil, nil (unchanged)", unchanged, err)
	}
	if _, err := bob.SetProfilePicture(ctx, []byte("GIF89a")); !errors.Is(err, wasim.ErrInvalidArgument) {
		t.Errorf("non-JPEG picture: %v", err)
	}
	if _, err := bob.SetProfilePicture(ctx, nil); err != nil {
		t.Fatalf("remove picture: %v", err)
	}
	if _, err := c.cli.GetProfilePictureInfo(ctx, bob.JID(), nil); !errors.Is(err, whatsmeow.ErrProfilePictureNotSet) {
		t.Errorf("picture after removal: %v, want ErrProfilePictureNotSet", err)
	}
	if _, err := c.cli.GetProfilePictureInfo(ctx, types.NewJID("5511900066666", types.DefaultUserServer), nil); !errors.Is(err, whatsmeow.ErrProfilePictureNotSet) {
		t.Errorf("picture of an unknown number: %v, want ErrProfilePictureNotSet", err)
	}
}

func isPresence(from types.JID, unavailable bool) func(*events.Presence) bool {
	return func(p *events.Presence) bool { return p.From == from && p.Unavailable == unavailable }
}

// Presence subscriptions: a subscriber hears the current presence at once, then
// every change, from simulated phones and from clients alike.
func TestPresence(t *testing.T) {
	t.Parallel()
	sim := startSim(t, wasim.Options{})
	alice := addAccount(t, sim, "Alice")
	bob := addAccount(t, sim, "Bob")
	c := newClient(t, sim)
	c.link(alice)
	watcher := newClient(t, sim)
	watcher.link(bob)
	ctx := testContext(t)

	// Bob's phone announced itself available when it came up.
	from := c.mark()
	if err := c.cli.SubscribePresence(ctx, bob.JID()); err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.Presence](c, from, isPresence(bob.JID(), false))

	from = c.mark()
	before := time.Now().Add(-time.Second)
	if err := bob.SetPresence(ctx, false); err != nil {
		t.Fatal(err)
	}
	away := waitEvent[*events.Presence](c, from, isPresence(bob.JID(), true))
	if away.LastSeen.Before(before) || away.LastSeen.After(time.Now().Add(time.Second)) {
		t.Errorf("last seen %v is not now", away.LastSeen)
	}
	from = c.mark()
	if err := bob.SetPresence(ctx, true); err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.Presence](c, from, isPresence(bob.JID(), false))

	// With last seen hidden, going away tells no time.
	if _, err := watcher.cli.SetPrivacySetting(ctx, types.PrivacySettingTypeLastSeen, types.PrivacySettingNone); err != nil {
		t.Fatal(err)
	}
	from = c.mark()
	if err := bob.SetPresence(ctx, false); err != nil {
		t.Fatal(err)
	}
	if hidden := waitEvent[*events.Presence](c, from, isPresence(bob.JID(), true)); !hidden.LastSeen.IsZero() {
		t.Errorf("hidden last seen sent as %v", hidden.LastSeen)
	}

	// A client's own presence: Alice shows online only while her client is, once her
	// phone is away.
	if err := alice.SetPresence(ctx, false); err != nil {
		t.Fatal(err)
	}
	from = watcher.mark()
	if err := watcher.cli.SubscribePresence(ctx, alice.JID()); err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.Presence](watcher, from, isPresence(alice.JID(), true))
	from = watcher.mark()
	if err := c.cli.SendPresence(ctx, types.PresenceAvailable); err != nil {
		t.Fatal(err)
	}
	waitEvent[*events.Presence](watcher, from, isPresence(alice.JID(), false))
	if !alice.Available() {
		t.Error("Account.Available is false while the client is available")
	}
	// A device that goes away takes its availability with it.
	from = watcher.mark()
	c.cli.Disconnect()
	waitEvent[*events.Presence](watcher, from, isPresence(alice.JID(), true))
}
