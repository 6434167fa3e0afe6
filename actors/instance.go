package actors

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/events"
	actorsv1 "github.com/plugzapi/plugzapi/proto/actors/v1"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/whatsapp"
)

// EventLog is an instance's event stream: appended with optimistic concurrency (expectedSeq is the last seq the
// caller knows), in one transaction with the caller's own changes (inTx), and read back for recovery.
type EventLog interface {
	Append(ctx context.Context, instanceID string, expectedSeq int64, events []*eventsv1.Event, inTx func(*sql.Tx) error) ([]*eventsv1.Event, error)
	Load(ctx context.Context, instanceID string, afterSeq int64, fn func(*eventsv1.Event) error) error
}

// Snapshots shorten recovery: the state after a seq, so that only later events need replaying.
type Snapshots interface {
	SaveSnapshot(ctx context.Context, instanceID string, seq int64, state []byte) error
	LoadSnapshot(ctx context.Context, instanceID string) (snap events.Snapshot, ok bool, err error)
}

// Vault keeps message content, encrypted, only as long as it is needed. Writes take the transaction of the
// event that starts or ends the content's life.
type Vault interface {
	Put(ctx context.Context, q store.Querier, key string, plaintext []byte) error
	Get(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, q store.Querier, key string) (bool, error)
	DeletePrefix(ctx context.Context, q store.Querier, prefix string) (int64, error)
}

// Sessions opens instances' WhatsApp clients.
type Sessions interface {
	Open(ctx context.Context, owner, deviceJID, sessionName string, handle whatsapp.Handler) (Conn, error)
	DeleteDevice(ctx context.Context, deviceJID string) error
}

// Conn is an instance's WhatsApp client (whatsapp.Conn). Its methods may block on the network: the actor calls
// them off its own goroutine.
type Conn interface {
	// Connect connects a linked device; events tell how it goes.
	Connect() error
	// Link connects a new device for linking: QR codes and the link's outcome come through handle.
	Link(handle whatsapp.Handler) error
	// PairPhone asks for a code to link by typing it on the phone, while linking.
	PairPhone(ctx context.Context, phone string) (string, error)
	// Send sends a message with its own WhatsApp ID and returns WhatsApp's timestamp.
	Send(ctx context.Context, m *messagesv1.Outbound) (time.Time, error)
	// Logout unlinks the device and deletes its session.
	Logout(ctx context.Context) error
	// Close disconnects, keeping the session.
	Close()
	// WatchPresence follows, or stops following, the presence of the people the instance chats with.
	WatchPresence(on bool)
	// MarkRead sends a read receipt for a received message of the chat phone; participant is its sender in a
	// group, empty otherwise.
	MarkRead(ctx context.Context, phone, messageID, participant string) error
}

// deps is what every instance actor of a System shares.
type deps struct {
	log       *slog.Logger
	events    EventLog
	snapshots Snapshots
	vault     Vault
	sessions  Sessions
	cfg       Config
	// work owns the goroutines instances start for their network calls: System.Stop cancels stopping and waits
	// for them.
	work     sync.WaitGroup
	stopping context.Context
}

// instance is the actor of one WhatsApp instance. Its mailbox is the instance's queue: commands, WhatsApp events
// and the results of its own network calls arrive there and are handled one at a time, so nothing here needs a
// lock. Network calls run on goroutines that report back as messages.
type instance struct {
	id   string
	deps *deps
	log  *slog.Logger
	st   *state

	self   *actor.PID
	system *actor.ActorSystem

	// ctx ends when the actor stops; the network calls it started give up then.
	ctx  context.Context
	stop context.CancelFunc

	// The WhatsApp client. gen changes whenever it is replaced, so events of an old client are recognised.
	conn    Conn
	gen     int
	linking bool
	qr      whatsapp.QRCode
	// qrWaiters are requests for a QR code made before the first code arrived.
	qrWaiters []*actor.PID

	// Messages accepted but not yet appended, and whether a flush is waiting in the mailbox.
	pending     []pendingEnqueue
	flushPosted bool

	// The send loop: one message in flight at a time, the next not before nextSendAt.
	inflight   string
	nextSendAt time.Time
	wakeTimer  *time.Timer
	sendErrors int

	sinceSnapshot int
}

func newInstance(id string, d *deps) *instance {
	return &instance{id: id, deps: d, log: d.log.With("instance", id)}
}

// async runs fn on a goroutine owned by the System, with a context that ends when the actor stops.
func (a *instance) async(fn func(ctx context.Context)) {
	ctx := a.ctx
	a.deps.work.Go(func() { fn(ctx) })
}

// Receive handles one message of the mailbox.
func (a *instance) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.self, a.system = ctx.Self(), ctx.ActorSystem()
		a.ctx, a.stop = context.WithCancel(a.deps.stopping)
		if err := a.recover(); err != nil {
			// Without its state the instance cannot serve; failing makes the supervisor try again.
			panic(fmt.Errorf("recover instance %s: %w", a.id, err))
		}
	case *actor.Stopping, *actor.Restarting:
		a.stop()
		a.closeConn()
		a.stopWake()

	case enqueue:
		a.enqueue(ctx, m.msg)
	case flushEnqueues:
		a.flush(ctx)
	case listQueue:
		ctx.Respond(reply{a.st.queue, nil})
	case cancelQueued:
		ctx.Respond(reply{nil, a.cancel(m.zaapID, nil)})
	case clearQueue:
		n, err := a.clear()
		ctx.Respond(reply{n, err})
	case getStatus:
		ctx.Respond(reply{a.status(), nil})
	case getDevice:
		ctx.Respond(a.device())
	case getQRCode:
		a.qrCode(ctx)
	case pairPhone:
		a.pairPhone(ctx, m.phone)
	case restart:
		ctx.Respond(reply{nil, a.restart()})
	case restoreSession:
		ctx.Respond(reply{nil, a.restoreSession()})
	case logout:
		a.logout(ctx)
	case configureWebhooks:
		ctx.Respond(reply{nil, a.configureWebhooks(m.urls)})
	case markRead:
		a.markRead(ctx, m)
	case deleteInstance:
		err := a.delete()
		ctx.Respond(reply{nil, err})
		if err == nil {
			ctx.Stop(ctx.Self())
		}

	case waEvent:
		// Messages and receipts come with a sender waiting to acknowledge them to WhatsApp; other events do not.
		// Events of a client that was replaced are answered (so that its handler returns) and forgotten.
		var err error
		if m.gen == a.gen {
			err = a.handleWhatsApp(m.event)
		}
		if ctx.Sender() != nil {
			ctx.Respond(reply{nil, err})
		}
	case sendDone:
		a.sent(m)
	case pairPhoneDone:
		a.system.Root.Send(m.requester, reply{m.code, m.err})
	case logoutDone:
		a.loggedOut(m)
	case linkFailed:
		if m.gen != a.gen {
			return
		}
		if a.linking {
			a.log.Warn("could not start linking", "err", m.err)
			a.endLinking(m.err)
			return
		}
		// whatsmeow retries network errors by itself; this one it will not retry. The session stays: GET
		// restore-session tries again.
		a.log.Warn("could not connect the linked device", "err", m.err)
		a.closeConn()
	case wake:
		a.trySend()
	}
}

// recover rebuilds the state from the latest snapshot and the events after it, then resumes: a linked instance
// reconnects, and its queue goes out once it is connected.
func (a *instance) recover() error {
	ctx := context.Background()
	a.st = newState()
	saved, ok, err := a.deps.snapshots.LoadSnapshot(ctx, a.id)
	if err != nil {
		return fmt.Errorf("load snapshot: %w", err)
	}
	if ok {
		var snap actorsv1.InstanceSnapshot
		if err := proto.Unmarshal(saved.State, &snap); err != nil {
			return fmt.Errorf("decode snapshot at %d: %w", saved.Seq, err)
		}
		if snap.GetFormat() == snapshotFormat {
			a.st = stateFromSnapshot(&snap)
		} else {
			a.log.Info("replaying every event: the snapshot is of an older format", "format", snap.GetFormat())
		}
	}
	err = a.deps.events.Load(ctx, a.id, a.st.seq, func(e *eventsv1.Event) error {
		a.st.apply(e)
		a.sinceSnapshot++
		return nil
	})
	if err != nil {
		return fmt.Errorf("load events after %d: %w", a.st.seq, err)
	}
	if a.st.deleted {
		return nil
	}
	if a.st.connected {
		// The events say connected, but this is a new process: the connection is gone until it is made again.
		if err := a.persist(nil, &eventsv1.Event{Payload: &eventsv1.Event_Disconnected{
			Disconnected: &eventsv1.Disconnected{Reason: "server restarted"}}}); err != nil {
			return err
		}
	}
	if a.st.deviceJID != "" {
		a.connect()
	}
	return nil
}

// persist appends events (their payloads set; the envelope is filled here) in one transaction with inTx, and
// applies them to the state.
func (a *instance) persist(inTx func(*sql.Tx) error, evs ...*eventsv1.Event) error {
	now := time.Now().UnixMilli()
	for _, e := range evs {
		e.InstanceId, e.TimeMs = a.id, now
	}
	stored, err := a.deps.events.Append(context.Background(), a.id, a.st.seq, evs, inTx)
	if errors.Is(err, events.ErrConcurrency) {
		// Someone else appended to this instance's stream: this actor's state is stale. Crashing makes the
		// supervisor restart it, and a restarted actor rebuilds its state from the log.
		panic(fmt.Errorf("instance %s: %w", a.id, err))
	}
	if err != nil {
		return fmt.Errorf("append events of instance %s: %w", a.id, err)
	}
	for _, e := range stored {
		a.st.apply(e)
	}
	a.sinceSnapshot += len(stored)
	if a.sinceSnapshot >= a.deps.cfg.SnapshotEvery && !a.st.deleted {
		a.saveSnapshot()
	}
	return nil
}

func (a *instance) saveSnapshot() {
	raw, err := proto.Marshal(a.st.snapshot())
	if err == nil {
		err = a.deps.snapshots.SaveSnapshot(context.Background(), a.id, a.st.seq, raw)
	}
	if err != nil {
		// Only recovery time suffers: the events are the truth.
		a.log.Warn("could not save snapshot", "seq", a.st.seq, "err", err)
		return
	}
	a.sinceSnapshot = 0
}

// pace is the pause after a message before the next one: the message's own delayMessage, or a random pause in
// the configured range so that the number does not send like a machine.
func (a *instance) pace(m *messagesv1.Outbound) time.Duration {
	if d := m.GetDelayMessageS(); d > 0 {
		return time.Duration(d) * time.Second
	}
	lo, hi := a.deps.cfg.SendDelayMin, a.deps.cfg.SendDelayMax
	if hi <= lo {
		return lo
	}
	return lo + rand.N(hi-lo)
}

// configureWebhooks records new webhook targets: the URLs set before those removed, so that a removed webhook's
// pending deliveries can move to one set in the same call (received → received-delivery), then in kind order
// so that the log reads the same every time.
func (a *instance) configureWebhooks(urls map[eventsv1.WebhookKind]string) error {
	var set, removed []eventsv1.WebhookKind
	for _, kind := range slices.Sorted(maps.Keys(urls)) {
		if urls[kind] == "" {
			removed = append(removed, kind)
		} else {
			set = append(set, kind)
		}
	}
	kinds := append(set, removed...)
	evs := make([]*eventsv1.Event, len(kinds))
	for i, kind := range kinds {
		evs[i] = &eventsv1.Event{Payload: &eventsv1.Event_WebhookConfigured{
			WebhookConfigured: &eventsv1.WebhookConfigured{Kind: kind, Url: urls[kind]}}}
	}
	if len(evs) == 0 {
		return nil
	}
	watching := a.st.watchPresence
	if err := a.persist(nil, evs...); err != nil {
		return err
	}
	if a.st.watchPresence != watching {
		a.watchPresence()
	}
	return nil
}

// watchPresence has the client follow the presence of the people the instance chats with while the
// chat-presence webhook is set: WhatsApp tells presence only to who subscribed to it.
func (a *instance) watchPresence() {
	if a.conn == nil {
		return
	}
	conn, on := a.conn, a.st.watchPresence
	a.async(func(context.Context) { conn.WatchPresence(on) })
}
