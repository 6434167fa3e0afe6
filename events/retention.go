package events

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// sweepChunk bounds the rows one delete of the sweeper removes: each chunk is a short write of its own, queued
// with the appends in the log's write path, so a sweep of a large backlog never holds the write lock for long.
const sweepChunk = 500

// Swept counts what one sweep deleted.
type Swept struct {
	// Events is the number of event log rows deleted.
	Events int64
	// Stream is the number of stream rows deleted.
	Stream int64
}

// SweepInterval is how often the sweeper runs for a retention: a quarter of it, but at least every hour and
// at most every second. So a row outlives the retention by at most a quarter of it (an hour for long ones).
func SweepInterval(retention time.Duration) time.Duration {
	return max(min(retention/4, time.Hour), time.Second)
}

// Sweep enforces the log's retention as of now, once: it compacts the event log behind the instances'
// snapshots ([Log.CompactLog]) and prunes the stream ([Log.PruneStream]), both by the age now − Retention.
func (l *Log) Sweep(ctx context.Context, now time.Time) (Swept, error) {
	before := now.Add(-l.cfg.Retention)
	var s Swept
	var err error
	if s.Events, err = l.CompactLog(ctx, before); err != nil {
		return s, err
	}
	s.Stream, err = l.PruneStream(ctx, before)
	return s, err
}

// CompactLog deletes, for every instance with a snapshot, its events from before the given time that the
// snapshot covers (seq ≤ the snapshot's), and returns how many. An event the snapshot does not cover is never
// deleted, whatever its age: the actor rebuilds its state from the snapshot and the events after it. An
// instance's last event is kept too, so that the log still knows its last sequence number.
//
// Events are deleted in chunks of a few hundred, each in a write of its own. What the event log is then
// missing: FindOrigin and QueuedTime no longer know messages older than the retention.
func (l *Log) CompactLog(ctx context.Context, before time.Time) (int64, error) {
	snaps, err := l.snapshotSeqs(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for inst, seq := range snaps {
		n, err := l.compactInstance(ctx, inst, seq, before.UnixMilli())
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (l *Log) snapshotSeqs(ctx context.Context) (map[string]int64, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT instance_id, seq FROM instance_snapshots`)
	if err != nil {
		return nil, fmt.Errorf("events: compact log: read snapshots: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var inst string
		var seq int64
		if err := rows.Scan(&inst, &seq); err != nil {
			return nil, fmt.Errorf("events: compact log: read snapshots: %w", err)
		}
		out[inst] = seq
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events: compact log: read snapshots: %w", err)
	}
	return out, nil
}

// compactInstance deletes an instance's events with seq ≤ snapSeq older than beforeMs, a chunk at a time. Which
// rows a chunk covers is read first, outside the write path; the delete then checks every condition again
// against the state it commits on (the snapshot is gone when the instance was deleted meanwhile, and the
// last event moves on).
func (l *Log) compactInstance(ctx context.Context, inst string, snapSeq, beforeMs int64) (int64, error) {
	var total int64
	after := int64(0)
	for {
		var n int
		var lo, hi sql.NullInt64
		err := l.db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(seq), MAX(seq) FROM (SELECT seq FROM instance_events
			WHERE instance_id = ? AND seq > ? AND seq <= ? AND time_ms < ? ORDER BY seq LIMIT ?) AS chunk`,
			inst, after, snapSeq, beforeMs, sweepChunk).Scan(&n, &lo, &hi)
		if err != nil {
			return total, fmt.Errorf("events: compact %s: %w", inst, err)
		}
		if n == 0 {
			return total, nil
		}
		// The write path may run fn again in a fresh transaction (see Log.Write): count what committed.
		var deleted int64
		err = l.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM instance_events
				WHERE instance_id = ? AND seq >= ? AND seq <= ? AND time_ms < ?
				AND seq <= (SELECT seq FROM instance_snapshots WHERE instance_id = ?)
				AND seq < (SELECT MAX(seq) FROM instance_events WHERE instance_id = ?)`,
				inst, lo.Int64, hi.Int64, beforeMs, inst, inst)
			if err != nil {
				return err
			}
			deleted, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("events: compact %s: %w", inst, err)
		}
		total += deleted
		if n < sweepChunk {
			return total, nil
		}
		after = hi.Int64
	}
}

// Sweeper runs [Log.Sweep] at start and then every [SweepInterval] of the log's retention, until Close. Start
// it with [Log.StartSweeper]; close it before the log.
type Sweeper struct {
	l    *Log
	log  *slog.Logger
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// StartSweeper starts the log's retention sweeper.
func (l *Log) StartSweeper(log *slog.Logger) *Sweeper {
	if log == nil {
		log = l.log
	}
	s := &Sweeper{l: l, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *Sweeper) run() {
	defer close(s.done)
	every := SweepInterval(s.l.cfg.Retention)
	t := time.NewTicker(every)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		swept, err := s.l.Sweep(ctx, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("retention sweep failed; retrying next interval", "err", err, "retry_in", every)
		case swept.Events+swept.Stream > 0:
			s.log.Debug("retention sweep", "events", swept.Events, "stream_rows", swept.Stream)
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// Close stops the sweeper, interrupting a sweep in progress between two chunks, and waits for it. It is safe
// to call more than once.
func (s *Sweeper) Close() error {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	return nil
}
