package whatsapp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// Notification codes of calls, as Z-API names them (PlugZapi documents the missed ones).
const (
	notificationCallVoice       = "CALL_VOICE"
	notificationCallVideo       = "CALL_VIDEO"
	notificationCallMissedVoice = "CALL_MISSED_VOICE"
	notificationCallMissedVideo = "CALL_MISSED_VIDEO"
)

// Call is a call someone makes to the account.
type Call struct {
	ID string
	// Caller is who calls, as the API names a person: a phone number, or "<digits>@lid" when no number is known;
	// CallerLID is the caller's LID when known.
	Caller, CallerLID string
	Video             bool
	AtMs              int64
	// from is the caller's device, which a rejection answers.
	from types.JID
}

// CallOffered says someone is calling the account. Notification is the call as a received message
// (CALL_VOICE or CALL_VIDEO).
type CallOffered struct {
	Call         Call
	Notification MessageReceived
}

// CallMissed says a call ended without an answer: the caller hung up, or the call was rejected. Notification
// is it as a received message (CALL_MISSED_VOICE or CALL_MISSED_VIDEO).
type CallMissed struct {
	Call         Call
	Notification MessageReceived
}

func (CallOffered) isEvent() {}
func (CallMissed) isEvent()  {}

// maxCallsRemembered bounds the calls whose offer is remembered until they end: only a few ring at once.
const maxCallsRemembered = 64

// callMemory remembers the calls ringing, so that the end of one (which does not say whether it was a video
// call) is reported as the offer was, and a call answered on another device is not reported missed.
type callMemory struct {
	mu       sync.Mutex
	ringing  map[string]*Call
	order    []string
	answered map[string]bool
}

func newCallMemory() *callMemory {
	return &callMemory{ringing: map[string]*Call{}, answered: map[string]bool{}}
}

func (m *callMemory) offered(c Call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.ringing[c.ID]; ok {
		return
	}
	m.ringing[c.ID] = &c
	m.order = append(m.order, c.ID)
	if len(m.order) > maxCallsRemembered {
		delete(m.ringing, m.order[0])
		delete(m.answered, m.order[0])
		m.order = m.order[1:]
	}
}

func (m *callMemory) accepted(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.ringing[id]; ok {
		m.answered[id] = true
	}
}

// ended forgets a call, returning it when it rang here unanswered.
func (m *callMemory) ended(id string) (Call, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.ringing[id]
	answered := m.answered[id]
	delete(m.ringing, id)
	delete(m.answered, id)
	if !ok || answered {
		return Call{}, false
	}
	return *c, true
}

// call translates the call stanzas WhatsApp sends a linked device: an offer rings (reported at once), an
// accept on another of the account's devices answers it, and a terminate from the caller ends it (missed,
// unless answered). Group calls (offer notices) and the media negotiation are not reported.
func (tr translator) call(evt any) (Event, bool) {
	if tr.calls == nil {
		return nil, false
	}
	switch e := evt.(type) {
	case *events.CallOffer:
		if !e.GroupJID.IsEmpty() {
			return nil, false
		}
		c := tr.newCall(e.BasicCallMeta)
		if e.Data != nil {
			_, c.Video = e.Data.GetOptionalChildByTag("video")
		}
		tr.calls.offered(c)
		code := notificationCallVoice
		if c.Video {
			code = notificationCallVideo
		}
		return CallOffered{Call: c, Notification: callNotification(c, code)}, true
	case *events.CallAccept:
		tr.calls.accepted(e.CallID)
	case *events.CallTerminate:
		if c, ok := tr.calls.ended(e.CallID); ok {
			return CallMissed{Call: c, Notification: MissedCall(c)}, true
		}
	}
	return nil, false
}

func (tr translator) newCall(meta types.BasicCallMeta) Call {
	who, lid := tr.person(meta.CallCreator, meta.CallCreatorAlt)
	return Call{ID: meta.CallID, Caller: phoneOf(who), CallerLID: lidOf(lid), AtMs: unixMilli(meta.Timestamp),
		from: meta.From}
}

// MissedCall is the notification of a call that ended unanswered.
func MissedCall(c Call) MessageReceived {
	code := notificationCallMissedVoice
	if c.Video {
		code = notificationCallMissedVideo
	}
	return callNotification(c, code)
}

// callNotification is a call as a received message, from the caller's chat. Its ID is derived from the call
// and the code, so that the same call told twice is recognised.
func callNotification(c Call, code string) MessageReceived {
	sum := sha256.Sum256([]byte(c.ID + "\x00" + code))
	n := notification(code)
	n.GetNotification().CallId = c.ID
	return MessageReceived{Message: &messagesv1.Inbound{
		MessageId: "CALL" + strings.ToUpper(hex.EncodeToString(sum[:8])), Phone: c.Caller, ChatLid: c.CallerLID,
		SenderLid: c.CallerLID, Type: messagesv1.Kind_KIND_NOTIFICATION, SentTimeMs: c.AtMs, Content: n,
	}}
}

// RejectCall declines a call that rings: the caller sees it rejected.
func (c *Conn) RejectCall(ctx context.Context, call Call) error {
	if err := c.cli.RejectCall(ctx, call.from, call.ID); err != nil {
		return fmt.Errorf("reject call %s: %w", call.ID, err)
	}
	c.calls.ended(call.ID)
	return nil
}
