package actors

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/plugzapi/plugzapi/events"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/store"
)

// Forwarding sends a message the instance sent or received again, marked forwarded. It needs the message, which
// the server otherwise destroys once it is sent or its webhooks are delivered; so, only when the forward window
// is set (Config.ForwardWindow), each message that can be forwarded is kept as WhatsApp carried it, encrypted in
// the vault, for the window: written in the transaction of its MessageSent or MessageReceived, destroyed by the
// expiry sweep (and unreadable from the moment its window ends, swept or not).
//
// A forward copies the kept message into its own content when it is accepted (System.Send), so that it is a
// queued message like any other from then on: durable, sent once with its own ID even across a crash, and not
// lost if the window ends before its turn.

// keepForForward is what keeps a message sent or received in the chat phone for the forward window, in the
// transaction of its event; it keeps nothing when there is no window or the message cannot be forwarded.
func (a *instance) keepForForward(phone, messageID string, forwardable []byte) func(*sql.Tx) error {
	window := a.deps.cfg.ForwardWindow
	if window <= 0 || len(forwardable) == 0 {
		return func(*sql.Tx) error { return nil }
	}
	key, until := events.ForwardVaultKey(a.id, phone, messageID), time.Now().Add(window)
	return func(tx *sql.Tx) error {
		return a.deps.vault.PutUntil(context.Background(), tx, key, forwardable, until)
	}
}

// forgetChanged ends the kept copy of the message that c edits or deletes for everyone in the chat phone (the
// message with editedID, for a received edit), in the transaction of its event: WhatsApp's apps forward what a
// message says now, and nothing of a deleted one.
func (a *instance) forgetChanged(tx *sql.Tx, phone string, c *messagesv1.Content, editedID string) error {
	target := editedID
	if ref := c.GetRevoke().GetTarget(); ref != nil {
		target = ref.GetMessageId()
	} else if ref := c.GetEdit().GetTarget(); ref != nil {
		target = ref.GetMessageId()
	}
	if target == "" {
		return nil
	}
	_, err := a.deps.vault.Delete(context.Background(), tx, events.ForwardVaultKey(a.id, phone, target))
	return err
}

// loadForward copies the message a forward names into it, when it is kept; when it is not, the forward is left
// without it, for the instance to refuse (unless it is a retry of a forward it accepted while the message was
// kept).
func (s *System) loadForward(ctx context.Context, id string, fwd *messagesv1.Forward) error {
	if s.deps.cfg.ForwardWindow <= 0 {
		return ErrForwardingOff
	}
	src := fwd.GetSource()
	kept, err := s.deps.vault.Get(ctx, events.ForwardVaultKey(id, src.GetPhone(), src.GetMessageId()))
	switch {
	case errors.Is(err, store.ErrVaultNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("load the message to forward: %w", err)
	}
	fwd.Message = kept
	return nil
}

// checkForward refuses a forward of a message that is not kept (see loadForward).
func (a *instance) checkForward(m *messagesv1.Outbound) error {
	fwd := m.GetContent().GetForward()
	switch {
	case fwd == nil:
		return nil
	case a.deps.cfg.ForwardWindow <= 0:
		return ErrForwardingOff
	case len(fwd.GetMessage()) == 0:
		return fmt.Errorf("forward %s from %s: %w", fwd.GetSource().GetMessageId(), fwd.GetSource().GetPhone(), ErrNotKept)
	}
	return nil
}

// sweepForwards destroys the kept messages whose window ended, every quarter of the window (at least every
// second, at most every minute), until the System stops. Without a window it runs every minute: messages kept
// under a window set before a restart end on time all the same.
func (s *System) sweepForwards() {
	every := time.Minute
	if w := s.deps.cfg.ForwardWindow; w > 0 {
		every = min(max(w/4, time.Second), time.Minute)
	}
	s.deps.work.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if n, err := s.deps.vault.DeleteExpired(s.deps.stopping, time.Now()); err != nil && s.deps.stopping.Err() == nil {
				s.deps.log.Warn("could not destroy the messages kept for forwarding whose window ended", "err", err)
			} else if n > 0 {
				s.deps.log.Debug("messages kept for forwarding destroyed", "count", n)
			}
			select {
			case <-s.deps.stopping.Done():
				return
			case <-t.C:
			}
		}
	})
}
