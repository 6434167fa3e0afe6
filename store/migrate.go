package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Migrate brings a component's tables up to date. steps[i] is the SQL (one or more statements) that takes the
// component from version i to version i+1; steps are append-only: never edit a released step, add a new one.
// Each component (the store itself, the event log, each read model) keeps its own version in the table
// plugzapi_schema, so packages evolve their tables independently. whatsmeow keeps its own version table.
//
// Pending steps run in one transaction that holds the write lock, so two processes starting on the same file
// cannot both apply a step. A database newer than the binary (version > len(steps)) is refused rather than
// used with a schema this code does not know.
func (db *DB) Migrate(ctx context.Context, component string, steps []string) error {
	if _, err := db.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS plugzapi_schema (
		component TEXT PRIMARY KEY,
		version INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate %s: create version table: %w", component, err)
	}
	err := InTx(ctx, db.sql, func(tx *sql.Tx) error {
		var version int
		err := tx.QueryRowContext(ctx, `SELECT version FROM plugzapi_schema WHERE component = ?`, component).Scan(&version)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read version: %w", err)
		}
		if version > len(steps) {
			return fmt.Errorf("database is at version %d, newer than this binary's %d: upgrade the binary", version, len(steps))
		}
		if version == len(steps) {
			return nil
		}
		for i := version; i < len(steps); i++ {
			if _, err := tx.ExecContext(ctx, steps[i]); err != nil {
				return fmt.Errorf("step %d: %w", i+1, err)
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO plugzapi_schema (component, version) VALUES (?, ?)
			ON CONFLICT (component) DO UPDATE SET version = excluded.version`, component, len(steps))
		if err != nil {
			return fmt.Errorf("record version: %w", err)
		}
		db.log.Info("database migrated", "schema", component, "from", version, "to", len(steps))
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate %s: %w", component, err)
	}
	return nil
}

// storeMigrations are the store's own tables.
var storeMigrations = []string{
	// v1: instances, server settings (admin token hash, vault key check) and the content vault.
	`CREATE TABLE instances (
		id TEXT PRIMARY KEY,
		token_hash BLOB NOT NULL,
		name TEXT NOT NULL,
		session_name TEXT NOT NULL DEFAULT '',
		created_ms BIGINT NOT NULL,
		webhook_secret TEXT NOT NULL DEFAULT ''
	);
	CREATE TABLE settings (
		key TEXT PRIMARY KEY,
		value BLOB NOT NULL
	);
	CREATE TABLE vault (
		key TEXT PRIMARY KEY,
		wrapped_key BLOB NOT NULL,
		ciphertext BLOB NOT NULL
	);`,
	// v2: items that end by themselves (messages kept for forwarding, PLUGZAPI_FORWARD_WINDOW): NULL for the
	// others, which end with their event.
	`ALTER TABLE vault ADD COLUMN expires_ms BIGINT;
	CREATE INDEX vault_expires ON vault (expires_ms) WHERE expires_ms IS NOT NULL;`,
}
