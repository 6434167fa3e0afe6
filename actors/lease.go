package actors

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/plugzapi/plugzapi/store"
)

// Leases are the per-instance leases with a fencing token (store.DB): an instance runs — connects to WhatsApp,
// appends events — only on the node holding its lease, so that two nodes never hold one number's connection at
// once (WhatsApp would drop one as "replaced"), and a node that lost its lease cannot write.
type Leases interface {
	Acquire(ctx context.Context, instanceID, owner string, ttl time.Duration) (store.Lease, error)
	RenewAll(ctx context.Context, leases []store.Lease, ttl time.Duration) ([]store.Lease, error)
	Release(ctx context.Context, lease store.Lease) error
	// CheckFence fails with store.ErrFenced inside a write transaction unless token is the instance's current,
	// unexpired lease, and holds the lease until the transaction ends.
	CheckFence(ctx context.Context, tx *sql.Tx, instanceID string, token int64) error
}

// leaseKeeper holds this node's leases: it renews them all every ttl/3 in one statement and tells an instance
// at once when its lease is lost — not renewed, or past its deadline on this node's clock, whatever the
// reason (a network error, a pause) — so that it stops before another node may take over.
type leaseKeeper struct {
	leases Leases
	owner  string
	ttl    time.Duration
	log    interface{ Warn(string, ...any) }

	mu   sync.Mutex
	held map[string]heldLease

	stop chan struct{}
	done sync.WaitGroup
}

// heldLease is a lease an instance holds, and what to do when it is lost.
type heldLease struct {
	lease store.Lease
	lost  func()
}

// newOwner names this process as a lease owner: a restarted process never renews what an earlier one held.
func newOwner() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	host, _ := os.Hostname()
	return host + "/" + hex.EncodeToString(b)
}

func newLeaseKeeper(l Leases, owner string, ttl time.Duration, log interface{ Warn(string, ...any) }) *leaseKeeper {
	if owner == "" {
		owner = newOwner()
	}
	k := &leaseKeeper{leases: l, owner: owner, ttl: ttl, log: log, held: map[string]heldLease{},
		stop: make(chan struct{})}
	k.done.Add(1)
	go k.run()
	return k
}

// acquire takes an instance's lease for this node; lost is called (once, from the keeper) when it is lost.
func (k *leaseKeeper) acquire(ctx context.Context, id string, lost func()) (store.Lease, error) {
	l, err := k.leases.Acquire(ctx, id, k.owner, k.ttl)
	if err != nil {
		return store.Lease{}, err
	}
	k.mu.Lock()
	k.held[id] = heldLease{lease: l, lost: lost}
	k.mu.Unlock()
	return l, nil
}

// check says whether this node holds an instance's lease now, on its own clock: held, and not past the
// deadline by which it must have been renewed.
func (k *leaseKeeper) check(id string) error {
	k.mu.Lock()
	h, ok := k.held[id]
	k.mu.Unlock()
	if !ok || !time.Now().Before(h.lease.Deadline) {
		return store.ErrLeaseLost
	}
	return nil
}

// fenced runs inTx (when set) in an append's transaction after checking that the lease with this token is still
// the instance's: a node that lost it writes nothing (the takeover waits for the check's transaction, and a
// check after the takeover fails). A failed check also gives the lease up at once, as a lost renewal would.
func (k *leaseKeeper) fenced(id string, token int64, inTx func(*sql.Tx) error) func(*sql.Tx) error {
	return func(tx *sql.Tx) error {
		if err := k.leases.CheckFence(context.Background(), tx, id, token); err != nil {
			if errors.Is(err, store.ErrFenced) {
				k.lose(id, token)
			}
			return err
		}
		if inTx == nil {
			return nil
		}
		return inTx(tx)
	}
}

// lose drops a lease this node found taken over, and says so (lost) — once, and only for that lease.
func (k *leaseKeeper) lose(id string, token int64) {
	k.mu.Lock()
	h, ok := k.held[id]
	if ok && h.lease.Token == token {
		delete(k.held, id)
	}
	k.mu.Unlock()
	if ok && h.lease.Token == token {
		go h.lost()
	}
}

// release gives an instance's lease up (a clean stop: the next node takes it at once).
func (k *leaseKeeper) release(ctx context.Context, id string) {
	k.mu.Lock()
	h, ok := k.held[id]
	delete(k.held, id)
	k.mu.Unlock()
	if !ok {
		return
	}
	if err := k.leases.Release(ctx, h.lease); err != nil && !errors.Is(err, store.ErrLeaseLost) {
		k.log.Warn("release lease", "instance", id, "err", err)
	}
}

func (k *leaseKeeper) run() {
	defer k.done.Done()
	t := time.NewTicker(k.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-k.stop:
			return
		case <-t.C:
		}
		k.renew()
	}
}

// renew renews every held lease, and drops (calling lost) those not renewed or whose deadline passed.
func (k *leaseKeeper) renew() {
	k.mu.Lock()
	leases := make([]store.Lease, 0, len(k.held))
	for _, h := range k.held {
		leases = append(leases, h.lease)
	}
	k.mu.Unlock()
	if len(leases) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), k.ttl/3)
	renewed, err := k.leases.RenewAll(ctx, leases, k.ttl)
	cancel()
	if err != nil {
		k.log.Warn("renew leases", "count", len(leases), "err", err)
	}
	now := time.Now()
	fresh := make(map[string]store.Lease, len(renewed))
	for _, l := range renewed {
		fresh[l.InstanceID] = l
	}
	var lost []func()
	k.mu.Lock()
	for _, sent := range leases {
		id := sent.InstanceID
		h, ok := k.held[id]
		if !ok || h.lease.Token != sent.Token {
			continue // released, or taken anew, while the renewal ran: not this renewal's to judge
		}
		if l, ok := fresh[id]; ok {
			h.lease = l
			k.held[id] = h
			continue
		}
		if err == nil || now.After(h.lease.Deadline) {
			delete(k.held, id)
			lost = append(lost, h.lost)
		}
	}
	k.mu.Unlock()
	for _, fn := range lost {
		fn()
	}
}

func (k *leaseKeeper) close() {
	close(k.stop)
	k.done.Wait()
}

// claimLease is the instance's own message to try its lease again.
type claimLease struct{}

// minClaimPause is the shortest pause between two tries of an instance's lease.
const minClaimPause = 100 * time.Millisecond

// claim takes the instance's lease and then recovers its state; while another node holds the lease it tries
// again with a growing pause (a lease released cleanly is taken within the first pauses; one whose holder died
// when it expires), or sooner when a request waits for it (see unclaimed).
func (a *instance) claim(ctx actor.Context) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	a.claimedAt = time.Now()
	l, err := a.deps.leases.acquire(a.ctx, a.id, func() { a.deps.leaseLost(a.id, self) })
	if err != nil {
		a.claimPause = min(max(2*a.claimPause, minClaimPause), a.deps.leases.ttl/3)
		if !errors.Is(err, store.ErrLeaseHeld) {
			a.log.Warn("take the instance's lease", "err", err)
		}
		a.claimTimer = time.AfterFunc(a.claimPause, func() { root.Send(self, claimLease{}) })
		return
	}
	a.lease = l
	if err := a.recover(); err != nil {
		// Without its state the instance cannot serve; failing makes the supervisor try again.
		panic(fmt.Errorf("recover instance %s: %w", a.id, err))
	}
}

// leaseLost handles an instance whose lease is gone — taken over, or not renewed by its deadline — so this node
// may have been counted out (it was paused, or cut off from the database or the other nodes, for longer than the
// lease), and another may run the instance now. The
// instance stops at once — its connection closes as it stops — and the node is cut off (SystemDeps.CutOff): it
// leaves, to come back as a new member, for the cluster's membership does not take a member it counted out
// back, and this node's own view of who runs what can no longer be trusted.
func (s *System) leaseLost(id string, pid *actor.PID) {
	s.deps.log.Error("the instance's lease was lost (taken over, or not renewed in time): stopping it here; this server leaves, to start again afresh", "instance", id)
	s.actors.Root.Stop(pid)
	if s.cutOff != nil {
		s.cutOff()
	}
}

// errUnclaimed answers a request to an instance that has not taken its lease yet: nothing was done, so asking
// again is safe (System.ask does, until its deadline).
var errUnclaimed = fmt.Errorf("%w: it waits for its lease", ErrUnavailable)

// unclaimed answers what arrives while the instance waits for its lease: requests with errUnclaimed, having
// applied nothing (the instance runs nowhere else, or is about to run here); anything else is dropped. A request
// makes the instance try its lease at once rather than after a long pause (no more often than minClaimPause): a
// node handing the instance over releases the lease any moment, and the request waits for it.
func (a *instance) unclaimed(ctx actor.Context) {
	if ctx.Sender() == nil {
		return
	}
	ctx.Respond(reply{nil, errUnclaimed})
	if a.claimTimer != nil && time.Since(a.claimedAt) >= minClaimPause {
		a.claimTimer.Stop()
		a.claimTimer = nil
		a.claim(ctx)
	}
}
