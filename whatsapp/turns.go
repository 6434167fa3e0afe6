package whatsapp

import (
	"context"
	"sync"

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
type takingTurns struct {
	store.EventBuffer
	turn *sync.Mutex
}

func (b takingTurns) DoDecryptionTxn(ctx context.Context, fn func(context.Context) error) error {
	b.turn.Lock()
	defer b.turn.Unlock()
	return b.EventBuffer.DoDecryptionTxn(ctx, fn)
}
