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
	"github.com/plugzapi/plugzapi/store"
)

// leasedElsewhere creates instance id and gives its lease to another node, for a minute.
func leasedElsewhere(t *testing.T, id string) (*store.DB, *events.Log, store.Lease) {
	t.Helper()
	db := eventstest.OpenDB(t, t.TempDir())
	log := eventstest.OpenLog(t, db, events.Config{})
	eventstest.Append(t, log, id, &eventsv1.Event{Payload: &eventsv1.Event_InstanceCreated{
		InstanceCreated: &eventsv1.InstanceCreated{Name: "shop"}}})
	other, err := db.Acquire(context.Background(), id, "another-node", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return db, log, other
}

// An instance whose lease another node holds does nothing and answers "unavailable"; it runs as soon as the
// lease is released.
func TestInstanceWaitsForItsLease(t *testing.T) {
	ctx := context.Background()
	const id = "INSTANCE1"
	db, log, other := leasedElsewhere(t, id)
	cfg := DefaultConfig()
	cfg.RequestTimeout = 2 * time.Second
	ask := spawnInstance(t, id, testDeps(t, db, log, cfg))
	if r := ask(getStatus{}); !errors.Is(r.err, ErrUnavailable) {
		t.Fatalf("status while another node holds the lease = %+v, want ErrUnavailable", r)
	}
	if err := db.Release(ctx, other); err != nil {
		t.Fatal(err)
	}
	eventstest.WaitFor(t, 5*time.Second, "the instance runs once the lease is released", func() bool {
		return ask(getStatus{}).err == nil
	})
	holder, ok, err := db.Holder(ctx, id)
	if err != nil || !ok || holder.Owner == "another-node" || holder.Token <= other.Token {
		t.Fatalf("holder = %+v (%v, %v), want this node with a newer token than %d", holder, ok, err, other.Token)
	}
}

// failingRenewals are leases that cannot be renewed (a database unreachable from this node).
type failingRenewals struct{ Leases }

func (failingRenewals) RenewAll(context.Context, []store.Lease, time.Duration) ([]store.Lease, error) {
	return nil, errors.New("database unreachable")
}

// A lease that cannot be renewed is given up by its deadline, on this node's clock, whatever the reason.
func TestLeaseKeeperGivesUpALeaseItCannotRenew(t *testing.T) {
	db := eventstest.OpenDB(t, t.TempDir())
	k := newLeaseKeeper(failingRenewals{db}, "", 300*time.Millisecond, eventstest.Logger())
	t.Cleanup(k.close)
	lost := make(chan struct{})
	l, err := k.acquire(context.Background(), "INSTANCE1", func() { close(lost) })
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
		if time.Now().Before(l.Deadline) {
			t.Errorf("given up before its deadline %v", l.Deadline)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the keeper kept a lease it could not renew past its deadline")
	}
}

// slowRenewals renews as the database does, but only once told to: a lease can be taken meanwhile.
type slowRenewals struct {
	Leases
	started chan<- struct{}
	proceed <-chan struct{}
}

func (r slowRenewals) RenewAll(ctx context.Context, leases []store.Lease, ttl time.Duration) ([]store.Lease, error) {
	select {
	case r.started <- struct{}{}:
		<-r.proceed
	case <-r.proceed: // closed: the test is over
	}
	return r.Leases.RenewAll(ctx, leases, ttl)
}

// A lease taken while a renewal of the others runs is not that renewal's to judge: it stays held. (Before, the
// renewal found it missing from what it renewed and called it lost, and a server that was creating or
// activating instances cut itself off.)
func TestLeaseTakenDuringARenewalIsKept(t *testing.T) {
	ctx := context.Background()
	db := eventstest.OpenDB(t, t.TempDir())
	started, proceed := make(chan struct{}), make(chan struct{})
	k := newLeaseKeeper(slowRenewals{Leases: db, started: started, proceed: proceed}, "", 300*time.Millisecond, eventstest.Logger())
	t.Cleanup(func() {
		close(proceed)
		k.close()
	})
	lost := func(id string) func() { return func() { t.Errorf("lease of %s lost", id) } }
	if _, err := k.acquire(ctx, "INSTANCE1", lost("INSTANCE1")); err != nil {
		t.Fatal(err)
	}
	<-started // a renewal of INSTANCE1's lease is under way
	if _, err := k.acquire(ctx, "INSTANCE2", lost("INSTANCE2")); err != nil {
		t.Fatal(err)
	}
	proceed <- struct{}{}
	<-started // that renewal is over, and the next one under way
	for _, id := range []string{"INSTANCE1", "INSTANCE2"} {
		if err := k.check(id); err != nil {
			t.Errorf("%s after the renewal: %v", id, err)
		}
	}
}

// A request to an instance that waits for its lease waits for it, within its deadline, instead of failing: the
// node handing the instance over releases the lease any moment. The instance applies nothing before, so asking
// again is safe.
func TestAskWaitsForTheLease(t *testing.T) {
	ctx := context.Background()
	const id = "INSTANCE1"
	db, log, other := leasedElsewhere(t, id)
	cfg := DefaultConfig()
	cfg.RequestTimeout = 5 * time.Second
	d := testDeps(t, db, log, cfg)
	system, pid := spawnActor(t, id, d)
	s := &System{actors: system, deps: d, pids: map[string]*actor.PID{id: pid}}

	// Held elsewhere for longer than the request may wait: unavailable, once its time is up.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := s.ask(short, id, getStatus{}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("status while another node holds the lease = %v, want unavailable", err)
	}
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Errorf("the request gave up after %v, before its deadline", waited)
	}

	// Released while a request waits (after the instance's pauses between tries grew): the request is served.
	time.Sleep(time.Second)
	released := make(chan time.Time, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		if err := db.Release(ctx, other); err != nil {
			t.Error(err)
		}
		released <- time.Now()
	}()
	if _, err := s.ask(ctx, id, getStatus{}); err != nil {
		t.Fatalf("status while the lease is released = %v, want an answer", err)
	}
	if wait := time.Since(<-released); wait > 250*time.Millisecond {
		t.Errorf("served %v after the lease was released, want at once", wait)
	}
}
