package instanceview_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	"github.com/plugzapi/plugzapi/events/instanceview"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
)

func TestView(t *testing.T) {
	eventstest.CheckGoroutines(t)
	ctx := context.Background()
	db := eventstest.OpenDB(t, "")
	log := eventstest.OpenLog(t, db, events.Config{})
	v, err := instanceview.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	c := eventstest.Consume(t, log, v.Part())

	created := &eventsv1.Event{TimeMs: 1000, Payload: &eventsv1.Event_InstanceCreated{InstanceCreated: &eventsv1.InstanceCreated{Name: "Shop"}}}
	eventstest.Append(t, log, "A", created,
		&eventsv1.Event{TimeMs: 2000, Payload: &eventsv1.Event_QrCodeIssued{QrCodeIssued: &eventsv1.QRCodeIssued{}}},
		&eventsv1.Event{TimeMs: 3000, Payload: &eventsv1.Event_Paired{Paired: &eventsv1.Paired{Jid: "5511999990000:3@s.whatsapp.net"}}},
		&eventsv1.Event{TimeMs: 4000, Payload: &eventsv1.Event_Connected{Connected: &eventsv1.Connected{}}},
		eventstest.Queued("z1", "m1", "1"), eventstest.Queued("z2", "m2", "1"), eventstest.Queued("z3", "m3", "1"),
		eventstest.Sent("z1", "m1", "1"),
		&eventsv1.Event{Payload: &eventsv1.Event_MessageCancelled{MessageCancelled: &eventsv1.MessageCancelled{ZaapId: "z2"}}},
	)
	eventstest.Append(t, log, "B",
		&eventsv1.Event{TimeMs: 1500, Payload: &eventsv1.Event_InstanceCreated{InstanceCreated: &eventsv1.InstanceCreated{Name: "Support"}}},
		eventstest.Queued("z1", "m1", "1"),
		&eventsv1.Event{TimeMs: 5000, Payload: &eventsv1.Event_Connected{Connected: &eventsv1.Connected{Phone: "5511888880000"}}},
		&eventsv1.Event{TimeMs: 6000, Payload: &eventsv1.Event_Disconnected{Disconnected: &eventsv1.Disconnected{Reason: "x"}}},
	)
	eventstest.WaitFor(t, 5*time.Second, "view caught up", func() bool {
		a, errA := v.Get(ctx, "A")
		b, errB := v.Get(ctx, "B")
		return errA == nil && errB == nil && a.LastSeq == 9 && b.LastSeq == 4
	})
	a, _ := v.Get(ctx, "A")
	want := instanceview.Instance{ID: "A", Name: "Shop", State: instanceview.StateConnected, Connected: true,
		Phone: "5511999990000", StateChanged: time.UnixMilli(4000), QueueDepth: 1, Created: time.UnixMilli(1000), LastSeq: 9}
	if a != want {
		t.Fatalf("A = %+v\nwant %+v", a, want)
	}
	b, _ := v.Get(ctx, "B")
	if b.State != instanceview.StateDisconnected || b.Connected || b.Phone != "5511888880000" || b.QueueDepth != 1 || !b.StateChanged.Equal(time.UnixMilli(6000)) {
		t.Fatalf("B = %+v", b)
	}
	tot, err := v.Totals(ctx)
	if err != nil || tot != (instanceview.Totals{Instances: 2, Connected: 1, QueueDepth: 2}) {
		t.Fatalf("Totals = %+v, %v", tot, err)
	}
	list, err := v.List(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "A" || list[1].ID != "B" {
		t.Fatalf("List = %+v, %v", list, err)
	}

	// Logout clears the phone; deletion removes the row; a failure below zero is clamped.
	eventstest.Append(t, log, "A",
		&eventsv1.Event{TimeMs: 7000, Payload: &eventsv1.Event_LoggedOut{LoggedOut: &eventsv1.LoggedOut{}}},
		&eventsv1.Event{Payload: &eventsv1.Event_MessageFailed{MessageFailed: &eventsv1.MessageFailed{}}},
		&eventsv1.Event{Payload: &eventsv1.Event_MessageFailed{MessageFailed: &eventsv1.MessageFailed{}}},
	)
	eventstest.Append(t, log, "B", &eventsv1.Event{Payload: &eventsv1.Event_InstanceDeleted{InstanceDeleted: &eventsv1.InstanceDeleted{}}})
	eventstest.WaitFor(t, 5*time.Second, "B deleted", func() bool {
		_, err := v.Get(ctx, "B")
		return errors.Is(err, instanceview.ErrNotFound)
	})
	eventstest.WaitFor(t, 5*time.Second, "A logged out", func() bool {
		a, err := v.Get(ctx, "A")
		return err == nil && a.LastSeq == 12
	})
	a, _ = v.Get(ctx, "A")
	if a.State != instanceview.StateLoggedOut || a.Phone != "" || a.Connected || a.QueueDepth != 0 {
		t.Fatalf("A after logout = %+v", a)
	}

	// Restarting rebuilds nothing twice: the view resumes after its offset.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	eventstest.Append(t, log, "A", eventstest.Queued("z9", "m9", "1"))
	eventstest.Consume(t, log, v.Part())
	eventstest.WaitFor(t, 5*time.Second, "A caught up after restart", func() bool {
		a, err := v.Get(ctx, "A")
		return err == nil && a.LastSeq == 13
	})
	if a, _ := v.Get(ctx, "A"); a.QueueDepth != 1 {
		t.Fatalf("queue depth after restart = %d, want 1", a.QueueDepth)
	}
}
