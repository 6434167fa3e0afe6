package actors

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/events"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
)

// ErrUnavailable is returned when an instance did not answer in time (it is busy or restarting).
var ErrUnavailable = errors.New("the instance did not answer in time")

// System runs the instance actors of this server, one per instance, and takes the HTTP API's commands: it finds
// an instance's actor and asks it, and it creates and deletes instances. Queries about all instances are the
// Directory's (read models); credentials are package access's.
type System struct {
	actors *actor.ActorSystem
	deps   *deps
	db     *sql.DB
	// stopWork ends the instances' network calls (deps.stopping).
	stopWork context.CancelFunc

	// clusterCfg, when set, makes this System a node of a cluster (ClusterConfig); cluster is that node once
	// started.
	clusterCfg *ClusterConfig
	cluster    *clusterNode
	cutOff     func()

	mu   sync.RWMutex
	pids map[string]*actor.PID
	// serving counts the requests served here per instance (cluster nodes, see hold); leaving are the instances
	// a draining node is handing over.
	serving map[string]int
	leaving map[string]bool
}

// ask sends a command to an instance's actor and waits for its reply, no longer than the context allows. An
// instance that waits for its lease (just placed on this node, the node before it handing it over) applied
// nothing and is asked again, every askAgainEvery, until it answers or the time is up.
func (s *System) ask(ctx context.Context, id string, cmd any) (any, error) {
	timeout := s.deps.cfg.RequestTimeout
	if deadline, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(deadline))
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("instance %s: %w", id, ctx.Err())
	}
	deadline := time.Now().Add(timeout)
	for attempt := 0; ; attempt++ {
		s.mu.RLock()
		pid := s.pids[id]
		s.mu.RUnlock()
		if pid == nil {
			if attempt > 0 || s.Draining() {
				// It stopped while waiting for its lease, or was handed over: it runs on another node now.
				return nil, fmt.Errorf("instance %s: %w", id, ErrUnavailable)
			}
			return nil, ErrInstanceNotFound
		}
		res, err := s.actors.Root.RequestFuture(pid, cmd, time.Until(deadline)).Result()
		if err != nil {
			// A dead letter: it stopped (it moved to another node) as the request reached it.
			if errors.Is(err, actor.ErrTimeout) || errors.Is(err, actor.ErrDeadLetter) {
				return nil, fmt.Errorf("instance %s: %w", id, ErrUnavailable)
			}
			return nil, fmt.Errorf("instance %s: %w", id, err)
		}
		r, ok := res.(reply)
		if !ok {
			return nil, fmt.Errorf("instance %s: unexpected answer %T", id, res)
		}
		if !errors.Is(r.err, errUnclaimed) || time.Until(deadline) < askAgainEvery {
			return r.value, r.err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("instance %s: %w", id, ctx.Err())
		case <-time.After(askAgainEvery):
		}
	}
}

// askAgainEvery is how often a request asks again an instance that waits for its lease.
const askAgainEvery = 20 * time.Millisecond

// spawn starts the actor of an instance; it recovers its state from the event log before its first message.
func (s *System) spawn(id string) error {
	props := actor.PropsFromProducer(func() actor.Actor { return newInstance(id, s.deps) })
	pid, err := s.actors.Root.SpawnNamed(props, "instance/"+id)
	if err != nil {
		return fmt.Errorf("spawn instance %s: %w", id, err)
	}
	s.mu.Lock()
	s.pids[id] = pid
	s.mu.Unlock()
	return nil
}

// Stop stops every instance actor, each closing its WhatsApp connection, and waits for them (no longer than ctx).
func (s *System) Stop(ctx context.Context) {
	s.mu.Lock()
	pids := s.pids
	s.pids = map[string]*actor.PID{}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, pid := range pids {
		wg.Go(func() { _ = s.actors.Root.PoisonFuture(pid).Wait() })
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		// The actors are stopped (their leases released): what they left running is told to stop, and waited for.
		s.stopWork()
		s.deps.work.Wait()
		s.deps.leases.close()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.deps.log.Warn("instances did not all stop in time", "err", ctx.Err())
	}
	if s.cluster != nil {
		s.stopCluster() // shuts the actor system down too
		return
	}
	s.actors.Shutdown()
}

// Send queues a message on an instance. The message is the instance's from then on: the caller must not touch it.
// A revoke of the instance's own message that still waits in the queue takes that message off the queue
// instead, and nothing is queued (the Queued is zero).
func (s *System) Send(ctx context.Context, id string, m *messagesv1.Outbound) (Queued, error) {
	if err := s.completeRefs(ctx, id, m); err != nil {
		return Queued{}, err
	}
	v, err := s.ask(ctx, id, enqueue{msg: m})
	if err != nil {
		return Queued{}, err
	}
	return v.(Queued), nil
}

// Queue lists an instance's queued messages with their content, in sending order.
func (s *System) Queue(ctx context.Context, id string) ([]QueueItem, error) {
	v, err := s.ask(ctx, id, listQueue{})
	if err != nil {
		return nil, err
	}
	queue := v.([]*eventsv1.Event)
	items := make([]QueueItem, 0, len(queue))
	for _, e := range queue {
		queued := e.GetMessageQueued()
		record, err := s.deps.vault.Get(ctx, events.OutboundVaultKey(id, queued.GetMessageId()))
		if err != nil {
			// Sent or cancelled since the listing: it is no longer queued.
			continue
		}
		m, err := events.Unseal(queued, record)
		if err != nil {
			return nil, err
		}
		dropFileBytes(m.GetContent())
		items = append(items, QueueItem{Message: m, Queued: time.UnixMilli(e.GetTimeMs())})
	}
	return items, nil
}

// dropFileBytes empties the file a content carries in base64: a listing of the queue does not show files, and
// holding every queued file at once could take gigabytes.
func dropFileBytes(c *messagesv1.Content) {
	for _, m := range []*messagesv1.Media{c.GetImage(), c.GetAudio(), c.GetVideo(), c.GetDocument(), c.GetSticker(),
		c.GetText().GetPreview().GetImage()} {
		if m.GetData() != nil {
			m.Source = nil
		}
	}
}

// QueueCount returns how many messages wait in an instance's queue.
func (s *System) QueueCount(ctx context.Context, id string) (int, error) {
	v, err := s.ask(ctx, id, listQueue{})
	if err != nil {
		return 0, err
	}
	return len(v.([]*eventsv1.Event)), nil
}

// CancelQueued removes one message from an instance's queue before it is sent.
func (s *System) CancelQueued(ctx context.Context, id, zaapID string) error {
	_, err := s.ask(ctx, id, cancelQueued{zaapID: zaapID})
	return err
}

// ClearQueue removes every message waiting in an instance's queue.
func (s *System) ClearQueue(ctx context.Context, id string) error {
	_, err := s.ask(ctx, id, clearQueue{})
	return err
}

// Status reports an instance's connection state.
func (s *System) Status(ctx context.Context, id string) (Status, error) {
	v, err := s.ask(ctx, id, getStatus{})
	if err != nil {
		return Status{}, err
	}
	return v.(Status), nil
}

// Device describes an instance's linked account and device, with its WhatsApp profile while connected.
func (s *System) Device(ctx context.Context, id string) (Device, error) {
	v, err := s.ask(ctx, id, getDevice{})
	if err != nil {
		return Device{}, err
	}
	return s.withProfile(ctx, id, v.(Device))
}

// Account reaches an instance's linked WhatsApp account through its connection, for what only WhatsApp knows
// (contacts, groups, profile…). It is ErrNotLinked before linking and ErrNotConnected while not connected; the
// connection may drop afterwards, and the Client's calls then fail with account.ErrNotConnected.
func (s *System) Account(ctx context.Context, id string) (account.Client, error) {
	v, err := s.ask(ctx, id, getAccount{})
	if err != nil {
		return nil, err
	}
	return v.(account.Client), nil
}

// QRCode returns the code to scan to link an instance, starting a link when none is under way.
func (s *System) QRCode(ctx context.Context, id string) (string, error) {
	v, err := s.ask(ctx, id, getQRCode{})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// PhoneCode asks WhatsApp for a code that links an instance when typed on the phone of the given number.
func (s *System) PhoneCode(ctx context.Context, id, phone string) (string, error) {
	v, err := s.ask(ctx, id, pairPhone{phone: phone})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// Restart drops an instance's connection and connects again.
func (s *System) Restart(ctx context.Context, id string) error {
	_, err := s.ask(ctx, id, restart{})
	return err
}

// Disconnect logs an instance out of WhatsApp; linking it again needs a new QR code or phone code.
func (s *System) Disconnect(ctx context.Context, id string) error {
	_, err := s.ask(ctx, id, logout{})
	return err
}

// RestoreSession reconnects a linked instance that lost its connection.
func (s *System) RestoreSession(ctx context.Context, id string) error {
	_, err := s.ask(ctx, id, restoreSession{})
	return err
}

// SetWebhooks sets where an instance's webhooks go; an empty URL removes one.
func (s *System) SetWebhooks(ctx context.Context, id string, urls map[eventsv1.WebhookKind]string) error {
	_, err := s.ask(ctx, id, configureWebhooks{urls: urls})
	return err
}

// Suspend drops an instance's WhatsApp connection and keeps its session: it stays off until RestoreSession
// (or a restart of the server) connects it again.
func (s *System) Suspend(ctx context.Context, id string) error {
	_, err := s.ask(ctx, id, suspend{})
	return err
}
