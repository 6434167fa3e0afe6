package events

import (
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DefaultRetention is how long history is kept when Config.Retention is zero: a week.
const DefaultRetention = 7 * 24 * time.Hour

// MinRetention is the shortest retention accepted. There is no "keep forever": the log holds every number an
// instance talked to, and a retention is what bounds it.
const MinRetention = time.Second

// Config tunes the log and its consumers. The zero value is usable: every zero field takes its default.
type Config struct {
	// PollInterval is how often an idle consumer looks for events it was not woken for. Appends made through
	// this Log wake consumers at once, and on Postgres so do other nodes' (LISTEN/NOTIFY), so this only bounds
	// the delay for events written by another process on the same SQLite file, or while the Postgres listener
	// is reconnecting. Default 1s.
	PollInterval time.Duration
	// Gather is how long a consumer waits after a batch that was not full before it reads again, so that what is
	// appended meanwhile is handled in one transaction: under load the groups commit (and, on SQLite, take the
	// write lock the appends wait for) a few times per Gather instead of after every append. It delays webhooks
	// by as much.
	// Default 20ms; negative reads again at once.
	Gather time.Duration
	// BatchSize is how many events a consumer handles in one transaction. Larger batches mean fewer commits
	// (fsyncs) and a longer hold on the write lock (SQLite) or the group's offset row (Postgres). Default 50.
	BatchSize int
	// RetryMax caps the backoff after a consumer transaction fails (a handler error rolls back its whole batch,
	// which is retried from the last committed offset). Default 30s.
	RetryMax time.Duration
	// Retention is how long the history of what happened is kept (see [Sweeper]): an event older than this is
	// deleted once a snapshot covers it, and a stream row once every consumer group has handled it. Default
	// [DefaultRetention]; at least [MinRetention].
	Retention time.Duration
	// StallTimeout is, on Postgres, how long one of the log's write transactions or a consumer's transaction
	// may sit idle — its node paused or stuck between two statements — before the server ends it
	// (idle_in_transaction_session_timeout). Every node's appends wait for an append's transaction to end (see
	// Log.lockStream), and a group's members for the one holding a batch, so a node that stops in the middle
	// of one must not hold the others up for longer than this. Its work in that transaction is rolled back: a
	// failed append (reported to its caller like any other), a batch another member handles. So it must exceed
	// the longest pause a live node makes between two statements of one transaction, handlers included.
	// Default 10s; SQLite ignores it (one process stopped while writing holds the file's lock; SQLite runs one
	// node).
	StallTimeout time.Duration
	// ConsumerDB, when set, is the pool consumer groups run their transactions on: store.DB.Unsynced(), whose
	// commits cost no fsync. That is safe for every consumer group, because a group's writes commit with its
	// offset: a commit lost to a power loss is handled again from the offset before. Default: the log's pool.
	ConsumerDB *sql.DB
}

func (c Config) withDefaults() Config {
	if c.PollInterval == 0 {
		c.PollInterval = time.Second
	}
	if c.Gather == 0 {
		c.Gather = 20 * time.Millisecond
	}
	c.Gather = max(c.Gather, 0)
	if c.BatchSize == 0 {
		c.BatchSize = 50
	}
	if c.RetryMax == 0 {
		c.RetryMax = 30 * time.Second
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.StallTimeout == 0 {
		c.StallTimeout = 10 * time.Second
	}
	return c
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.PollInterval < time.Millisecond {
		return errors.New("events: poll interval must be at least 1ms")
	}
	if c.BatchSize < 1 || c.BatchSize > 10000 {
		return errors.New("events: batch size must be between 1 and 10000")
	}
	if c.RetryMax < 10*time.Millisecond {
		return errors.New("events: retry cap must be at least 10ms")
	}
	if c.StallTimeout < 10*time.Millisecond {
		return errors.New("events: stall timeout must be at least 10ms")
	}
	if c.Retention < MinRetention {
		return fmt.Errorf("events: retention %v is below the minimum %v", c.Retention, MinRetention)
	}
	return nil
}
