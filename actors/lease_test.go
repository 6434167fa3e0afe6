package actors

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/eventstest"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
)

// An instance whose lease another node holds does nothing and answers "unavailable"; it runs as soon as the
// lease is released.
func TestInstanceWaitsForItsLease(t *testing.T) {
	ctx := context.Background()
	db := eventstest.OpenDB(t, t.TempDir())
	log := eventstest.OpenLog(t, db, events.Config{})
	const id = "INSTANCE1"
	eventstest.Append(t, log, id, &eventsv1.Event{Payload: &eventsv1.Event_InstanceCreated{
		InstanceCreated: &eventsv1.InstanceCreated{Name: "shop"}}})
	other, err := db.Acquire(ctx, id, "another-node", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
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
