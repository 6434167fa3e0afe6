package whatsapp

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"go.mau.fi/whatsmeow/store"
)

// Sealer encrypts content kept in whatsmeow's own tables (store.Vault does).
type Sealer interface {
	Seal(context string, plaintext []byte) ([]byte, error)
	Open(context string, sealed []byte) ([]byte, error)
}

// sealedBuffer keeps whatsmeow's buffer of decrypted events encrypted at rest. whatsmeow stores each decrypted
// message there until the event handler has stored it (so that a message WhatsApp delivers again after a crash,
// which can no longer be decrypted, is not lost); without this the buffer would hold message text in clear.
type sealedBuffer struct {
	store.EventBuffer
	sealer Sealer
}

func bufferContext(hash [32]byte) string { return "whatsmeow event " + hex.EncodeToString(hash[:]) }

func (b sealedBuffer) PutBufferedEvent(ctx context.Context, hash [32]byte, plaintext []byte, serverTimestamp time.Time) error {
	if plaintext == nil {
		return b.EventBuffer.PutBufferedEvent(ctx, hash, nil, serverTimestamp)
	}
	sealed, err := b.sealer.Seal(bufferContext(hash), plaintext)
	if err != nil {
		return fmt.Errorf("seal buffered event: %w", err)
	}
	return b.EventBuffer.PutBufferedEvent(ctx, hash, sealed, serverTimestamp)
}

func (b sealedBuffer) GetBufferedEvent(ctx context.Context, hash [32]byte) (*store.BufferedEvent, error) {
	evt, err := b.EventBuffer.GetBufferedEvent(ctx, hash)
	if err != nil || evt == nil || evt.Plaintext == nil {
		return evt, err
	}
	plaintext, err := b.sealer.Open(bufferContext(hash), evt.Plaintext)
	if err != nil {
		return nil, fmt.Errorf("open buffered event: %w", err)
	}
	evt.Plaintext = plaintext
	return evt, nil
}
