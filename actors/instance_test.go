package actors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/whatsapp"
)

// noSessions is for instances that never link in a test: opening a client is a test failure.
type noSessions struct{ t *testing.T }

func (s noSessions) Open(context.Context, string, string, string, whatsapp.Handler, whatsapp.MayConnect) (Conn, error) {
	s.t.Error("the instance tried to open a WhatsApp client")
	return nil, errors.New("no sessions in this test")
}

func (s noSessions) DeleteDevice(context.Context, string) error { return nil }

// testDeps are the dependencies of instances that never link.
func testDeps(t *testing.T, db *store.DB, log *events.Log, cfg Config) *deps {
	leases := newLeaseKeeper(db, "", cfg.LeaseTTL, eventstest.Logger())
	t.Cleanup(leases.close)
	return &deps{log: eventstest.Logger(), events: log, snapshots: log, vault: db.Vault(), sessions: noSessions{t}, cfg: cfg,
		stopping: t.Context(), leases: leases,
		leaseLost: func(id string, _ *actor.PID) { t.Errorf("instance %s lost its lease", id) }}
}

// spawnInstance starts instance id's actor in a system of its own, and returns how to ask it a command: the
// actor's reply, or the error of a request that timed out.
func spawnInstance(t *testing.T, id string, d *deps) (ask func(cmd any) reply) {
	t.Helper()
	system, pid := spawnActor(t, id, d)
	return func(cmd any) reply {
		res, err := system.Root.RequestFuture(pid, cmd, d.cfg.RequestTimeout).Result()
		if err != nil {
			return reply{err: err}
		}
		return res.(reply)
	}
}

// spawnActor starts instance id's actor in a system of its own, which the test's end shuts down.
func spawnActor(t *testing.T, id string, d *deps) (*actor.ActorSystem, *actor.PID) {
	t.Helper()
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	pid, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return newInstance(id, d) }), id)
	if err != nil {
		t.Fatal(err)
	}
	return system, pid
}

// An append that loses a race (another writer appended to the instance's stream) is never an overwrite: the
// actor reloads its state from the log, and serves the next request.
func TestLostAppendRaceRebuildsTheActor(t *testing.T) {
	db := eventstest.OpenDB(t, t.TempDir())
	log := eventstest.OpenLog(t, db, events.Config{})
	const id = "INSTANCE1"
	eventstest.Append(t, log, id, &eventsv1.Event{Payload: &eventsv1.Event_InstanceCreated{
		InstanceCreated: &eventsv1.InstanceCreated{Name: "race"}}})

	cfg := DefaultConfig()
	cfg.RequestTimeout = 2 * time.Second
	ask := spawnInstance(t, id, testDeps(t, db, log, cfg))
	if r := ask(listQueue{}); r.err != nil || len(r.value.([]*eventsv1.Event)) != 0 {
		t.Fatalf("empty queue: %+v", r)
	}

	// Another writer queues a message behind the actor's back.
	eventstest.Append(t, log, id, eventstest.Queued("Z-OTHER", "M-OTHER", "5511999990001"))

	first := ask(enqueue{msg: text("5511999990001", "hello")})
	if first.err == nil {
		t.Fatalf("the append that lost the race succeeded: %+v", first)
	}
	var q Queued
	eventstest.WaitFor(t, 10*time.Second, "the restarted actor accepts messages", func() bool {
		r := ask(enqueue{msg: text("5511999990001", "hello again")})
		q, _ = r.value.(Queued)
		return r.err == nil
	})
	items := ask(listQueue{}).value.([]*eventsv1.Event)
	if len(items) != 2 || items[0].GetMessageQueued().GetZaapId() != "Z-OTHER" || items[1].GetMessageQueued().GetZaapId() != q.ZaapID {
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

// poisonVault fails to store content that holds the word "poison", as a full disk would fail a write.
type poisonVault struct{ Vault }

func (v poisonVault) Put(ctx context.Context, q store.Querier, key string, plaintext []byte) error {
	if bytes.Contains(plaintext, []byte("poison")) {
		return errors.New("disk full")
	}
	return v.Vault.Put(ctx, q, key, plaintext)
}

// The actor does not wait for its appends, so a failed one may have others queued behind it. Each request is
// answered by what became of its own events: the queue holds exactly the messages answered "queued", the log
// agrees, and the instance goes on.
func TestFailedAppendAmongPipelinedOnes(t *testing.T) {
	db := eventstest.OpenDB(t, t.TempDir())
	log := eventstest.OpenLog(t, db, events.Config{})
	const id = "INSTANCE1"
	eventstest.Append(t, log, id, &eventsv1.Event{Payload: &eventsv1.Event_InstanceCreated{
		InstanceCreated: &eventsv1.InstanceCreated{Name: "pipeline"}}})
	d := testDeps(t, db, log, DefaultConfig())
	d.vault = poisonVault{d.vault}
	ask := spawnInstance(t, id, d)

	var mu sync.Mutex
	accepted := map[string]bool{}
	failures := 0
	var wg sync.WaitGroup
	for i := range 40 {
		body := fmt.Sprint("message ", i)
		if i == 20 {
			body = "poison"
		}
		wg.Go(func() {
			r := ask(enqueue{msg: text("5511999990001", body)})
			mu.Lock()
			defer mu.Unlock()
			if r.err != nil {
				failures++
				return
			}
			accepted[r.value.(Queued).ZaapID] = true
		})
	}
	wg.Wait()
	if failures == 0 || len(accepted)+failures != 40 {
		t.Fatalf("%d accepted, %d failed of 40; want the poisoned message (at least) failed and every request answered", len(accepted), failures)
	}
	after := ask(enqueue{msg: text("5511999990001", "after")})
	if after.err != nil {
		t.Fatalf("enqueue after the failure: %v", after.err)
	}
	accepted[after.value.(Queued).ZaapID] = true

	queued := map[string]bool{}
	for _, e := range ask(listQueue{}).value.([]*eventsv1.Event) {
		queued[e.GetMessageQueued().GetZaapId()] = true
	}
	eventstest.Settle(t, log)
	logged := map[string]bool{}
	var seqs []int64
	if err := log.Load(context.Background(), id, 0, func(e *eventsv1.Event) error {
		seqs = append(seqs, e.GetSeq())
		if q := e.GetMessageQueued(); q != nil {
			logged[q.GetZaapId()] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(queued, accepted) || !maps.Equal(logged, accepted) {
		t.Errorf("accepted %d, in the queue %d, in the log %d: want the same messages in all three", len(accepted), len(queued), len(logged))
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("seqs %v have a gap or a repeat", seqs)
		}
	}
}

// text is a text message to phone, as the API accepts it.
func text(phone, body string) *messagesv1.Outbound {
	return &messagesv1.Outbound{Phone: phone,
		Content: &messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: body}}}}
}
