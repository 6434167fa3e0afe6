package chats_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/chats"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

func received(phone string, at int64, kind messagesv1.Kind, fromMe bool) *eventsv1.Event {
	return &eventsv1.Event{Payload: &eventsv1.Event_MessageReceived{MessageReceived: &messagesv1.Inbound{
		MessageId: "m", Phone: phone, SentTimeMs: at, Type: kind, FromMe: fromMe}}}
}

func changed(history bool, ch ...*eventsv1.ChatChange) *eventsv1.Event {
	return &eventsv1.Event{Payload: &eventsv1.Event_ChatsChanged{ChatsChanged: &eventsv1.ChatsChanged{Chats: ch, History: history}}}
}

// TestView folds the events of one instance into its chats and labels; every read waits for the instance's last
// event, so no test polls.
func TestView(t *testing.T) {
	eventstest.CheckGoroutines(t)
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	log := eventstest.OpenLog(t, db, events.Config{})
	v, err := chats.New(ctx, db, log)
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Consume(t, log, v.Part())

	eventstest.Append(t, log, "A",
		&eventsv1.Event{Payload: &eventsv1.Event_Paired{Paired: &eventsv1.Paired{Jid: "5511999990000:3@s.whatsapp.net", BusinessName: "Loja"}}},
		changed(true, &eventsv1.ChatChange{Phone: "5511999990001", UnreadCount: proto.Int64(3), LastMessageMs: 1000,
			Archived: proto.Bool(true), MutedUntilMs: proto.Int64(-1)}),
		received("5511999990002", 2000, messagesv1.Kind_KIND_TEXT, false),
		received("5511999990002", 2000, messagesv1.Kind_KIND_REACTION, false), // no unread
		received("5511999990002", 2000, messagesv1.Kind_KIND_TEXT, true),      // sent from the phone: no unread
		received("status", 2000, messagesv1.Kind_KIND_TEXT, false),            // not a chat
		eventstest.Sent("z", "m2", "120363019502650977-group"),
		&eventsv1.Event{Payload: &eventsv1.Event_LabelsChanged{LabelsChanged: &eventsv1.LabelsChanged{Labels: []*eventsv1.Label{
			{Id: "1", Name: "Novo", Color: 1}, {Id: "2", Name: "Pago", Color: 5}}}}},
		&eventsv1.Event{Payload: &eventsv1.Event_ChatLabeled{ChatLabeled: &eventsv1.ChatLabeled{Phone: "5511999990001", LabelId: "2", Labeled: true}}},
	)
	list, err := v.Chats(ctx, "A", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	phones := make([]string, len(list))
	for i, c := range list {
		phones[i] = c.Phone
	}
	// The group's sent message is the latest (the event's own time, now), then Bob's, then Alice's history.
	if !slices.Equal(phones, []string{"120363019502650977-group", "5511999990002", "5511999990001"}) {
		t.Fatalf("chats %v", phones)
	}
	alice := list[2]
	if alice.Unread != 3 || !alice.Archived || !alice.Muted(time.Now()) || !slices.Equal(alice.Labels, []string{"2"}) ||
		!alice.LastMessage.Equal(time.UnixMilli(1000)) {
		t.Errorf("Alice's chat %+v", alice)
	}
	if bob := list[1]; bob.Unread != 1 {
		t.Errorf("Bob's chat %+v: want 1 unread", bob)
	}
	if page, _ := v.Chats(ctx, "A", 1, 1); len(page) != 1 || page[0].Phone != "5511999990002" {
		t.Errorf("second page of one %+v", page)
	}

	eventstest.Append(t, log, "A",
		changed(false, &eventsv1.ChatChange{Phone: "5511999990001", Read: proto.Bool(true), Pinned: proto.Bool(true),
			MutedUntilMs: proto.Int64(0)}),
		changed(false, &eventsv1.ChatChange{Phone: "5511999990002", Read: proto.Bool(false)}),
		changed(false, &eventsv1.ChatChange{Phone: "120363019502650977-group", Deleted: true}),
		&eventsv1.Event{Payload: &eventsv1.Event_LabelsChanged{LabelsChanged: &eventsv1.LabelsChanged{Labels: []*eventsv1.Label{
			{Id: "2", Deleted: true}}}}},
	)
	alice, err = v.Chat(ctx, "A", "5511999990001")
	if err != nil || alice.Unread != 0 || !alice.Pinned || alice.Muted(time.Now()) || len(alice.Labels) != 0 {
		t.Errorf("Alice's chat after read, pin, unmute, label deleted: %+v, %v", alice, err)
	}
	if bob, _ := v.Chat(ctx, "A", "5511999990002"); !bob.MarkedUnread || bob.Unread != 1 {
		t.Errorf("Bob's chat marked unread: %+v", bob)
	}
	if _, err := v.Chat(ctx, "A", "120363019502650977-group"); !errors.Is(err, account.ErrNotFound) {
		t.Errorf("deleted chat: %v", err)
	}
	if list, _ := v.Chats(ctx, "A", 0, 10); len(list) != 2 || list[0].Phone != "5511999990001" {
		t.Errorf("the pinned chat first: %+v", list)
	}
	if labels, err := v.Labels(ctx, "A"); err != nil || len(labels) != 1 || labels[0] != (chats.Label{ID: "1", Name: "Novo", Color: 1}) {
		t.Errorf("labels %+v, %v", labels, err)
	}

	// A personal account has no labels; a logout forgets the chats.
	eventstest.Append(t, log, "B", &eventsv1.Event{Payload: &eventsv1.Event_Paired{Paired: &eventsv1.Paired{Jid: "5511999990009:3@s.whatsapp.net"}}})
	if _, err := v.Labels(ctx, "B"); !errors.Is(err, account.ErrUnsupported) {
		t.Errorf("labels of a personal account: %v", err)
	}
	eventstest.Append(t, log, "A", &eventsv1.Event{Payload: &eventsv1.Event_LoggedOut{LoggedOut: &eventsv1.LoggedOut{}}})
	if list, _ := v.Chats(ctx, "A", 0, 10); len(list) != 0 {
		t.Errorf("chats after logout %+v", list)
	}
}
