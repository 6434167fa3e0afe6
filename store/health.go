package store

import (
	"context"
	"fmt"
)

// CheckHealth reports whether the database answers (the server's /healthz).
func (db *DB) CheckHealth(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}
