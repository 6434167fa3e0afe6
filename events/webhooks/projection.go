package webhooks

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
)

// project is the consumer group's handler: it runs in the group's transaction, so targets and deliveries
// change exactly once per event.
func (w *Webhooks) project(ctx context.Context, tx *sql.Tx, ev *eventsv1.Event) error {
	inst := ev.GetInstanceId()
	switch p := ev.GetPayload().(type) {
	case *eventsv1.Event_WebhookConfigured:
		return w.configure(ctx, tx, inst, p.WebhookConfigured)
	case *eventsv1.Event_InstanceDeleted:
		return w.dropInstance(ctx, tx, inst)
	}

	var vaultKey string
	if m, ok := ev.GetPayload().(*eventsv1.Event_MessageReceived); ok {
		vaultKey = m.MessageReceived.GetVaultKey()
	}
	created := 0
	if len(routes(ev)) > 0 {
		targets, err := loadTargets(ctx, tx, inst)
		if err != nil {
			return err
		}
		planned := plan(ev, targets)
		if len(planned) > 0 {
			blob, err := proto.Marshal(ev)
			if err != nil {
				return fmt.Errorf("marshal event %s: %w", ev.GetId(), err)
			}
			now := time.Now().UnixMilli()
			for _, p := range planned {
				if err := insertDelivery(ctx, tx, ev, blob, p, vaultKey, now, now); err != nil {
					return err
				}
				created++
			}
		}
	}
	if vaultKey != "" && created == 0 {
		// No webhook wants this message's content: it must not outlive this moment.
		if _, err := w.db.Vault().Delete(ctx, tx, vaultKey); err != nil {
			return err
		}
	}
	return nil
}

// planned is one delivery an event makes: its payload (callback) to the URL of a configured webhook (kind).
type planned struct {
	kind     eventsv1.WebhookKind
	callback string
	url      string
	// twin: the same payload goes to another URL too (see removeTarget).
	twin bool
}

// plan returns the deliveries an event makes to the given targets, in the order they are queued.
func plan(ev *eventsv1.Event, targets map[eventsv1.WebhookKind]string) []planned {
	rs := routes(ev)
	// urls holds the distinct URLs each payload goes to: more than one makes twins.
	urls := map[string]map[string]bool{}
	for _, r := range rs {
		if u := targets[r.kind]; u != "" {
			if urls[r.callback] == nil {
				urls[r.callback] = map[string]bool{}
			}
			urls[r.callback][u] = true
		}
	}
	type dedup struct{ url, callback string }
	seen := map[dedup]bool{}
	var out []planned
	for _, r := range rs {
		u := targets[r.kind]
		// One URL configured for two kinds that render the same payload (received and received-delivery)
		// gets it once.
		if u == "" || seen[dedup{u, r.callback}] {
			continue
		}
		seen[dedup{u, r.callback}] = true
		out = append(out, planned{kind: r.kind, callback: r.callback, url: u, twin: len(urls[r.callback]) > 1})
	}
	return out
}

// insertDelivery queues one delivery of ev (marshalled: blob), due at once. vaultKey is where the content of a
// received message is, empty when it has none or no longer has it (see Webhooks.ReplayWebhooks). createdMs
// starts its retention: now, or for a replayed event the event's time.
func insertDelivery(ctx context.Context, tx *sql.Tx, ev *eventsv1.Event, blob []byte, p planned, vaultKey string, createdMs, nowMs int64) error {
	_, err := tx.ExecContext(ctx, insertDeliveries+deliveryRow, deliveryArgs(ev, blob, p, vaultKey, createdMs, nowMs)...)
	if err != nil {
		return fmt.Errorf("queue %s for event %s: %w", p.callback, ev.GetId(), err)
	}
	return nil
}

// insertDeliveries and deliveryRow make an INSERT of rows of deliveryArgs.
const (
	insertDeliveries = `INSERT INTO webhook_deliveries
		(instance_id, url, kind, callback, twin, event_id, seq, event, vault_key, next_attempt_ms, created_ms, queued_ms) VALUES `
	deliveryRow = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

func deliveryArgs(ev *eventsv1.Event, blob []byte, p planned, vaultKey string, createdMs, nowMs int64) []any {
	var vk any
	if vaultKey != "" {
		vk = vaultKey
	}
	return []any{ev.GetInstanceId(), p.url, int32(p.kind), p.callback, p.twin, ev.GetId(), ev.GetSeq(), blob, vk,
		nowMs, createdMs, nowMs}
}

// configure applies a webhook URL change. Pending deliveries of that kind follow it: a receiver that was
// wrong or down can be fixed by pointing the webhook elsewhere, and its backlog (which holds up the
// instance's later webhooks, since they are delivered in order) goes to the new URL at once. Removing the
// webhook drops its pending deliveries, but for those another webhook still wants (see removeTarget).
func (w *Webhooks) configure(ctx context.Context, tx *sql.Tx, inst string, c *eventsv1.WebhookConfigured) error {
	kind := c.GetKind()
	if _, ok := eventsv1.WebhookKind_name[int32(kind)]; !ok || kind == eventsv1.WebhookKind_WEBHOOK_KIND_UNSPECIFIED {
		w.log.Warn("ignoring webhook configuration of unknown kind", "instance_id", inst, "kind", int32(kind))
		return nil
	}
	var err error
	if c.GetUrl() == "" {
		err = w.removeTarget(ctx, tx, inst, kind)
	} else {
		err = w.setTarget(ctx, tx, inst, kind, c.GetUrl())
	}
	if err != nil {
		return fmt.Errorf("configure %s webhook of %s: %w", kind, inst, err)
	}
	return nil
}

func (w *Webhooks) setTarget(ctx context.Context, tx *sql.Tx, inst string, kind eventsv1.WebhookKind, url string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO webhook_targets (instance_id, kind, url) VALUES (?, ?, ?)
		ON CONFLICT (instance_id, kind) DO UPDATE SET url = excluded.url`, inst, int32(kind), url)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET url = ?, next_attempt_ms = ?
		WHERE instance_id = ? AND kind = ? AND state = 'pending' AND url <> ?`,
		url, time.Now().UnixMilli(), inst, int32(kind), url)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		w.log.Info("webhook URL changed: its pending deliveries go to the new one", "instance_id", inst, "kind", kind, "deliveries", n)
	}
	return nil
}

// removeTarget removes a webhook. Its pending deliveries are dropped, except those another webhook still
// wants. Only received and received-delivery share a payload (ReceivedCallback); a message bound for both
// makes one delivery when their URLs are equal, and two "twins" when not. A twin is dropped: the other one
// carries the message. A single delivery moves to the other webhook when that is set: what
// update-every-webhooks does when notifySentByMe switches the received URL to the received-delivery one.
func (w *Webhooks) removeTarget(ctx context.Context, tx *sql.Tx, inst string, kind eventsv1.WebhookKind) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_targets WHERE instance_id = ? AND kind = ?`, inst, int32(kind)); err != nil {
		return err
	}
	targets, err := loadTargets(ctx, tx, inst)
	if err != nil {
		return err
	}
	pending, err := pendingOfKind(ctx, tx, inst, kind)
	if err != nil {
		return err
	}
	var moved, dropped int
	for _, d := range pending {
		if to, ok := otherRoute(d, targets); ok {
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET kind = ?, url = ?, next_attempt_ms = ? WHERE id = ?`,
				int32(to), targets[to], time.Now().UnixMilli(), d.id)
			moved++
		} else {
			if _, err = tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE id = ?`, d.id); err == nil && d.vaultKey != "" {
				err = releaseContent(ctx, tx, w.db, d.vaultKey)
			}
			dropped++
		}
		if err != nil {
			return err
		}
	}
	if moved+dropped > 0 {
		w.log.Info("webhook removed: its pending deliveries dropped or moved to another webhook that wants them",
			"instance_id", inst, "kind", kind, "dropped", dropped, "moved", moved)
	}
	return nil
}

// otherRoute returns the kind of another configured webhook that wants d's payload, unless d has a twin.
func otherRoute(d delivery, targets map[eventsv1.WebhookKind]string) (eventsv1.WebhookKind, bool) {
	if d.twin {
		return 0, false
	}
	ev := &eventsv1.Event{}
	if err := proto.Unmarshal(d.event, ev); err != nil {
		return 0, false // undeliverable anyway
	}
	for _, r := range routes(ev) {
		if r.callback == d.callback && targets[r.kind] != "" {
			return r.kind, true
		}
	}
	return 0, false
}

// pendingOfKind returns an instance's pending deliveries of one kind.
func pendingOfKind(ctx context.Context, tx *sql.Tx, inst string, kind eventsv1.WebhookKind) ([]delivery, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, instance_id, callback, twin, event_id, event, COALESCE(vault_key, '')
		FROM webhook_deliveries WHERE instance_id = ? AND kind = ? AND state = 'pending' ORDER BY seq, id`, inst, int32(kind))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []delivery
	for rows.Next() {
		var d delivery
		if err := rows.Scan(&d.id, &d.instanceID, &d.callback, &d.twin, &d.eventID, &d.event, &d.vaultKey); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// dropInstance forgets a deleted instance: its targets, its deliveries (pending and dead) and the inbound
// content they held.
func (w *Webhooks) dropInstance(ctx context.Context, tx *sql.Tx, inst string) error {
	keys, err := vaultKeys(ctx, tx, `SELECT DISTINCT vault_key FROM webhook_deliveries
		WHERE instance_id = ? AND vault_key IS NOT NULL`, inst)
	if err != nil {
		return fmt.Errorf("drop webhooks of %s: %w", inst, err)
	}
	for _, k := range keys {
		if _, err := w.db.Vault().Delete(ctx, tx, k); err != nil {
			return err
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE instance_id = ?`, inst)
	if err != nil {
		return fmt.Errorf("drop webhooks of %s: %w", inst, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_targets WHERE instance_id = ?`, inst); err != nil {
		return fmt.Errorf("drop webhooks of %s: %w", inst, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		w.log.Info("instance deleted: dropped its webhook deliveries", "instance_id", inst, "deliveries", n)
	}
	return nil
}

// vaultKeys runs a query selecting vault keys.
func vaultKeys(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

func loadTargets(ctx context.Context, q store.Querier, inst string) (map[eventsv1.WebhookKind]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT kind, url FROM webhook_targets WHERE instance_id = ?`, inst)
	if err != nil {
		return nil, fmt.Errorf("webhook targets of %s: %w", inst, err)
	}
	defer rows.Close()
	out := map[eventsv1.WebhookKind]string{}
	for rows.Next() {
		var kind int32
		var u string
		if err := rows.Scan(&kind, &u); err != nil {
			return nil, fmt.Errorf("webhook targets of %s: %w", inst, err)
		}
		out[eventsv1.WebhookKind(kind)] = u
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("webhook targets of %s: %w", inst, err)
	}
	return out, nil
}
