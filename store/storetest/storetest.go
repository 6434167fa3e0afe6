// Package storetest opens stores for tests, on the dialect the run asks for (see pgtest.Enabled): a SQLite file
// in the test's temporary directory, or a fresh Postgres database. It is imported by tests only.
package storetest

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/store/pgtest"
)

// Config completes cfg for a test: a temporary data directory when Dir is empty (the vault key and received
// files live there on either dialect), and, when the run is on Postgres, the directory's database (a fresh
// one the first time).
func Config(t testing.TB, cfg store.Config) store.Config {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if pgtest.Enabled() && cfg.DatabaseURL == "" {
		cfg.DatabaseURL = pgtest.DatabaseFor(t, cfg.Dir)
	}
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = -1
	}
	return cfg
}

// Open opens a store with Config(t, cfg) and closes it when the test ends.
func Open(t testing.TB, cfg store.Config) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), Config(t, cfg), slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return db
}
