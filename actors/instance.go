package actors

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/plugzapi/plugzapi/account"
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
	// AppendAsync numbers and returns the events at once and reports their commit to done later; appends queued
	// one after another commit in that order.
	AppendAsync(instanceID string, expectedSeq int64, events []*eventsv1.Event, inTx func(*sql.Tx) error, done func(error)) ([]*eventsv1.Event, error)
	Load(ctx context.Context, instanceID string, afterSeq int64, fn func(*eventsv1.Event) error) error
}

// Snapshots shorten recovery: the state after a seq, so that only later events need replaying.
type Snapshots interface {
	// SaveSnapshot stores the state as of seq, whose event has the ID lastEventID (so that a snapshot of events
	// that never became durable cannot be taken for one of the events that did).
	SaveSnapshot(ctx context.Context, instanceID string, seq int64, lastEventID string, state []byte) error
	LoadSnapshot(ctx context.Context, instanceID string) (snap events.Snapshot, ok bool, err error)
}

// Vault keeps message content, encrypted, only as long as it is needed. Writes take the transaction of the
// event that starts or ends the content's life.
type Vault interface {
	Put(ctx context.Context, q store.Querier, key string, plaintext []byte) error
	// PutUntil keeps content that ends by itself at expires (messages kept for forwarding); DeleteExpired
	// destroys what ended.
	PutUntil(ctx context.Context, q store.Querier, key string, plaintext []byte, expires time.Time) error
	DeleteExpired(ctx context.Context, now time.Time) (int64, error)
	Get(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, q store.Querier, key string) (bool, error)
	DeletePrefix(ctx context.Context, q store.Querier, prefix string) (int64, error)
}

// Sessions opens instances' WhatsApp clients.
type Sessions interface {
	Open(ctx context.Context, owner, deviceJID, sessionName string, handle whatsapp.Handler, may whatsapp.MayConnect) (Conn, error)
	DeleteDevice(ctx context.Context, deviceJID string) error
}

// Conn is an instance's WhatsApp client (whatsapp.Conn). Its methods may block on the network: the actor calls
// them off its own goroutine.
type Conn interface {
	// Client answers what the account holds and can be asked for beyond messages (contacts, chats, groups,
	// profile); callers reach it through System.Account, off the actor.
	account.Client
	// Connect connects a linked device; events tell how it goes.
	Connect() error
	// Link connects a new device for linking: QR codes and the link's outcome come through handle.
	Link(handle whatsapp.Handler) error
	// PairPhone asks for a code to link by typing it on the phone, while linking.
	PairPhone(ctx context.Context, phone string) (string, error)
	// Send sends a message with its own WhatsApp ID and returns WhatsApp's timestamp, and the message as it went
	// when it can be forwarded.
	Send(ctx context.Context, m *messagesv1.Outbound) (whatsapp.Sent, error)
	// Logout unlinks the device and deletes its session.
	Logout(ctx context.Context) error
	// Close disconnects, keeping the session.
	Close()
	// WatchPresence follows, or stops following, the presence of the people the instance chats with.
	WatchPresence(on bool)
	// RejectCall declines a call that rings.
	RejectCall(ctx context.Context, call whatsapp.Call) error
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
	// targets is the read model of webhook targets, read only to upgrade an old snapshot (settings.go).
	targets WebhookTargets
	cfg     Config
	// work owns the goroutines instances start for their network calls: System.Stop cancels stopping and waits
	// for them.
	work     sync.WaitGroup
	stopping context.Context
	// leases holds this node's instance leases; leaseLost is what the System does when one is lost.
	leases    *leaseKeeper
	leaseLost func(id string, pid *actor.PID)
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

	// Messages accepted but not yet appended, whether a flush is waiting in the mailbox, and whether the last
	// flush is not durable yet (the next one waits for it, gathering what arrives meanwhile).
	pending     []pendingEnqueue
	flushPosted bool
	flushing    bool

	// The send loop: one message in flight at a time, the next not before nextSendAt.
	inflight   string
	nextSendAt time.Time
	wakeTimer  *time.Timer
	sendErrors int
	// content holds the content of the first messages of the queue, so that sending them reads no vault.
	content contentCache

	// The state runs ahead of the disk: events are applied when their append is queued and become durable a
	// little later, while the actor goes on with its mailbox. Whatever the world sees — an answer, a message
	// handed to WhatsApp, an acknowledgement of a received message — waits for the events behind it (then).
	appending  int   // appends queued and not yet answered
	durableSeq int64 // the events up to this seq are committed
	waiting    []durableWaiter
	// storageErr is set when an append failed: the state ran ahead of a log that will not catch up. Nothing is
	// appended until the appends queued behind it have failed too and the state is reloaded from the log.
	storageErr error

	sinceSnapshot int
	snapshotTimer *time.Timer

	// lease is the instance's lease while this node holds it (Token 0 before); nothing happens without it.
	lease      store.Lease
	claimPause time.Duration
	claimTimer *time.Timer
	claimedAt  time.Time // the last try
}

// durableWaiter is something to do once the events up to seq are durable.
type durableWaiter struct {
	seq int64
	fn  func(error)
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
	if a.lease.Token == 0 {
		switch ctx.Message().(type) {
		case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting, claimLease:
		default:
			a.unclaimed(ctx)
			return
		}
	}
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.self, a.system = ctx.Self(), ctx.ActorSystem()
		a.ctx, a.stop = context.WithCancel(a.deps.stopping)
		a.claim(ctx)
	case claimLease:
		a.claimTimer = nil
		if a.lease.Token == 0 {
			a.claim(ctx)
		}
	case *actor.Stopping, *actor.Restarting:
		a.stop()
		a.closeConn()
		a.stopWake()
		if a.snapshotTimer != nil {
			a.snapshotTimer.Stop()
		}
		if a.claimTimer != nil {
			a.claimTimer.Stop()
		}
		if a.lease.Token != 0 {
			// A clean stop hands over at once. Appends still queued are fenced from here on.
			a.deps.leases.release(context.WithoutCancel(a.ctx), a.id)
			a.lease = store.Lease{}
		}

	case enqueue:
		a.enqueue(ctx, m.msg)
	case flushEnqueues:
		a.flush()
	case listQueue:
		ctx.Respond(reply{a.st.queue, nil})
	case cancelQueued:
		a.cancel(m.zaapID, nil, a.answer(ctx))
	case clearQueue:
		requester := ctx.Sender()
		a.clear(func(n int, err error) { a.system.Root.Send(requester, reply{n, err}) })
	case getStatus:
		ctx.Respond(reply{a.status(), nil})
	case getDevice:
		ctx.Respond(a.device())
	case getAccount:
		ctx.Respond(a.account())
	case getQRCode:
		a.qrCode(ctx)
	case pairPhone:
		a.pairPhone(ctx, m.phone)
	case restart:
		a.restart(a.answer(ctx))
	case restoreSession:
		ctx.Respond(reply{nil, a.restoreSession()})
	case logout:
		a.logout(ctx)
	case configureWebhooks:
		a.configureWebhooks(m.urls, a.answer(ctx))
	case markRead:
		a.markRead(ctx, m)
	case deleteInstance:
		a.delete(a.answer(ctx))
	case settingsMessage:
		m.handle(a, ctx)
	case suspend:
		a.suspend(a.answer(ctx))

	case waEvent:
		// Messages and receipts come with a sender waiting to acknowledge them to WhatsApp; other events do not.
		// Events of a client that was replaced are answered (so that its handler returns) and forgotten.
		done := func(error) {}
		if ctx.Sender() != nil {
			done = a.answer(ctx)
		}
		if m.gen != a.gen {
			done(nil)
			return
		}
		a.handleWhatsApp(m.event, done)
	case appended:
		a.appendDone(m.seq, m.err)
	case snapshotDue:
		a.snapshotTimer = nil
		if a.sinceSnapshot > 0 && !a.st.deleted {
			a.saveSnapshot()
		}
	case contentRead:
		a.content.readAhead(m, a.st)
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

// answer returns what answers the request in hand, later and from anywhere in the actor.
func (a *instance) answer(ctx actor.Context) func(error) {
	requester, root := ctx.Sender(), a.system.Root
	return func(err error) { root.Send(requester, reply{nil, err}) }
}

// recover rebuilds the state from the latest snapshot and the events after it, then resumes: a linked instance
// reconnects, and its queue goes out once it is connected.
func (a *instance) recover() error {
	if err := a.load(); err != nil {
		return err
	}
	if a.st.deleted {
		return nil
	}
	if a.st.connected {
		// The events say connected, but this is a new process: the connection is gone until it is made again.
		if err := a.append(nil, &eventsv1.Event{Payload: &eventsv1.Event_Disconnected{
			Disconnected: &eventsv1.Disconnected{Reason: "server restarted"}}}); err != nil {
			return err
		}
	}
	if a.st.deviceJID != "" {
		a.connect()
	}
	return nil
}

// load reads the state from the latest snapshot and the events after it: all of it durable.
func (a *instance) load() error {
	ctx := context.Background()
	a.st = newState()
	a.sinceSnapshot = 0
	saved, ok, err := a.deps.snapshots.LoadSnapshot(ctx, a.id)
	if err != nil {
		return fmt.Errorf("load snapshot: %w", err)
	}
	if ok {
		var snap actorsv1.InstanceSnapshot
		if err := proto.Unmarshal(saved.State, &snap); err != nil {
			return fmt.Errorf("decode snapshot at %d: %w", saved.Seq, err)
		}
		switch snap.GetFormat() {
		case snapshotFormat:
			a.st = stateFromSnapshot(&snap)
		case snapshotFormatWithoutWebhooks:
			if a.st, err = a.upgradeSnapshot(ctx, &snap); err != nil {
				return err
			}
		default:
			a.log.Warn("replaying every event left: the snapshot is of a format this code does not read (events compacted behind it are lost to the state)", "format", snap.GetFormat())
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
	a.durableSeq = a.st.seq
	a.content.keep(a.st)
	if a.sinceSnapshot > 0 {
		a.armSnapshot()
	}
	return nil
}

// append queues events (their payloads set; the envelope is filled here) for the log, in one transaction with
// inTx, and applies them to the state at once. It fails, with nothing queued, only while the state is being
// reloaded after a storage error.
func (a *instance) append(inTx func(*sql.Tx) error, evs ...*eventsv1.Event) error {
	if a.storageErr != nil {
		return fmt.Errorf("instance %s is reloading its state after a storage error: %w", a.id, a.storageErr)
	}
	now := time.Now().UnixMilli()
	for _, e := range evs {
		e.InstanceId, e.TimeMs = a.id, now
	}
	seq := a.st.seq + int64(len(evs))
	self, root := a.self, a.system.Root
	inTx = a.deps.leases.fenced(a.id, a.lease.Token, inTx)
	stored, err := a.deps.events.AppendAsync(a.id, a.st.seq, evs, inTx, func(err error) {
		root.Send(self, appended{seq: seq, err: err})
	})
	if err != nil {
		// The events themselves are wrong: a bug, not the disk.
		return fmt.Errorf("append events of instance %s: %w", a.id, err)
	}
	a.appending++
	for _, e := range stored {
		a.st.apply(e)
	}
	if a.sinceSnapshot == 0 {
		a.armSnapshot()
	}
	a.sinceSnapshot += len(stored)
	// A snapshot costs as much as the queue is long: taking one at most every len(queue) events keeps its cost
	// per event constant however long the queue grows (and replay after a crash no longer than the snapshot).
	if a.sinceSnapshot >= max(a.deps.cfg.SnapshotEvery, len(a.st.queue)) && !a.st.deleted {
		a.saveSnapshot()
	}
	return nil
}

// persist appends events and calls then once they are durable, or with the error that kept them from the log.
func (a *instance) persist(inTx func(*sql.Tx) error, then func(error), evs ...*eventsv1.Event) {
	if err := a.append(inTx, evs...); err != nil {
		then(err)
		return
	}
	a.then(then)
}

// then calls fn once every event appended so far is durable (at once when they are), or with the error that
// kept them from the log.
func (a *instance) then(fn func(error)) {
	switch {
	case a.storageErr != nil:
		fn(a.storageErr)
	case a.durableSeq >= a.st.seq:
		fn(nil)
	default:
		a.waiting = append(a.waiting, durableWaiter{seq: a.st.seq, fn: fn})
	}
}

// appendDone takes the outcome of an append. Appends commit in the order they were queued, and one that fails
// fails all those queued after it (their expected seq is never reached), so the log is always a prefix of the
// state: once the failed appends are all answered, the state is reloaded from the log.
func (a *instance) appendDone(seq int64, err error) {
	a.appending--
	if err == nil {
		a.durableSeq = max(a.durableSeq, seq)
		ready := 0
		for ready < len(a.waiting) && a.waiting[ready].seq <= a.durableSeq {
			ready++
		}
		done := a.waiting[:ready]
		a.waiting = a.waiting[ready:]
		for _, w := range done {
			w.fn(nil)
		}
		a.trySend()
		return
	}
	if a.storageErr == nil {
		a.log.Error("an append failed; the instance reloads its state from the log", "seq", seq, "err", err)
		a.storageErr = err
		waiting := a.waiting
		a.waiting = nil
		for _, w := range waiting {
			w.fn(err)
		}
	}
	if a.appending > 0 {
		return
	}
	a.storageErr = nil
	if err := a.load(); err != nil {
		// Without its state the instance cannot serve; failing makes the supervisor try again.
		panic(fmt.Errorf("reload instance %s: %w", a.id, err))
	}
	// The storage may still be failing: do not hammer it with the head of the queue.
	a.retryLater()
	a.postFlush()
}

// armSnapshot makes sure a snapshot follows within SnapshotAfter of the first event it does not cover, so that
// the log behind it can be compacted on time even when the instance is quiet.
func (a *instance) armSnapshot() {
	if a.snapshotTimer != nil || a.self == nil {
		return
	}
	self, root := a.self, a.system.Root
	a.snapshotTimer = time.AfterFunc(a.deps.cfg.SnapshotAfter, func() { root.Send(self, snapshotDue{}) })
}

// saveSnapshot writes the state as of now off the actor: the events it covers may not be durable yet, and
// the log refuses the snapshot if they never become so.
func (a *instance) saveSnapshot() {
	snap, seq, lastID, log := a.st.snapshot(), a.st.seq, a.st.lastEventID, a.log
	a.sinceSnapshot = 0
	if a.snapshotTimer != nil {
		a.snapshotTimer.Stop()
		a.snapshotTimer = nil
	}
	snapshots, id := a.deps.snapshots, a.id
	a.async(func(ctx context.Context) {
		raw, err := proto.Marshal(snap)
		if err == nil {
			err = snapshots.SaveSnapshot(ctx, id, seq, lastID, raw)
		}
		if err != nil {
			// Only recovery time suffers: the events are the truth.
			log.Warn("could not save snapshot", "seq", seq, "err", err)
		}
	})
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
func (a *instance) configureWebhooks(urls map[eventsv1.WebhookKind]string, done func(error)) {
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
		done(nil)
		return
	}
	watching := a.st.watchPresence
	a.persist(nil, done, evs...)
	if a.st.watchPresence != watching {
		a.watchPresence()
	}
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
