package e2e

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oklog/ulid"

	"github.com/plugzapi/plugzapi/events"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/store"
)

// storageCeiling is the third ceiling: the durable part of accepting a text and nothing else. writers goroutines,
// each appending to an instance of its own, append one MessageQueued event with its content sealed into the
// vault, one append after the other, for d, through the server's own event log and store with their default
// settings (SQLite, synchronous FULL, group commit). No HTTP, no actor, no consumer group, no whatsmeow: what
// the disk path alone costs on this machine. It runs in this process, alone on the machine like the others.
func storageCeiling(b *testing.B, writers int, d time.Duration) float64 {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Dir: b.TempDir()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	log, err := events.Open(ctx, db, events.Config{ConsumerDB: db.Replayable()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	var appended atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			instanceID := fmt.Sprint("storage-ceiling-", w)
			for seq := int64(0); time.Now().Before(deadline); seq++ {
				m := &messagesv1.Outbound{ZaapId: ulid.MustNew(ulid.Now(), rand.Reader).String(), MessageId: fmt.Sprint("bench-", seq), Phone: "5511999990001",
					Content: &messagesv1.Content{Kind: &messagesv1.Content_Text{Text: &messagesv1.Text{Body: benchText}}}}
				public, record, err := events.Seal(m)
				if err != nil {
					b.Error(err)
					return
				}
				ev := &eventsv1.Event{Payload: &eventsv1.Event_MessageQueued{MessageQueued: public}}
				_, err = log.Append(ctx, instanceID, seq, []*eventsv1.Event{ev}, func(tx *sql.Tx) error {
					return db.Vault().Put(ctx, tx, events.OutboundVaultKey(instanceID, m.GetMessageId()), record)
				})
				if err != nil {
					b.Error(err)
					return
				}
				appended.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(appended.Load()) / time.Since(start).Seconds()
}
