package actors

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/account"
	actorsv1 "github.com/plugzapi/plugzapi/proto/actors/v1"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/recipient"
	"github.com/plugzapi/plugzapi/store"
)

// An instance's settings — its name and PlugZapi's and Z-API's options (auto-read, call rejection, "notify sent
// by me", queueing while disconnected) — are state of its actor, changed by events (InstanceRenamed,
// SettingsChanged, WebhookConfigured) and kept in its snapshots. GET me answers from the actor, so a client
// reads its own writes.

// Settings are an instance's options.
type Settings struct {
	// AutoReadMessage: every message received is marked read.
	AutoReadMessage bool
	// AutoReadStatus: every status update received is marked viewed.
	AutoReadStatus bool
	// CallRejectAuto: incoming calls are rejected; CallRejectMessage, when set, is then sent to the caller.
	CallRejectAuto    bool
	CallRejectMessage string
	// DisableEnqueueWhenDisconnected: while the instance is disconnected, messages are refused
	// (ErrNotConnected) instead of queued.
	DisableEnqueueWhenDisconnected bool
}

// SettingsChange changes some of an instance's settings: a nil field is left as it is.
type SettingsChange struct {
	AutoReadMessage   *bool
	AutoReadStatus    *bool
	CallRejectAuto    *bool
	CallRejectMessage *string
}

// Me describes an instance as Z-API's GET me reports it.
type Me struct {
	ID          string
	Name        string
	SessionName string
	Created     time.Time
	Due         time.Time
	Connected   bool
	// Phone is the digits of the linked number, empty until linked.
	Phone    string
	Webhooks map[eventsv1.WebhookKind]string
	Settings Settings
	// NotifySentByMe: the messages the account sends (from the API or its phone) reach the received webhook
	// too, which is then the received-delivery one.
	NotifySentByMe bool
}

var (
	// ErrNoReceivedWebhook: "notify sent by me" needs a received webhook to notify.
	ErrNoReceivedWebhook = errors.New("no received webhook is set: notifySentByMe needs one")
	// ErrReceivedWebhooksDiffer: the received and received-delivery webhooks go to different URLs, so turning
	// "notify sent by me" on or off would drop one of them.
	ErrReceivedWebhooksDiffer = errors.New("the received and received-delivery webhooks go to different URLs")
)

// withProfile completes a device with the account's WhatsApp profile, asked of WhatsApp; while the instance is
// not connected the device is all there is.
func (s *System) withProfile(ctx context.Context, id string, d Device) (Device, error) {
	c, err := s.Account(ctx, id)
	var self account.SelfProfile
	if err == nil {
		self, err = c.Self(ctx)
	}
	switch {
	case errors.Is(err, ErrNotConnected) || errors.Is(err, account.ErrNotConnected):
		return d, nil
	case err != nil:
		return Device{}, fmt.Errorf("own profile: %w", err)
	}
	d.Name, d.About, d.PictureURL = self.Name, self.About, self.Picture.URL
	if self.Business {
		d.BusinessName = self.BusinessName
	}
	return d, nil
}

// snapshotFormatWithoutWebhooks is the snapshot format before the webhook targets and settings were in it.
const snapshotFormatWithoutWebhooks = 2

// Rename gives an instance a new name.
func (s *System) Rename(ctx context.Context, id, name string) error {
	_, err := s.ask(ctx, id, renameInstance{name: name})
	return err
}

// ChangeSettings changes some of an instance's settings.
func (s *System) ChangeSettings(ctx context.Context, id string, change SettingsChange) error {
	_, err := s.ask(ctx, id, changeSettings{change: change})
	return err
}

// SetNotifySentByMe has the messages the account sends reach its received webhook too (Z-API's
// update-notify-sent-by-me): the received webhook becomes the received-delivery one, which PlugZapi defines
// as the received webhook plus the messages sent by the account; off, it moves back.
func (s *System) SetNotifySentByMe(ctx context.Context, id string, on bool) error {
	_, err := s.ask(ctx, id, setNotifySentByMe{on: on})
	return err
}

// Me describes an instance, its settings and webhooks as its actor knows them now.
func (s *System) Me(ctx context.Context, id string) (Me, error) {
	v, err := s.ask(ctx, id, getMe{})
	if err != nil {
		return Me{}, err
	}
	me := v.(Me)
	inst, err := store.GetInstance(ctx, s.db, id)
	if errors.Is(err, store.ErrInstanceNotFound) {
		return Me{}, ErrInstanceNotFound
	}
	if err != nil {
		return Me{}, fmt.Errorf("get instance %s: %w", id, err)
	}
	me.ID, me.Created, me.Due = id, inst.Created, neverDue
	return me, nil
}

// settingsMessage is a message of this file or calls.go: it says itself how the instance handles it.
type settingsMessage interface {
	handle(a *instance, ctx actor.Context)
}

type (
	renameInstance    struct{ name string }
	changeSettings    struct{ change SettingsChange }
	setNotifySentByMe struct{ on bool }
	getMe             struct{}
)

func (m renameInstance) handle(a *instance, ctx actor.Context) {
	done := a.answer(ctx)
	if m.name == a.st.name {
		done(nil)
		return
	}
	a.persist(func(tx *sql.Tx) error { return store.RenameInstance(context.Background(), tx, a.id, m.name) }, done,
		&eventsv1.Event{Payload: &eventsv1.Event_InstanceRenamed{InstanceRenamed: &eventsv1.InstanceRenamed{Name: m.name}}})
}

func (m changeSettings) handle(a *instance, ctx actor.Context) {
	next := proto.Clone(a.st.settings).(*eventsv1.Settings)
	c := m.change
	if c.AutoReadMessage != nil {
		next.AutoReadMessage = *c.AutoReadMessage
	}
	if c.AutoReadStatus != nil {
		next.AutoReadStatus = *c.AutoReadStatus
	}
	if c.CallRejectAuto != nil {
		next.CallRejectAuto = *c.CallRejectAuto
	}
	if c.CallRejectMessage != nil {
		next.CallRejectMessage = *c.CallRejectMessage
	}
	a.setSettings(next, a.answer(ctx))
}

// setSettings records new settings, unless they are the settings already.
func (a *instance) setSettings(next *eventsv1.Settings, done func(error)) {
	if proto.Equal(next, a.st.settings) {
		done(nil)
		return
	}
	a.persist(nil, done, &eventsv1.Event{Payload: &eventsv1.Event_SettingsChanged{
		SettingsChanged: &eventsv1.SettingsChanged{Settings: next}}})
}

func (m setNotifySentByMe) handle(a *instance, ctx actor.Context) {
	const (
		received         = eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED
		receivedDelivery = eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY
	)
	from, to := received, receivedDelivery
	if !m.on {
		from, to = to, from
	}
	url, other := a.st.webhooks[from], a.st.webhooks[to]
	switch {
	case url == "" && other == "" && m.on:
		ctx.Respond(reply{err: ErrNoReceivedWebhook})
	case url == "":
		// Already so (or off with no webhook at all): nothing to move.
		ctx.Respond(reply{})
	case other != "" && other != url:
		ctx.Respond(reply{err: ErrReceivedWebhooksDiffer})
	default:
		a.configureWebhooks(map[eventsv1.WebhookKind]string{from: "", to: url}, a.answer(ctx))
	}
}

func (getMe) handle(a *instance, ctx actor.Context) {
	s := a.st.settings
	ctx.Respond(reply{value: Me{
		Name:        a.st.name,
		SessionName: a.st.sessionName,
		Connected:   a.st.connected,
		Phone:       a.st.phone,
		Webhooks:    maps.Clone(a.st.webhooks),
		Settings: Settings{
			AutoReadMessage:                s.GetAutoReadMessage(),
			AutoReadStatus:                 s.GetAutoReadStatus(),
			CallRejectAuto:                 s.GetCallRejectAuto(),
			CallRejectMessage:              s.GetCallRejectMessage(),
			DisableEnqueueWhenDisconnected: s.GetDisableEnqueueWhenDisconnected(),
		},
		NotifySentByMe: a.st.webhooks[eventsv1.WebhookKind_WEBHOOK_KIND_RECEIVED_DELIVERY] != "",
	}})
}

// settingsEvent is the event that gives a new instance its settings, or nil for the defaults.
func settingsEvent(s Settings) *eventsv1.Event {
	if s == (Settings{}) {
		return nil
	}
	return &eventsv1.Event{Payload: &eventsv1.Event_SettingsChanged{SettingsChanged: &eventsv1.SettingsChanged{
		Settings: &eventsv1.Settings{
			AutoReadMessage:                s.AutoReadMessage,
			AutoReadStatus:                 s.AutoReadStatus,
			CallRejectAuto:                 s.CallRejectAuto,
			CallRejectMessage:              s.CallRejectMessage,
			DisableEnqueueWhenDisconnected: s.DisableEnqueueWhenDisconnected,
		}}}}
}

// autoRead marks a message just received read when the settings say so: a status update when auto-read-status
// is on, any other message a person sent when auto-read-message is. Notifications (calls, group changes) and
// messages waiting to be decrypted are not messages to read.
func (a *instance) autoRead(m *messagesv1.Inbound) {
	if m.GetFromMe() || m.GetWaitingMessage() || m.GetType() == messagesv1.Kind_KIND_NOTIFICATION ||
		a.conn == nil || !a.st.connected {
		return
	}
	r, err := recipient.Parse(m.GetPhone())
	switch {
	case err != nil:
		return
	case r.Kind == recipient.Status:
		if !a.st.settings.GetAutoReadStatus() {
			return
		}
	case m.GetBroadcast() || !a.st.settings.GetAutoReadMessage():
		return
	}
	conn, timeout, log := a.conn, a.deps.cfg.RequestTimeout, a.log
	a.async(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := conn.MarkRead(ctx, m.GetPhone(), m.GetMessageId(), m.GetParticipant()); err != nil {
			log.Warn("could not mark a received message read", "message_id", m.GetMessageId(), "err", err)
		}
	})
}

// disconnectedRefusal is the error of a message sent while the instance is disconnected and its settings say
// not to queue it, or nil.
func (a *instance) disconnectedRefusal() error {
	if !a.st.connected && a.st.settings.GetDisableEnqueueWhenDisconnected() {
		return fmt.Errorf("%w: this instance does not queue messages while disconnected", ErrNotConnected)
	}
	return nil
}

// upgradeSnapshot reads a snapshot written before webhook targets were in snapshots: the targets come from
// their read model instead (the events that set them may be compacted away).
func (a *instance) upgradeSnapshot(ctx context.Context, snap *actorsv1.InstanceSnapshot) (*state, error) {
	st := stateFromSnapshot(snap)
	hooks, err := a.deps.targets.Targets(ctx, a.id)
	if err != nil {
		return nil, fmt.Errorf("read webhook targets for a snapshot of format %d: %w", snap.GetFormat(), err)
	}
	for kind, url := range hooks {
		st.setWebhook(&eventsv1.WebhookConfigured{Kind: kind, Url: url})
	}
	return st, nil
}

// setWebhook records a webhook target (an empty URL removes it).
func (s *state) setWebhook(w *eventsv1.WebhookConfigured) {
	if w.GetUrl() == "" {
		delete(s.webhooks, w.GetKind())
		return
	}
	s.webhooks[w.GetKind()] = w.GetUrl()
}

// webhookList is the webhook targets in kind order, for a snapshot.
func (s *state) webhookList() []*eventsv1.WebhookConfigured {
	out := make([]*eventsv1.WebhookConfigured, 0, len(s.webhooks))
	for _, kind := range slices.Sorted(maps.Keys(s.webhooks)) {
		out = append(out, &eventsv1.WebhookConfigured{Kind: kind, Url: s.webhooks[kind]})
	}
	return out
}
