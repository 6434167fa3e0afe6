package actors

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
}

// startCluster joins the cluster: from then on placements activate instances on this node.
func (s *System) startCluster() (err error) {
	cfg := *s.clusterCfg
	if cfg.KeepEvery <= 0 {
		cfg.KeepEvery = 5 * time.Second
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
			n.members.UpdateMembers(t.Members)
			n.wake()
		}
	})
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
		res, err := n.c.Request(id, placementKind, &clusterv1.Locate{}, cluster.WithTimeout(time.Until(deadline)), cluster.WithRetryCount(2))
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
// every instance is local.
func (s *System) Locate(ctx context.Context, id string) (url string, local bool, err error) {
	if s.cluster == nil {
		return "", true, nil
	}
	if err := ctx.Err(); err != nil {
		return "", false, err
	}
	loc, err := s.cluster.locate(id)
	if err != nil {
		return "", false, fmt.Errorf("instance %s: %w: %v", id, ErrUnavailable, err)
	}
	if loc.GetUrl() == s.cluster.cfg.URL {
		return "", true, nil
	}
	return loc.GetUrl(), false, nil
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

// stopCluster leaves the cluster gracefully: the other nodes take this node's placements over.
func (s *System) stopCluster() {
	n := s.cluster
	if n == nil {
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
// rendezvous hash disthash places by).
func (s *System) owns(id string) bool {
	return s.cluster.members.GetByClusterIdentity(cluster.NewClusterIdentity(id, placementKind)) == s.actors.Address()
}

// activate starts an instance's actor on this node, unless it runs here already or no longer exists, and says
// whether it started it.
func (s *System) activate(id string) bool {
	s.mu.RLock()
	running := s.pids[id] != nil
	s.mu.RUnlock()
	if running {
		return false
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
func (s *System) deactivate(id string) {
	s.mu.Lock()
	pid := s.pids[id]
	delete(s.pids, id)
	s.mu.Unlock()
	if pid == nil {
		return
	}
	// Not waited for here: the placement's mailbox must not block; the actor closes its connection as it stops.
	s.actors.Root.Poison(pid)
	s.deps.log.Info("instance deactivated on this node", "instance", id)
}
