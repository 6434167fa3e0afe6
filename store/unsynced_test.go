package store

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"
)

// TestUnsyncedPool: the unsynced pool is the same database with unsynced commits (SQLite's
// synchronous=NORMAL, Postgres's synchronous_commit=off), whatever the main pool's setting.
func TestUnsyncedPool(t *testing.T) {
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
	if err := db.Unsynced().QueryRowContext(ctx, setting).Scan(&replaySync); err != nil {
		t.Fatal(err)
	}
	if mainSync != wantMain || replaySync != wantReplay {
		t.Fatalf("%s: main %s, unsynced %s; want %s and %s", setting, mainSync, replaySync, wantMain, wantReplay)
	}
	if _, err := db.Unsynced().ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('replay', ?)`, []byte{1}); err != nil {
		t.Fatal(err)
	}
	var v []byte
	if err := db.SQL().QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'replay'`).Scan(&v); err != nil || len(v) != 1 {
		t.Fatalf("main pool reads %v, %v; want the unsynced pool's row", v, err)
	}
}

// TestUnsyncedCommitsAreSyncedSoon: on SQLite, a commit of the unsynced pool — a transaction or a statement on
// its own — is followed within unsyncedWindow by a sync of the WAL file, also after SQLite made the file anew;
// the main pool's commits, synced already, are not.
func TestUnsyncedCommitsAreSyncedSoon(t *testing.T) {
	db := openSQLiteDB(t, Config{CheckpointInterval: -1})
	ctx := context.Background()
	syncs := db.walSync.syncs.Load
	waitForSync := func(what string, after int64) {
		t.Helper()
		deadline := time.Now().Add(10 * unsyncedWindow)
		for syncs() == after {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no sync of the WAL within %s", what, 10*unsyncedWindow)
			}
			time.Sleep(unsyncedWindow / 10)
		}
	}
	put := func(pool *sql.DB, key string) {
		t.Helper()
		if _, err := pool.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)`, key, []byte{1}); err != nil {
			t.Fatal(err)
		}
	}

	time.Sleep(3 * unsyncedWindow) // what opening wrote
	before := syncs()
	put(db.SQL(), "main")
	readOnly, err := db.Unsynced().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := readOnly.Commit(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * unsyncedWindow)
	if n := syncs(); n != before {
		t.Fatalf("%d syncs after a synced commit of the main pool and a read-only transaction, want none", n-before)
	}

	put(db.Unsynced(), "statement")
	waitForSync("a statement of the unsynced pool", before)

	before = syncs()
	if err := InTx(ctx, db.Unsynced(), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('tx', ?)`, []byte{1})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	waitForSync("a transaction of the unsynced pool", before)

	// SQLite deletes the WAL when the last connection closes and makes a new one at the next: the syncer
	// follows it.
	wal := db.Path() + "-wal"
	first, err := os.Stat(wal)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SQL().Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Unsynced().Close(); err != nil {
		t.Fatal(err)
	}
	db.openSQLitePools()
	before = syncs()
	put(db.Unsynced(), "after reopening")
	waitForSync("a statement after the WAL was made anew", before)
	second, err := os.Stat(wal)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(first, second) {
		t.Fatal("the WAL file is the same after every connection closed: the test proves nothing about a new one")
	}
	held, err := db.walSync.file.Stat()
	if err != nil || !os.SameFile(held, second) {
		t.Fatalf("the syncer holds %v (%v), not the new WAL file", held, err)
	}
}
