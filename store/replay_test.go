package store

import (
	"context"
	"testing"
)

// TestReplayablePool: the replayable pool is the same database with unsynced commits (SQLite's
// synchronous=NORMAL, Postgres's synchronous_commit=off), whatever the main pool's setting.
func TestReplayablePool(t *testing.T) {
	db := openTestDB(t, Config{})
	ctx := context.Background()
	setting := `PRAGMA synchronous`
	wantMain, wantReplay := "2", "1" // FULL, NORMAL
	if db.Dialect() == Postgres {
		setting, wantMain, wantReplay = `SHOW synchronous_commit`, "on", "off"
	}
	var mainSync, replaySync string
	if err := db.SQL().QueryRowContext(ctx, setting).Scan(&mainSync); err != nil {
		t.Fatal(err)
	}
	if err := db.Replayable().QueryRowContext(ctx, setting).Scan(&replaySync); err != nil {
		t.Fatal(err)
	}
	if mainSync != wantMain || replaySync != wantReplay {
		t.Fatalf("%s: main %s, replayable %s; want %s and %s", setting, mainSync, replaySync, wantMain, wantReplay)
	}
	if _, err := db.Replayable().ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('replay', ?)`, []byte{1}); err != nil {
		t.Fatal(err)
	}
	var v []byte
	if err := db.SQL().QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'replay'`).Scan(&v); err != nil || len(v) != 1 {
		t.Fatalf("main pool reads %v, %v; want the replayable pool's row", v, err)
	}
}
