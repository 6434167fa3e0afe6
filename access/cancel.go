package access

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/plugzapi/plugzapi/actors"
)

// Subscribe is PlugZapi's subscription of an instance. A self-hosted instance needs none, so it only undoes a
// cancellation whose grace has not ended: the instance connects again with its session.
func (c *Control) Subscribe(ctx context.Context, id string) error {
	if _, cancelled := c.Cancelled(id); !cancelled {
		return nil
	}
	if _, err := c.db.ExecContext(ctx, `DELETE FROM access_cancellations WHERE instance_id = ?`, id); err != nil {
		return fmt.Errorf("access: subscribe %s: %w", id, err)
	}
	c.mu.Lock()
	delete(c.cancelled, id)
	c.mu.Unlock()
	c.log.Info("instance subscribed again: its cancellation is undone", "instance", id)
	if err := c.instances.RestoreSession(ctx, id); err != nil && !errors.Is(err, actors.ErrNotLinked) {
		return fmt.Errorf("access: resume %s: %w", id, err)
	}
	return nil
}

// Cancel cancels an instance's subscription: its routes are refused and its connection dropped from now on (its
// session is kept), and it is deleted once the grace has passed, unless it is subscribed again before. The
// deadline is durable: a restart keeps it. Cancelling again keeps the first deadline.
func (c *Control) Cancel(ctx context.Context, id string) (deleteAt time.Time, err error) {
	deleteAt, cancelled := c.Cancelled(id)
	if !cancelled {
		deleteAt = time.UnixMilli(time.Now().Add(c.cfg.CancelGrace).UnixMilli())
		if _, err := c.db.ExecContext(ctx, `INSERT INTO access_cancellations (instance_id, delete_at_ms) VALUES (?, ?)
			ON CONFLICT (instance_id) DO NOTHING`, id, deleteAt.UnixMilli()); err != nil {
			return time.Time{}, fmt.Errorf("access: cancel %s: %w", id, err)
		}
		c.mu.Lock()
		c.cancelled[id] = deleteAt
		c.mu.Unlock()
		select {
		case c.wake <- struct{}{}:
		default:
		}
		c.log.Info("instance subscription cancelled", "instance", id, "delete_at", deleteAt)
	}
	// Stopping again is harmless, and lets a retry finish what a failed attempt began.
	if err := c.instances.Suspend(ctx, id); err != nil {
		return time.Time{}, fmt.Errorf("access: stop %s: %w", id, err)
	}
	return deleteAt, nil
}

// Cancelled reports whether an instance's subscription is cancelled, and when it is to be deleted.
func (c *Control) Cancelled(id string) (deleteAt time.Time, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	deleteAt, ok = c.cancelled[id]
	return deleteAt, ok
}

// retryAfter is how soon a failed deletion is tried again.
const retryAfter = 30 * time.Second

// reconnectWait bounds how long a cancelled instance may take to reconnect before it is deleted.
const reconnectWait = 20 * time.Second

// reconnect connects a stopped instance again before it is deleted: deleting a connected instance unlinks its
// device from the phone, while a disconnected one only loses its session and stays in the phone's list of
// linked devices. An instance that does not connect in time (never linked, phone gone) is deleted anyway.
func (c *Control) reconnect(ctx context.Context, id string) {
	if err := c.instances.RestoreSession(ctx, id); err != nil {
		return // not linked, or gone: nothing to tell a phone
	}
	ctx, cancel := context.WithTimeout(ctx, reconnectWait)
	defer cancel()
	for {
		if st, err := c.instances.Status(ctx, id); err != nil || st.Connected {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// reap deletes cancelled instances as their grace ends, until ctx is done; with RefreshEvery it reloads the
// policies that often too.
func (c *Control) reap(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var refresh <-chan time.Time
	if c.cfg.RefreshEvery > 0 {
		t := time.NewTicker(c.cfg.RefreshEvery)
		defer t.Stop()
		refresh = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		case <-timer.C:
		case <-refresh:
			if err := c.load(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("could not reload the access policies", "err", err)
			}
		}
		next := c.reapDue(ctx)
		timer.Stop()
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
	}
}

// reapDue deletes the instances whose grace has ended and returns when the next one ends (zero: none pending).
func (c *Control) reapDue(ctx context.Context) (next time.Time) {
	now := time.Now()
	var due []string
	c.mu.RLock()
	for id, at := range c.cancelled {
		if !at.After(now) {
			due = append(due, id)
		} else if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	c.mu.RUnlock()
	for _, id := range due {
		if _, still := c.Cancelled(id); !still {
			continue // subscribed again meanwhile
		}
		if !c.instances.Runs(id) {
			// Another node runs it and deletes it; this one looks again later, in case it comes here.
			if retry := now.Add(retryAfter); next.IsZero() || retry.Before(next) {
				next = retry
			}
			continue
		}
		c.reconnect(ctx, id)
		err := c.DeleteInstance(ctx, id)
		switch {
		case err == nil:
			c.log.Info("cancelled instance deleted: its grace has ended", "instance", id)
		case errors.Is(err, actors.ErrInstanceNotFound):
			c.forget(ctx, id) // deleted by the admin in the meantime
		case ctx.Err() != nil:
			return time.Time{}
		default:
			c.log.Warn("could not delete a cancelled instance; retrying", "instance", id, "err", err)
			if retry := now.Add(retryAfter); next.IsZero() || retry.Before(next) {
				next = retry
			}
		}
	}
	return next
}
