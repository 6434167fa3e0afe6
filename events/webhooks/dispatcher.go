package webhooks

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/events"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
)

// maxResponseDrain is how much of a receiver's answer is read (and thrown away) so the connection can be
// reused; the body is not otherwise used.
const maxResponseDrain = 64 << 10

// delivery is a pending row of webhook_deliveries.
type delivery struct {
	id          int64
	instanceID  string
	url         string
	callback    string
	twin        bool // another delivery carries the same payload to another URL (see removeTarget)
	eventID     string
	event       []byte
	vaultKey    string // empty for a received message whose content was gone when it was queued again
	attempts    int
	nextAttempt time.Time
	queued      time.Time // when it was (last) queued: its dead-letter age counts from then
}

// finished is what a request goroutine tells the loop when it is done with an instance's head delivery.
type finished struct {
	instanceID string
	// holdUntil, when set, keeps the instance's queue idle until then: recording the outcome failed, and
	// retrying at once would hammer the receiver with repeats.
	holdUntil time.Time
}

// dispatcher sends the delivery table's rows. One loop goroutine owns the in-flight set and decides what to
// send; one goroutine per request in flight.
type dispatcher struct {
	db     *store.DB
	events *events.Log
	cfg    Config
	obs    Observer
	log    *slog.Logger
	client *http.Client

	wake     chan struct{}
	finished chan finished
	stop     chan struct{}
	// reqCtx is cancelled at close to abort requests in flight.
	reqCtx    context.Context
	cancelReq context.CancelFunc
	loopDone  chan struct{}
	requests  sync.WaitGroup
	closeOnce sync.Once

	// Owned by the loop goroutine, keyed by instance ID:
	inflight map[string]bool
	held     map[string]time.Time
}

func newDispatcher(db *store.DB, evlog *events.Log, cfg Config, obs Observer, log *slog.Logger) *dispatcher {
	// The policy's transport uses no proxy: through a proxy the dial guard would see the proxy's address, not
	// the target's.
	transport := URLPolicy(cfg.AllowInsecure).Transport(cfg.RequestTimeout)
	ctx, cancel := context.WithCancel(context.Background())
	return &dispatcher{
		db:     db,
		events: evlog,
		cfg:    cfg,
		obs:    obs,
		log:    log,
		client: &http.Client{
			Transport: transport,
			Timeout:   cfg.RequestTimeout,
			// A redirect is an answer, not a success: following it would turn the POST into a GET to wherever
			// the receiver points.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		wake:      make(chan struct{}, 1),
		finished:  make(chan finished, cfg.MaxInFlight),
		stop:      make(chan struct{}),
		reqCtx:    ctx,
		cancelReq: cancel,
		loopDone:  make(chan struct{}),
		inflight:  map[string]bool{},
		held:      map[string]time.Time{},
	}
}

func (d *dispatcher) start() { go d.run() }

// poke wakes the loop: new deliveries were committed. It never blocks.
func (d *dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *dispatcher) close() {
	d.closeOnce.Do(func() {
		d.cancelReq()
		close(d.stop)
		<-d.loopDone
		d.requests.Wait()
		d.client.CloseIdleConnections()
	})
}

func (d *dispatcher) run() {
	defer close(d.loopDone)
	prune := time.NewTicker(events.SweepInterval(d.cfg.Retention))
	defer prune.Stop()
	timer := time.NewTimer(0)
	defer timer.Stop()
	d.pruneOld(time.Now())
	for {
		next := d.dispatch()
		wait := d.cfg.PollInterval
		if !next.IsZero() {
			wait = max(min(wait, time.Until(next)), 0)
		}
		// Since Go 1.23 Reset discards a stale expiry, so no draining is needed.
		timer.Reset(wait)
		select {
		case <-d.stop:
			return
		case <-d.wake:
		case f := <-d.finished:
			d.done(f)
		case <-timer.C:
		case <-prune.C:
			d.pruneOld(time.Now())
		}
		// Coalesce whatever else finished meanwhile into this round.
	drain:
		for {
			select {
			case f := <-d.finished:
				d.done(f)
			default:
				break drain
			}
		}
	}
}

func (d *dispatcher) done(f finished) {
	delete(d.inflight, f.instanceID)
	if !f.holdUntil.IsZero() {
		d.held[f.instanceID] = f.holdUntil
	}
}

// dispatch starts every due head delivery whose instance has none in flight, within MaxInFlight, and returns
// when the earliest head not yet due will be (zero when there is none).
func (d *dispatcher) dispatch() time.Time {
	ctx, cancel := context.WithTimeout(d.reqCtx, d.cfg.RequestTimeout)
	defer cancel()
	heads, err := d.heads(ctx)
	if err != nil {
		if d.reqCtx.Err() == nil {
			d.log.Warn("webhook dispatcher: reading the queue failed", "err", err)
		}
		return time.Now().Add(d.cfg.PollInterval)
	}
	now := time.Now()
	var next time.Time
	for _, h := range heads {
		if d.inflight[h.instanceID] || (d.cfg.Runs != nil && !d.cfg.Runs(h.instanceID)) {
			continue
		}
		due := h.nextAttempt
		if until, ok := d.held[h.instanceID]; ok {
			if until.After(now) {
				due = maxTime(due, until)
			} else {
				delete(d.held, h.instanceID)
			}
		}
		if due.After(now) {
			if next.IsZero() || due.Before(next) {
				next = due
			}
			continue
		}
		if len(d.inflight) >= d.cfg.MaxInFlight {
			// A finishing request wakes the loop again.
			break
		}
		d.inflight[h.instanceID] = true
		d.requests.Add(1)
		go d.deliver(h)
	}
	for t, until := range d.held {
		if !until.After(now) {
			delete(d.held, t)
		}
	}
	return next
}

// headsQuery selects each instance's oldest pending delivery. It walks the queue index instance by instance
// (a loose index scan: one seek per instance and one per head), so a round costs the same whether an
// instance's backlog is ten webhooks or a million; GROUP BY would read every pending row, every round.
const headsQuery = `WITH RECURSIVE queues(instance_id) AS (
		SELECT (SELECT instance_id FROM webhook_deliveries WHERE state = 'pending' ORDER BY instance_id LIMIT 1)
		UNION ALL
		SELECT (SELECT instance_id FROM webhook_deliveries
			WHERE state = 'pending' AND instance_id > q.instance_id ORDER BY instance_id LIMIT 1)
		FROM queues q WHERE q.instance_id IS NOT NULL
	)
	SELECT d.id, d.instance_id, d.url, d.callback, d.event_id, d.event,
		COALESCE(d.vault_key, ''), d.attempts, d.next_attempt_ms, d.created_ms, d.queued_ms
	FROM queues q JOIN webhook_deliveries d ON d.id = (SELECT id FROM webhook_deliveries
		WHERE state = 'pending' AND instance_id = q.instance_id ORDER BY seq, id LIMIT 1)
	ORDER BY d.next_attempt_ms`

// heads returns, for every instance with pending deliveries, the one of its earliest event (by sequence
// number, then by ID among one event's deliveries): the only one that may be in flight, so an instance's
// webhooks arrive in the order of its events, whichever URLs they go to — also when a dead letter is sent again
// or an event replayed, whose delivery is queued after newer events' (see Webhooks.RedeliverWebhooks and
// Webhooks.ReplayWebhooks).
func (d *dispatcher) heads(ctx context.Context) ([]delivery, error) {
	rows, err := d.db.SQL().QueryContext(ctx, headsQuery)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []delivery
	for rows.Next() {
		var h delivery
		var next, created, queued int64
		if err := rows.Scan(&h.id, &h.instanceID, &h.url, &h.callback, &h.eventID, &h.event, &h.vaultKey,
			&h.attempts, &next, &created, &queued); err != nil {
			return nil, err
		}
		h.nextAttempt, h.queued = time.UnixMilli(next), time.UnixMilli(max(created, queued))
		out = append(out, h)
	}
	return out, rows.Err()
}

// outcome of one delivery attempt.
type outcome int

const (
	delivered outcome = iota // 2xx: delete the row
	retry                    // transient failure: back off (or dead-letter when too old)
	dead                     // can never succeed: dead-letter now
	drop                     // the instance is gone: delete the row
	abandoned                // the dispatcher is closing: leave the row as it is
)

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (d *dispatcher) deliver(h delivery) {
	defer d.requests.Done()
	res, detail := d.attempt(h)
	f := finished{instanceID: h.instanceID}
	if !d.record(h, res, detail) {
		f.holdUntil = time.Now().Add(d.backoff(h.attempts + 1))
	}
	select {
	case d.finished <- f:
	case <-d.stop:
	}
}

func (d *dispatcher) attempt(h delivery) (outcome, string) {
	if err := URLPolicy(d.cfg.AllowInsecure).CheckURL(h.url); err != nil {
		return dead, err.Error()
	}
	ctx, cancel := context.WithTimeout(d.reqCtx, d.cfg.RequestTimeout)
	defer cancel()
	var secret string
	err := d.db.SQL().QueryRowContext(ctx, `SELECT webhook_secret FROM instances WHERE id = ?`, h.instanceID).Scan(&secret)
	if errors.Is(err, sql.ErrNoRows) {
		return drop, "instance no longer exists"
	}
	if err != nil {
		return d.transient(fmt.Sprintf("read webhook secret: %v", err))
	}
	ev := &eventsv1.Event{}
	if err := proto.Unmarshal(h.event, ev); err != nil {
		return dead, fmt.Sprintf("stored event is unreadable: %v", err)
	}
	if h.vaultKey != "" {
		raw, err := d.db.Vault().Get(ctx, h.vaultKey)
		if errors.Is(err, store.ErrVaultNotFound) {
			return dead, "message content is no longer in the vault"
		}
		if err != nil {
			return d.transient(fmt.Sprintf("read message content: %v", err))
		}
		whole, err := events.Unseal(ev.GetMessageReceived(), raw)
		clear(raw)
		if err != nil {
			return dead, err.Error()
		}
		ev.Payload = &eventsv1.Event_MessageReceived{MessageReceived: whole}
	}
	body, err := render(h.callback, ev, contentGone(h.vaultKey, ev))
	if err != nil {
		return dead, err.Error()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return dead, fmt.Sprintf("build request: %v", err)
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "plugzapi-webhooks/1")
	req.Header.Set(HeaderWebhookID, h.eventID+"-"+h.callback)
	req.Header.Set(HeaderEventID, h.eventID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	if secret != "" {
		req.Header.Set(HeaderSignature, Sign(secret, ts, body))
	}
	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		if d.reqCtx.Err() != nil {
			return abandoned, ""
		}
		d.obs.ObserveAttempt(h.callback, false, time.Since(start))
		return d.transient(err.Error())
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseDrain))
	resp.Body.Close()
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	d.obs.ObserveAttempt(h.callback, ok, time.Since(start))
	if !ok {
		return d.transient("HTTP " + strconv.Itoa(resp.StatusCode))
	}
	return delivered, ""
}

func (d *dispatcher) transient(detail string) (outcome, string) {
	if d.reqCtx.Err() != nil {
		return abandoned, ""
	}
	return retry, detail
}

// backoff returns the wait after the n-th consecutive failure: base·2^(n-1), capped, with "equal jitter"
// (half fixed, half random) so that receivers failing together are not retried in lockstep.
func (d *dispatcher) backoff(n int) time.Duration {
	b := d.cfg.BackoffBase << min(max(n-1, 0), 30)
	if b <= 0 || b > d.cfg.BackoffMax {
		b = d.cfg.BackoffMax
	}
	half := b / 2
	return half + rand.N(half+1)
}

// record writes an attempt's outcome through the log's write path (it shares commits with appends) and
// reports whether that worked. The outcome is replayable: should a power failure take it back, the delivery is
// made again under the same webhook ID, which at-least-once delivery allows.
func (d *dispatcher) record(h delivery, res outcome, detail string) bool {
	if res == abandoned {
		return true
	}
	now := time.Now()
	if res == retry && now.Sub(h.queued) >= d.cfg.DeadAfter {
		res, detail = dead, fmt.Sprintf("gave up after %d attempts over %v: %s", h.attempts+1, d.cfg.DeadAfter, detail)
	}
	// The outcome happened; recording it must not be cut short by closing.
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.RequestTimeout)
	defer cancel()
	err := d.events.WriteReplayable(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		switch res {
		case delivered, drop:
			_, err = tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE id = ?`, h.id)
		// A failure at a URL the webhook has since moved away from says nothing about the new one: the
		// row, re-pointed and due at once, is left alone.
		case retry:
			next := now.Add(d.backoff(h.attempts + 1))
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_ms = ?,
				last_error = ? WHERE id = ? AND state = 'pending' AND url = ?`, next.UnixMilli(), truncate(detail), h.id, h.url)
		case dead:
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = 'dead', attempts = attempts + 1,
				dead_ms = ?, last_error = ? WHERE id = ? AND state = 'pending' AND url = ?`, now.UnixMilli(), truncate(detail), h.id, h.url)
		}
		if err != nil {
			return err
		}
		if res == retry || h.vaultKey == "" {
			return nil
		}
		return releaseContent(ctx, tx, d.db, h.vaultKey)
	})
	if err != nil {
		// The row keeps its previous state: the attempt is repeated, which webhook IDs make harmless.
		d.log.Error("webhook dispatcher: recording an attempt failed", "delivery", h.id, "instance_id", h.instanceID, "err", err)
		return false
	}
	switch res {
	case retry:
		d.log.Debug("webhook attempt failed; will retry", "instance_id", h.instanceID, "url", h.url,
			"callback", h.callback, "event_id", h.eventID, "attempt", h.attempts+1, "err", detail)
	case dead:
		d.obs.ObserveDeadLetter(h.callback)
		d.log.Warn("webhook dead-lettered", "instance_id", h.instanceID, "url", h.url, "callback", h.callback,
			"event_id", h.eventID, "attempts", h.attempts+1, "err", detail)
	case drop:
		d.log.Info("webhook dropped: instance deleted", "instance_id", h.instanceID, "event_id", h.eventID)
	}
	return true
}

// contentLockClass is the first key of the advisory locks releaseContent takes on Postgres (their second is the
// hash of a vault key). Two-key advisory locks are a key space apart from the one-key locks other parts take.
const contentLockClass int32 = 0x77686b63 // "whkc"

// releaseContent deletes inbound content from the vault once no pending delivery needs it. Call it after
// deleting (or dead-lettering) the caller's delivery of that content.
//
// Twins share content, and each may be finished by a different transaction (the dispatcher delivering one, the
// projection dropping the other). On SQLite those run one after the other. On Postgres they run side by side,
// and each would count the other's delivery, not yet deleted for it, as pending: both would keep the content,
// and nothing would ever delete it. So the check is serialized per item of content: the second transaction to
// take the lock counts after the first has committed, and sees both deliveries gone.
func releaseContent(ctx context.Context, tx *sql.Tx, db *store.DB, key string) error {
	if err := lockContent(ctx, tx, db, key); err != nil {
		return err
	}
	v := db.Vault()
	var pending int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE vault_key = ? AND state = 'pending'`, key).Scan(&pending); err != nil {
		return fmt.Errorf("check content %s: %w", key, err)
	}
	if pending > 0 {
		return nil
	}
	_, err := v.Delete(ctx, tx, key)
	return err
}

// lockContent serializes, on Postgres, the transactions that decide whether an item of content is still
// needed (releaseContent, Webhooks.keepContent), until tx ends. SQLite runs one writer at a time anyway.
func lockContent(ctx context.Context, tx *sql.Tx, db *store.DB, key string) error {
	if db.Dialect() != store.Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?, hashtext(?))`, contentLockClass, key); err != nil {
		return fmt.Errorf("lock content %s: %w", key, err)
	}
	return nil
}

func truncate(s string) string {
	const max = 1000
	if len(s) > max {
		return s[:max]
	}
	return s
}

// pruneChunk bounds the rows one prune write deletes; each chunk is a short write of its own.
const pruneChunk = 500

// pruneOld deletes the dead letters created more than Retention before now, with their content, a chunk at a
// time.
func (d *dispatcher) pruneOld(now time.Time) {
	ctx, cancel := context.WithTimeout(d.reqCtx, time.Minute)
	defer cancel()
	cutoff := now.Add(-d.cfg.Retention).UnixMilli()
	var deleted int64
	var err error
	for after := int64(0); ; {
		var ids []int64
		var keys []string
		ids, keys, err = oldDeadLetters(ctx, d.db.SQL(), after, cutoff)
		if err != nil || len(ids) == 0 {
			break
		}
		// The write path may run fn again in a fresh transaction: count what committed.
		var chunk int64
		err = d.events.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			chunk = 0
			for _, id := range ids {
				res, err := tx.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE id = ? AND state = 'dead'`, id)
				if err != nil {
					return err
				}
				n, err := res.RowsAffected()
				if err != nil {
					return err
				}
				chunk += n
			}
			for _, k := range keys {
				if err := releaseContent(ctx, tx, d.db, k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			break
		}
		deleted += chunk
		if len(ids) < pruneChunk {
			break
		}
		after = ids[len(ids)-1]
	}
	if err != nil && d.reqCtx.Err() == nil {
		d.log.Warn("webhook dispatcher: deleting dead letters past retention failed", "err", err)
	}
	if deleted > 0 {
		d.log.Info("deleted dead-lettered webhooks past retention", "count", deleted, "retention", d.cfg.Retention)
	}
}

// oldDeadLetters lists dead-lettered deliveries whose event is older than cutoffMs. A pending delivery is never
// dropped by age: every event reaches its webhook at least once, or is dead-lettered by its own deadline.
func oldDeadLetters(ctx context.Context, q store.Querier, after, cutoffMs int64) (ids []int64, keys []string, err error) {
	rows, err := q.QueryContext(ctx, `SELECT id, COALESCE(vault_key, '') FROM webhook_deliveries
		WHERE state = 'dead' AND id > ? AND created_ms < ? ORDER BY id LIMIT ?`, after, cutoffMs, pruneChunk)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var id int64
		var key string
		if err := rows.Scan(&id, &key); err != nil {
			return nil, nil, err
		}
		ids = append(ids, id)
		if key != "" && !seen[key] {
			seen[key] = true
			keys = append(keys, key)
		}
	}
	return ids, keys, rows.Err()
}
