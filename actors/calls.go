package actors

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/whatsapp"
)

// Calls reach the received webhook as notifications (CALL_VOICE / CALL_VIDEO when one rings, CALL_MISSED_VOICE
// / CALL_MISSED_VIDEO when it ends unanswered). With call-reject-auto on, a call is rejected as it rings, and the
// call-reject message, when set, goes to the caller through the queue like any message.

// callRejected reports how rejecting a call went.
type callRejected struct {
	call whatsapp.Call
	err  error
}

// callOffered records a call that rings, and rejects it when the settings say so.
func (a *instance) callOffered(e whatsapp.CallOffered, done func(error)) {
	a.received(e.Notification.Message, nil, done)
	if !a.st.settings.GetCallRejectAuto() || a.conn == nil {
		return
	}
	conn, self, root, timeout := a.conn, a.self, a.system.Root, a.deps.cfg.RequestTimeout
	a.async(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		root.Send(self, callRejected{call: e.Call, err: conn.RejectCall(ctx, e.Call)})
	})
}

// handle records a rejected call as missed and sends the caller the call-reject message.
func (m callRejected) handle(a *instance, _ actor.Context) {
	if m.err != nil {
		a.log.Warn("could not reject a call", "call_id", m.call.ID, "err", m.err)
		return
	}
	a.received(whatsapp.MissedCall(m.call).Message, nil, a.logFailure("record a rejected call"))
	text := a.st.settings.GetCallRejectMessage()
	if text == "" {
		return
	}
	msg := &messagesv1.Outbound{Phone: m.call.Caller, Content: &messagesv1.Content{
		Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: text}}}}
	// Through the mailbox, as the API's messages come: it is queued, paced and reported like them.
	self, root, timeout, log := a.self, a.system.Root, a.deps.cfg.RequestTimeout, a.log
	a.async(func(context.Context) {
		res, err := root.RequestFuture(self, enqueue{msg: msg}, timeout).Result()
		if r, ok := res.(reply); err == nil && ok {
			err = r.err
		}
		if err != nil {
			log.Warn("could not queue the call-reject message", "call_id", m.call.ID, "err", err)
		}
	})
}
