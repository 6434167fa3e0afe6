package actors

import (
	"context"
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/events"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/recipient"
)

// ErrMessageNotFound: the request needs to know who wrote a message (a group member's message to revoke as
// admin, or to mark read) and the instance never saw a message with that ID.
var ErrMessageNotFound = errors.New("the instance knows no message with that id")

// ErrNotConnected: the request acts on WhatsApp at once (it is not queued) and the instance is not connected.
var ErrNotConnected = account.ErrNotConnected

// completeRefs fills in what WhatsApp needs of the message a reaction, an edit or a revoke is about and the API
// does not say: whether the instance wrote it and, in a group, who did. The log knows the messages the instance
// queued or received; an unknown message is taken as the contact's (a reaction), which is what WhatsApp shows
// when it cannot find one, except where the sender must be named (an admin's revoke).
func (s *System) completeRefs(ctx context.Context, id string, m *messagesv1.Outbound) error {
	c := m.GetContent()
	var target *messagesv1.MessageRef
	switch {
	case c.GetReaction() != nil:
		target = c.GetReaction().GetTarget()
	case c.GetRevoke() != nil:
		target = c.GetRevoke().GetTarget()
		if target.GetFromMe() {
			return nil // the owner's revoke names no one
		}
	case c.GetEdit() != nil:
		// One edits only one's own messages.
		c.GetEdit().GetTarget().FromMe = true
		return nil
	case c.GetForward() != nil:
		return s.loadForward(ctx, id, c.GetForward())
	default:
		return nil
	}
	origin, ok, err := events.FindOrigin(ctx, s.db, id, target.GetMessageId())
	if err != nil {
		return err
	}
	group := isGroupChat(m.GetPhone())
	if ok {
		if c.GetReaction() != nil {
			target.FromMe = origin.FromMe
		}
		if group && !origin.FromMe {
			target.Participant = origin.Participant
		}
	}
	if c.GetRevoke() != nil && group && target.GetParticipant() == "" {
		return fmt.Errorf("revoke %s: %w", target.GetMessageId(), ErrMessageNotFound)
	}
	return nil
}

func isGroupChat(phone string) bool {
	r, err := recipient.Parse(phone)
	return err == nil && r.Kind == recipient.Group
}

// MarkRead marks a message the instance received as read: WhatsApp sends the read receipt (the blue ticks) to
// its sender. In a group the receipt names the member who wrote it, which the instance's log knows.
func (s *System) MarkRead(ctx context.Context, id, phone, messageID string) error {
	if _, err := recipient.Parse(phone); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidPhone, err)
	}
	var participant string
	if isGroupChat(phone) {
		origin, ok, err := events.FindOrigin(ctx, s.db, id, messageID)
		if err != nil {
			return err
		}
		if !ok || origin.FromMe {
			return fmt.Errorf("mark %s read: %w", messageID, ErrMessageNotFound)
		}
		participant = origin.Participant
	}
	_, err := s.ask(ctx, id, markRead{phone: phone, messageID: messageID, participant: participant})
	return err
}

// markRead sends a read receipt now, off the actor; the requester hears how it went.
func (a *instance) markRead(ctx actor.Context, m markRead) {
	if a.conn == nil || !a.st.connected {
		ctx.Respond(reply{err: ErrNotConnected})
		return
	}
	conn, requester, root, timeout := a.conn, ctx.Sender(), a.system.Root, a.deps.cfg.RequestTimeout
	a.async(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		root.Send(requester, reply{err: conn.MarkRead(ctx, m.phone, m.messageID, m.participant)})
	})
}
