package events

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// GroupLag is how far a consumer group is behind the stream.
type GroupLag struct {
	Group string
	// Acked is the group's last committed offset.
	Acked int64
	// Lag is the number of stream offsets after Acked (latest − acked).
	Lag int64
}

// Lag returns the stream's latest offset and every registered consumer group's position.
func (l *Log) Lag(ctx context.Context) (latest int64, groups []GroupLag, err error) {
	if err := l.db.QueryRowContext(ctx, `SELECT COALESCE(MAX("offset"), 0) FROM `+l.schema.MessagesTable(Topic)).Scan(&latest); err != nil {
		return 0, nil, fmt.Errorf("events: latest offset: %w", err)
	}
	rows, err := l.db.QueryContext(ctx, `SELECT consumer_group, offset_acked FROM `+l.offsets.MessagesOffsetsTable(Topic)+` ORDER BY consumer_group`)
	if err != nil {
		return 0, nil, fmt.Errorf("events: group offsets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g GroupLag
		if err := rows.Scan(&g.Group, &g.Acked); err != nil {
			return 0, nil, fmt.Errorf("events: group offsets: %w", err)
		}
		g.Lag = max(latest-g.Acked, 0)
		groups = append(groups, g)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("events: group offsets: %w", err)
	}
	return latest, groups, nil
}

// DropGroup forgets a consumer group's offset (a renamed or retired projection), so that it no longer holds
// back stream pruning. A group that consumes again afterwards starts over.
func (l *Log) DropGroup(ctx context.Context, group string) error {
	if _, err := l.db.ExecContext(ctx, `DELETE FROM `+l.offsets.MessagesOffsetsTable(Topic)+` WHERE consumer_group = ?`, group); err != nil {
		return fmt.Errorf("events: drop group %s: %w", group, err)
	}
	return nil
}

// PruneStream deletes stream rows older than before that every durable consumer group (see TransientPrefix) has
// committed past, and returns how many. The newest row is always kept, so the latest offset stays known. The
// event log is not touched: a projection rebuilt from scratch after pruning must read the log, not the stream.
//
// Like [Log.CompactLog] it deletes a chunk at a time, each in a write of its own, and checks the groups'
// offsets again in every chunk's write. A group's offset can be committed unsynced (Config.ConsumerDB); a
// delete that relied on it is synced after it in the same write-ahead log (SQLite's, or Postgres's one WAL), so
// either both survive a power loss or the delete is lost with it, never the offset alone. Offsets become
// visible in offset order on Postgres too (see Log.lockStream), so no row below a group's offset can still
// appear after the delete.
func (l *Log) PruneStream(ctx context.Context, before time.Time) (int64, error) {
	t, offsets := l.schema.MessagesTable(Topic), l.offsets.MessagesOffsetsTable(Topic)
	handled := `(SELECT COALESCE(MIN(offset_acked), 0) FROM ` + offsets + ` WHERE consumer_group NOT LIKE '` + TransientPrefix + `%')`
	var total int64
	after := int64(0)
	for {
		var n int
		var hi sql.NullInt64
		err := l.db.QueryRowContext(ctx, `SELECT COUNT(*), MAX("offset") FROM (SELECT "offset" FROM `+t+`
			WHERE "offset" > ? AND created_ms < ? AND "offset" <= `+handled+` ORDER BY "offset" LIMIT ?) AS chunk`,
			after, before.UnixMilli(), sweepChunk).Scan(&n, &hi)
		if err != nil {
			return total, fmt.Errorf("events: prune stream: %w", err)
		}
		if n == 0 {
			return total, nil
		}
		// The write path may run fn again in a fresh transaction (see Log.Write): count what committed.
		var deleted int64
		err = l.Write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM `+t+`
				WHERE "offset" > ? AND "offset" <= ? AND created_ms < ? AND "offset" <= `+handled+`
				AND "offset" < (SELECT MAX("offset") FROM `+t+`)`, after, hi.Int64, before.UnixMilli())
			if err != nil {
				return err
			}
			deleted, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("events: prune stream: %w", err)
		}
		total += deleted
		if n < sweepChunk {
			return total, nil
		}
		after = hi.Int64
	}
}
