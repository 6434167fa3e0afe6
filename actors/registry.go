package actors

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/plugzapi/plugzapi/events/instanceview"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
)

// neverDue is the `due` of every instance: a self-hosted instance has no subscription and does not expire, and
// PlugZapi clients compare `due` with the current time.
var neverDue = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)

// InstanceView is the read model of instances' connection state.
type InstanceView interface {
	List(ctx context.Context) ([]instanceview.Instance, error)
}

// WebhookTargets is the read model of where each instance's webhooks go.
type WebhookTargets interface {
	Targets(ctx context.Context, instanceID string) (map[eventsv1.WebhookKind]string, error)
}

// AdminTokens checks the admin API's token.
type AdminTokens interface {
	CheckAdminToken(ctx context.Context, token string) (bool, error)
}

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
	View     InstanceView
	Webhooks WebhookTargets
	Admin    AdminTokens
}

// NewSystem returns a System that has not started any instance yet: call Start.
func NewSystem(cfg Config, d SystemDeps) (*System, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Logger == nil || d.DB == nil || d.Events == nil || d.Vault == nil || d.Sessions == nil ||
		d.View == nil || d.Webhooks == nil || d.Admin == nil {
		return nil, errors.New("new actor system: a dependency is missing")
	}
	stopping, stopWork := context.WithCancel(context.Background())
	return &System{
		actors: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return d.Logger.With("part", "protoactor")
		})),
		deps: &deps{log: d.Logger, events: d.Events, snapshots: d.Events, vault: d.Vault, sessions: d.Sessions, cfg: cfg,
			stopping: stopping, targets: d.Webhooks},
		stopWork: stopWork,
		db:       d.DB, view: d.View, webhooks: d.Webhooks, admin: d.Admin,
		pids:   map[string]*actor.PID{},
		tokens: map[string][32]byte{},
	}, nil
}

// Start starts the actor of every instance: each recovers its state from its events and reconnects if linked.
func (s *System) Start(ctx context.Context) error {
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
	if err := s.spawn(id); err != nil {
		return CreatedInstance{}, err
	}
	s.deps.log.Info("instance created", "instance", id)
	return CreatedInstance{ID: id, Token: token, Due: neverDue}, nil
}

// DeleteInstance logs an instance out, drops its queue and content, and removes it.
func (s *System) DeleteInstance(ctx context.Context, id string) error {
	if _, err := s.ask(ctx, id, deleteInstance{}); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.pids, id)
	delete(s.tokens, id)
	s.mu.Unlock()
	s.deps.log.Info("instance deleted", "instance", id)
	return nil
}

// AuthenticateInstance checks an instance's token; a wrong ID and a wrong token give the same ErrInstanceNotFound.
// A token that passed once is remembered (as its hash) so that every request need not read the database; the
// comparison stays constant-time.
func (s *System) AuthenticateInstance(ctx context.Context, id, token string) error {
	hash := sha256.Sum256([]byte(token))
	s.mu.RLock()
	known, ok := s.tokens[id]
	s.mu.RUnlock()
	if ok {
		if subtle.ConstantTimeCompare(known[:], hash[:]) == 1 {
			return nil
		}
		return ErrInstanceNotFound
	}
	if _, err := store.Authenticate(ctx, s.db, id, token); err != nil {
		if errors.Is(err, store.ErrInstanceNotFound) {
			return ErrInstanceNotFound
		}
		return err
	}
	s.mu.Lock()
	if s.pids[id] != nil {
		s.tokens[id] = hash
	}
	s.mu.Unlock()
	return nil
}

// AuthenticateAdmin reports whether token is the admin token.
func (s *System) AuthenticateAdmin(ctx context.Context, token string) (bool, error) {
	return s.admin.CheckAdminToken(ctx, token)
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

// ListInstances returns the page q selects and how many instances match in all.
func (s *System) ListInstances(ctx context.Context, q InstanceQuery) ([]InstanceInfo, int, error) {
	all, err := store.ListInstances(ctx, s.db)
	if err != nil {
		return nil, 0, fmt.Errorf("list instances: %w", err)
	}
	search := strings.ToLower(q.Search)
	matching := all[:0]
	for _, inst := range all {
		if search == "" || strings.Contains(strings.ToLower(inst.ID), search) || strings.Contains(strings.ToLower(inst.Name), search) {
			matching = append(matching, inst)
		}
	}
	total := len(matching)
	page := matching[min(q.Offset, total):min(q.Offset+q.Limit, total)]
	infos, err := s.describe(ctx, page)
	return infos, total, err
}

// Instance describes one instance.
func (s *System) Instance(ctx context.Context, id string) (InstanceInfo, error) {
	inst, err := store.GetInstance(ctx, s.db, id)
	if errors.Is(err, store.ErrInstanceNotFound) {
		return InstanceInfo{}, ErrInstanceNotFound
	}
	if err != nil {
		return InstanceInfo{}, err
	}
	infos, err := s.describe(ctx, []store.Instance{inst})
	if err != nil {
		return InstanceInfo{}, err
	}
	return infos[0], nil
}

// describe joins instances with the read models of their connection and webhooks.
func (s *System) describe(ctx context.Context, instances []store.Instance) ([]InstanceInfo, error) {
	views, err := s.view.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("read instance view: %w", err)
	}
	byID := make(map[string]instanceview.Instance, len(views))
	for _, v := range views {
		byID[v.ID] = v
	}
	infos := make([]InstanceInfo, len(instances))
	for i, inst := range instances {
		hooks, err := s.webhooks.Targets(ctx, inst.ID)
		if err != nil {
			return nil, fmt.Errorf("read webhooks of %s: %w", inst.ID, err)
		}
		v := byID[inst.ID]
		infos[i] = InstanceInfo{
			ID: inst.ID, Name: inst.Name, SessionName: inst.SessionName, Created: inst.Created, Due: neverDue,
			Connected: v.Connected, Phone: v.Phone, Webhooks: hooks,
		}
	}
	return infos, nil
}

// CheckHealth reports whether the database answers.
func (s *System) CheckHealth(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}
