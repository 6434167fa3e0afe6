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
	if rs := routes(ev); len(rs) > 0 {
		targets, err := loadTargets(ctx, tx, inst)
		if err != nil {
			return err
		}
		var blob []byte
		type dedup struct{ url, callback string }
		seen := map[dedup]bool{}
		now := time.Now().UnixMilli()
		for _, r := range rs {
			u := targets[r.kind]
			// One URL configured for two kinds that render the same payload (received and received-delivery)
			// gets it once.
			if u == "" || seen[dedup{u, r.callback}] {
				continue
			}
			seen[dedup{u, r.callback}] = true
			if blob == nil {
				if blob, err = proto.Marshal(ev); err != nil {
					return fmt.Errorf("marshal event %s: %w", ev.GetId(), err)
				}
			}
			var vk any
			if vaultKey != "" {
				vk = vaultKey
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries
				(instance_id, url, kind, callback, event_id, event, vault_key, next_attempt_ms, created_ms)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, inst, u, int32(r.kind), r.callback, ev.GetId(), blob, vk, now, now)
			if err != nil {
				return fmt.Errorf("queue %s for event %s: %w", r.callback, ev.GetId(), err)
			}
			created++
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

// configure applies a webhook URL change. Pending deliveries of that kind follow it: a receiver that was
// wrong or down can be fixed by pointing the webhook elsewhere, and its backlog (which holds up the
// instance's later webhooks, since they are delivered in order) goes to the new URL at once. Removing the
// webhook drops its pending deliveries: nobody wants them any more.
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

func (w *Webhooks) removeTarget(ctx context.Context, tx *sql.Tx, inst string, kind eventsv1.WebhookKind) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_targets WHERE instance_id = ? AND kind = ?`, inst, int32(kind)); err != nil {
		return err
	}
	keys, err := vaultKeys(ctx, tx, `SELECT DISTINCT vault_key FROM webhook_deliveries
		WHERE instance_id = ? AND kind = ? AND state = 'pending' AND vault_key IS NOT NULL`, inst, int32(kind))
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE instance_id = ? AND kind = ? AND state = 'pending'`, inst, int32(kind))
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := releaseContent(ctx, tx, w.db.Vault(), k); err != nil {
			return err
		}
	}
	if n, _ := res.RowsAffected(); n > 0 {
		w.log.Info("webhook removed: dropped its pending deliveries", "instance_id", inst, "kind", kind, "deliveries", n)
	}
	return nil
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
