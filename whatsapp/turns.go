package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.mau.fi/libsignal/signalerror"
	"go.mau.fi/whatsmeow/store"
)

// A device's sends and its decryptions take turns. whatsmeow serialises sends among themselves, not with
// decryptions, and a Signal session is read, ratcheted and written back by both:
//
//   - A send reads the sessions it encrypts with (WithCachedSessions), fetches the keys of devices it has no
//     session with, encrypts, and writes them all back at the end (PutCachedSessions): a decryption committed in
//     between is overwritten. Traced in a throwaway run: a contact's first message (a prekey message) was
//     decrypted while the instance's first send to them fetched their keys; the send then wrote its own new
//     session over the one the decryption had made, so their next messages could not be decrypted ("prekey
//     store didn't return one-time key": the one-time prekey was spent) and came, if at all, through retries.
//   - A decryption reads the session inside its transaction, but on PostgreSQL (read committed) nothing stops a
//     send from writing it before the decryption writes back what it read: the send's counter step is undone,
//     the next message goes out under a counter already used, and the contact's phone ignores it as an "old
//     counter" (acknowledging it all the same). Without turns, TestTwoWayTraffic on PostgreSQL lost 7 to 15 of
//     the instance's messages per 60 to 100 sent; on SQLite the decryption's transaction holds the write lock
//     from its start.
//
// So a send holds the device's turn from reading its sessions to writing them back, and each decryption runs in
// the event buffer's transaction under the same turn (takingTurns). The send's part is marked by the session
// store (turnSessions): whatsmeow reads the sessions it encrypts with in one GetManySessions and writes them back
// in one PutManySessions, with Conn.Send's context. The store is wrapped when the client is built, like the
// fence; a device paired by this client has whatsmeow's own store until its next client, and meanwhile its sends
// hold the turn throughout, waiting for WhatsApp's ack too: a decryption then waits up to a round trip (with the
// instance's acks 50 ms late, 100 texts from Alice crossing 100 sends took 5.6 s to arrive that way, 0.4 s with
// the store marking the turn, 0.5 s with no turn at all). Not covered: the sends whatsmeow makes by itself,
// which are rare (its answer to a retry receipt, its request to the phone for a message it could not decrypt).

// sendTurn is one send's claim on the device's turn: taken when whatsmeow reads the sessions it encrypts with,
// given back once it wrote them, or when the send returns. Only the sending goroutine uses it.
type sendTurn struct {
	turn *sync.Mutex
	held bool
}

type sendTurnKey struct{}

func (t *sendTurn) take() {
	if !t.held {
		t.turn.Lock()
		t.held = true
	}
}

func (t *sendTurn) giveBack() {
	if t.held {
		t.held = false
		t.turn.Unlock()
	}
}

// turnSessions is the device's session store, which takes a send's turn (the sendTurn in its context) while the
// send has its sessions out.
type turnSessions struct {
	store.SessionStore
}

func (s turnSessions) GetManySessions(ctx context.Context, addresses []string) (map[string][]byte, error) {
	t, _ := ctx.Value(sendTurnKey{}).(*sendTurn)
	if t != nil {
		t.take()
	}
	sessions, err := s.SessionStore.GetManySessions(ctx, addresses)
	if err != nil && t != nil {
		t.giveBack()
	}
	return sessions, err
}

func (s turnSessions) PutManySessions(ctx context.Context, sessions map[string][]byte) error {
	err := s.SessionStore.PutManySessions(ctx, sessions)
	if t, _ := ctx.Value(sendTurnKey{}).(*sendTurn); t != nil {
		t.giveBack()
	}
	return err
}

// inTurn runs send, which sends with whatsmeow, in the device's turn: only while its sessions are out when the
// store marks that (turnSessions), else throughout.
func (c *Conn) inTurn(ctx context.Context, send func(context.Context) error) error {
	if _, marked := c.cli.Store.Sessions.(turnSessions); !marked {
		c.turn.Lock()
		defer c.turn.Unlock()
		return send(ctx)
	}
	t := &sendTurn{turn: c.turn}
	defer t.giveBack()
	return send(context.WithValue(ctx, sendTurnKey{}, t))
}

// takingTurns runs each decryption (whatsmeow's DoDecryptionTxn: its ratchet step and the buffered plaintext)
// in the device's turn.
//
// It also keeps a message under a counter already used from being dropped. whatsmeow ignores such a message and
// acknowledges it with a delivery receipt, as a duplicate; but a message delivered again is recognised before it
// is decrypted (the buffer holds its ciphertext's hash), so what reaches decryption under an old counter is a new
// message from a sender whose session went back (a phone restored from a backup, or one that lost a ratchet step
// as above). Reported as a plain decryption failure, it is not acknowledged unseen: whatsmeow reports it waiting
// and asks the sender for it again with a retry receipt, and the sender encrypts it again under a new counter.
type takingTurns struct {
	store.EventBuffer
	turn *sync.Mutex
}

// errCounterReused is the decryption failure a message under an old counter becomes (see takingTurns).
var errCounterReused = errors.New("the sender used this message's counter before")

func (b takingTurns) DoDecryptionTxn(ctx context.Context, fn func(context.Context) error) error {
	b.turn.Lock()
	defer b.turn.Unlock()
	err := b.EventBuffer.DoDecryptionTxn(ctx, fn)
	if errors.Is(err, signalerror.ErrOldCounter) {
		// Not wrapped: whatsmeow tests for ErrOldCounter to drop the message.
		return fmt.Errorf("%w (%v)", errCounterReused, err)
	}
	return err
}
