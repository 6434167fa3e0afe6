package e2e

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid"

	"github.com/plugzapi/plugzapi/events"
	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	messagesv1 "github.com/plugzapi/plugzapi/proto/messages/v1"
	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/whatsapp"
)

// storageCeiling is the third ceiling: the durable part of accepting a text and nothing else. writers goroutines,
// each appending to an instance of its own, append one MessageQueued event with its content sealed into the
// vault, one append after the other, for d, through the server's own event log and store with their default
// settings (SQLite, synchronous FULL, group commit). No HTTP, no actor, no consumer group, no whatsmeow: what
// the disk path alone costs on this machine. It runs in this process, alone on the machine like the others. Its
// latencies are those of the appends.
func storageCeiling(b *testing.B, writers int, d time.Duration) loadResult {
	b.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, store.Config{Dir: b.TempDir()}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	log, err := events.Open(ctx, db, events.Config{ConsumerDB: db.Unsynced()}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	defer log.Close()
	var mu sync.Mutex
	var latencies []time.Duration
	deadline := time.Now().Add(d)
	machine := startMachineCPU(b)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			instanceID := fmt.Sprint("storage-ceiling-", w)
			var mine []time.Duration
			defer func() {
				mu.Lock()
				latencies = append(latencies, mine...)
				mu.Unlock()
			}()
			for seq := int64(0); time.Now().Before(deadline); seq++ {
				start := time.Now()
				m := &messagesv1.Outbound{ZaapId: ulid.MustNew(ulid.Now(), rand.Reader).String(), MessageId: whatsapp.NewMessageID(), Phone: "5511999990001",
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
				mine = append(mine, time.Since(start))
			}
		})
	}
	wg.Wait()
	slices.Sort(latencies)
	r := loadResult{latencies: latencies, d: d}
	r.machineBusy, r.machineShare = machine.since(b)
	return r
}
