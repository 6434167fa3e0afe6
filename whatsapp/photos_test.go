package whatsapp

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// fakeWhatsApp answers picture queries from a table and counts them.
type fakeWhatsApp struct {
	answers map[types.JID]error // nil: the picture is set
	asked   map[types.JID]int
}

func (f *fakeWhatsApp) ask(_ context.Context, jid types.JID) (*types.ProfilePictureInfo, error) {
	f.asked[jid]++
	if err, ok := f.answers[jid]; ok && err != nil {
		return nil, err
	}
	return &types.ProfilePictureInfo{ID: "1", URL: fmt.Sprintf("https://pps.whatsapp.net/%s/%d.jpg", jid.User, f.asked[jid])}, nil
}

func newFakeWhatsApp(answers map[types.JID]error) *fakeWhatsApp {
	return &fakeWhatsApp{answers: answers, asked: map[types.JID]int{}}
}

// TestPhotoCacheKeepsAnswers: a picture is asked for once while it is kept (a busy chat costs no query per message),
// again once it expires; "none", "hidden" and failures are kept too, for shorter times.
func TestPhotoCacheKeepsAnswers(t *testing.T) {
	ana := types.NewJID("5511999990001", types.DefaultUserServer)
	hidden := types.NewJID("5511999990002", types.DefaultUserServer)
	none := types.NewJID("5511999990003", types.DefaultUserServer)
	slow := types.NewJID("5511999990004", types.DefaultUserServer)
	group := types.NewJID("120363000000000001", types.GroupServer)
	wa := newFakeWhatsApp(map[types.JID]error{
		hidden: fmt.Errorf("iq: %w", whatsmeow.ErrProfilePictureUnauthorized),
		none:   fmt.Errorf("iq: %w", whatsmeow.ErrProfilePictureNotSet),
		slow:   context.DeadlineExceeded,
	})
	now := time.Unix(1_700_000_000, 0)
	pc := newPhotoCache(100, func() time.Time { return now })
	look := func(jid types.JID) string { return pc.lookup(context.Background(), jid, wa.ask) }

	// Any device of a person is the person.
	device := types.NewADJID(ana.User, 0, 3)
	if got := look(device); got != "https://pps.whatsapp.net/5511999990001/1.jpg" {
		t.Fatalf("ana's picture = %q", got)
	}
	for range 5 {
		look(ana)
		look(hidden)
		look(none)
		look(slow)
		look(group)
	}
	for jid, want := range map[types.JID]int{ana: 1, hidden: 1, none: 1, slow: 1, group: 1} {
		if wa.asked[jid] != want {
			t.Errorf("%s asked %d times, want %d", jid, wa.asked[jid], want)
		}
	}
	if look(hidden) != "" || look(none) != "" || look(slow) != "" {
		t.Error("a hidden, missing or unanswered picture is not empty")
	}

	// A failure is asked again after a minute; "none" and "hidden" after an hour; a picture after a day.
	steps := []struct {
		after time.Duration
		want  map[types.JID]int
	}{
		{photoFailureTTL, map[types.JID]int{ana: 1, hidden: 1, none: 1, slow: 2}},
		{noPhotoTTL, map[types.JID]int{ana: 1, hidden: 2, none: 2, slow: 3}},
		{photoTTL, map[types.JID]int{ana: 2, hidden: 3, none: 3, slow: 4}},
	}
	for _, s := range steps {
		now = now.Add(s.after)
		for jid := range s.want {
			look(jid)
		}
		for jid, want := range s.want {
			if wa.asked[jid] != want {
				t.Errorf("after %s more: %s asked %d times, want %d", s.after, jid, wa.asked[jid], want)
			}
		}
	}
	if got := look(ana); got != "https://pps.whatsapp.net/5511999990001/2.jpg" {
		t.Errorf("ana's picture after a day = %q, want the new URL", got)
	}

	// Broadcast lists and status have no picture: WhatsApp is not asked.
	for _, jid := range []types.JID{types.StatusBroadcastJID, types.NewJID("1234", types.BroadcastServer), types.EmptyJID} {
		if got := look(jid); got != "" || wa.asked[jid] != 0 {
			t.Errorf("%s: %q, asked %d times", jid, got, wa.asked[jid])
		}
	}
}

// TestPhotoCacheForgetsChangedPictures: a change of picture (events.Picture) is seen on the next message, under
// the phone number and the LID alike.
func TestPhotoCacheForgetsChangedPictures(t *testing.T) {
	pn := types.NewJID("5511999990001", types.DefaultUserServer)
	lid := types.NewJID("123456789012345", types.HiddenUserServer)
	group := types.NewJID("120363000000000001", types.GroupServer)
	other := types.NewJID("5511999990009", types.DefaultUserServer)
	wa := newFakeWhatsApp(nil)
	c := &Conn{photos: newPhotoCache(100, time.Now)}
	tr := translator{lids: fakeLIDs{lid: pn}}
	look := func(jid types.JID) string { return c.photos.lookup(context.Background(), jid, wa.ask) }
	for _, jid := range []types.JID{pn, lid, group, other} {
		look(jid)
	}

	// WhatsApp names the person by LID; what was kept under the phone number goes too.
	c.notePictureChange(&events.Picture{JID: lid, PictureID: "2"}, tr)
	c.notePictureChange(&events.Picture{JID: group, Remove: true}, tr)
	c.notePictureChange(&events.Message{}, tr)
	for _, jid := range []types.JID{pn, lid, group, other} {
		look(jid)
	}
	for jid, want := range map[types.JID]int{pn: 2, lid: 2, group: 2, other: 1} {
		if wa.asked[jid] != want {
			t.Errorf("%s asked %d times, want %d", jid, wa.asked[jid], want)
		}
	}
	if got := look(pn); got != "https://pps.whatsapp.net/5511999990001/2.jpg" {
		t.Errorf("after the change: %q", got)
	}
}

// TestPhotoCacheIsBounded: past its size, the least recently used pictures are forgotten first.
func TestPhotoCacheIsBounded(t *testing.T) {
	wa := newFakeWhatsApp(nil)
	pc := newPhotoCache(3, time.Now)
	person := func(i int) types.JID { return types.NewJID(fmt.Sprintf("55119999900%02d", i), types.DefaultUserServer) }
	look := func(i int) { pc.lookup(context.Background(), person(i), wa.ask) }
	look(1)
	look(2)
	look(3)
	look(1) // used again: 2 is now the least recently used
	look(4)
	if n := pc.order.Len(); n != 3 || len(pc.entries) != 3 {
		t.Fatalf("%d entries (%d in the index), want 3", n, len(pc.entries))
	}
	look(1)
	look(3)
	look(4)
	look(2)
	for i, want := range map[int]int{1: 1, 2: 2, 3: 1, 4: 1} {
		if wa.asked[person(i)] != want {
			t.Errorf("person %d asked %d times, want %d", i, wa.asked[person(i)], want)
		}
	}
}

// TestPictured: whose pictures a message shows, as Z-API's photo and senderPhoto.
func TestPictured(t *testing.T) {
	own := types.NewJID("5511999990000", types.DefaultUserServer)
	ana := types.NewJID("5511999990001", types.DefaultUserServer)
	anaLID := types.NewJID("123456789012345", types.HiddenUserServer)
	group := types.NewJID("120363000000000001", types.GroupServer)
	for _, c := range []struct {
		name         string
		m            *messagesv1.Inbound
		chat, sender types.JID
	}{
		{"from a contact", &messagesv1.Inbound{Phone: "5511999990001"}, ana, ana},
		{"from a contact known by LID only", &messagesv1.Inbound{Phone: "123456789012345@lid"}, anaLID, anaLID},
		{"sent from the account's phone", &messagesv1.Inbound{Phone: "5511999990001", FromMe: true}, ana, own},
		{"from a group's member", &messagesv1.Inbound{Phone: "120363000000000001-group", IsGroup: true, Participant: "5511999990001"}, group, ana},
		{"from a group's member known by LID", &messagesv1.Inbound{Phone: "120363000000000001-group", IsGroup: true,
			Participant: "123456789012345@lid"}, group, anaLID},
		{"sent to a group from the account's phone", &messagesv1.Inbound{Phone: "120363000000000001-group", IsGroup: true,
			FromMe: true, Participant: "5511999990000"}, group, own},
		{"a group's notification without a member", &messagesv1.Inbound{Phone: "120363000000000001-group", IsGroup: true}, group, types.EmptyJID},
		{"through a broadcast list", &messagesv1.Inbound{Phone: "5511999990001", Broadcast: true}, types.EmptyJID, types.EmptyJID},
	} {
		if chat, sender := pictured(c.m, own); chat != c.chat || sender != c.sender {
			t.Errorf("%s: chat %s, sender %s; want %s, %s", c.name, chat, sender, c.chat, c.sender)
		}
	}
}
