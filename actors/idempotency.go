package actors

import (
	"bytes"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	actorsv1 "github.com/plugzapi/plugzapi/proto/actors/v1"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// Idempotency keys: a request that carries an Idempotency-Key is answered, when the same key came with an
// accepted request in the last idempotencyWindow, with that request's IDs, and nothing is queued. The key travels
// in the message's MessageQueued event, so the instance's event-sourced state (and its snapshots) remembers it
// across crashes and restarts.

// idempotencyWindow is how long an instance remembers the key of a request it accepted.
const idempotencyWindow = 24 * time.Hour

// idempotencyKeyLimit caps the keys an instance remembers, whatever their age, so that a flood of keyed
// requests cannot grow its memory and snapshots without bound: past it the oldest key is forgotten first. At
// most ~400 bytes a key (a 255-character key, two IDs, a hash), it bounds an instance's keys to ~4 MB.
const idempotencyKeyLimit = 10_000

// idempotentRequests are the requests an instance accepted with an Idempotency-Key, in the order it accepted
// them. Entries are never changed once remembered, so a snapshot may share them.
type idempotentRequests struct {
	order []*actorsv1.IdempotentRequest
	byKey map[string]*actorsv1.IdempotentRequest
}

func newIdempotentRequests() idempotentRequests {
	return idempotentRequests{byKey: map[string]*actorsv1.IdempotentRequest{}}
}

// accepted remembers the key of a message accepted at timeMs.
func (r *idempotentRequests) accepted(m *messagesv1.Outbound, timeMs int64) {
	r.remember(m.GetIdempotencyKey(), m.GetRequestHash(), m.GetZaapId(), m.GetMessageId(), timeMs)
}

// cancelled remembers the key of a delete for everyone that took a waiting message off the queue instead of
// queueing a revoke: it was answered without IDs, and so is its retry.
func (r *idempotentRequests) cancelled(c *eventsv1.MessageCancelled, timeMs int64) {
	r.remember(c.GetIdempotencyKey(), c.GetRequestHash(), "", "", timeMs)
}

// remember adds a keyed request. The actor accepts a key again only once its first request is past the
// window, which expire has normally forgotten already — unless the clock went back and left it behind a newer
// key; then the new request takes the key over.
func (r *idempotentRequests) remember(key string, hash []byte, zaapID, messageID string, timeMs int64) {
	if old, ok := r.byKey[key]; key == "" || ok && old.GetTimeMs() > timeMs-idempotencyWindow.Milliseconds() {
		return
	}
	r.add(&actorsv1.IdempotentRequest{Key: key, RequestHash: hash, ZaapId: zaapID, MessageId: messageID, TimeMs: timeMs})
}

func (r *idempotentRequests) add(req *actorsv1.IdempotentRequest) {
	r.order = append(r.order, req)
	r.byKey[req.GetKey()] = req
	if len(r.order) > idempotencyKeyLimit {
		r.forgetOldest()
	}
}

func (r *idempotentRequests) forgetOldest() {
	if oldest := r.order[0]; r.byKey[oldest.GetKey()] == oldest {
		delete(r.byKey, oldest.GetKey())
	}
	r.order[0] = nil
	r.order = r.order[1:]
}

// expire forgets the keys older than the window at nowMs. Events are applied with their own time, so that
// replaying them forgets the same keys as living through them did.
func (r *idempotentRequests) expire(nowMs int64) {
	for len(r.order) > 0 && r.order[0].GetTimeMs() <= nowMs-idempotencyWindow.Milliseconds() {
		r.forgetOldest()
	}
}

// find returns the request accepted with key within the window before now.
func (r *idempotentRequests) find(key string, now time.Time) (*actorsv1.IdempotentRequest, bool) {
	req, ok := r.byKey[key]
	if !ok || req.GetTimeMs() <= now.Add(-idempotencyWindow).UnixMilli() {
		return nil, false
	}
	return req, true
}

// list is what a snapshot keeps: the remembered requests, oldest first.
func (r *idempotentRequests) list() []*actorsv1.IdempotentRequest {
	return slices.Clone(r.order)
}

// answerRetry answers a request whose Idempotency-Key the instance has accepted already, and reports whether
// it did: with the IDs given then when it is the same request, ErrIdempotencyKeyReused when it is another. A
// retry is answered only once the first request is durable, with the first's outcome: a retry of a request
// still waiting for its flush joins it.
func (a *instance) answerRetry(ctx actor.Context, m *messagesv1.Outbound) bool {
	key := m.GetIdempotencyKey()
	if key == "" {
		return false
	}
	if first, ok := a.st.idempotent.find(key, time.Now()); ok {
		if !bytes.Equal(first.GetRequestHash(), m.GetRequestHash()) {
			ctx.Respond(reply{err: ErrIdempotencyKeyReused})
			return true
		}
		requester, root := ctx.Sender(), a.system.Root
		queued := Queued{ZaapID: first.GetZaapId(), MessageID: first.GetMessageId()}
		a.then(func(err error) {
			if err != nil {
				root.Send(requester, reply{err: err})
				return
			}
			root.Send(requester, reply{value: queued})
		})
		return true
	}
	for i, p := range a.pending {
		if p.msg.GetIdempotencyKey() != key {
			continue
		}
		if !bytes.Equal(p.msg.GetRequestHash(), m.GetRequestHash()) {
			ctx.Respond(reply{err: ErrIdempotencyKeyReused})
			return true
		}
		a.pending[i].retries = append(a.pending[i].retries, ctx.Sender())
		return true
	}
	return false
}
