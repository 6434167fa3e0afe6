package actors

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.mau.fi/whatsmeow"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/whatsapp"
)

// Send errors as whatsmeow and the adapter wrap them: a permanent one fails its message with a sentence for the
// delivery webhook; any other is retried.
func TestSendErrorClassification(t *testing.T) {
	groupInfo := func(err error) error {
		return fmt.Errorf("send M1: %w", fmt.Errorf("failed to get group members: %w", err))
	}
	ack := func(code int) error {
		return fmt.Errorf("send M1: %w", fmt.Errorf("%w %d", whatsmeow.ErrServerReturnedError, code))
	}
	for _, c := range []struct {
		name      string
		err       error
		permanent bool
		text      string
	}{
		{"unknown group", groupInfo(whatsmeow.ErrGroupNotFound), true, "Group does not exist"},
		{"not in the group", groupInfo(whatsmeow.ErrNotInGroup), true, "This number is not a participant of the group"},
		{"refused in the ack", ack(479), true, "WhatsApp refused the message (error 479)"},
		{"refused by a group left", ack(403), true, "WhatsApp refused the message (error 403)"},
		{"refused without a code", fmt.Errorf("send M1: %w", whatsmeow.ErrServerReturnedError), true, "WhatsApp refused the message"},
		{"not on WhatsApp", whatsapp.ErrNotOnWhatsApp, true, "Phone number does not exist"},
		{"malformed recipient", fmt.Errorf("recipient: %w", whatsapp.ErrInvalidRecipient), true, "Invalid phone number"},
		{"unknown server", fmt.Errorf("send M1: %w", whatsmeow.ErrUnknownServer), true, ""},
		{"media not found", fmt.Errorf("send M1: %w", &whatsapp.MediaError{Reason: "the server answered 404 Not Found"}), true,
			"Message not send caused by invalid media url: the server answered 404 Not Found"},
		{"media fetch cut short by the send's end", fmt.Errorf("send M1: fetch media: %w", context.DeadlineExceeded), false, ""},

		{"group info 500", groupInfo(whatsmeow.ErrIQInternalServerError), false, ""},
		{"group info 503", groupInfo(whatsmeow.ErrIQServiceUnavailable), false, ""},
		{"rate limited", groupInfo(whatsmeow.ErrIQRateOverLimit), false, ""},
		{"group info timed out", groupInfo(whatsmeow.ErrIQTimedOut), false, ""},
		{"disconnected mid-query", groupInfo(whatsmeow.ErrIQDisconnected), false, ""},
		{"not connected", fmt.Errorf("send M1: %w", whatsmeow.ErrNotConnected), false, ""},
		{"send timed out", fmt.Errorf("send M1: %w", context.DeadlineExceeded), false, ""},
		{"send cancelled", fmt.Errorf("send M1: %w", context.Canceled), false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := whatsapp.IsPermanent(c.err); got != c.permanent {
				t.Errorf("IsPermanent(%q) = %v, want %v", c.err, got, c.permanent)
			}
			if c.text != "" {
				if got := failureText(c.err); got != c.text {
					t.Errorf("failureText(%q) = %q, want %q", c.err, got, c.text)
				}
			}
		})
	}
}

// queueInstance is an instance driven by direct calls rather than through its mailbox, with the given messages
// queued; its wake-ups go to an actor that ignores them.
func queueInstance(t *testing.T, zaapIDs ...string) *instance {
	t.Helper()
	db := eventstest.OpenDB(t, t.TempDir())
	log := eventstest.OpenLog(t, db, events.Config{})
	d := testDeps(t, db, log, DefaultConfig())
	a := newInstance("INSTANCE1", d)
	a.system = actor.NewActorSystem()
	t.Cleanup(a.system.Shutdown)
	a.self = a.system.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	a.ctx = context.Background()
	t.Cleanup(a.stopWake)
	lease, err := d.leases.acquire(a.ctx, a.id, func() { t.Error("the instance lost its lease") })
	if err != nil {
		t.Fatal(err)
	}
	a.lease = lease
	if err := a.recover(); err != nil {
		t.Fatal(err)
	}
	for _, z := range zaapIDs {
		if err := a.append(nil, eventstest.Queued(z, "M"+z, "120363000000000001-group")); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// failedAttempts makes the head of the queue fail n times with err, as its sends report back.
func failedAttempts(a *instance, n int, err error) {
	for range n {
		a.inflight = a.st.head().GetZaapId()
		a.sent(sendDone{zaapID: a.inflight, err: err})
	}
}

// A message that can never go leaves the queue at once, failed, and takes the backoff of its earlier attempts
// with it; a transient failure keeps the message and backs off.
func TestSendFailures(t *testing.T) {
	a := queueInstance(t, "Z1", "Z2")
	failedAttempts(a, 3, fmt.Errorf("send MZ1: %w", whatsmeow.ErrIQTimedOut))
	if len(a.st.queue) != 2 || a.sendErrors != 3 || time.Until(a.nextSendAt) < 4*time.Second {
		t.Fatalf("after 3 timeouts: queue %d, sendErrors %d, next send in %s; want the message kept and a backoff",
			len(a.st.queue), a.sendErrors, time.Until(a.nextSendAt))
	}

	failedAttempts(a, 1, fmt.Errorf("send MZ1: failed to get group members: %w", whatsmeow.ErrGroupNotFound))
	if len(a.st.queue) != 1 || a.st.head().GetZaapId() != "Z2" {
		t.Fatalf("queue after a permanent failure = %v, want only Z2", a.st.queue)
	}
	if a.sendErrors != 0 || time.Until(a.nextSendAt) > 0 || a.wakeTimer != nil {
		t.Errorf("after the failed message left: sendErrors %d, next send in %s, wake-up set %v; want no backoff",
			a.sendErrors, time.Until(a.nextSendAt), a.wakeTimer != nil)
	}
	eventstest.Settle(t, a.deps.events.(*events.Log))
	var failed *eventsv1.MessageFailed
	if err := a.deps.events.Load(context.Background(), a.id, 0, func(e *eventsv1.Event) error {
		if f := e.GetMessageFailed(); f != nil {
			failed = f
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if failed.GetZaapId() != "Z1" || failed.GetError() != "Group does not exist" {
		t.Errorf("MessageFailed = %v, want Z1 with \"Group does not exist\"", failed)
	}
}

// Removing the message that earned a backoff removes the backoff; removing another message, or a pause that is
// only pacing after a sent message, does not.
func TestRemovingTheHeadForgetsItsBackoff(t *testing.T) {
	transient := fmt.Errorf("send MZ1: %w", whatsmeow.ErrNotConnected)
	for _, c := range []struct {
		name       string
		failures   int
		remove     func(a *instance)
		keepsPause bool
	}{
		{"cancel the head", 4, func(a *instance) { a.cancel("Z1", nil, func(error) {}) }, false},
		{"clear the queue", 4, func(a *instance) { a.clear(func(int, error) {}) }, false},
		{"cancel another", 4, func(a *instance) { a.cancel("Z2", nil, func(error) {}) }, true},
		{"cancel the head after a sent message", 0, func(a *instance) { a.cancel("Z1", nil, func(error) {}) }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := queueInstance(t, "Z1", "Z2", "Z3")
			if c.failures > 0 {
				failedAttempts(a, c.failures, transient)
			} else {
				a.nextSendAt = time.Now().Add(time.Minute) // pacing after the message before
			}
			pause := a.nextSendAt
			before := len(a.st.queue)
			c.remove(a)
			if len(a.st.queue) >= before {
				t.Fatalf("queue of %d after the removal, was %d", len(a.st.queue), before)
			}
			if c.keepsPause {
				if a.sendErrors != c.failures || !a.nextSendAt.Equal(pause) {
					t.Errorf("sendErrors %d, next send at %s; want %d and %s kept", a.sendErrors, a.nextSendAt, c.failures, pause)
				}
				return
			}
			if a.sendErrors != 0 || time.Until(a.nextSendAt) > 0 || a.wakeTimer != nil {
				t.Errorf("sendErrors %d, next send in %s, wake-up set %v; want the backoff gone",
					a.sendErrors, time.Until(a.nextSendAt), a.wakeTimer != nil)
			}
		})
	}
}
