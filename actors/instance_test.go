package actors

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/whatsapp"
)

// noSessions is for instances that never link in a test: opening a client is a test failure.
type noSessions struct{ t *testing.T }

func (s noSessions) Open(context.Context, string, string, whatsapp.Handler) (*whatsapp.Conn, error) {
	s.t.Error("the instance tried to open a WhatsApp client")
	return nil, errors.New("no sessions in this test")
}

func (s noSessions) DeleteDevice(context.Context, string) error { return nil }

// An append that loses a race (another writer appended to the instance's stream) is never an overwrite: the
// actor crashes, is restarted by its supervisor, rebuilds its state from the log, and serves the next request.
func TestLostAppendRaceRebuildsTheActor(t *testing.T) {
	db := eventstest.OpenDB(t, t.TempDir())
	log := eventstest.OpenLog(t, db, events.Config{})
	const id = "INSTANCE1"
	eventstest.Append(t, log, id, &eventsv1.Event{Payload: &eventsv1.Event_InstanceCreated{
		InstanceCreated: &eventsv1.InstanceCreated{Name: "race"}}})

	cfg := DefaultConfig()
	cfg.RequestTimeout = 2 * time.Second
	d := &deps{log: eventstest.Logger(), events: log, snapshots: log, vault: db.Vault(), sessions: noSessions{t}, cfg: cfg}
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	pid, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return newInstance(id, d) }), id)
	if err != nil {
		t.Fatal(err)
	}
	ask := func(cmd any) reply {
		res, err := system.Root.RequestFuture(pid, cmd, cfg.RequestTimeout).Result()
		if err != nil {
			return reply{err: err}
		}
		return res.(reply)
	}
	if r := ask(listQueue{}); r.err != nil || len(r.value.([]QueueItem)) != 0 {
		t.Fatalf("empty queue: %+v", r)
	}

	// Another writer queues a message behind the actor's back.
	eventstest.Append(t, log, id, eventstest.Queued("Z-OTHER", "M-OTHER", "5511999990001"))

	first := ask(enqueueText{msg: SendText{Phone: "5511999990001", Message: "hello"}})
	if first.err == nil {
		t.Fatalf("the append that lost the race succeeded: %+v", first)
	}
	var q Queued
	eventstest.WaitFor(t, 10*time.Second, "the restarted actor accepts messages", func() bool {
		r := ask(enqueueText{msg: SendText{Phone: "5511999990001", Message: "hello again"}})
		q, _ = r.value.(Queued)
		return r.err == nil
	})
	items := ask(listQueue{}).value.([]QueueItem)
	if len(items) != 2 || items[0].ZaapID != "Z-OTHER" || items[1].ZaapID != q.ZaapID {
		t.Fatalf("queue after the restart = %+v, want the other writer's message then ours", items)
	}
	var seqs []int64
	if err := log.Load(context.Background(), id, 0, func(e *eventsv1.Event) error {
		seqs = append(seqs, e.GetSeq())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("seqs %v have a gap or a repeat", seqs)
		}
	}
}
