package actors

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"

	clusterv1 "github.com/plugzapi/plugzapi/proto/cluster/v1"
	"github.com/plugzapi/plugzapi/store"
)

// ClusterConfig makes the System one node of a cluster: every node runs the same binary on the same Postgres
// database, and each instance runs on the one node protoactor's cluster places its virtual actor on.
//
// The virtual actor (a placement) holds no state and takes no commands: its activation on a node starts the
// instance's actor there (which rebuilds its state from its events), its deactivation stops it. Commands and
// queries keep travelling as the HTTP requests they arrive as, forwarded to the node the placement names
// ([System.Locate]); the only message between nodes is Locate, which is idempotent, so protoactor's request
// retries cannot apply anything twice. Placement alone cannot promise one activation per instance while the
// membership changes: the instance's lease (a fencing token in the database) does.
type ClusterConfig struct {
	// Name is the cluster's name: nodes with the same name form one cluster.
	Name string
	// Host and Port are where this node listens for the other nodes (gRPC); Port 0 picks a free port.
	Host string
	Port int
	// AdvertiseHost is the host the other nodes reach this node at, when not Host.
	AdvertiseHost string
	// URL is the base URL of this node's HTTP API as the other nodes reach it (requests are forwarded there).
	URL string
	// Provider keeps the membership: protoactor's automanaged provider (a static peer list) or its Kubernetes one.
	Provider cluster.ClusterProvider
	// KeepEvery is how often the node asks for the placement of every instance, so that each runs somewhere
	// even when no request names it; membership changes ask at once. Default 5s.
	KeepEvery time.Duration
	// LeaveWait is how long the other nodes may take to see a node leave (the static provider polls every 2s):
	// a draining node keeps serving its instances that long after leaving, then hands them over (System.Drain).
	// Default 3s.
	LeaveWait time.Duration
}

// placementKind is the cluster kind of the instances' placements.
const placementKind = "instance"

// clusterNode is the System's part in a cluster.
type clusterNode struct {
	cfg ClusterConfig
	c   *cluster.Cluster
	// members is this node's view of the membership, as the topology events give it: protoactor's own member
	// list is written without a lock its readers could take.
	members *cluster.Rendezvous
	// keep wakes the keeper: a membership change moved placements.
	keep chan struct{}
	stop chan struct{}
	done sync.WaitGroup

	mu sync.Mutex
	// last are the members of the last topology.
	last []*cluster.Member
	// away, once the node drains, places instances as the other nodes do without it (the members of the last
	// topology but this node), and urls are those nodes' APIs: a draining node forwards there what it no longer
	// serves, without asking the cluster (the others refuse its messages once they saw it leave).
	away *cluster.Rendezvous
	urls map[string]string
	// draining is set once the node started handing its instances over (System.Drain).
	draining atomic.Bool
}

// nodeActor is the name of the actor by which a node tells the others where its API is: asked Locate, it
// answers with its own Located.
const nodeActor = "plugzapi-node"

// startCluster joins the cluster: from then on placements activate instances on this node.
func (s *System) startCluster() (err error) {
	cfg := *s.clusterCfg
	if cfg.KeepEvery <= 0 {
		cfg.KeepEvery = 5 * time.Second
	}
	if cfg.LeaveWait <= 0 {
		cfg.LeaveWait = 3 * time.Second
	}
	props := actor.PropsFromProducer(func() actor.Actor { return &placement{sys: s} })
	remoteOpts := []remote.ConfigOption{}
	if cfg.AdvertiseHost != "" {
		remoteOpts = append(remoteOpts, remote.WithAdvertisedHost(cfg.AdvertiseHost))
	}
	ccfg := cluster.Configure(cfg.Name, cfg.Provider, disthash.New(), remote.Configure(cfg.Host, cfg.Port, remoteOpts...),
		cluster.WithKinds(cluster.NewKind(placementKind, props)), cluster.WithRequestTimeout(locateTimeout))
	n := &clusterNode{cfg: cfg, c: cluster.New(s.actors, ccfg), members: cluster.NewRendezvous(),
		keep: make(chan struct{}, 1), stop: make(chan struct{})}
	// Set before joining: placements start while it joins.
	s.cluster = n
	s.actors.EventStream.Subscribe(func(ev any) {
		if t, ok := ev.(*cluster.ClusterTopology); ok {
			n.mu.Lock()
			n.last = t.Members
			n.mu.Unlock()
			n.members.UpdateMembers(t.Members)
			n.wake()
		}
	})
	if _, err := s.actors.Root.SpawnNamed(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*clusterv1.Locate); ok {
			c.Respond(&clusterv1.Located{Node: c.ActorSystem().Address(), Url: cfg.URL})
		}
	}), nodeActor); err != nil {
		return fmt.Errorf("join the cluster: %w", err)
	}
	defer func() {
		// protoactor panics where it cannot start (a port in use, a provider that cannot reach its peers).
		if r := recover(); r != nil {
			err = fmt.Errorf("join the cluster: %v", r)
		}
	}()
	n.c.StartMember()
	n.done.Add(1)
	go s.keepPlaced(n)
	s.deps.log.Info("joined the cluster", "cluster", cfg.Name, "node", s.actors.Address(), "url", cfg.URL)
	return nil
}

// locateTimeout bounds one Locate: an activation waits for nothing but the spawn of the instance's actor.
const locateTimeout = 5 * time.Second

// stopped says whether the keeper was told to stop.
func (n *clusterNode) stopped() bool {
	select {
	case <-n.stop:
		return true
	default:
		return false
	}
}

func (n *clusterNode) wake() {
	select {
	case n.keep <- struct{}{}:
	default:
	}
}

// keepPlaced asks for the placement of every instance, every KeepEvery and when the membership changes, so
// that an instance whose node left is activated on another one without waiting for a request that names it.
func (s *System) keepPlaced(n *clusterNode) {
	defer n.done.Done()
	t := time.NewTicker(n.cfg.KeepEvery)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		case <-n.keep:
		}
		ctx, cancel := context.WithTimeout(s.deps.stopping, n.cfg.KeepEvery)
		instances, err := store.ListInstances(ctx, s.db)
		cancel()
		if err != nil {
			s.deps.log.Warn("cluster: list instances to place", "err", err)
			continue
		}
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for _, inst := range instances {
			if n.stopped() {
				break
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if _, err := n.locate(inst.ID); err != nil {
					s.deps.log.Debug("cluster: place instance", "instance", inst.ID, "err", err)
				}
			})
		}
		wg.Wait()
	}
}

// locate asks where an instance's placement is, activating it. While the membership settles a request can
// fail, or reach a placement that finds it is not on its owner and answers with no URL (see placement): its
// activation is forgotten and the question asked again, until locateTimeout.
func (n *clusterNode) locate(id string) (*clusterv1.Located, error) {
	deadline := time.Now().Add(locateTimeout)
	for attempt := 1; ; attempt++ {
		// A try waits no more than a second: a node that stopped answering (it left, and the others blocked it) must
		// not take the whole time, while the membership drops it.
		res, err := n.c.Request(id, placementKind, &clusterv1.Locate{}, cluster.WithTimeout(min(time.Until(deadline), time.Second)), cluster.WithRetryCount(2))
		loc, ok := res.(*clusterv1.Located)
		switch {
		case err == nil && ok && loc.GetUrl() != "":
			return loc, nil
		case err == nil && !ok:
			return nil, fmt.Errorf("locate %s: unexpected answer %T", id, res)
		case err == nil:
			err = errors.New("its placement moved")
		}
		n.c.PidCache.Remove(id, placementKind)
		pause := time.Duration(min(attempt, 10)) * 50 * time.Millisecond
		if time.Now().Add(pause).After(deadline) {
			return nil, fmt.Errorf("locate %s: %w", id, err)
		}
		time.Sleep(pause)
	}
}

// Locate says where an instance runs: here (local, the URL empty), or on the node at url. Without a cluster
// every instance is local. forwarded says another node sent the request here, having located the instance
// here: it is served here if the instance runs here. A request served here is counted until its context ends
// (for HTTP, when its handler returns): a draining node hands an instance over only after the requests it took
// for it (see hold).
func (s *System) Locate(ctx context.Context, id string, forwarded bool) (url string, local bool, err error) {
	n := s.cluster
	if n == nil {
		return "", true, nil
	}
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	// A draining node serves the instances it has not handed over yet, and no other.
	if (forwarded || n.draining.Load()) && s.hold(ctx, id) {
		return "", true, nil
	}
	if url, left, err := n.awayURL(id); left {
		return url, false, err
	}
	loc, err := n.locate(id)
	if err != nil {
		return "", false, fmt.Errorf("instance %s: %w: %v", id, ErrUnavailable, err)
	}
	if loc.GetUrl() != n.cfg.URL {
		return loc.GetUrl(), false, nil
	}
	if s.hold(ctx, id) || !n.draining.Load() {
		return "", true, nil
	}
	// Handed over since.
	if url, left, err := n.awayURL(id); left {
		return url, false, err
	}
	return "", false, fmt.Errorf("instance %s: %w: this node is leaving the cluster", id, ErrUnavailable)
}

// awayURL is where a node that left the cluster to drain forwards a request about an instance it no longer
// serves: to the node the other nodes place it on without this one. left is false until it left.
func (n *clusterNode) awayURL(id string) (url string, left bool, err error) {
	n.mu.Lock()
	away, urls := n.away, n.urls
	n.mu.Unlock()
	if away == nil {
		return "", false, nil
	}
	url = urls[away.GetByClusterIdentity(cluster.NewClusterIdentity(id, placementKind))]
	if url == "" {
		return "", true, fmt.Errorf("instance %s: %w: this node left the cluster, and knows no other node", id, ErrUnavailable)
	}
	return url, true, nil
}

// Draining says whether this node is handing its instances over before it stops (Drain): it forwards what it
// no longer serves, requests other nodes forwarded to it included.
func (s *System) Draining() bool { return s.cluster != nil && s.cluster.draining.Load() }

// hold counts a request for an instance this node runs and has not started handing over, until ctx ends, and
// says whether it did.
func (s *System) hold(ctx context.Context, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pids[id] == nil || s.leaving[id] {
		return false
	}
	s.serving[id]++
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.serving[id]--; s.serving[id] == 0 {
			delete(s.serving, id)
		}
	})
	return true
}

// Drain hands this node's instances over to the other nodes while its API still serves, so that no request
// finds an instance running nowhere: it asks the other nodes where their APIs are, leaves the membership (the
// others place its instances on themselves, where they wait for their leases), goes on serving its instances
// for LeaveWait (until the others saw it leave), then stops each instance once the requests it took for it are
// answered, releasing its lease (its new node takes it at once). From the start it forwards what it does not
// serve to where the others place it. Stop stops the rest.
func (s *System) Drain(ctx context.Context) {
	n := s.cluster
	if n == nil || !n.draining.CompareAndSwap(false, true) {
		return
	}
	start := time.Now()
	close(n.stop) // the keeper places nothing more (stopCluster waits for it)
	n.mu.Lock()
	var others []*cluster.Member
	for _, m := range n.last {
		if m.Address() != s.actors.Address() {
			others = append(others, m)
		}
	}
	n.mu.Unlock()
	urls := map[string]string{}
	var found []*cluster.Member
	for i, loc := range s.askNodes(others) {
		if loc.GetUrl() != "" {
			urls[others[i].Address()] = loc.GetUrl()
			found = append(found, others[i])
		}
	}
	away := cluster.NewRendezvous()
	away.UpdateMembers(found)
	n.mu.Lock()
	n.away, n.urls = away, urls
	n.mu.Unlock()

	// Out of the provider's membership: the others drop this node at their next look (and block it, refusing
	// its answers from then on). Not gossiped as having left, as protoactor's shutdown does: the others would
	// block it at once, before their membership drops it, and their requests to it would go unanswered.
	if err := n.c.Config.ClusterProvider.Shutdown(true); err != nil {
		s.deps.log.Warn("cluster: leave the membership", "err", err)
	}
	s.deps.log.Info("left the cluster: draining", "nodes", len(found), "serving for", n.cfg.LeaveWait)
	select {
	case <-time.After(n.cfg.LeaveWait):
	case <-ctx.Done():
	}

	s.mu.Lock()
	ids := slices.Collect(maps.Keys(s.pids))
	for _, id := range ids {
		s.leaving[id] = true
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() { s.handOver(ctx, id) })
	}
	wg.Wait()
	s.deps.log.Info("drained: the instances are handed over", "count", len(ids), "took", time.Since(start).Round(time.Millisecond))
}

// askNodes asks each node where its API is (its nodeActor), at once; a node that does not answer in time gets
// a nil.
func (s *System) askNodes(nodes []*cluster.Member) []*clusterv1.Located {
	found := make([]*clusterv1.Located, len(nodes))
	var wg sync.WaitGroup
	for i, m := range nodes {
		wg.Go(func() {
			res, err := s.actors.Root.RequestFuture(actor.NewPID(m.Address(), nodeActor), &clusterv1.Locate{}, time.Second).Result()
			if loc, ok := res.(*clusterv1.Located); ok && err == nil {
				found[i] = loc
			} else {
				s.deps.log.Warn("cluster: ask a node where its API is", "node", m.Address(), "err", err)
			}
		})
	}
	wg.Wait()
	return found
}

// handOver stops an instance marked leaving once the requests this node took for it are answered (no longer
// than ctx allows), which releases its lease to its new node; unless it is no longer leaving by then.
func (s *System) handOver(ctx context.Context, id string) {
	for {
		s.mu.RLock()
		busy := s.serving[id] > 0
		s.mu.RUnlock()
		if !busy || ctx.Err() != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	pid := s.pids[id]
	leaving := s.leaving[id]
	if leaving {
		delete(s.pids, id)
		delete(s.leaving, id)
	}
	s.mu.Unlock()
	if leaving && pid != nil {
		_ = s.actors.Root.PoisonFuture(pid).Wait()
	}
}

// Runs says whether this node runs an instance now: it holds the instance's lease.
func (s *System) Runs(id string) bool { return s.deps.leases.check(id) == nil }

// NodeURL is this node's API as the other nodes reach it (ClusterConfig.URL); empty without a cluster.
func (s *System) NodeURL() string {
	if s.clusterCfg == nil {
		return ""
	}
	return s.clusterCfg.URL
}

// stopCluster leaves the cluster gracefully: the other nodes take this node's placements over. A node that
// drained left already.
func (s *System) stopCluster() {
	n := s.cluster
	if n == nil {
		return
	}
	if n.draining.Load() {
		n.done.Wait()
		n.c.Shutdown(false)
		return
	}
	close(n.stop)
	n.done.Wait()
	n.c.Shutdown(true)
}

// placement is an instance's virtual actor: where the cluster activates it, the instance runs.
//
// protoactor's placement (disthash) activates a grain wherever a caller's view of the membership says, and a
// caller whose view is behind can have it activated on a node that is not its owner; no later membership change
// moves such a stray activation, so it would run beside the right one for good. A placement therefore checks,
// when it starts and whenever it is asked, that its node is the owner in this node's own view, and stops itself
// otherwise (the caller asks again, and the next answer comes from the owner).
type placement struct {
	sys    *System
	id     string
	active bool // it started the instance here
}

func (p *placement) Receive(c actor.Context) {
	switch m := c.Message().(type) {
	case *cluster.ClusterInit:
		p.id = m.Identity.GetIdentity()
		if !p.sys.owns(p.id) {
			c.Stop(c.Self())
			return
		}
		p.active = p.sys.activate(p.id)
	case *clusterv1.Locate:
		if !p.sys.owns(p.id) {
			c.Respond(&clusterv1.Located{}) // moved: ask again
			c.Stop(c.Self())
			return
		}
		c.Respond(&clusterv1.Located{Node: c.ActorSystem().Address(), Url: p.sys.cluster.cfg.URL})
	case *actor.Stopping:
		if p.active {
			p.sys.deactivate(p.id)
		}
	}
}

// owns says whether this node owns an instance's placement in its current view of the membership (the
// rendezvous hash disthash places by). A draining node owns the instances it has not handed over yet: the
// nodes that did not see it leave yet still send their requests here.
func (s *System) owns(id string) bool {
	if s.cluster.draining.Load() {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return s.pids[id] != nil && !s.leaving[id]
	}
	return s.cluster.members.GetByClusterIdentity(cluster.NewClusterIdentity(id, placementKind)) == s.actors.Address()
}

// activate starts an instance's actor on this node, unless it runs here already or no longer exists, and says
// whether it started it.
func (s *System) activate(id string) bool {
	s.mu.Lock()
	running, leaving := s.pids[id] != nil, s.leaving[id]
	if leaving {
		// Its placement moved away and back before it stopped: it stays.
		delete(s.leaving, id)
	}
	s.mu.Unlock()
	if running {
		return leaving
	}
	ctx, cancel := context.WithTimeout(s.deps.stopping, locateTimeout)
	defer cancel()
	if _, err := store.GetInstance(ctx, s.db, id); err != nil {
		if !errors.Is(err, store.ErrInstanceNotFound) {
			s.deps.log.Warn("cluster: activate instance", "instance", id, "err", err)
		}
		return false
	}
	if err := s.spawn(id); err != nil {
		s.deps.log.Warn("cluster: activate instance", "instance", id, "err", err)
		return false
	}
	s.deps.log.Info("instance activated on this node", "instance", id)
	return true
}

// deactivate stops an instance's actor on this node: its placement moved to another node (or this one leaves).
// It stops once the requests this node took for it are answered (handOver); not waited for here: the
// placement's mailbox must not block.
func (s *System) deactivate(id string) {
	s.mu.Lock()
	running := s.pids[id] != nil
	if running {
		s.leaving[id] = true
	}
	s.mu.Unlock()
	if !running {
		return
	}
	s.deps.log.Info("instance deactivated on this node", "instance", id)
	go func() {
		ctx, cancel := context.WithTimeout(s.deps.stopping, s.deps.cfg.RequestTimeout)
		defer cancel()
		s.handOver(ctx, id)
	}()
}
