package events

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	eventsv1 "github.com/plugzapi/plugzapi/proto/events/v1"
	"github.com/plugzapi/plugzapi/store"
)

// ProjectionsGroup is the consumer group of the server's read models (events/consumers runs it, with the
// instance view, the chats view and the webhook projection as its parts). Readers that wait for the read
// models to catch up with the stream watch this group's offset.
const ProjectionsGroup = "projections"

// Part is one read model of a consumer group (see [Log.Consume]). Every read model of a group is applied in
// the group's one transaction per batch: one read of the stream, one offset commit and, on SQLite, one hold of
// the write lock for all of them.
type Part struct {
	// Name names the part in its group. It is also the consumer group the part was fed by on its own, if it
	// ever was: on the group's first start that group's offset is taken over and deleted (see Log.takeOver).
	// Only then: a part added to a group that ran before starts at the group's offset. Required, unique in the
	// group, and not the group's own name.
	Name string
	// Handle applies one event to the part's read model (see [Handler]).
	Handle Handler
	// AfterCommit, when set, is called on the consumer's goroutine after each batch that handled at least one
	// event was committed (for example to wake a dispatcher that reads what Handle wrote). It must not block.
	AfterCommit func()
}

// offsetMetadata is the metadata key under which StreamSchema.UnmarshalMessage tells a consumer a message's
// stream offset. It is set on reading, never stored.
const offsetMetadata = "_stream_offset"

func checkParts(group string, parts []Part) error {
	if len(parts) == 0 {
		return errors.New("no parts")
	}
	seen := map[string]bool{}
	for _, p := range parts {
		switch {
		case p.Name == "":
			return errors.New("a part without a name")
		case p.Name == group:
			return fmt.Errorf("part %s is named like its group", p.Name)
		case seen[p.Name]:
			return fmt.Errorf("two parts named %s", p.Name)
		case p.Handle == nil:
			return fmt.Errorf("part %s has no handler", p.Name)
		}
		seen[p.Name] = true
	}
	return nil
}

// takeOver registers the group, and returns each part's floor: the offset up to which the part must not be
// handed events again (0: none). The floors come from the database, where the group's first start put them.
//
// On its first start (no offset yet) the group takes over its parts' former groups (consumer groups named
// like the parts, left by a version that ran each read model alone), which may stand at different offsets.
// A part's floor is its former group's offset; a part without one gets the floor a new group starts from
// (0, or the newest offset with StartAtEnd), so it sees what it would have seen as a group of its own. The
// group starts at the lowest floor, and each part skips the events up to its own (see Consumer.apply): every
// read model gets each event exactly once across the switch. The group's offset, the floors above it and the
// removal of the former groups (whose offsets would otherwise hold back stream pruning for ever) commit in
// one transaction, synced, so a crash before it changes nothing and a crash after it finds the floors.
//
// On Postgres the former groups' rows are locked first: a member of a former group (an older node) that is
// handling a batch finishes it, and the floor is the offset it committed. Such a node keeps running without
// its row, though, and would start over from the stream's beginning: see README (upgrading a cluster). The
// row it then writes is removed at the group's next start.
func (l *Log) takeOver(ctx context.Context, opts ConsumerOptions, parts []Part) ([]int64, error) {
	offsets, floorsTable := l.offsets.MessagesOffsetsTable(Topic), `consumer_part_floors`
	names := make([]any, len(parts))
	for i, p := range parts {
		names[i] = p.Name
	}
	in := `(?` + strings.Repeat(`, ?`, len(parts)-1) + `)`
	err := store.InTx(ctx, l.db, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO `+offsets+` (consumer_group, offset_acked) VALUES (?, 0)
			ON CONFLICT (consumer_group) DO NOTHING`, opts.Group)
		if err != nil {
			return fmt.Errorf("register: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			// Started before. A former group's row can only be back if a node of the former version ran
			// after the takeover (README: upgrading a cluster); left, it would hold back stream pruning for
			// ever.
			res, err := tx.ExecContext(ctx, `DELETE FROM `+offsets+` WHERE consumer_group IN `+in, names...)
			if err != nil {
				return fmt.Errorf("drop former groups: %w", err)
			}
			if n, err := res.RowsAffected(); err == nil && n > 0 {
				l.log.Warn("removed former consumer groups that came back after the takeover: did a node of the former version run?",
					"consumer_group", opts.Group, "removed", n)
			}
			return err
		}
		var fresh int64
		if opts.StartAtEnd {
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX("offset"), 0) FROM `+l.schema.MessagesTable(Topic)).Scan(&fresh); err != nil {
				return fmt.Errorf("start at end: %w", err)
			}
		}
		lock := ""
		if l.dialect == store.Postgres {
			lock = ` FOR UPDATE`
		}
		former := map[string]int64{}
		rows, err := tx.QueryContext(ctx, `SELECT consumer_group, offset_acked FROM `+offsets+`
			WHERE consumer_group IN `+in+lock, names...)
		if err != nil {
			return fmt.Errorf("former groups: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var g string
			var o int64
			if err := rows.Scan(&g, &o); err != nil {
				return fmt.Errorf("former groups: %w", err)
			}
			former[g] = o
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("former groups: %w", err)
		}
		floors := map[string]int64{}
		start := int64(-1)
		for _, p := range parts {
			f, ok := former[p.Name]
			if !ok {
				f = fresh
			}
			floors[p.Name] = f
			if start < 0 || f < start {
				start = f
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE `+offsets+` SET offset_acked = ? WHERE consumer_group = ?`, start, opts.Group); err != nil {
			return fmt.Errorf("start: %w", err)
		}
		for _, p := range parts {
			if floors[p.Name] > start {
				if _, err := tx.ExecContext(ctx, `INSERT INTO `+floorsTable+` (consumer_group, part, floor_offset) VALUES (?, ?, ?)`,
					opts.Group, p.Name, floors[p.Name]); err != nil {
					return fmt.Errorf("floor of %s: %w", p.Name, err)
				}
			}
		}
		if len(former) > 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+offsets+` WHERE consumer_group IN `+in, names...); err != nil {
				return fmt.Errorf("drop former groups: %w", err)
			}
			l.log.Info("consumer group takes over its parts' former groups", "consumer_group", opts.Group,
				"former_offsets", former, "start", start)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("take over: %w", err)
	}

	floors := make([]int64, len(parts))
	rows, err := l.db.QueryContext(ctx, `SELECT part, floor_offset FROM `+floorsTable+` WHERE consumer_group = ?`, opts.Group)
	if err != nil {
		return nil, fmt.Errorf("floors: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var part string
		var f int64
		if err := rows.Scan(&part, &f); err != nil {
			return nil, fmt.Errorf("floors: %w", err)
		}
		for i, p := range parts {
			if p.Name == part {
				floors[i] = f
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("floors: %w", err)
	}
	return floors, nil
}

// apply hands the event at the given stream offset to every part, in order, but for the parts whose floor it
// is at or below: they had it as groups of their own. The floors never change while the group runs, so a
// retried batch skips exactly what its first try skipped. The batch that carries the group past the highest
// floor deletes the floors' rows (again after a handler error rolled it back; should its commit fail, the next
// start does). Rows left behind are harmless: a floor the group has passed skips nothing.
func (c *Consumer) apply(ctx context.Context, tx *sql.Tx, offset int64, ev *eventsv1.Event) error {
	above := true
	for i, p := range c.parts {
		if offset <= c.floors[i] {
			above = false
			continue
		}
		if err := p.Handle(ctx, tx, ev); err != nil {
			return fmt.Errorf("part %s: %w", p.Name, err)
		}
	}
	if above && !c.floorsDropped && hasFloor(c.floors) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM consumer_part_floors WHERE consumer_group = ?`, c.group); err != nil {
			return fmt.Errorf("drop floors: %w", err)
		}
		c.floorsDropped = true
	}
	return nil
}

func hasFloor(floors []int64) bool {
	for _, f := range floors {
		if f > 0 {
			return true
		}
	}
	return false
}

// afterCommit runs the parts' AfterCommit.
func (c *Consumer) afterCommit() {
	for _, p := range c.parts {
		if p.AfterCommit != nil {
			p.AfterCommit()
		}
	}
}
