package actors

import (
	"slices"

	"github.com/plugzapi/plugzapi/events"
	actorsv1 "github.com/plugzapi/plugzapi/proto/actors/v1"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// snapshotFormat is the format of the snapshots this code writes (InstanceSnapshot.format); one of another format
// is not read, and the state is replayed from the first event instead. The log is compacted behind snapshots
// (PLUGZAPI_RETENTION), so that replay lacks the compacted events: a new format must come with the code that
// reads the one before.
const snapshotFormat = 3

// recentInboundLimit bounds how many received message IDs an instance remembers to drop redeliveries: WhatsApp
// redelivers only what was not acknowledged, which is at most the last few messages before a crash.
const recentInboundLimit = 512

// state is what an instance's events say about it. apply is the only thing that changes it, so replaying the
// events (after a snapshot) rebuilds it exactly.
type state struct {
	seq          int64
	lastEventID  string // the ID of the event at seq, when it was applied since the state was loaded
	name         string
	sessionName  string
	deviceJID    string
	phone        string
	platform     string
	businessName string
	connected    bool
	deleted      bool
	// watchPresence: the chat-presence webhook is set.
	watchPresence bool
	// webhooks are the webhook targets set; settings the instance's options (settings.go).
	webhooks map[eventsv1.WebhookKind]string
	settings *eventsv1.Settings
	// queue holds the MessageQueued events of the messages waiting, in order: the message as accepted (without
	// its content) and when.
	queue     []*eventsv1.Event
	recent    []string
	recentSet map[string]struct{}
	// idempotent remembers the Idempotency-Keys of the messages accepted in the last 24 hours.
	idempotent idempotentRequests
}

func newState() *state {
	return &state{recentSet: map[string]struct{}{}, idempotent: newIdempotentRequests(),
		webhooks: map[eventsv1.WebhookKind]string{}, settings: &eventsv1.Settings{}}
}

func (s *state) apply(e *eventsv1.Event) {
	s.seq, s.lastEventID = e.GetSeq(), e.GetId()
	s.idempotent.expire(e.GetTimeMs())
	switch p := e.GetPayload().(type) {
	case *eventsv1.Event_InstanceCreated:
		s.name = p.InstanceCreated.GetName()
		s.sessionName = p.InstanceCreated.GetSessionName()
	case *eventsv1.Event_InstanceDeleted:
		s.deleted = true
		s.queue = nil
	case *eventsv1.Event_WebhookConfigured:
		if p.WebhookConfigured.GetKind() == eventsv1.WebhookKind_WEBHOOK_KIND_CHAT_PRESENCE {
			s.watchPresence = p.WebhookConfigured.GetUrl() != ""
		}
		s.setWebhook(p.WebhookConfigured)
	case *eventsv1.Event_InstanceRenamed:
		s.name = p.InstanceRenamed.GetName()
	case *eventsv1.Event_SettingsChanged:
		if s.settings = p.SettingsChanged.GetSettings(); s.settings == nil {
			s.settings = &eventsv1.Settings{}
		}
	case *eventsv1.Event_MessageQueued:
		s.queue = append(s.queue, e)
		s.idempotent.accepted(p.MessageQueued, e.GetTimeMs())
	case *eventsv1.Event_MessageSent:
		s.dequeue(p.MessageSent.GetZaapId())
	case *eventsv1.Event_MessageFailed:
		s.dequeue(p.MessageFailed.GetZaapId())
	case *eventsv1.Event_MessageCancelled:
		s.dequeue(p.MessageCancelled.GetZaapId())
		s.idempotent.cancelled(p.MessageCancelled, e.GetTimeMs())
	case *eventsv1.Event_MessageReceived:
		s.remember(events.InboundID(p.MessageReceived))
	case *eventsv1.Event_Paired:
		s.deviceJID = p.Paired.GetJid()
		s.platform = p.Paired.GetPlatform()
		s.businessName = p.Paired.GetBusinessName()
	case *eventsv1.Event_Connected:
		s.connected = true
		s.phone = p.Connected.GetPhone()
	case *eventsv1.Event_Disconnected:
		s.connected = false
	case *eventsv1.Event_LoggedOut:
		s.connected = false
		s.deviceJID, s.phone, s.platform, s.businessName = "", "", "", ""
	}
}

func (s *state) dequeue(zaapID string) {
	for i, e := range s.queue {
		if e.GetMessageQueued().GetZaapId() == zaapID {
			s.queue = append(s.queue[:i:i], s.queue[i+1:]...)
			return
		}
	}
}

// find returns the queued message with that zaapId, or nil.
func (s *state) find(zaapID string) *messagesv1.Outbound {
	return s.queued(zaapID).GetMessageQueued()
}

// queued returns the MessageQueued event of the queued message with that zaapId, or nil.
func (s *state) queued(zaapID string) *eventsv1.Event {
	for _, e := range s.queue {
		if e.GetMessageQueued().GetZaapId() == zaapID {
			return e
		}
	}
	return nil
}

// head is the message first in the queue, or nil.
func (s *state) head() *messagesv1.Outbound {
	if len(s.queue) == 0 {
		return nil
	}
	return s.queue[0].GetMessageQueued()
}

func (s *state) remember(messageID string) {
	if _, ok := s.recentSet[messageID]; ok {
		return
	}
	s.recent = append(s.recent, messageID)
	s.recentSet[messageID] = struct{}{}
	if len(s.recent) > recentInboundLimit {
		delete(s.recentSet, s.recent[0])
		s.recent = s.recent[1:]
	}
}

func (s *state) received(messageID string) bool {
	_, ok := s.recentSet[messageID]
	return ok
}

// snapshot returns the state as a snapshot that shares nothing the state changes later (the queued events
// themselves never change), so that it can be encoded off the actor.
func (s *state) snapshot() *actorsv1.InstanceSnapshot {
	return &actorsv1.InstanceSnapshot{
		Seq:           s.seq,
		Name:          s.name,
		SessionName:   s.sessionName,
		DeviceJid:     s.deviceJID,
		Phone:         s.phone,
		Platform:      s.platform,
		BusinessName:  s.businessName,
		Connected:     s.connected,
		Deleted:       s.deleted,
		Queue:         slices.Clone(s.queue),
		RecentInbound: slices.Clone(s.recent),
		Format:        snapshotFormat,
		WatchPresence: s.watchPresence,
		Webhooks:      s.webhookList(),
		Settings:      s.settings,

		IdempotentRequests: s.idempotent.list(),
	}
}

func stateFromSnapshot(snap *actorsv1.InstanceSnapshot) *state {
	s := newState()
	s.seq = snap.GetSeq()
	s.name = snap.GetName()
	s.sessionName = snap.GetSessionName()
	s.deviceJID = snap.GetDeviceJid()
	s.phone = snap.GetPhone()
	s.platform = snap.GetPlatform()
	s.businessName = snap.GetBusinessName()
	s.connected = snap.GetConnected()
	s.deleted = snap.GetDeleted()
	s.watchPresence = snap.GetWatchPresence()
	for _, w := range snap.GetWebhooks() {
		s.setWebhook(w)
	}
	if snap.GetSettings() != nil {
		s.settings = snap.GetSettings()
	}
	s.queue = snap.GetQueue()
	for _, id := range snap.GetRecentInbound() {
		s.remember(id)
	}
	for _, req := range snap.GetIdempotentRequests() {
		s.idempotent.add(req)
	}
	return s
}
