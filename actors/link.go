package actors

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/plugzapi/plugzapi/account"
	"github.com/plugzapi/plugzapi/events"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/recipient"
	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/whatsapp"
)

// Status texts PlugZapi's GET /status uses.
const (
	statusNotConnected   = "You are not connected."
	statusRestoreSession = "You need to restore the session."
)

// openConn replaces the WhatsApp client with a new one on deviceJID ("" for a new, unlinked device). Events of
// the client reach the mailbox tagged with its generation; messages and receipts wait there until they are stored,
// so that WhatsApp is acknowledged only for what is durable.
func (a *instance) openConn(deviceJID string) error {
	a.closeConn()
	a.gen++
	gen, self, root, timeout := a.gen, a.self, a.system.Root, a.deps.cfg.RequestTimeout
	handle := func(e whatsapp.Event) bool {
		switch e.(type) {
		case whatsapp.MessageReceived, whatsapp.ReceiptReceived,
			// A change to chats or labels is stored before the call that made it returns (read your writes).
			whatsapp.ChatsChanged, whatsapp.LabelsChanged, whatsapp.ChatLabeled:
			res, err := root.RequestFuture(self, waEvent{gen: gen, event: e}, timeout).Result()
			if err != nil {
				return false
			}
			r, _ := res.(reply)
			return r.err == nil
		default:
			root.Send(self, waEvent{gen: gen, event: e})
			return true
		}
	}
	id, leases := a.id, a.deps.leases
	conn, err := a.deps.sessions.Open(context.Background(), a.id, deviceJID, a.st.sessionName, handle,
		func() error { return leases.check(id) })
	if err != nil {
		return err
	}
	a.conn = conn
	a.watchPresence()
	return nil
}

// closeConn drops the WhatsApp client. Disconnecting runs in the background: it must not wait on a handler that
// waits on this actor.
func (a *instance) closeConn() {
	if a.conn == nil {
		return
	}
	conn := a.conn
	a.async(func(context.Context) { conn.Close() })
	a.conn = nil
	a.linking = false
	a.qr = whatsapp.QRCode{}
	a.inflight = ""
}

// connect connects the linked device. A device whose session is gone is recorded as logged out.
func (a *instance) connect() {
	if err := a.openConn(a.st.deviceJID); err != nil {
		a.log.Warn("cannot open the linked device", "device", a.st.deviceJID, "err", err)
		if errors.Is(err, whatsapp.ErrNoSession) {
			a.recordLoggedOut("the device's session is gone; link the instance again", false, a.logFailure("record the lost session"))
		}
		return
	}
	conn, gen, self, root := a.conn, a.gen, a.self, a.system.Root
	a.async(func(context.Context) {
		if err := conn.Connect(); err != nil {
			root.Send(self, linkFailed{gen: gen, err: err})
		}
	})
}

// startLinking opens a new device and connects it for QR codes, unless a link is already under way.
func (a *instance) startLinking() error {
	if a.linking {
		return nil
	}
	if err := a.openConn(""); err != nil {
		return fmt.Errorf("open a new device: %w", err)
	}
	a.linking = true
	conn, gen, self, root := a.conn, a.gen, a.self, a.system.Root
	handle := func(e whatsapp.Event) bool {
		root.Send(self, waEvent{gen: gen, event: e})
		return true
	}
	a.async(func(context.Context) {
		if err := conn.Link(handle); err != nil {
			root.Send(self, linkFailed{gen: gen, err: err})
		}
	})
	return nil
}

// endLinking gives up the current link attempt; the next QR request starts a new one.
func (a *instance) endLinking(cause error) {
	a.closeConn()
	for _, w := range a.qrWaiters {
		a.system.Root.Send(w, reply{err: fmt.Errorf("%w: %v", ErrQRNotReady, cause)})
	}
	a.qrWaiters = nil
}

// qrCode answers with the current QR code, starting a link when none is under way. Requests that come before
// the first code wait for it.
func (a *instance) qrCode(ctx actor.Context) {
	if a.st.deviceJID != "" {
		ctx.Respond(reply{err: ErrAlreadyConnected})
		return
	}
	if a.qr.Code != "" && time.Now().Before(a.qr.Expires) {
		ctx.Respond(reply{value: a.qr.Code})
		return
	}
	if err := a.startLinking(); err != nil {
		ctx.Respond(reply{err: err})
		return
	}
	a.qrWaiters = append(a.qrWaiters, ctx.Sender())
}

// pairPhone asks WhatsApp for a code to link the instance by typing it on the phone.
func (a *instance) pairPhone(ctx actor.Context, phone string) {
	if !recipient.IsPhoneNumber(phone) {
		ctx.Respond(reply{err: ErrInvalidPhone})
		return
	}
	if a.st.deviceJID != "" {
		ctx.Respond(reply{err: ErrAlreadyConnected})
		return
	}
	if err := a.startLinking(); err != nil {
		ctx.Respond(reply{err: err})
		return
	}
	conn, requester, self, root, timeout := a.conn, ctx.Sender(), a.self, a.system.Root, a.deps.cfg.RequestTimeout
	a.async(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		code, err := conn.PairPhone(ctx, phone)
		root.Send(self, pairPhoneDone{requester: requester, code: code, err: err})
	})
}

// restart drops the connection and makes it again.
func (a *instance) restart(done func(error)) {
	if a.st.connected {
		if err := a.append(nil, &eventsv1.Event{Payload: &eventsv1.Event_Disconnected{
			Disconnected: &eventsv1.Disconnected{Reason: "restarted by the API"}}}); err != nil {
			done(err)
			return
		}
	}
	if a.st.deviceJID == "" {
		a.closeConn()
	} else {
		a.connect()
	}
	a.then(done)
}

// restoreSession reconnects a linked instance that is not connected.
func (a *instance) restoreSession() error {
	if a.st.deviceJID == "" {
		return ErrNotLinked
	}
	if a.conn == nil || !a.st.connected {
		a.connect()
	}
	return nil
}

// logout unlinks the device from the phone; the request is answered when it is done.
func (a *instance) logout(ctx actor.Context) {
	if a.st.deviceJID == "" {
		a.closeConn()
		ctx.Respond(reply{})
		return
	}
	requester, self, root := ctx.Sender(), a.self, a.system.Root
	unlink := a.unlinker()
	a.async(func(ctx context.Context) { root.Send(self, logoutDone{requester: requester, err: unlink(ctx)}) })
}

// unlinker takes the instance's device away from the actor and returns what unlinks it from the phone (or, when
// it is not connected, deletes its session), to run off the actor.
func (a *instance) unlinker() func(context.Context) error {
	conn, device, sessions, timeout := a.conn, a.st.deviceJID, a.deps.sessions, a.deps.cfg.RequestTimeout
	a.conn = nil
	a.gen++
	return func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		switch {
		case conn != nil:
			return conn.Logout(ctx)
		case device != "":
			return sessions.DeleteDevice(ctx, device)
		}
		return nil
	}
}

func (a *instance) loggedOut(d logoutDone) {
	answer := func(err error) { a.system.Root.Send(d.requester, reply{err: err}) }
	if d.err != nil {
		answer(d.err)
		return
	}
	a.recordLoggedOut("logged out by the API", true, answer)
}

func (a *instance) recordLoggedOut(reason string, byAPI bool, done func(error)) {
	if a.st.deviceJID == "" && !a.st.connected {
		done(nil)
		return
	}
	a.persist(nil, done, &eventsv1.Event{Payload: &eventsv1.Event_LoggedOut{
		LoggedOut: &eventsv1.LoggedOut{Reason: reason, ByApi: byAPI}}})
}

// logFailure is the completion of an append nobody waits for: a failure is only logged (the state reloads).
func (a *instance) logFailure(what string) func(error) {
	return func(err error) {
		if err != nil {
			a.log.Warn("could not "+what, "err", err)
		}
	}
}

func (a *instance) status() Status {
	switch {
	case a.st.connected:
		return Status{Connected: true, Session: true, SmartphoneConnected: true}
	case a.st.deviceJID != "":
		return Status{Session: true, Error: statusRestoreSession}
	default:
		return Status{Error: statusNotConnected}
	}
}

func (a *instance) device() reply {
	if a.st.deviceJID == "" {
		return reply{err: ErrNotLinked}
	}
	return reply{value: Device{
		Phone:        a.st.phone,
		Platform:     a.st.platform,
		BusinessName: a.st.businessName,
		SessionName:  a.st.sessionName,
	}}
}

// delete records the instance's end, forgets its history and content, and unlinks its device; the actor stops
// once that is durable, after answering.
func (a *instance) delete(done func(error)) {
	history := a.st.seq
	err := a.append(func(tx *sql.Tx) error {
		if _, err := a.deps.vault.DeletePrefix(context.Background(), tx, events.VaultPrefix(a.id)); err != nil {
			return err
		}
		if err := events.ForgetHistory(context.Background(), tx, a.id, history); err != nil {
			return err
		}
		return store.DeleteInstance(context.Background(), tx, a.id)
	}, &eventsv1.Event{Payload: &eventsv1.Event_InstanceDeleted{InstanceDeleted: &eventsv1.InstanceDeleted{}}})
	if err != nil {
		done(err)
		return
	}
	a.then(func(err error) {
		done(err)
		if err != nil {
			return
		}
		a.stopWake()
		device, unlink, log := a.st.deviceJID, a.unlinker(), a.log
		// The actor stops now; unlinking goes on without it, until the server stops.
		stopping := a.deps.stopping
		a.deps.work.Go(func() {
			if err := unlink(stopping); err != nil {
				log.Warn("could not unlink the device of a deleted instance", "device", device, "err", err)
			}
		})
		a.system.Root.Stop(a.self)
	})
}

// account hands out the connection for calls to the linked account that need no state of the instance.
func (a *instance) account() reply {
	switch {
	case a.st.deviceJID == "":
		return reply{err: ErrNotLinked}
	case a.conn == nil || !a.st.connected:
		return reply{err: ErrNotConnected}
	}
	return reply{value: account.Client(a.conn)}
}
