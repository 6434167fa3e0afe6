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
//     counter" (acknowledging it all the same). TestTwoWayTraffic on PostgreSQL lost 9 to 15 of the instance's
//     100 messages that way; on SQLite the decryption's transaction holds the write lock from its start.
//
// So Conn.Send holds the device's turn while whatsmeow sends, and each decryption runs in the event buffer's
// transaction under the same turn (takingTurns). Not covered: the sends whatsmeow makes by itself, which are
// rare (its answer to a retry receipt, its request to the phone for a message it could not decrypt).

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
