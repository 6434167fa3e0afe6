package store

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// Config holds the database settings. The zero value is usable: every empty field takes its default.
type Config struct {
	// Dir is the data directory; the SQLite database is Dir/plugzapi.db. Default "./data".
	Dir string
	// DatabaseURL, when set (postgres://… or postgresql://…), selects Postgres instead of the SQLite file: the
	// cluster's shared database. The SQLite settings below (Synchronous, BusyTimeout, CheckpointInterval) do not
	// apply to it.
	DatabaseURL string
	// Synchronous is SQLite's synchronous mode. "FULL" (the default) makes every acknowledged write survive a
	// power loss, which is what the API promises when it answers "queued". "NORMAL" survives process crashes
	// but may lose the last transactions on power loss, for far fewer fsyncs. "EXTRA" is also accepted. It
	// applies to the main pool; the unsynced pool ([DB.Unsynced]) is always NORMAL.
	Synchronous string
	// BusyTimeout is how long a statement waits for another connection's write lock before failing with
	// SQLITE_BUSY. Default 10s.
	BusyTimeout time.Duration
	// CheckpointInterval is how often the write-ahead log is checkpointed and truncated, so that deleted
	// (secure_delete-zeroed) pages are the only copy left on disk. Default 1m; negative disables the loop
	// (call [DB.Checkpoint] yourself).
	CheckpointInterval time.Duration
	// VaultKeyFile holds the 32-byte key that wraps the content vault's per-message keys, so that a copy of the
	// database file alone reveals no content. It is created (mode 0600) when missing. Default Dir/vault.key.
	VaultKeyFile string
	// MaxOpenConns bounds the connection pool. SQLite has one writer at a time; extra connections serve
	// concurrent readers. Default 16.
	MaxOpenConns int
}

// DatabaseFile is the database's file name inside the data directory.
const DatabaseFile = "plugzapi.db"

func (c Config) withDefaults() Config {
	if c.Dir == "" {
		c.Dir = "data"
	}
	if c.Synchronous == "" {
		c.Synchronous = "FULL"
	}
	c.Synchronous = strings.ToUpper(c.Synchronous)
	if c.BusyTimeout == 0 {
		c.BusyTimeout = 10 * time.Second
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = time.Minute
	}
	if c.VaultKeyFile == "" {
		c.VaultKeyFile = filepath.Join(c.Dir, "vault.key")
	}
	if c.MaxOpenConns == 0 {
		c.MaxOpenConns = 16
	}
	return c
}

// Validate reports the first setting that cannot work. Empty fields are valid: they take their defaults.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch c.Synchronous {
	case "NORMAL", "FULL", "EXTRA":
	default:
		return fmt.Errorf("store: synchronous mode %q: want FULL, NORMAL or EXTRA", c.Synchronous)
	}
	if strings.ContainsAny(c.Dir, "?#") {
		// The driver reads everything after '?' in a file name as connection parameters.
		return fmt.Errorf("store: data directory %q must not contain '?' or '#'", c.Dir)
	}
	if c.BusyTimeout < time.Millisecond {
		return errors.New("store: busy timeout must be at least 1ms")
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return errors.New("store: database URL must be postgres://user:password@host:port/database")
		}
	}
	if c.MaxOpenConns < 2 {
		// A handler that reads through the pool while a consumer transaction holds a connection needs a second.
		return errors.New("store: MaxOpenConns must be at least 2")
	}
	return nil
}
