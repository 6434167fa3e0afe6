package webhooks

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/events"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
)

// The operator's side: an instance's backlog ([Webhooks.WebhookStatus], [Webhooks.WebhookDeliveries]), dead
// letters sent again ([Webhooks.RedeliverWebhooks]) and webhooks sent again from the event log
// ([Webhooks.ReplayWebhooks]).
//
// Both put deliveries back in the instance's queue under their webhook IDs (event ID and callback type), so a
// receiver that de-duplicates on X-Plugzapi-Webhook-Id takes each webhook once. The queue is in the order of
// the instance's events (see heads): a delivery queued again takes its event's place among the pending ones,
// before those of newer events, and the instance's webhooks keep going out one at a time in event order. (A
// webhook already in flight finishes first; newer webhooks delivered before the dead letter was sent again
// have been delivered: the receiver sees the old one after them.)
//
// A delivery queued again is due at once, with its attempts counted from zero and Config.DeadAfter from now;
// the retention of a dead letter still counts from its event (see Delivery.Created).
// A received message's content lives only until its webhooks are done (the server keeps no messages): a
// delivery queued again after that carries the message without its content (see render).

// Delivery states.
const (
	StatePending = "pending"
	StateDead    = "dead"
)

// Reasons a dead letter was not sent again.
const (
	// ReasonNotFound: the instance has no dead letter with that ID (never, delivered, or deleted by retention).
	ReasonNotFound = "not_found"
	// ReasonNoWebhook: no webhook of the instance takes that payload any more.
	ReasonNoWebhook = "no_webhook"
)

// Limits of the admin API.
const (
	// MaxRedeliverIDs is the most dead letters one RedeliverWebhooks names.
	MaxRedeliverIDs = 1000
	// MaxRedeliverAll is the most dead letters one RedeliverWebhooks of all queues again (the oldest): it does
	// so in one transaction. The others are Redelivered.Remaining, for the next call.
	MaxRedeliverAll = 50_000
	// MaxReplayEvents is the most events one ReplayWebhooks goes through: it queues them in one transaction, which
	// holds SQLite's write lock meanwhile. A longer history is replayed from later starting points.
	MaxReplayEvents = 50_000
	// MaxDeliveryPage is the most deliveries one page of WebhookDeliveries returns.
	MaxDeliveryPage = 500
)

// projectionWait bounds how long ReplayWebhooks waits for the projection to catch up with the stream.
const projectionWait = 10 * time.Second

var (
	// ErrInstanceNotFound: no instance has that ID.
	ErrInstanceNotFound = errors.New("webhooks: no such instance")
	// ErrEventNotFound: the instance has no event with that ID in the log (never, or no longer kept).
	ErrEventNotFound = errors.New("webhooks: the instance has no event with that ID in its history")
	// ErrBeyondRetention: a replay's starting time is older than the retention; the history before the
	// retention may be gone in part.
	ErrBeyondRetention = errors.New("webhooks: the starting time is older than the retention")
	// ErrReplayTooLarge: a replay would go through more than MaxReplayEvents events.
	ErrReplayTooLarge = errors.New("webhooks: the replay would go through too many events")
	// ErrBehind: the projection has not caught up with the stream in time, so a replay cannot tell which
	// events have had their deliveries queued yet. Retry.
	ErrBehind = errors.New("webhooks: the webhook projection is behind the event stream")
)

// Delivery is one row of an instance's webhook queue or dead letters.
type Delivery struct {
	ID int64
	// EventID and Seq are the event's; Callback is the payload's type.
	EventID  string
	Seq      int64
	Callback string
	Kind     eventsv1.WebhookKind
	URL      string
	State    string
	// Attempts counts the failed attempts, since the delivery was last queued.
	Attempts  int
	LastError string
	// Created is when the delivery was first queued, for a replayed one its event's time: the retention counts
	// from it. Queued is when it was last queued (by the projection, a redelivery or a replay): its dead-letter
	// age counts from then.
	Created, Queued time.Time
	// NextAttempt is when a pending delivery is tried next (zero for a dead letter).
	NextAttempt time.Time
	// Dead is when it was dead-lettered (zero while pending).
	Dead time.Time
}

// WebhookID is the X-Plugzapi-Webhook-Id of the delivery's requests.
func (d Delivery) WebhookID() string { return d.EventID + "-" + d.Callback }

// Status is an instance's webhooks and their backlog.
type Status struct {
	// Targets are the configured webhook URLs by kind.
	Targets map[eventsv1.WebhookKind]string
	// SecretSet: the webhooks are signed.
	SecretSet bool
	// Pending and Dead count the instance's deliveries in each state.
	Pending, Dead int
	// OldestPending is when the oldest pending delivery was first queued (see Delivery.Created; zero when none
	// is).
	OldestPending time.Time
	// Next is the pending delivery that goes (or is going) next, nil when none.
	Next *Delivery
}

// DeliveryQuery selects a page of an instance's deliveries, newest (highest ID) first.
type DeliveryQuery struct {
	// State is StatePending, StateDead, or empty for both.
	State string
	// Limit is the page's size, 1 to MaxDeliveryPage.
	Limit int
	// Before, when positive, continues a listing: deliveries with lower IDs only.
	Before int64
}

// Redelivered is what RedeliverWebhooks did.
type Redelivered struct {
	// Redelivered counts the dead letters queued again; WithoutContent those of them whose received message
	// has lost its content.
	Redelivered, WithoutContent int
	// NotRequeued are the dead letters named (or, for all, found) that were not queued again, and why.
	NotRequeued []NotRequeued
	// Remaining counts, for all, the dead letters past MaxRedeliverAll not looked at: call again.
	Remaining int
}

// NotRequeued is a dead letter RedeliverWebhooks left as it was.
type NotRequeued struct {
	ID     int64
	Reason string // ReasonNotFound or ReasonNoWebhook
}

// ReplayFrom is where a replay starts: at an event, or at the first event at or after a time.
type ReplayFrom struct {
	EventID string
	Time    time.Time
}

// Replayed is what ReplayWebhooks did.
type Replayed struct {
	// Replayed counts the deliveries queued: new ones for webhooks that were delivered, and dead letters
	// queued again. WithoutContent counts those of them whose received message has lost its content.
	Replayed, WithoutContent int
	// AlreadyPending counts the webhooks of the range that were still pending: they go out once, in place.
	AlreadyPending int
	// Events counts the events gone through; FirstSeq and LastSeq bound them (zero when none).
	Events            int
	FirstSeq, LastSeq int64
}

// deliveryColumns are read by scanDelivery.
const deliveryColumns = `id, event_id, seq, callback, kind, url, state, attempts, last_error, created_ms,
	queued_ms, next_attempt_ms, COALESCE(dead_ms, 0)`

func scanDelivery(row interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var kind int32
	var created, queued, next, deadMs int64
	err := row.Scan(&d.ID, &d.EventID, &d.Seq, &d.Callback, &kind, &d.URL, &d.State, &d.Attempts, &d.LastError,
		&created, &queued, &next, &deadMs)
	if err != nil {
		return d, err
	}
	d.Kind, d.Created, d.Queued = eventsv1.WebhookKind(kind), time.UnixMilli(created), time.UnixMilli(max(created, queued))
	if d.State == StateDead {
		d.Dead = time.UnixMilli(deadMs)
	} else {
		d.NextAttempt = time.UnixMilli(next)
	}
	return d, nil
}

// instanceSecret returns the instance's webhook secret, or ErrInstanceNotFound.
func instanceSecret(ctx context.Context, q store.Querier, inst string) (string, error) {
	var secret string
	err := q.QueryRowContext(ctx, `SELECT webhook_secret FROM instances WHERE id = ?`, inst).Scan(&secret)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrInstanceNotFound
	}
	if err != nil {
		return "", fmt.Errorf("webhooks: instance %s: %w", inst, err)
	}
	return secret, nil
}

// WebhookStatus describes the instance's webhooks and backlog.
func (w *Webhooks) WebhookStatus(ctx context.Context, inst string) (Status, error) {
	q := w.db.SQL()
	secret, err := instanceSecret(ctx, q, inst)
	if err != nil {
		return Status{}, err
	}
	st := Status{SecretSet: secret != ""}
	if st.Targets, err = loadTargets(ctx, q, inst); err != nil {
		return Status{}, err
	}
	var oldest sql.NullInt64
	err = q.QueryRowContext(ctx, `SELECT COUNT(*), MIN(created_ms) FROM webhook_deliveries
		WHERE state = 'pending' AND instance_id = ?`, inst).Scan(&st.Pending, &oldest)
	if err == nil {
		err = q.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'dead' AND instance_id = ?`,
			inst).Scan(&st.Dead)
	}
	if err != nil {
		return Status{}, fmt.Errorf("webhooks: backlog of %s: %w", inst, err)
	}
	if oldest.Valid {
		st.OldestPending = time.UnixMilli(oldest.Int64)
		next, err := scanDelivery(q.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries
			WHERE state = 'pending' AND instance_id = ? ORDER BY seq, id LIMIT 1`, inst))
		switch {
		case err == nil:
			st.Next = &next
		case !errors.Is(err, sql.ErrNoRows): // delivered meanwhile
			return Status{}, fmt.Errorf("webhooks: next delivery of %s: %w", inst, err)
		}
	}
	return st, nil
}

// WebhookDeliveries returns a page of the instance's deliveries, newest first, and the Before of the next page (0
// when this is the last).
func (w *Webhooks) WebhookDeliveries(ctx context.Context, inst string, dq DeliveryQuery) (page []Delivery, next int64, err error) {
	if dq.Limit < 1 || dq.Limit > MaxDeliveryPage {
		return nil, 0, fmt.Errorf("webhooks: page size %d out of range", dq.Limit)
	}
	states := []string{StatePending, StateDead}
	switch dq.State {
	case "":
	case StatePending, StateDead:
		states = []string{dq.State}
	default:
		return nil, 0, fmt.Errorf("webhooks: unknown delivery state %q", dq.State)
	}
	before := dq.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	q := w.db.SQL()
	if _, err := instanceSecret(ctx, q, inst); err != nil {
		return nil, 0, err
	}
	// One state at a time, each along its index, then merged: one more than the page tells whether there is
	// a next.
	for _, state := range states {
		rows, err := q.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries
			WHERE state = ? AND instance_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, state, inst, before, dq.Limit+1)
		if err != nil {
			return nil, 0, fmt.Errorf("webhooks: deliveries of %s: %w", inst, err)
		}
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				rows.Close()
				return nil, 0, fmt.Errorf("webhooks: deliveries of %s: %w", inst, err)
			}
			page = append(page, d)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, 0, fmt.Errorf("webhooks: deliveries of %s: %w", inst, err)
		}
	}
	slices.SortFunc(page, func(a, b Delivery) int { return cmp.Compare(b.ID, a.ID) })
	if len(page) > dq.Limit {
		page = page[:dq.Limit]
		next = page[len(page)-1].ID
	}
	return page, next, nil
}

// deadLetter is a dead letter RedeliverWebhooks may queue again.
type deadLetter struct {
	delivery
	seq  int64
	kind eventsv1.WebhookKind
}

// RedeliverWebhooks queues the instance's dead letters with the given IDs (nil: all of them) again, at their events'
// places in the instance's queue, under the same webhook IDs, to the URL their webhook has now. A dead letter
// whose webhook was removed goes to another webhook that takes the same payload (as a pending delivery would
// have: see removeTarget), or stays dead. All are queued in one transaction.
func (w *Webhooks) RedeliverWebhooks(ctx context.Context, inst string, ids []int64) (Redelivered, error) {
	if ids != nil && (len(ids) == 0 || len(ids) > MaxRedeliverIDs) {
		return Redelivered{}, fmt.Errorf("webhooks: redeliver %d dead letters: 1 to %d at a time", len(ids), MaxRedeliverIDs)
	}
	if _, err := instanceSecret(ctx, w.db.SQL(), inst); err != nil {
		return Redelivered{}, err
	}
	ids = uniqueIDs(ids)
	var out Redelivered
	err := w.writeLong(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out = Redelivered{NotRequeued: []NotRequeued{}}
		targets, err := loadTargets(ctx, tx, inst)
		if err != nil {
			return err
		}
		found := map[int64]bool{}
		now := time.Now().UnixMilli()
		var after deadLetter
		for looked := 0; ; {
			limit := min(deadLetterPage, redeliverAllCap-looked)
			dead, err := deadLetters(ctx, tx, inst, ids, after, limit)
			if err != nil {
				return err
			}
			for _, d := range dead {
				if err := w.redeliver(ctx, tx, d, targets, now, &out); err != nil {
					return err
				}
				found[d.id] = true
			}
			looked += len(dead)
			if len(dead) < limit {
				break
			}
			after = dead[len(dead)-1]
			if looked == redeliverAllCap {
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'dead'
					AND instance_id = ? AND (seq > ? OR (seq = ? AND id > ?))`, inst, after.seq, after.seq, after.id).
					Scan(&out.Remaining); err != nil {
					return err
				}
				break
			}
		}
		for _, id := range ids {
			if !found[id] {
				out.NotRequeued = append(out.NotRequeued, NotRequeued{ID: id, Reason: ReasonNotFound})
			}
		}
		return nil
	})
	if err != nil {
		return Redelivered{}, fmt.Errorf("webhooks: redeliver dead letters of %s: %w", inst, err)
	}
	if out.Redelivered > 0 {
		w.log.Info("dead-lettered webhooks queued again", "instance_id", inst, "deliveries", out.Redelivered,
			"without_content", out.WithoutContent, "skipped", len(out.NotRequeued))
		w.requeued(SourceRedelivery, out.Redelivered)
	}
	return out, nil
}

// redeliver queues one dead letter again, or reports why not.
func (w *Webhooks) redeliver(ctx context.Context, tx *sql.Tx, d deadLetter, targets map[eventsv1.WebhookKind]string,
	nowMs int64, out *Redelivered) error {
	kind := d.kind
	if targets[kind] == "" {
		other, ok := otherRoute(d.delivery, targets)
		if !ok {
			out.NotRequeued = append(out.NotRequeued, NotRequeued{ID: d.id, Reason: ReasonNoWebhook})
			return nil
		}
		kind = other
	}
	kept, err := w.keepContent(ctx, tx, d.vaultKey)
	if err != nil {
		return err
	}
	ok, err := requeue(ctx, tx, d.id, kind, targets[kind], kept, nowMs)
	switch {
	case err != nil:
		return err
	case !ok: // deleted by the retention meanwhile
		out.NotRequeued = append(out.NotRequeued, NotRequeued{ID: d.id, Reason: ReasonNotFound})
		return nil
	}
	out.Redelivered++
	if d.vaultKey != "" && kept == "" {
		out.WithoutContent++
	}
	return nil
}

func uniqueIDs(ids []int64) []int64 {
	if ids == nil {
		return nil
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return slices.Compact(ids)
}

// deadLetterPage is how many dead letters RedeliverWebhooks reads at a time.
const deadLetterPage = 500

// redeliverAllCap is MaxRedeliverAll; tests lower it.
var redeliverAllCap = MaxRedeliverAll

// deadLetters reads a page of the instance's dead letters with the given IDs (nil: all), in queue order, after
// the given one (the zero deadLetter: from the first). It reads the whole page before the caller writes: pgx runs
// one statement at a time on a connection.
func deadLetters(ctx context.Context, tx *sql.Tx, inst string, ids []int64, after deadLetter, limit int) ([]deadLetter, error) {
	query := `SELECT id, seq, kind, callback, twin, event_id, event, COALESCE(vault_key, '') FROM webhook_deliveries
		WHERE state = 'dead' AND instance_id = ? AND (seq > ? OR (seq = ? AND id > ?))`
	args := []any{inst, after.seq, after.seq, after.id}
	if ids != nil {
		query += ` AND id IN (?` + strings.Repeat(", ?", len(ids)-1) + `)`
		for _, id := range ids {
			args = append(args, id)
		}
	}
	rows, err := tx.QueryContext(ctx, query+` ORDER BY seq, id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []deadLetter
	for rows.Next() {
		var d deadLetter
		var kind int32
		if err := rows.Scan(&d.id, &d.seq, &kind, &d.callback, &d.twin, &d.eventID, &d.event, &d.vaultKey); err != nil {
			return nil, err
		}
		d.instanceID, d.kind = inst, eventsv1.WebhookKind(kind)
		out = append(out, d)
	}
	return out, rows.Err()
}

// requeue makes a dead letter pending again: due at once, its attempts and deadline counted afresh, to url.
// vaultKey is its content's key, empty when the content is gone. It reports false when the dead letter is gone
// (deleted by the retention since it was read).
func requeue(ctx context.Context, tx *sql.Tx, id int64, kind eventsv1.WebhookKind, url, vaultKey string, nowMs int64) (bool, error) {
	var vk any
	if vaultKey != "" {
		vk = vaultKey
	}
	res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'pending', kind = ?, url = ?, vault_key = ?,
		attempts = 0, last_error = '', dead_ms = NULL, queued_ms = ?, next_attempt_ms = ?
		WHERE id = ? AND state = 'dead'`, int32(kind), url, vk, nowMs, nowMs, id)
	if err != nil {
		return false, fmt.Errorf("queue dead letter %d again: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("queue dead letter %d again: %w", id, err)
	}
	return n > 0, nil
}

// keepContent returns key when the vault still holds a received message's content under it, so that a delivery
// queued again in tx carries it (and, pending, keeps it from being deleted: see releaseContent), and "" when
// the content is gone (or there is none).
func (w *Webhooks) keepContent(ctx context.Context, tx *sql.Tx, key string) (string, error) {
	if key == "" {
		return "", nil
	}
	// Serialized with releaseContent: the content cannot be deleted between this check and the commit.
	if err := lockContent(ctx, tx, w.db, key); err != nil {
		return "", err
	}
	raw, err := w.db.Vault().GetIn(ctx, tx, key)
	if errors.Is(err, store.ErrVaultNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	clear(raw)
	return key, nil
}

// existing is a pending or dead delivery of an event in a replay's range.
type existing struct {
	id    int64
	state string
}

// deliveryKey names the delivery of one payload of one event to one webhook.
type deliveryKey struct {
	eventID, callback string
	kind              eventsv1.WebhookKind
}

// ReplayWebhooks queues the instance's webhooks again, from the log's events from a starting point on (as far back as
// the retention keeps them) to the last one whose deliveries the projection has queued: to the webhooks the
// instance has now, at the events' places in its queue, under the same webhook IDs. A webhook of the range
// that is still pending is left in place (it goes out once); a dead letter of the range is queued again, as
// RedeliverWebhooks does; the others are queued anew. All in one transaction.
//
// Errors: ErrInstanceNotFound, ErrEventNotFound (the event is not the instance's, or no longer kept),
// ErrBeyondRetention, ErrReplayTooLarge, ErrBehind.
func (w *Webhooks) ReplayWebhooks(ctx context.Context, inst string, from ReplayFrom) (Replayed, error) {
	q := w.db.SQL()
	if _, err := instanceSecret(ctx, q, inst); err != nil {
		return Replayed{}, err
	}
	var first int64
	if from.EventID != "" {
		err := q.QueryRowContext(ctx, `SELECT seq FROM instance_events WHERE id = ? AND instance_id = ?`,
			from.EventID, inst).Scan(&first)
		if errors.Is(err, sql.ErrNoRows) {
			return Replayed{}, ErrEventNotFound
		}
		if err != nil {
			return Replayed{}, fmt.Errorf("webhooks: replay %s: find event %s: %w", inst, from.EventID, err)
		}
	} else {
		if from.Time.Before(time.Now().Add(-w.cfg.Retention)) {
			return Replayed{}, ErrBeyondRetention
		}
		var seq sql.NullInt64
		err := q.QueryRowContext(ctx, `SELECT MIN(seq) FROM instance_events WHERE instance_id = ? AND time_ms >= ?`,
			inst, from.Time.UnixMilli()).Scan(&seq)
		if err != nil {
			return Replayed{}, fmt.Errorf("webhooks: replay %s: find the first event: %w", inst, err)
		}
		if !seq.Valid {
			return Replayed{}, nil
		}
		first = seq.Int64
	}
	// The range ends at the instance's last event as of now, read before the stream's latest offset: once the
	// projection has handled that offset, every event of the range has had its deliveries queued, and the
	// replay neither queues an event before the projection does nor misses one.
	last, err := w.events.LastSeq(ctx, inst)
	if err != nil {
		return Replayed{}, fmt.Errorf("webhooks: replay %s: %w", inst, err)
	}
	if err := w.projected(ctx); err != nil {
		return Replayed{}, err
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM instance_events WHERE instance_id = ? AND seq >= ? AND seq <= ?`,
		inst, first, last).Scan(&n); err != nil {
		return Replayed{}, fmt.Errorf("webhooks: replay %s: %w", inst, err)
	}
	if n > MaxReplayEvents {
		return Replayed{}, fmt.Errorf("%w: %d events from seq %d (at most %d)", ErrReplayTooLarge, n, first, MaxReplayEvents)
	}

	var out Replayed
	err = w.writeLong(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out = Replayed{}
		targets, err := loadTargets(ctx, tx, inst)
		if err != nil {
			return err
		}
		queued, err := queuedBetween(ctx, tx, inst, first, last)
		if err != nil {
			return err
		}
		now := time.Now().UnixMilli()
		for after := first - 1; ; {
			page, err := eventsBetween(ctx, tx, inst, after, last)
			if err != nil {
				return err
			}
			var batch deliveryBatch
			for _, e := range page {
				if err := w.replayEvent(ctx, tx, e, targets, queued, now, &batch, &out); err != nil {
					return err
				}
			}
			if err := batch.flush(ctx, tx); err != nil {
				return err
			}
			if len(page) < replayPage {
				return nil
			}
			after = page[len(page)-1].ev.GetSeq()
		}
	})
	if err != nil {
		return Replayed{}, fmt.Errorf("webhooks: replay %s from seq %d: %w", inst, first, err)
	}
	w.log.Info("webhooks replayed", "instance_id", inst, "from_seq", out.FirstSeq, "to_seq", out.LastSeq,
		"events", out.Events, "deliveries", out.Replayed, "already_pending", out.AlreadyPending,
		"without_content", out.WithoutContent)
	if out.Replayed > 0 {
		w.requeued(SourceReplay, out.Replayed)
	}
	return out, nil
}

// storedEvent is an event as the log keeps it: decoded, and its encoding (a delivery's event column).
type storedEvent struct {
	ev   *eventsv1.Event
	blob []byte
}

// replayPage is how many events ReplayWebhooks reads at a time.
const replayPage = 500

// eventsBetween reads a page of the instance's events with after < seq ≤ last, in order. It reads the whole page
// before the caller writes: pgx runs one statement at a time on a connection.
func eventsBetween(ctx context.Context, tx *sql.Tx, inst string, after, last int64) ([]storedEvent, error) {
	rows, err := tx.QueryContext(ctx, `SELECT payload FROM instance_events WHERE instance_id = ? AND seq > ? AND seq <= ?
		ORDER BY seq LIMIT ?`, inst, after, last, replayPage)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storedEvent
	for rows.Next() {
		var blob []byte
		if err := rows.Scan(&blob); err != nil {
			return nil, err
		}
		ev := &eventsv1.Event{}
		if err := proto.Unmarshal(blob, ev); err != nil {
			return nil, fmt.Errorf("read event after seq %d: %w", after, err)
		}
		out = append(out, storedEvent{ev: ev, blob: blob})
	}
	return out, rows.Err()
}

// queuedBetween returns the instance's pending and dead deliveries of the events first ≤ seq ≤ last.
func queuedBetween(ctx context.Context, tx *sql.Tx, inst string, first, last int64) (map[deliveryKey]existing, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, event_id, callback, kind, state FROM webhook_deliveries
		WHERE state IN ('pending', 'dead') AND instance_id = ? AND seq >= ? AND seq <= ?`, inst, first, last)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[deliveryKey]existing{}
	for rows.Next() {
		var k deliveryKey
		var e existing
		var kind int32
		if err := rows.Scan(&e.id, &k.eventID, &k.callback, &kind, &e.state); err != nil {
			return nil, err
		}
		k.kind = eventsv1.WebhookKind(kind)
		out[k] = e
	}
	return out, rows.Err()
}

// replayEvent queues one event's webhooks again (see ReplayWebhooks).
func (w *Webhooks) replayEvent(ctx context.Context, tx *sql.Tx, e storedEvent, targets map[eventsv1.WebhookKind]string,
	queued map[deliveryKey]existing, nowMs int64, batch *deliveryBatch, out *Replayed) error {
	ev := e.ev
	out.Events++
	if out.FirstSeq == 0 {
		out.FirstSeq = ev.GetSeq()
	}
	out.LastSeq = ev.GetSeq()
	for _, p := range plan(ev, targets) {
		prev, ok := queued[deliveryKey{ev.GetId(), p.callback, p.kind}]
		if ok && prev.state == StatePending {
			out.AlreadyPending++
			continue
		}
		vaultKey := ev.GetMessageReceived().GetVaultKey()
		kept, err := w.keepContent(ctx, tx, vaultKey)
		if err != nil {
			return err
		}
		if ok {
			// A dead letter of the range is queued again, unless the retention deleted it meanwhile.
			if ok, err = requeue(ctx, tx, prev.id, p.kind, p.url, kept, nowMs); err != nil {
				return err
			}
		}
		if !ok {
			// The retention counts from the event, as for the delivery the projection made of it.
			if err := batch.add(ctx, tx, deliveryArgs(ev, e.blob, p, kept, min(ev.GetTimeMs(), nowMs), nowMs)); err != nil {
				return err
			}
		}
		out.Replayed++
		if vaultKey != "" && kept == "" {
			out.WithoutContent++
		}
	}
	return nil
}

// deliveryBatch gathers new deliveries (deliveryArgs) into multi-row INSERTs: one statement per row would make
// a replay of thousands of events a round trip each (Postgres), and hold SQLite's write lock for as long.
// Rows are inserted in the order they are added, so a replayed event's deliveries keep their order.
type deliveryBatch struct {
	args []any
	rows int
}

// deliveryBatchRows bounds the rows of one INSERT: 12 values each, well within both databases' limits.
const deliveryBatchRows = 500

func (b *deliveryBatch) add(ctx context.Context, tx *sql.Tx, row []any) error {
	b.args = append(b.args, row...)
	b.rows++
	if b.rows < deliveryBatchRows {
		return nil
	}
	return b.flush(ctx, tx)
}

func (b *deliveryBatch) flush(ctx context.Context, tx *sql.Tx) error {
	if b.rows == 0 {
		return nil
	}
	query := insertDeliveries + deliveryRow + strings.Repeat(", "+deliveryRow, b.rows-1)
	if _, err := tx.ExecContext(ctx, query, b.args...); err != nil {
		return fmt.Errorf("queue %d webhooks again: %w", b.rows, err)
	}
	b.args, b.rows = b.args[:0], 0
	return nil
}

// projected waits until the projection has handled every event appended to the stream before it was called.
func (w *Webhooks) projected(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, projectionWait)
	defer cancel()
	var latest int64
	for first := true; ; first = false {
		l, groups, err := w.events.Lag(ctx)
		if err != nil {
			return behind(parent, fmt.Errorf("webhooks: projection's position: %w", err))
		}
		if first {
			latest = l
		}
		for _, g := range groups {
			if g.Group == events.ProjectionsGroup && g.Acked >= latest {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return behind(parent, ErrBehind)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// behind is projected's error: the caller's context's when it ended, ErrBehind when the wait did, else err.
func behind(parent context.Context, err error) error {
	if parent.Err() != nil {
		return parent.Err()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrBehind
	}
	return err
}

// writeLong runs fn, a write of up to tens of thousands of rows, in one transaction. On SQLite that is in the
// log's write path, where it queues fairly with the appends (there is one writer at a time anyway). On Postgres
// it is a transaction of its own: in the write path it could share a transaction with appends, which take the
// lock that makes every node's appends commit one at a time (see events.Log.Write), and hold it as long.
func (w *Webhooks) writeLong(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if w.db.Dialect() != store.Postgres {
		return w.events.Write(ctx, fn)
	}
	return store.InTx(ctx, w.db.SQL(), func(tx *sql.Tx) error { return fn(ctx, tx) })
}

// requeued reports n deliveries just queued again to the observer, and wakes the dispatcher for them, when it
// runs.
func (w *Webhooks) requeued(source string, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.disp != nil {
		w.disp.obs.ObserveRequeued(source, n)
		w.disp.poke()
	}
}
