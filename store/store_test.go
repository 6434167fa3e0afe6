package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/plugzapi/plugzapi/store/pgtest"

	"go.mau.fi/whatsmeow/store/sqlstore"
)

func mustID(t *testing.T) string {
	t.Helper()
	id, err := NewInstanceID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// openTestDB opens a store on the run's dialect (see pgtest.Enabled).
func openTestDB(t *testing.T, cfg Config) *DB {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if pgtest.Enabled() {
		cfg.DatabaseURL = pgtest.DatabaseFor(t, cfg.Dir)
	}
	return openStore(t, cfg)
}

// openSQLiteDB opens a store on SQLite, for tests of what only SQLite has (pragmas, the write gate, WAL).
func openSQLiteDB(t *testing.T, cfg Config) *DB {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	return openStore(t, cfg)
}

func openStore(t *testing.T, cfg Config) *DB {
	t.Helper()
	db, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// filesContaining lists the files under dir whose bytes contain needle.
func filesContaining(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, needle) {
			hits = append(hits, filepath.Base(path))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return hits
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"zero value is usable", Config{}, ""},
		{"normal sync", Config{Synchronous: "normal"}, ""},
		{"extra sync", Config{Synchronous: "EXTRA"}, ""},
		{"bad sync", Config{Synchronous: "OFF"}, "synchronous"},
		{"question mark in dir", Config{Dir: "/tmp/a?b"}, "must not contain"},
		{"tiny busy timeout", Config{BusyTimeout: time.Microsecond}, "busy timeout"},
		{"one connection", Config{MaxOpenConns: 1}, "MaxOpenConns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestOpenAppliesPragmas(t *testing.T) {
	for _, tt := range []struct {
		sync string
		want int
	}{{"", 2}, {"NORMAL", 1}} {
		t.Run("sync="+tt.sync, func(t *testing.T) {
			db := openSQLiteDB(t, Config{Synchronous: tt.sync})
			ctx := context.Background()
			// A checkpoint borrows a connection with a short busy timeout; it must give it back restored.
			if complete, err := db.Checkpoint(ctx); err != nil || !complete {
				t.Fatalf("Checkpoint = %v, %v", complete, err)
			}
			// Every pooled connection must carry the settings: check several at once.
			conns := make([]*sql.Conn, 3)
			for i := range conns {
				c, err := db.SQL().Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				conns[i] = c
			}
			for _, c := range conns {
				for pragma, want := range map[string]any{
					"foreign_keys":  int64(1),
					"journal_mode":  "wal",
					"synchronous":   int64(tt.want),
					"secure_delete": int64(1),
					"busy_timeout":  int64(10000),
				} {
					var got any
					if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
						t.Fatalf("PRAGMA %s: %v", pragma, err)
					}
					if got != want {
						t.Errorf("PRAGMA %s = %v (%T), want %v", pragma, got, got, want)
					}
				}
			}
			if _, err := os.Stat(filepath.Join(db.Dir(), DatabaseFile)); err != nil {
				t.Fatalf("database file: %v", err)
			}
		})
	}
}

// TestImmediateTransactionsAvoidBusySnapshot verifies why the DSN sets _txlock=immediate: a deferred
// transaction that reads, then writes after another connection committed, fails with SQLITE_BUSY_SNAPSHOT at
// once (busy_timeout cannot help: its snapshot is stale). That is the shape of watermill-sql's subscriber
// transaction (select, handle, write the offset) and of an append (check the last seq, insert). An immediate
// transaction takes the write lock at BEGIN and so waits instead.
func TestImmediateTransactionsAvoidBusySnapshot(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openSQLiteDB(t, Config{Dir: dir})
	if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE counter (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO counter VALUES (0)`); err != nil {
		t.Fatal(err)
	}

	readThenWrite := func(pool *sql.DB) error {
		tx, err := pool.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT n FROM counter`).Scan(&n); err != nil {
			return err
		}
		// Another connection commits while this transaction holds its read snapshot.
		if _, err := db.SQL().ExecContext(ctx, `UPDATE counter SET n = n + 100`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE counter SET n = ?`, n+1); err != nil {
			return err
		}
		return tx.Commit()
	}

	deferredDSN := strings.Replace(db.DSN(), "_txlock=immediate", "_txlock=deferred", 1)
	deferred, err := sql.Open(DriverName, deferredDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer deferred.Close()
	err = readThenWrite(deferred)
	t.Logf("deferred transaction: %v", err)
	if err == nil || !IsBusy(err) || !strings.Contains(err.Error(), "SNAPSHOT") && !strings.Contains(err.Error(), "517") {
		t.Fatalf("deferred read-then-write after a concurrent commit: err = %v, want SQLITE_BUSY_SNAPSHOT", err)
	}

	// With the store's DSN the transaction holds the write lock, so the concurrent UPDATE waits for it instead
	// (run it from a goroutine: here it would wait for ourselves). The transaction's read stays valid.
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT n FROM counter`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	other := make(chan error, 1)
	go func() {
		_, err := db.SQL().ExecContext(ctx, `UPDATE counter SET n = n + 100`)
		other <- err
	}()
	if _, err := tx.ExecContext(ctx, `UPDATE counter SET n = ?`, n+1); err != nil {
		t.Fatalf("immediate transaction write: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("immediate transaction commit: %v", err)
	}
	if err := <-other; err != nil {
		t.Fatalf("concurrent writer after waiting: %v", err)
	}
	if err := db.SQL().QueryRowContext(ctx, `SELECT n FROM counter`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	// 100 from the deferred attempt's concurrent update, then +1 from the transaction, +100 after it.
	if n != 201 {
		t.Fatalf("counter = %d, want 201 (no lost update)", n)
	}
}

// migrationsOf lays steps out as a package's migrations folder: the same files for both dialects.
func migrationsOf(steps ...string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for i, step := range steps {
		for _, d := range []string{"sqlite", "postgres"} {
			fsys[fmt.Sprintf("migrations/%s/%03d_step.sql", d, i+1)] = &fstest.MapFile{Data: []byte(step)}
		}
	}
	return fsys
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t, Config{})
	steps := []string{
		`CREATE TABLE m1 (a INTEGER); INSERT INTO m1 VALUES (1);`,
		`ALTER TABLE m1 ADD COLUMN b TEXT NOT NULL DEFAULT 'x';`,
	}
	if err := db.Migrate(ctx, "test", migrationsOf(steps[:1]...)); err != nil {
		t.Fatalf("first step: %v", err)
	}
	if err := db.Migrate(ctx, "test", migrationsOf(steps...)); err != nil {
		t.Fatalf("second step: %v", err)
	}
	// Idempotent: re-running applies nothing (the INSERT would duplicate the row otherwise).
	if err := db.Migrate(ctx, "test", migrationsOf(steps...)); err != nil {
		t.Fatalf("rerun: %v", err)
	}
	var rows int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM m1 WHERE b = 'x'`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Fatalf("rows = %d, want 1", rows)
	}
	// A binary that knows fewer steps than the database has must refuse.
	if err := db.Migrate(ctx, "test", migrationsOf(steps[:1]...)); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("older binary: err = %v, want 'newer' error", err)
	}
	// A failing step leaves the version where it was, and nothing of itself.
	bad := migrationsOf(append(append([]string{}, steps...), `CREATE TABLE m2 (x INTEGER); THIS IS NOT SQL;`)...)
	if err := db.Migrate(ctx, "test", bad); err == nil {
		t.Fatal("bad step: want error")
	}
	var v int
	if err := db.SQL().QueryRowContext(ctx, `SELECT version FROM plugzapi_schema WHERE component = 'test'`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != 2 {
		t.Fatalf("version after failed step = %d, want 2", v)
	}
	if _, err := db.SQL().ExecContext(ctx, `SELECT COUNT(*) FROM m2`); err == nil {
		t.Fatal("failed step left table m2 behind")
	}
	// A version written for one dialect only, or misnumbered, is refused before anything runs.
	oneSided := migrationsOf(steps...)
	delete(oneSided, "migrations/postgres/002_step.sql")
	if err := db.Migrate(ctx, "other", oneSided); err == nil || !strings.Contains(err.Error(), "every version needs both") {
		t.Fatalf("one-sided migration: err = %v", err)
	}
	gap := migrationsOf(steps[:1]...)
	for _, d := range []string{"sqlite", "postgres"} {
		gap["migrations/"+d+"/003_step.sql"] = gap["migrations/"+d+"/001_step.sql"]
	}
	if err := db.Migrate(ctx, "other", gap); err == nil || !strings.Contains(err.Error(), "numbered 002") {
		t.Fatalf("numbering gap: err = %v", err)
	}
}

func TestInstances(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t, Config{})
	q := db.SQL()
	now := time.UnixMilli(1_700_000_000_123)

	a, tokenA, err := CreateInstance(ctx, q, mustID(t), "Shop", "Shop device", now)
	if err != nil {
		t.Fatal(err)
	}
	b, tokenB, err := CreateInstance(ctx, q, mustID(t), "Support", "", now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.ID) != 32 || len(tokenA) != 32 || a.ID == b.ID || tokenA == tokenB {
		t.Fatalf("ids/tokens not random 128-bit hex: %q %q %q %q", a.ID, tokenA, b.ID, tokenB)
	}
	if _, _, err := CreateInstance(ctx, q, a.ID, "dup", "", now); err == nil || !IsUniqueViolation(err) {
		t.Fatalf("duplicate id: err = %v, want a unique violation", err)
	}
	if _, _, err := CreateInstance(ctx, q, "", "x", "", now); err == nil {
		t.Fatal("empty id accepted")
	}
	got, err := Authenticate(ctx, q, a.ID, tokenA)
	if err != nil {
		t.Fatalf("Authenticate(right): %v", err)
	}
	if got != a {
		t.Fatalf("Authenticate = %+v, want %+v", got, a)
	}
	for _, tc := range []struct{ name, id, token string }{
		{"wrong token", a.ID, tokenB},
		{"other instance's token", b.ID, tokenA},
		{"unknown id", "00000000000000000000000000000000", tokenA},
		{"empty", "", ""},
		{"lowercase token", a.ID, strings.ToLower(tokenA)},
	} {
		if _, err := Authenticate(ctx, q, tc.id, tc.token); !errors.Is(err, ErrInstanceNotFound) {
			t.Errorf("Authenticate(%s) = %v, want ErrInstanceNotFound", tc.name, err)
		}
	}

	if err := RenameInstance(ctx, q, a.ID, "Shop 2"); err != nil {
		t.Fatal(err)
	}
	if err := SetWebhookSecret(ctx, q, a.ID, "s3cret"); err != nil {
		t.Fatal(err)
	}
	got, err = GetInstance(ctx, q, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Shop 2" || got.WebhookSecret != "s3cret" || !got.Created.Equal(now) || got.SessionName != "Shop device" {
		t.Fatalf("GetInstance = %+v", got)
	}
	list, err := ListInstances(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("ListInstances = %+v", list)
	}

	if err := DeleteInstance(ctx, q, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := Authenticate(ctx, q, a.ID, tokenA); !errors.Is(err, ErrInstanceNotFound) {
		t.Fatalf("Authenticate after delete = %v", err)
	}
	if err := DeleteInstance(ctx, q, a.ID); !errors.Is(err, ErrInstanceNotFound) {
		t.Fatalf("second delete = %v, want ErrInstanceNotFound", err)
	}
	if err := RenameInstance(ctx, q, "nope", "x"); !errors.Is(err, ErrInstanceNotFound) {
		t.Fatalf("rename unknown = %v", err)
	}

	// Tokens are stored hashed.
	var stored []byte
	if err := q.QueryRowContext(ctx, `SELECT token_hash FROM instances WHERE id = ?`, b.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, hashToken(tokenB)) {
		t.Fatalf("stored token %x, want its hash", stored)
	}
	if db.Dialect() != SQLite {
		return
	}
	// On SQLite the whole database is in the data directory: the clear token is nowhere in it.
	if _, err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{tokenA, tokenB} {
		if hits := filesContaining(t, db.Dir(), []byte(tok)); len(hits) > 0 {
			t.Fatalf("clear token found in %v", hits)
		}
	}
	// ...and the hash is (the check above would be vacuous if nothing was written).
	if hits := filesContaining(t, db.Dir(), hashToken(tokenB)); len(hits) == 0 {
		t.Fatal("token hash not found in the database: the grep proves nothing")
	}
}

func TestCreateInstanceInCallerTransaction(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t, Config{})
	boom := errors.New("append failed")
	var id string
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		inst, _, err := CreateInstance(ctx, tx, mustID(t), "x", "", time.Now())
		if err != nil {
			return err
		}
		id = inst.ID
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v", err)
	}
	if _, err := GetInstance(ctx, db.SQL(), id); !errors.Is(err, ErrInstanceNotFound) {
		t.Fatalf("instance of rolled-back transaction exists: %v", err)
	}
}

func TestAdminToken(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTestDB(t, Config{Dir: dir, CheckpointInterval: -1})

	ok, err := db.CheckAdminToken(ctx, "anything")
	if err != nil || ok {
		t.Fatalf("before setup: ok=%v err=%v", ok, err)
	}
	gen, err := db.EnsureAdminToken(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(gen) != 48 {
		t.Fatalf("generated token %q, want 48 hex chars", gen)
	}
	again, err := db.EnsureAdminToken(ctx, "")
	if err != nil || again != "" {
		t.Fatalf("second start: generated=%q err=%v, want none", again, err)
	}
	if ok, _ := db.CheckAdminToken(ctx, gen); !ok {
		t.Fatal("generated token rejected")
	}
	if ok, _ := db.CheckAdminToken(ctx, gen[:47]); ok {
		t.Fatal("truncated token accepted")
	}
	if _, err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if hits := filesContaining(t, dir, []byte(gen)); len(hits) > 0 {
		t.Fatalf("clear admin token found in %v", hits)
	}

	// A configured token replaces the generated one.
	if g, err := db.EnsureAdminToken(ctx, "from-env-token"); err != nil || g != "" {
		t.Fatalf("configured: generated=%q err=%v", g, err)
	}
	if ok, _ := db.CheckAdminToken(ctx, gen); ok {
		t.Fatal("old generated token still accepted after configuring one")
	}
	if ok, _ := db.CheckAdminToken(ctx, "from-env-token"); !ok {
		t.Fatal("configured token rejected")
	}
}

// TestWhatsmeowSharesTheDatabase checks that whatsmeow's session store runs on the store's pool: its Upgrade
// needs foreign keys on every connection (SQLite), and its tables live in the same database.
func TestWhatsmeowSharesTheDatabase(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t, Config{})
	container := sqlstore.NewWithDB(db.SQL(), db.Dialect().DriverName(), nil)
	if err := container.Upgrade(ctx); err != nil {
		t.Fatalf("whatsmeow upgrade: %v", err)
	}
	dev := container.NewDevice()
	if dev == nil {
		t.Fatal("NewDevice returned nil")
	}
	devices, err := container.GetAllDevices(ctx)
	if err != nil {
		t.Fatalf("GetAllDevices: %v", err)
	}
	if len(devices) != 0 {
		t.Fatalf("devices = %d, want 0 (unsaved device)", len(devices))
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM whatsmeow_device`).Scan(&n); err != nil {
		t.Fatalf("whatsmeow_device table not in the store's database: %v", err)
	}
}
