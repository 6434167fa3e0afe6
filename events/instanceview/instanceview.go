// Package instanceview is the instance read model: per instance its connection state, linked phone, last state
// change and queue depth, maintained from the event stream as a part of the projections consumer group
// (events/consumers). The admin API lists instances from it and the metrics read their gauges from it.
//
// It trails the event log by the consumer's latency (milliseconds): an instance actor answers about itself
// from its own state; this view answers about all instances at once.
package instanceview

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/plugzapi/plugzapi/events"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
)

// partName is the view's part name; it was the view's own consumer group's name before the read models shared
// one (see events.Part).
const partName = "instance_view"

// ErrNotFound is returned by [View.Get] for an instance the view does not hold.
var ErrNotFound = errors.New("instanceview: instance not found")

// States an instance can be in, as the view names them.
const (
	StateNew          = "new"          // created, never linked
	StatePairing      = "pairing"      // showing QR codes
	StatePaired       = "paired"       // a phone linked it; not yet connected
	StateConnected    = "connected"    // logged in to WhatsApp
	StateDisconnected = "disconnected" // linked, connection lost (it reconnects on its own)
	StateLoggedOut    = "logged_out"   // the link is gone; a new QR scan is needed
)

// Instance is one row of the view.
type Instance struct {
	ID        string
	Name      string
	State     string
	Connected bool
	// Phone is the digits of the linked number; empty until linked and after logout.
	Phone string
	// StateChanged is when State last changed.
	StateChanged time.Time
	// QueueDepth is the number of messages queued and not yet sent, failed or cancelled.
	QueueDepth int64
	Created    time.Time
	// LastSeq is the last event of the instance the view has applied.
	LastSeq int64
}

// Totals summarizes all instances.
type Totals struct {
	Instances  int64
	Connected  int64
	QueueDepth int64
}

// migrations are the package's tables, per dialect (see store.DB.Migrate).
//
//go:embed migrations
var migrations embed.FS

// View is the instance read model. Create it with [New]; its [View.Part] keeps it up to date.
type View struct {
	db *sql.DB
}

// New migrates the view's table.
func New(ctx context.Context, db *store.DB) (*View, error) {
	if err := db.Migrate(ctx, "instanceview", migrations); err != nil {
		return nil, err
	}
	return &View{db: db.SQL()}, nil
}

// Part is the view's part of a consumer group (see events.Log.Consume).
func (v *View) Part() events.Part {
	return events.Part{Name: partName, Handle: v.apply}
}

// apply folds one event into the view, inside the consumer group's transaction.
func (v *View) apply(ctx context.Context, tx *sql.Tx, ev *eventsv1.Event) error {
	inst, seq, at := ev.GetInstanceId(), ev.GetSeq(), ev.GetTimeMs()
	if _, ok := ev.GetPayload().(*eventsv1.Event_InstanceDeleted); ok {
		if _, err := tx.ExecContext(ctx, `DELETE FROM instance_view WHERE instance_id = ?`, inst); err != nil {
			return fmt.Errorf("delete %s from view: %w", inst, err)
		}
		return nil
	}
	var set string
	var args []any
	state := func(s string, connected bool) {
		set = `state = ?, connected = ?, state_changed_ms = ?`
		args = []any{s, connected, at}
	}
	switch p := ev.GetPayload().(type) {
	case *eventsv1.Event_InstanceCreated:
		set, args = `name = ?, created_ms = ?`, []any{p.InstanceCreated.GetName(), at}
	case *eventsv1.Event_QrCodeIssued:
		set, args = `state = ?, state_changed_ms = ?`, []any{StatePairing, at}
	case *eventsv1.Event_Paired:
		state(StatePaired, false)
		set += `, phone = ?`
		args = append(args, phoneOfJID(p.Paired.GetJid()))
	case *eventsv1.Event_Connected:
		state(StateConnected, true)
		if phone := p.Connected.GetPhone(); phone != "" {
			set += `, phone = ?`
			args = append(args, phone)
		}
	case *eventsv1.Event_Disconnected:
		state(StateDisconnected, false)
	case *eventsv1.Event_LoggedOut:
		state(StateLoggedOut, false)
		set += `, phone = ''`
	case *eventsv1.Event_MessageQueued:
		set = `queue_depth = queue_depth + 1`
	case *eventsv1.Event_MessageSent, *eventsv1.Event_MessageFailed, *eventsv1.Event_MessageCancelled:
		set = `queue_depth = CASE WHEN queue_depth > 0 THEN queue_depth - 1 ELSE 0 END`
	}
	if set != "" {
		set += ", "
	}
	// last_seq guards against applying an event twice should the view ever be fed one again.
	q := `UPDATE instance_view SET ` + set + `last_seq = ? WHERE instance_id = ? AND last_seq < ?`
	args = append(args, seq, inst, seq)
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("apply %s seq %d to view: %w", inst, seq, err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	// No row changed: the instance's first event (or one applied before). Add the row, then apply. One
	// statement per event instead of two: the view sees every event of every instance.
	if _, err := tx.ExecContext(ctx, `INSERT INTO instance_view (instance_id, created_ms, state_changed_ms) VALUES (?, ?, ?)
		ON CONFLICT (instance_id) DO NOTHING`, inst, at, at); err != nil {
		return fmt.Errorf("add %s to view: %w", inst, err)
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("apply %s seq %d to view: %w", inst, seq, err)
	}
	return nil
}

// phoneOfJID returns the user part of a JID: "5511999990000:3@s.whatsapp.net" → "5511999990000".
func phoneOfJID(jid string) string {
	user, _, _ := strings.Cut(jid, "@")
	user, _, _ = strings.Cut(user, ":")
	return user
}

const columns = `instance_id, name, state, connected, phone, state_changed_ms, queue_depth, created_ms, last_seq`

func scan(row interface{ Scan(...any) error }) (Instance, error) {
	var i Instance
	var changed, created int64
	if err := row.Scan(&i.ID, &i.Name, &i.State, &i.Connected, &i.Phone, &changed, &i.QueueDepth, &created, &i.LastSeq); err != nil {
		return Instance{}, err
	}
	i.StateChanged, i.Created = time.UnixMilli(changed), time.UnixMilli(created)
	return i, nil
}

// Get returns one instance, or [ErrNotFound].
func (v *View) Get(ctx context.Context, id string) (Instance, error) {
	i, err := scan(v.db.QueryRowContext(ctx, `SELECT `+columns+` FROM instance_view WHERE instance_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Instance{}, ErrNotFound
	}
	if err != nil {
		return Instance{}, fmt.Errorf("instanceview: get %s: %w", id, err)
	}
	return i, nil
}

// List returns all instances, oldest first.
func (v *View) List(ctx context.Context) ([]Instance, error) {
	rows, err := v.db.QueryContext(ctx, `SELECT `+columns+` FROM instance_view ORDER BY created_ms, instance_id`)
	if err != nil {
		return nil, fmt.Errorf("instanceview: list: %w", err)
	}
	defer rows.Close()
	var out []Instance
	for rows.Next() {
		i, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("instanceview: list: %w", err)
		}
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("instanceview: list: %w", err)
	}
	return out, nil
}

// Totals counts instances, connected instances and queued messages over all instances.
func (v *View) Totals(ctx context.Context) (Totals, error) {
	var t Totals
	// connected is a BOOLEAN on Postgres, which SUM does not take; CASE counts it in either dialect.
	err := v.db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN connected THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(queue_depth), 0) FROM instance_view`).Scan(&t.Instances, &t.Connected, &t.QueueDepth)
	if err != nil {
		return Totals{}, fmt.Errorf("instanceview: totals: %w", err)
	}
	return t, nil
}
