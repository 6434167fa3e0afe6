package store

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
)

const adminTokenKey = "admin_token_sha256"

// EnsureAdminToken prepares the admin token. With configured non-empty (PLUGZAPI_ADMIN_TOKEN), its hash
// replaces whatever was stored and generated is empty. Otherwise, when no admin token exists yet, a random one
// is created, its hash stored, and the clear token returned once as generated, for the binary to print; on
// later starts generated is empty and the stored hash stays.
func (db *DB) EnsureAdminToken(ctx context.Context, configured string) (generated string, err error) {
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		if configured != "" {
			return putSetting(ctx, tx, adminTokenKey, hashToken(configured))
		}
		_, err := getSetting(ctx, tx, adminTokenKey)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// 192 bits: the admin token guards every instance.
		token, err := randomHex(24)
		if err != nil {
			return err
		}
		if err := putSetting(ctx, tx, adminTokenKey, hashToken(token)); err != nil {
			return err
		}
		generated = token
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("ensure admin token: %w", err)
	}
	return generated, nil
}

// CheckAdminToken reports whether token is the admin token, comparing hashes in constant time. It is false
// (without error) when no admin token was set up.
func (db *DB) CheckAdminToken(ctx context.Context, token string) (bool, error) {
	stored, err := getSetting(ctx, db.sql, adminTokenKey)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check admin token: %w", err)
	}
	return subtle.ConstantTimeCompare(hashToken(token), stored) == 1, nil
}

func getSetting(ctx context.Context, q Querier, key string) ([]byte, error) {
	var v []byte
	if err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func putSetting(ctx context.Context, q Querier, key string, value []byte) error {
	_, err := q.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("store setting %s: %w", key, err)
	}
	return nil
}
