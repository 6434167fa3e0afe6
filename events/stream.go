package events

import (
	"context"
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

// PruneStream deletes stream rows older than before that every consumer group has committed past, and returns
// how many. The newest row is always kept, so the latest offset stays known. The event log is not touched:
// a projection rebuilt from scratch after pruning must read the log, not the stream.
func (l *Log) PruneStream(ctx context.Context, before time.Time) (int64, error) {
	t := l.schema.MessagesTable(Topic)
	res, err := l.db.ExecContext(ctx, `DELETE FROM `+t+`
		WHERE created_ms < ?
		AND "offset" <= (SELECT COALESCE(MIN(offset_acked), 0) FROM `+l.offsets.MessagesOffsetsTable(Topic)+`)
		AND "offset" < (SELECT MAX("offset") FROM `+t+`)`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("events: prune stream: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("events: prune stream: %w", err)
	}
	return n, nil
}

// pruneEvery is how often the stream is pruned; retention is measured in days, so hourly is plenty.
const pruneEvery = time.Hour

func (l *Log) pruneLoop() {
	defer l.loops.Done()
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		n, err := l.PruneStream(ctx, time.Now().Add(-l.cfg.TopicRetention))
		cancel()
		if err != nil {
			l.log.Warn("stream pruning failed", "err", err)
		} else if n > 0 {
			l.log.Debug("stream pruned", "rows", n)
		}
	}
}
