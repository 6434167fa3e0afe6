package actors

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/oklog/ulid"

	"github.com/plugzapi/plugzapi/events"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/recipient"
	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/whatsapp"
)

// maxEnqueueBatch bounds how many messages one append takes (the event log accepts up to 1000 events).
const maxEnqueueBatch = 256

// pendingEnqueue is a message accepted by the actor but not yet durable: its requester, and those of its
// retries (same Idempotency-Key), wait for the flush.
type pendingEnqueue struct {
	msg       *messagesv1.Outbound
	requester *actor.PID
	retries   []*actor.PID
}

// enqueue checks a message and gives it its IDs; it becomes durable at the next flush. The flush is posted behind
// whatever is already in the mailbox, and one flush at a time is on its way to the disk, so messages that arrive
// together — or while the last flush is being written — are appended together (one append, one fsync for all),
// while a lone message is not kept waiting. The message is the actor's from now on.
func (a *instance) enqueue(ctx actor.Context, m *messagesv1.Outbound) {
	if a.answerRetry(ctx, m) {
		return
	}
	if _, err := recipient.Parse(m.GetPhone()); err != nil {
		ctx.Respond(reply{err: fmt.Errorf("%w: %v", ErrInvalidPhone, err)})
		return
	}
	if messagesv1.KindOf(m.GetContent()) == messagesv1.Kind_KIND_UNSPECIFIED {
		ctx.Respond(reply{err: errors.New("enqueue: the message has no content")})
		return
	}
	if err := a.checkForward(m); err != nil {
		ctx.Respond(reply{err: err})
		return
	}
	if waiting := a.waitingTarget(m); waiting != nil {
		// Deleting a message that has not gone yet is taking it off the queue: the recipient sees nothing.
		requester := ctx.Sender()
		a.cancel(waiting.GetZaapId(), m, func(err error) { a.system.Root.Send(requester, reply{value: Queued{}, err: err}) })
		return
	}
	if err := a.disconnectedRefusal(); err != nil {
		ctx.Respond(reply{err: err})
		return
	}
	if !a.st.connected && len(a.st.queue)+len(a.pending) >= a.deps.cfg.MaxQueueWhileDisconnected {
		ctx.Respond(reply{err: ErrQueueFull})
		return
	}
	m.ZaapId, m.MessageId, m.Type = newZaapID(), whatsapp.NewMessageID(), messagesv1.KindOf(m.GetContent())
	a.pending = append(a.pending, pendingEnqueue{msg: m, requester: ctx.Sender()})
	a.postFlush()
}

// postFlush asks for a flush of the pending messages unless one is asked for or on its way to the disk.
func (a *instance) postFlush() {
	if a.flushPosted || a.flushing || len(a.pending) == 0 {
		return
	}
	a.flushPosted = true
	a.system.Root.Send(a.self, flushEnqueues{})
}

// waitingTarget is, for a revoke of one of the instance's own messages, that message when it still waits in
// the queue (not being sent); nil otherwise.
func (a *instance) waitingTarget(m *messagesv1.Outbound) *messagesv1.Outbound {
	target := m.GetContent().GetRevoke().GetTarget()
	if !target.GetFromMe() {
		return nil
	}
	for _, e := range a.st.queue {
		if q := e.GetMessageQueued(); q.GetMessageId() == target.GetMessageId() && q.GetPhone() == m.GetPhone() &&
			q.GetZaapId() != a.inflight {
			return q
		}
	}
	return nil
}

// newZaapID is a new queue item ID: a ULID, so that IDs sort by creation time.
func newZaapID() string {
	return ulid.MustNew(ulid.Now(), rand.Reader).String()
}

// flush makes pending messages durable: their MessageQueued events and their content in the vault, in one
// transaction, before each requester hears "queued".
func (a *instance) flush() {
	a.flushPosted = false
	if a.storageErr != nil || a.flushing || len(a.pending) == 0 {
		// A reload after a failed append, or the flush before, will post it again.
		return
	}
	batch := a.pending[:min(len(a.pending), maxEnqueueBatch)]
	a.pending = a.pending[len(batch):]
	evs := make([]*eventsv1.Event, len(batch))
	records := make([][]byte, len(batch))
	answer := func(err error) {
		a.flushing = false
		a.postFlush()
		for _, p := range batch {
			r := reply{value: Queued{ZaapID: p.msg.GetZaapId(), MessageID: p.msg.GetMessageId()}}
			if err != nil {
				r = reply{err: err}
			}
			for _, requester := range append(p.retries, p.requester) {
				a.system.Root.Send(requester, r)
			}
		}
	}
	for i, p := range batch {
		public, record, err := events.Seal(p.msg)
		if err != nil {
			answer(err)
			return
		}
		public.Size = int64(len(record))
		evs[i], records[i] = &eventsv1.Event{Payload: &eventsv1.Event_MessageQueued{MessageQueued: public}}, record
	}
	a.flushing = true
	a.persist(func(tx *sql.Tx) error {
		for i, p := range batch {
			key := events.OutboundVaultKey(a.id, p.msg.GetMessageId())
			if err := a.deps.vault.Put(context.Background(), tx, key, records[i]); err != nil {
				return err
			}
			if err := a.forgetChanged(tx, p.msg.GetPhone(), p.msg.GetContent(), ""); err != nil {
				return err
			}
		}
		return nil
	}, answer, evs...)
	for i, p := range batch {
		a.content.put(p.msg, len(records[i]))
	}
}

// cancel removes one waiting message; by is the delete for everyone that did it, nil for a cancel through the
// queue routes. The one being sent cannot be taken back. When the head of the queue goes, so does the backoff
// its failed attempts earned.
func (a *instance) cancel(zaapID string, by *messagesv1.Outbound, done func(error)) {
	m := a.st.find(zaapID)
	if m == nil || zaapID == a.inflight {
		done(ErrQueueItemNotFound)
		return
	}
	head := m == a.st.head()
	if err := a.append(a.destroyContent(m.GetMessageId()), cancelledEvent(m, by)); err != nil {
		done(err)
		return
	}
	a.then(done)
	a.content.drop(zaapID)
	if head {
		a.forgetBackoff()
		a.trySend()
	}
}

// clear removes every waiting message but the one being sent, and returns how many it removed.
func (a *instance) clear(done func(int, error)) {
	var cancelled []*eventsv1.Event
	var ids []string
	for _, e := range a.st.queue {
		m := e.GetMessageQueued()
		if m.GetZaapId() == a.inflight {
			continue
		}
		cancelled = append(cancelled, cancelledEvent(m, nil))
		ids = append(ids, m.GetMessageId())
	}
	if len(cancelled) == 0 {
		done(0, nil)
		return
	}
	if err := a.append(a.destroyContent(ids...), cancelled...); err != nil {
		done(0, err)
		return
	}
	a.then(func(err error) { done(len(cancelled), err) })
	for _, e := range cancelled {
		a.content.drop(e.GetMessageCancelled().GetZaapId())
	}
	if a.inflight == "" {
		// The head of the queue was among them.
		a.forgetBackoff()
	}
}

// destroyContent deletes queued messages' content from the vault, in the transaction of the event that ends
// their time in the queue.
func (a *instance) destroyContent(messageIDs ...string) func(*sql.Tx) error {
	return func(tx *sql.Tx) error {
		for _, id := range messageIDs {
			if _, err := a.deps.vault.Delete(context.Background(), tx, events.OutboundVaultKey(a.id, id)); err != nil {
				return err
			}
		}
		return nil
	}
}

func cancelledEvent(m, by *messagesv1.Outbound) *eventsv1.Event {
	return &eventsv1.Event{Payload: &eventsv1.Event_MessageCancelled{MessageCancelled: &eventsv1.MessageCancelled{
		ZaapId: m.GetZaapId(), MessageId: m.GetMessageId(),
		IdempotencyKey: by.GetIdempotencyKey(), RequestHash: by.GetRequestHash()}}}
}

// trySend starts sending the head of the queue when the instance is connected, nothing is in flight, the pause
// after the previous message is over, and the message is durably queued (a message sent before its queueing
// was durable could be sent, lost by a crash, and queued again by a client that never heard of it).
func (a *instance) trySend() {
	if a.conn == nil || !a.st.connected || a.inflight != "" || len(a.st.queue) == 0 || a.st.queue[0].GetSeq() > a.durableSeq {
		return
	}
	if wait := time.Until(a.nextSendAt); wait > 0 {
		a.wakeIn(wait)
		return
	}
	queued := a.st.head()
	a.inflight = queued.GetZaapId()
	full := a.content.get(queued.GetZaapId())
	conn, self, root := a.conn, a.self, a.system.Root
	a.async(func(ctx context.Context) {
		sent, content, err := a.send(ctx, conn, queued, full)
		root.Send(self, sendDone{zaapID: queued.GetZaapId(), sent: sent, content: content, err: err})
	})
	if len(a.st.queue) > 1 {
		a.readAhead(a.st.queue[1].GetMessageQueued())
	}
}

// readAhead reads the content of the message after the one being sent, when it is not in memory, so that it is
// there when its turn comes.
func (a *instance) readAhead(next *messagesv1.Outbound) {
	if !a.content.startReading(next.GetZaapId()) {
		return
	}
	self, root := a.self, a.system.Root
	a.async(func(ctx context.Context) {
		m, size, err := a.readContent(ctx, next)
		root.Send(self, contentRead{msg: m, size: size, err: err})
	})
}

// readContent puts a queued message back together with its content from the vault.
func (a *instance) readContent(ctx context.Context, queued *messagesv1.Outbound) (*messagesv1.Outbound, int, error) {
	record, err := a.deps.vault.Get(ctx, events.OutboundVaultKey(a.id, queued.GetMessageId()))
	if err != nil {
		return nil, 0, fmt.Errorf("read content: %w", err)
	}
	m, err := events.Unseal(queued, record)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", whatsapp.ErrUnsendable, err)
	}
	return m, len(record), nil
}

// send runs off the actor: it hands the whole message to WhatsApp, reading its content first unless it is in
// memory (full).
func (a *instance) send(ctx context.Context, conn Conn, queued, full *messagesv1.Outbound) (whatsapp.Sent, *messagesv1.Content, error) {
	m := full
	if m == nil {
		var err error
		if m, _, err = a.readContent(ctx, queued); err != nil {
			return whatsapp.Sent{}, nil, err
		}
	}
	timeout := a.deps.cfg.SendTimeout
	if carriesFile(m.GetContent()) {
		timeout = a.deps.cfg.FileSendTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout+time.Duration(queued.GetDelayTypingS())*time.Second)
	defer cancel()
	// The client's own writes on the way (its Signal session) go before appends and consumer groups.
	sent, err := conn.Send(store.Urgent(ctx), m)
	return sent, m.GetContent(), err
}

// carriesFile reports whether sending a content means getting a file and uploading it, which takes longer
// than a text.
func carriesFile(c *messagesv1.Content) bool {
	switch c.GetKind().(type) {
	case *messagesv1.Content_Image, *messagesv1.Content_Audio, *messagesv1.Content_Video,
		*messagesv1.Content_Document, *messagesv1.Content_Sticker:
		return true
	}
	return c.GetText().GetPreview().GetImage() != nil
}

// sent records how a send went. A message WhatsApp took leaves the queue with MessageSent, and its content is
// destroyed in the same transaction; one that can never go (no such number, a group that does not exist or that
// the number is not in, WhatsApp refused it, its content is gone) leaves with MessageFailed, so that it does not
// block the queue; any other failure keeps it at the head of the queue, to be sent again with the same ID.
func (a *instance) sent(d sendDone) {
	if d.zaapID != a.inflight {
		return
	}
	a.inflight = ""
	queued := a.st.queued(d.zaapID)
	m := queued.GetMessageQueued()
	if m == nil {
		return
	}
	destroy := a.destroyContent(m.GetMessageId())
	// Recording the outcome does not hold up the next message: a crash before it is durable sends the message
	// again with the same ID, which WhatsApp takes as the same message. A failed append reloads the state.
	switch {
	case d.err == nil:
		keep := a.keepForForward(m.GetPhone(), m.GetMessageId(), d.sent.Forwardable)
		inTx := func(tx *sql.Tx) error {
			if err := destroy(tx); err != nil {
				return err
			}
			// An edit or delete ends its target's kept copy when queued, and again now: the target's copy is
			// kept when its MessageSent is recorded, which may come after the change was queued.
			if err := a.forgetChanged(tx, m.GetPhone(), d.content, ""); err != nil {
				return err
			}
			return keep(tx)
		}
		if err := a.append(inTx, &eventsv1.Event{Payload: &eventsv1.Event_MessageSent{MessageSent: &eventsv1.MessageSent{
			ZaapId: m.GetZaapId(), MessageId: m.GetMessageId(), Phone: m.GetPhone(), ServerTimeMs: d.sent.At.UnixMilli(),
			QueuedTimeMs: queued.GetTimeMs()}}}); err != nil {
			a.log.Error("could not record a sent message", "message_id", m.GetMessageId(), "err", err)
			return
		}
		a.sendErrors = 0
		a.nextSendAt = time.Now().Add(a.pace(m))
	case whatsapp.IsPermanent(d.err) || errors.Is(d.err, store.ErrVaultNotFound):
		a.log.Info("message cannot be sent", "message_id", m.GetMessageId(), "err", d.err)
		if err := a.append(destroy, &eventsv1.Event{Payload: &eventsv1.Event_MessageFailed{MessageFailed: &eventsv1.MessageFailed{
			ZaapId: m.GetZaapId(), MessageId: m.GetMessageId(), Phone: m.GetPhone(), Error: failureText(d.err)}}}); err != nil {
			a.log.Error("could not record a failed message", "message_id", m.GetMessageId(), "err", err)
			return
		}
		a.forgetBackoff()
	default:
		a.log.Warn("send failed, will retry", "message_id", m.GetMessageId(), "err", d.err)
		a.retryLater()
		return
	}
	a.content.drop(d.zaapID)
	a.trySend()
}

// failureText is what the delivery webhook says about a message that cannot be sent.
func failureText(err error) string {
	var badMedia *whatsapp.MediaError
	switch {
	case errors.As(err, &badMedia):
		return badMedia.Error()
	case errors.Is(err, whatsapp.ErrNotOnWhatsApp):
		return "Phone number does not exist"
	case errors.Is(err, whatsapp.ErrInvalidRecipient):
		return "Invalid phone number"
	case errors.Is(err, store.ErrVaultNotFound):
		return "The message's content is lost"
	case errors.Is(err, whatsapp.ErrGroupNotFound):
		return "Group does not exist"
	case errors.Is(err, whatsapp.ErrNotInGroup):
		return "This number is not a participant of the group"
	case errors.Is(err, whatsapp.ErrRefused):
		if code := whatsapp.RefusalCode(err); code != "" {
			return "WhatsApp refused the message (error " + code + ")"
		}
		return "WhatsApp refused the message"
	default:
		return err.Error()
	}
}

// retryLater tries the head of the queue again after a pause that grows with repeated failures (capped), unless
// a reconnect comes first.
func (a *instance) retryLater() {
	a.sendErrors++
	backoff := time.Second << min(a.sendErrors, 6)
	a.nextSendAt = time.Now().Add(backoff)
	a.wakeIn(backoff)
}

// forgetBackoff ends the pause earned by failed attempts at the head of the queue once that message has left
// it (cancelled, or failed for good): the next message must not wait out another message's retries. The pause
// after a sent message is pacing, not backoff, and stays.
func (a *instance) forgetBackoff() {
	if a.sendErrors == 0 {
		return
	}
	a.sendErrors = 0
	a.nextSendAt = time.Time{}
	a.stopWake()
}

func (a *instance) wakeIn(d time.Duration) {
	a.stopWake()
	self, root := a.self, a.system.Root
	a.wakeTimer = time.AfterFunc(d, func() { root.Send(self, wake{}) })
}

func (a *instance) stopWake() {
	if a.wakeTimer != nil {
		a.wakeTimer.Stop()
		a.wakeTimer = nil
	}
}
