package actors

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// keyed is a message queued with an Idempotency-Key, as its MessageQueued event.
func keyed(seq, timeMs int64, key, hash string) *eventsv1.Event {
	return &eventsv1.Event{Seq: seq, TimeMs: timeMs, Payload: &eventsv1.Event_MessageQueued{MessageQueued: &messagesv1.Outbound{
		ZaapId: fmt.Sprint("Z", seq), MessageId: fmt.Sprint("M", seq), Phone: "5511999990001",
		IdempotencyKey: key, RequestHash: []byte(hash)}}}
}

// The keys of accepted requests are part of the state: a snapshot taken anywhere, read back and followed by
// the later events, remembers the same keys as the whole history replayed.
func TestIdempotencyKeysSurviveSnapshotAndReplay(t *testing.T) {
	evs := []*eventsv1.Event{
		{Seq: 1, TimeMs: 1000, Payload: &eventsv1.Event_InstanceCreated{InstanceCreated: &eventsv1.InstanceCreated{Name: "shop"}}},
		keyed(2, 2000, "order-1", "hash-1"),
		keyed(3, 3000, "", ""),
		{Seq: 4, TimeMs: 4000, Payload: &eventsv1.Event_MessageSent{MessageSent: &eventsv1.MessageSent{ZaapId: "Z2", MessageId: "M2"}}},
		keyed(5, 5000, "order-2", "hash-2"),
	}
	now := time.UnixMilli(6000)
	for cut := range len(evs) + 1 {
		s := snapshotThenReplay(t, evs, cut)
		for key, want := range map[string]string{"order-1": "Z2 M2 hash-1", "order-2": "Z5 M5 hash-2"} {
			req, ok := s.idempotent.find(key, now)
			if got := fmt.Sprint(req.GetZaapId(), " ", req.GetMessageId(), " ", string(req.GetRequestHash())); !ok || got != want {
				t.Errorf("snapshot at %d: key %s = %q (%v), want %q", cut, key, got, ok, want)
			}
		}
		if len(s.idempotent.order) != 2 {
			t.Errorf("snapshot at %d: %d keys remembered, want 2", cut, len(s.idempotent.order))
		}
	}
}

// A key is remembered for 24 hours: a retry within them finds it, a later one does not, and the events of a
// day later forget it.
func TestIdempotencyKeysExpire(t *testing.T) {
	day := idempotencyWindow.Milliseconds()
	s := replay([]*eventsv1.Event{keyed(1, 1000, "old", "h"), keyed(2, 5000, "newer", "h")})
	if _, ok := s.idempotent.find("old", time.UnixMilli(1000+day-1)); !ok {
		t.Error("a key is forgotten before 24 hours")
	}
	if _, ok := s.idempotent.find("old", time.UnixMilli(1000+day)); ok {
		t.Error("a key is remembered after 24 hours")
	}
	s.apply(&eventsv1.Event{Seq: 3, TimeMs: 1000 + day, Payload: &eventsv1.Event_Disconnected{Disconnected: &eventsv1.Disconnected{}}})
	if _, ok := s.idempotent.byKey["old"]; ok || len(s.idempotent.order) != 1 {
		t.Errorf("an event a day later leaves %d keys, want only the newer one", len(s.idempotent.order))
	}
	if keys := s.snapshot().GetIdempotentRequests(); len(keys) != 1 || keys[0].GetKey() != "newer" {
		t.Errorf("the snapshot keeps %v, want only the newer key", keys)
	}
}

// An instance remembers at most idempotencyKeyLimit keys, forgetting the oldest first.
func TestIdempotencyKeysAreCapped(t *testing.T) {
	s := newState()
	for i := range idempotencyKeyLimit + 5 {
		s.apply(keyed(int64(i+1), 1000, fmt.Sprint("key-", i), "h"))
	}
	if len(s.idempotent.order) != idempotencyKeyLimit || len(s.idempotent.byKey) != idempotencyKeyLimit {
		t.Fatalf("remembers %d/%d keys, want %d", len(s.idempotent.order), len(s.idempotent.byKey), idempotencyKeyLimit)
	}
	now := time.UnixMilli(2000)
	if _, ok := s.idempotent.find("key-4", now); ok {
		t.Error("the oldest keys should be forgotten first")
	}
	if _, ok := s.idempotent.find("key-5", now); !ok {
		t.Error("a key within the cap is forgotten")
	}
}

// keyedText is a text as the API queues it with an Idempotency-Key: the key and the hash of the request.
func keyedText(body, key, hash string) *messagesv1.Outbound {
	m := text("5511999990001", body)
	m.IdempotencyKey, m.RequestHash = key, []byte(hash)
	return m
}

// A retry with the same key gets the first request's IDs and queues nothing, also from an actor that rebuilt
// its state after a restart (from the events alone, or from a snapshot); the key with another request is refused.
func TestRetryWithTheSameKeyQueuesNothing(t *testing.T) {
	for _, snapshotEvery := range []int{1, 500} {
		t.Run(fmt.Sprint("snapshot every ", snapshotEvery), func(t *testing.T) {
			db := eventstest.OpenDB(t, t.TempDir())
			log := eventstest.OpenLog(t, db, events.Config{})
			const id = "INSTANCE1"
			eventstest.Append(t, log, id, &eventsv1.Event{Payload: &eventsv1.Event_InstanceCreated{
				InstanceCreated: &eventsv1.InstanceCreated{Name: "shop"}}})
			cfg := DefaultConfig()
			cfg.SnapshotEvery = snapshotEvery
			system, pid := spawnActor(t, id, testDeps(t, db, log, cfg))
			ask := func(system *actor.ActorSystem, pid *actor.PID, cmd any) reply {
				res, err := system.Root.RequestFuture(pid, cmd, cfg.RequestTimeout).Result()
				if err != nil {
					t.Fatal(err)
				}
				return res.(reply)
			}

			first := ask(system, pid, enqueue{msg: keyedText("hello", "order-1", "hash-1")})
			if first.err != nil {
				t.Fatal(first.err)
			}
			again := ask(system, pid, enqueue{msg: keyedText("hello", "order-1", "hash-1")})
			if again.err != nil || again.value != first.value {
				t.Errorf("retry = %+v, want %+v", again, first)
			}
			other := ask(system, pid, enqueue{msg: keyedText("bye", "order-1", "hash-2")})
			if !errors.Is(other.err, ErrIdempotencyKeyReused) {
				t.Errorf("the key with another request = %+v, want ErrIdempotencyKeyReused", other)
			}
			unkeyed := ask(system, pid, enqueue{msg: text("5511999990001", "no key")})
			if unkeyed.err != nil {
				t.Fatal(unkeyed.err)
			}
			if err := system.Root.PoisonFuture(pid).Wait(); err != nil {
				t.Fatal(err)
			}

			system, pid = spawnActor(t, id, testDeps(t, db, log, cfg))
			if r := ask(system, pid, enqueue{msg: keyedText("hello", "order-1", "hash-1")}); r.err != nil || r.value != first.value {
				t.Errorf("retry after a restart = %+v, want %+v", r, first)
			}
			if r := ask(system, pid, enqueue{msg: keyedText("bye", "order-1", "hash-2")}); !errors.Is(r.err, ErrIdempotencyKeyReused) {
				t.Errorf("the key with another request after a restart = %+v, want ErrIdempotencyKeyReused", r)
			}
			var queued []string
			for _, e := range ask(system, pid, listQueue{}).value.([]*eventsv1.Event) {
				queued = append(queued, e.GetMessageQueued().GetZaapId())
			}
			if want := []string{first.value.(Queued).ZaapID, unkeyed.value.(Queued).ZaapID}; fmt.Sprint(queued) != fmt.Sprint(want) {
				t.Errorf("queue = %v, want %v", queued, want)
			}
		})
	}
}

// A retry that arrives while the first request waits for its flush is answered after that flush, with the
// same IDs; the key with another request is refused at once.
func TestRetryOfARequestNotDurableYet(t *testing.T) {
	db := eventstest.OpenDB(t, t.TempDir())
	log := eventstest.OpenLog(t, db, events.Config{})
	const id = "INSTANCE1"
	eventstest.Append(t, log, id, &eventsv1.Event{Payload: &eventsv1.Event_InstanceCreated{
		InstanceCreated: &eventsv1.InstanceCreated{Name: "shop"}}})
	cfg := DefaultConfig()
	system, pid := spawnActor(t, id, testDeps(t, db, log, cfg))
	if _, err := system.Root.RequestFuture(pid, listQueue{}, cfg.RequestTimeout).Result(); err != nil {
		t.Fatal(err) // the actor has recovered and is idle
	}

	// With the mailbox suspended, the three requests are in it before the actor handles the first: the
	// first's flush comes behind them.
	process, _ := system.ProcessRegistry.Get(pid)
	process.SendSystemMessage(pid, &actor.SuspendMailbox{})
	futures := []*actor.Future{
		system.Root.RequestFuture(pid, enqueue{msg: keyedText("hello", "order-1", "hash-1")}, cfg.RequestTimeout),
		system.Root.RequestFuture(pid, enqueue{msg: keyedText("hello", "order-1", "hash-1")}, cfg.RequestTimeout),
		system.Root.RequestFuture(pid, enqueue{msg: keyedText("bye", "order-1", "hash-2")}, cfg.RequestTimeout),
	}
	process.SendSystemMessage(pid, &actor.ResumeMailbox{})
	var replies []reply
	for _, f := range futures {
		res, err := f.Result()
		if err != nil {
			t.Fatal(err)
		}
		replies = append(replies, res.(reply))
	}
	if replies[0].err != nil || replies[1].err != nil || replies[0].value != replies[1].value {
		t.Errorf("first %+v, retry %+v: want the same IDs", replies[0], replies[1])
	}
	if !errors.Is(replies[2].err, ErrIdempotencyKeyReused) {
		t.Errorf("the key with another request = %+v, want ErrIdempotencyKeyReused", replies[2])
	}
	res, err := system.Root.RequestFuture(pid, listQueue{}, cfg.RequestTimeout).Result()
	if err != nil {
		t.Fatal(err)
	}
	if queue := res.(reply).value.([]*eventsv1.Event); len(queue) != 1 {
		t.Errorf("%d messages queued, want 1", len(queue))
	}
	n := 0
	if err := log.Load(context.Background(), id, 0, func(e *eventsv1.Event) error {
		if e.GetMessageQueued() != nil {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d MessageQueued events, want 1", n)
	}
}

// A delete for everyone of a message still waiting takes it off the queue and queues nothing; its retry with
// the same key is answered the same way and queues no revoke either, also after a restart.
func TestRetryOfADeleteThatCancelled(t *testing.T) {
	db := eventstest.OpenDB(t, t.TempDir())
	log := eventstest.OpenLog(t, db, events.Config{})
	const id, phone = "INSTANCE1", "5511999990001"
	eventstest.Append(t, log, id, &eventsv1.Event{Payload: &eventsv1.Event_InstanceCreated{
		InstanceCreated: &eventsv1.InstanceCreated{Name: "shop"}}})
	cfg := DefaultConfig()
	system, pid := spawnActor(t, id, testDeps(t, db, log, cfg))
	ask := func(cmd any) reply {
		res, err := system.Root.RequestFuture(pid, cmd, cfg.RequestTimeout).Result()
		if err != nil {
			return reply{err: err}
		}
		return res.(reply)
	}
	oops := ask(enqueue{msg: text(phone, "oops")}).value.(Queued)
	revoke := func() *messagesv1.Outbound {
		return &messagesv1.Outbound{Phone: phone, IdempotencyKey: "delete-oops", RequestHash: []byte("hash"),
			Content: &messagesv1.Content{Kind: &messagesv1.Content_Revoke{Revoke: &messagesv1.Revoke{
				Target: &messagesv1.MessageRef{MessageId: oops.MessageID, FromMe: true}}}}}
	}
	for range 2 {
		if r := ask(enqueue{msg: revoke()}); r.err != nil || r.value.(Queued) != (Queued{}) {
			t.Fatalf("delete of a waiting message = %+v, want nothing queued", r)
		}
	}
	if q := ask(listQueue{}).value.([]*eventsv1.Event); len(q) != 0 {
		t.Errorf("the queue holds %v, want nothing", q)
	}

	// A restart: the first actor stops (and hands its lease over) before the next starts.
	if err := system.Root.PoisonFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	ask = spawnInstance(t, id, testDeps(t, db, log, cfg))
	if r := ask(enqueue{msg: revoke()}); r.err != nil || r.value.(Queued) != (Queued{}) {
		t.Fatalf("the retry after a restart = %+v, want nothing queued", r)
	}
	if q := ask(listQueue{}).value.([]*eventsv1.Event); len(q) != 0 {
		t.Errorf("after a restart the queue holds %v, want nothing", q)
	}
}

// A key accepted again after its window (the clock went back, so the old request was not expired yet) belongs
// to the new request, and forgetting the old one does not forget it.
func TestIdempotencyKeyTakenOverAfterItsWindow(t *testing.T) {
	day := idempotencyWindow.Milliseconds()
	s := replay([]*eventsv1.Event{keyed(1, 10*day, "newer", "h"), keyed(2, 9*day, "key", "old"), keyed(3, 10*day+1, "key", "new")})
	req, ok := s.idempotent.find("key", time.UnixMilli(10*day+2))
	if !ok || string(req.GetRequestHash()) != "new" || req.GetZaapId() != "Z3" {
		t.Fatalf("key = %v (%v), want the new request", req, ok)
	}
	s.idempotent.forgetOldest() // "newer"
	s.idempotent.forgetOldest() // the old request of "key"
	if req, ok := s.idempotent.find("key", time.UnixMilli(10*day+2)); !ok || req.GetZaapId() != "Z3" {
		t.Errorf("forgetting the old request forgot the new one: %v (%v)", req, ok)
	}
}
