package actors

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/plugzapi/plugzapi/events"
	"github.com/plugzapi/plugzapi/events/instanceview"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
)

// InstanceView is the read model of instances' connection state.
type InstanceView interface {
	List(ctx context.Context) ([]instanceview.Instance, error)
}

// WebhookTargets is the read model of where each instance's webhooks go.
type WebhookTargets interface {
	Targets(ctx context.Context, instanceID string) (map[eventsv1.WebhookKind]string, error)
}

// StreamPosition tells how far the event stream and its consumer groups are.
type StreamPosition interface {
	Lag(ctx context.Context) (latest int64, groups []events.GroupLag, err error)
}

// readModelGroup is the consumer group behind the Directory's answers: the instance view and the webhook
// targets are parts of it.
const readModelGroup = events.ProjectionsGroup

// catchUpPoll is how often the Directory looks whether its read models have caught up, and catchUpLimit how
// long it waits for them: a projection stuck on a failing event must not make the admin view unavailable, so
// past the limit it answers with what the read models hold.
const (
	catchUpPoll  = 5 * time.Millisecond
	catchUpLimit = 5 * time.Second
)

// Directory answers the admin API's questions about instances from the read models, never from the actors:
// the instances table joined with the instance view and the webhook targets. Before it answers, it waits for
// those read models to reach the stream's position at the time of the question, so that a client reads its own
// writes (a webhook URL it has just set shows in the next GET).
type Directory struct {
	db       *sql.DB
	view     InstanceView
	webhooks WebhookTargets
	stream   StreamPosition
}

// NewDirectory returns the admin view of instances over db's instances table and the read models.
func NewDirectory(db *sql.DB, view InstanceView, webhooks WebhookTargets, stream StreamPosition) *Directory {
	return &Directory{db: db, view: view, webhooks: webhooks, stream: stream}
}

// ListInstances returns the page q selects and how many instances match in all.
func (d *Directory) ListInstances(ctx context.Context, q InstanceQuery) ([]InstanceInfo, int, error) {
	if err := d.catchUp(ctx); err != nil {
		return nil, 0, err
	}
	all, err := store.ListInstances(ctx, d.db)
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
	infos, err := d.describe(ctx, page)
	return infos, total, err
}

// Instance describes one instance.
func (d *Directory) Instance(ctx context.Context, id string) (InstanceInfo, error) {
	if err := d.catchUp(ctx); err != nil {
		return InstanceInfo{}, err
	}
	inst, err := store.GetInstance(ctx, d.db, id)
	if errors.Is(err, store.ErrInstanceNotFound) {
		return InstanceInfo{}, ErrInstanceNotFound
	}
	if err != nil {
		return InstanceInfo{}, err
	}
	infos, err := d.describe(ctx, []store.Instance{inst})
	if err != nil {
		return InstanceInfo{}, err
	}
	return infos[0], nil
}

// catchUp waits (up to catchUpLimit) until the read models have applied every event appended before it was
// called: a write the client saw succeed was appended before, in the same transaction as its stream row.
func (d *Directory) catchUp(ctx context.Context) error {
	limit := time.NewTimer(catchUpLimit)
	defer limit.Stop()
	for {
		latest, groups, err := d.stream.Lag(ctx)
		if err != nil {
			return fmt.Errorf("read model position: %w", err)
		}
		behind := false
		for _, g := range groups {
			if g.Group == readModelGroup && g.Acked < latest {
				behind = true
			}
		}
		if !behind {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("read models catching up: %w", ctx.Err())
		case <-limit.C:
			return nil
		case <-time.After(catchUpPoll):
		}
	}
}

// describe joins instances with the read models of their connection and webhooks.
func (d *Directory) describe(ctx context.Context, instances []store.Instance) ([]InstanceInfo, error) {
	views, err := d.view.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("read instance view: %w", err)
	}
	byID := make(map[string]instanceview.Instance, len(views))
	for _, v := range views {
		byID[v.ID] = v
	}
	infos := make([]InstanceInfo, len(instances))
	for i, inst := range instances {
		hooks, err := d.webhooks.Targets(ctx, inst.ID)
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
