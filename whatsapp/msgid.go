package whatsapp

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"
)

// NewMessageID is a new WhatsApp message ID, for a message to be sent later: WhatsApp takes a message sent twice
// with the same ID as one message. It has the form of whatsmeow's own IDs — "3EB0" and 18 upper-case hex
// digits — which WhatsApp accepts from any client. (whatsmeow derives its IDs from the account, which a message
// queued before linking does not have yet.)
//
// Unlike whatsmeow's, which are random, these IDs grow with time: 11 digits of Unix milliseconds, then 7 that
// tell apart the IDs made within one millisecond. The server keys its records of a message by its ID (the
// event log's message index, the vault holding its content until it is sent), and random keys put each new
// message on a random page of those indexes, so every commit wrote one more page per message; keys that grow
// append to the same few pages, which a commit carrying many messages writes once.
//
// The last 7 digits are a counter run through a permutation keyed at random when the process starts: distinct
// for 2^28 IDs in a row, so two IDs of one millisecond never collide in this process, and telling a recipient
// nothing about how many messages the server made between two of its messages.
func NewMessageID() string {
	return formatMessageID(time.Now(), idPermutation.apply(uint32(idCounter.Add(1))))
}

var (
	idCounter     atomic.Uint32
	idPermutation = newPermutation28()
)

func formatMessageID(now time.Time, low uint32) string {
	return fmt.Sprintf("3EB0%011X%07X", uint64(now.UnixMilli())&(1<<44-1), low&(1<<28-1))
}

// permutation28 is a keyed permutation of the integers below 2^28: a four-round Feistel network on two 14-bit
// halves, which is a bijection whatever its round function.
type permutation28 [4]uint64

func newPermutation28() permutation28 {
	var k [32]byte
	_, _ = rand.Read(k[:]) // crypto/rand.Read never fails
	var p permutation28
	for i := range p {
		p[i] = binary.LittleEndian.Uint64(k[8*i:])
	}
	return p
}

func (p permutation28) apply(x uint32) uint32 {
	const half, mask = 14, 1<<14 - 1
	l, r := (x>>half)&mask, x&mask
	for _, k := range p {
		f := uint32(((uint64(r)^k)*0x9E3779B97F4A7C15)>>50) & mask
		l, r = r, l^f
	}
	return l<<half | r
}
