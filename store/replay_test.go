package store

import (
	"context"
	"testing"
)

// TestReplayablePool: the replayable pool is the same database with unsynced commits, whatever the main
// pool's setting.
func TestReplayablePool(t *testing.T) {
	db := openTestDB(t, Config{})
	ctx := context.Background()
	var mainSync, replaySync int
	if err := db.SQL().QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&mainSync); err != nil {
		t.Fatal(err)
	}
	if err := db.Replayable().QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&replaySync); err != nil {
		t.Fatal(err)
	}
	if mainSync != 2 || replaySync != 1 {
		t.Fatalf("synchronous: main %d, replayable %d; want 2 (FULL) and 1 (NORMAL)", mainSync, replaySync)
	}
	if _, err := db.Replayable().ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('replay', x'01')`); err != nil {
		t.Fatal(err)
	}
	var v []byte
	if err := db.SQL().QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'replay'`).Scan(&v); err != nil || len(v) != 1 {
		t.Fatalf("main pool reads %v, %v; want the replayable pool's row", v, err)
	}
}
