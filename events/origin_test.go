package events_test

import (
	"context"
	"testing"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// TestFindOrigin: a message the instance queued is its own; one it received names its chat and, in a group, its
// sender; the first event about a message decides; other instances' messages and unknown IDs are not found.
func TestFindOrigin(t *testing.T) {
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	l := eventstest.OpenLog(t, db, events.Config{})
	received := func(id, phone, participant string) *eventsv1.Event {
		return &eventsv1.Event{Payload: &eventsv1.Event_MessageReceived{MessageReceived: &messagesv1.Inbound{
			MessageId: id, Phone: phone, Participant: participant, IsGroup: participant != ""}}}
	}
	_, err := l.Append(ctx, "inst", 0, []*eventsv1.Event{
		eventstest.Queued("z1", "mine", "5511999990001"),
		{Payload: &eventsv1.Event_MessageSent{MessageSent: &eventsv1.MessageSent{ZaapId: "z1", MessageId: "mine"}}},
		received("theirs", "120363019502650977-group", "5511999990002"),
		received("direct", "5511999990003", ""),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, "other", 0, []*eventsv1.Event{received("elsewhere", "5511999990004", "")}, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id   string
		ok   bool
		want events.Origin
	}{
		{"mine", true, events.Origin{FromMe: true, Phone: "5511999990001"}},
		{"theirs", true, events.Origin{Phone: "120363019502650977-group", Participant: "5511999990002"}},
		{"direct", true, events.Origin{Phone: "5511999990003"}},
		{"elsewhere", false, events.Origin{}},
		{"never", false, events.Origin{}},
	} {
		got, ok, err := events.FindOrigin(ctx, db.SQL(), "inst", c.id)
		if err != nil || ok != c.ok || got != c.want {
			t.Errorf("FindOrigin(%s) = %+v %v %v, want %+v %v", c.id, got, ok, err, c.want, c.ok)
		}
	}
}
