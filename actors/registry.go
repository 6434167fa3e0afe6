package actors

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
)

// neverDue is the `due` of every instance: a self-hosted instance has no subscription and does not expire, and
// PlugZapi clients compare `due` with the current time.
var neverDue = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// Log is the event log as the System uses it: appends and recovery for the actors, snapshots for quick recovery.
type Log interface {
	EventLog
	Snapshots
}

// SystemDeps are the parts a System works with. All are required.
type SystemDeps struct {
	Logger *slog.Logger
	// DB holds the instances table (credentials, webhook secrets).
	DB       *sql.DB
	Events   Log
	Vault    Vault
	Sessions Sessions
	// Webhooks is read only to upgrade an instance's snapshot written before webhook targets were in snapshots.
	Webhooks WebhookTargets
	// Leases are the instances' leases: an instance runs on the node that holds its lease.
	Leases Leases
	// Cluster, when set, makes the System one node of a cluster (optional).
	Cluster *ClusterConfig
	// CutOff is called when an instance's lease was taken over by another node: this node must leave (stop and
	// start again) to rejoin. Optional: without it only the instance stops.
	CutOff func()
}

// NewSystem returns a System that has not started any instance yet: call Start.
func NewSystem(cfg Config, d SystemDeps) (*System, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Logger == nil || d.DB == nil || d.Events == nil || d.Vault == nil || d.Sessions == nil || d.Webhooks == nil || d.Leases == nil {
		return nil, errors.New("new actor system: a dependency is missing")
	}
	stopping, stopWork := context.WithCancel(context.Background())
	s := &System{
		actors: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return d.Logger.With("part", "protoactor")
		})),
		deps: &deps{log: d.Logger, events: d.Events, snapshots: d.Events, vault: d.Vault, sessions: d.Sessions, cfg: cfg,
			stopping: stopping, targets: d.Webhooks, leases: newLeaseKeeper(d.Leases, cfg.LeaseOwner, cfg.LeaseTTL, d.Logger)},
		stopWork:   stopWork,
		db:         d.DB,
		clusterCfg: d.Cluster,
		cutOff:     d.CutOff,
		pids:       map[string]*actor.PID{},
		serving:    map[string]int{},
		leaving:    map[string]bool{},
	}
	s.deps.leaseLost = s.leaseLost
	return s, nil
}

// Start starts the actor of every instance: each recovers its state from its events and reconnects if linked.
// A cluster node joins the cluster instead, and runs the instances placed on it.
func (s *System) Start(ctx context.Context) error {
	if s.clusterCfg != nil {
		return s.startCluster()
	}
	instances, err := store.ListInstances(ctx, s.db)
	if err != nil {
		return fmt.Errorf("start instances: %w", err)
	}
	for _, inst := range instances {
		if err := s.spawn(inst.ID); err != nil {
			return err
		}
	}
	s.deps.log.Info("instances started", "count", len(instances))
	s.sweepForwards()
	return nil
}

// CreateInstance creates an instance: its credentials and its first events, in one transaction, then its actor.
func (s *System) CreateInstance(ctx context.Context, spec NewInstance, webhookSecret string) (CreatedInstance, error) {
	id, err := store.NewInstanceID()
	if err != nil {
		return CreatedInstance{}, err
	}
	evs := []*eventsv1.Event{{Payload: &eventsv1.Event_InstanceCreated{InstanceCreated: &eventsv1.InstanceCreated{
		Name: spec.Name, SessionName: spec.SessionName}}}}
	for _, kind := range slices.Sorted(maps.Keys(spec.Webhooks)) {
		evs = append(evs, &eventsv1.Event{Payload: &eventsv1.Event_WebhookConfigured{
			WebhookConfigured: &eventsv1.WebhookConfigured{Kind: kind, Url: spec.Webhooks[kind]}}})
	}
	if e := settingsEvent(spec.Settings); e != nil {
		evs = append(evs, e)
	}
	var token string
	_, err = s.deps.events.Append(ctx, id, 0, evs, func(tx *sql.Tx) error {
		var err error
		if _, token, err = store.CreateInstance(ctx, tx, id, spec.Name, spec.SessionName, time.Now()); err != nil {
			return err
		}
		if webhookSecret != "" {
			return store.SetWebhookSecret(ctx, tx, id, webhookSecret)
		}
		return nil
	})
	if err != nil {
		return CreatedInstance{}, fmt.Errorf("create instance: %w", err)
	}
	if err := s.run(id); err != nil {
		return CreatedInstance{}, err
	}
	s.deps.log.Info("instance created", "instance", id)
	return CreatedInstance{ID: id, Token: token, Due: neverDue}, nil
}

// run starts a new instance: here, or on a cluster wherever its placement activates it (at once when the
// cluster answers, else by the keeper).
func (s *System) run(id string) error {
	if s.cluster == nil {
		return s.spawn(id)
	}
	if _, err := s.cluster.locate(id); err != nil {
		// It exists: the keeper places it as soon as the cluster answers.
		s.deps.log.Warn("cluster: place new instance", "instance", id, "err", err)
	}
	return nil
}

// DeleteInstance logs an instance out, drops its queue and content, and removes it.
func (s *System) DeleteInstance(ctx context.Context, id string) error {
	if _, err := s.ask(ctx, id, deleteInstance{}); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.pids, id)
	s.mu.Unlock()
	s.deps.log.Info("instance deleted", "instance", id)
	return nil
}

// SetWebhookSecret sets (or, empty, removes) the key that signs an instance's webhooks.
func (s *System) SetWebhookSecret(ctx context.Context, id, secret string) error {
	if err := store.SetWebhookSecret(ctx, s.db, id, secret); err != nil {
		if errors.Is(err, store.ErrInstanceNotFound) {
			return ErrInstanceNotFound
		}
		return err
	}
	return nil
}
