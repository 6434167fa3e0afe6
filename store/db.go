package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DriverName is the database/sql driver the store uses (modernc.org/sqlite). whatsmeow's sqlstore must be given
// the same name as its dialect: sqlstore.NewWithDB(db.SQL(), store.DriverName, log).
const DriverName = "sqlite"

// Querier runs statements. *sql.DB and *sql.Tx both satisfy it, so store functions that write take one and run
// either on their own or inside the caller's transaction (for example an event append).
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is the open database. It is safe for concurrent use. Close it when done: that stops its checkpoint loop.
type DB struct {
	dialect Dialect
	sql     *sql.DB
	// unsyncedPool is a second pool on the same file whose commits are not synced (see Unsynced).
	unsyncedPool *sql.DB
	// pgConfig is the main pool's connection settings on Postgres (see PostgresConfig).
	pgConfig *pgx.ConnConfig
	cfg      Config
	path     string
	dsn      string
	vault    *Vault
	log      *slog.Logger

	// walSync syncs the unsynced pool's commits on SQLite when the main pool syncs (nil otherwise).
	walSync *walSyncer

	stop      chan struct{}
	loops     sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// DSN returns the driver connection string for the database file at path with cfg's settings:
//
//   - foreign_keys(1): whatsmeow's schema needs it (its Upgrade refuses to run without).
//   - journal_mode(WAL): readers do not block the writer.
//   - busy_timeout: a writer waits for the lock instead of failing at once.
//   - synchronous(cfg.Synchronous), FULL by default: acknowledged means durable.
//   - secure_delete(1): deleted content is overwritten with zeros, not left in free pages.
//   - temp_store(2), in memory: a savepoint's statement journal (the event log's committer opens one per
//     append) stays in memory. In a file it cost an open, writes and a close per append — about a tenth of the
//     server's CPU at full intake — and put copies of pages (message content among them) in temporary files.
//   - _txlock=immediate: every read-write transaction takes the write lock at BEGIN. A deferred transaction
//     that reads first and writes later fails with SQLITE_BUSY_SNAPSHOT (without waiting) when another
//     connection committed in between; watermill-sql's subscriber does exactly that (it selects, runs the
//     handler, then writes the offset), and so does an append that checks the last sequence before inserting.
//     Read-only transactions (sql.TxOptions{ReadOnly: true}) still begin deferred.
func DSN(path string, cfg Config) string {
	cfg = cfg.withDefaults()
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+cfg.Synchronous+")")
	q.Add("_pragma", "secure_delete(1)")
	q.Add("_pragma", "temp_store(2)")
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode()
}

// Open opens (or creates) the database — the SQLite file in the data directory, or the Postgres database at
// cfg.DatabaseURL when set — applies the store's own migrations and loads the vault key. On SQLite it also
// starts the periodic WAL checkpoint.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}
	db := &DB{cfg: cfg, log: log, stop: make(chan struct{})}
	if cfg.DatabaseURL != "" {
		if err := db.openPostgres(); err != nil {
			return nil, err
		}
	} else {
		db.openSQLite()
	}
	if err := db.open(ctx); err != nil {
		return nil, errors.Join(err, db.sql.Close(), db.unsyncedPool.Close())
	}
	if db.dialect == SQLite && cfg.CheckpointInterval > 0 {
		db.loops.Go(func() { db.checkpointLoop(cfg.CheckpointInterval) })
	}
	if db.walSync != nil {
		db.loops.Go(func() {
			db.walSync.loop(db.stop, func(err error) { db.log.Warn("sync of the unsynced commits failed", "err", err) })
		})
	}
	return db, nil
}

// openSQLite opens the pools on the data directory's database file.
func (db *DB) openSQLite() {
	db.dialect = SQLite
	db.path = filepath.Join(db.cfg.Dir, DatabaseFile)
	db.dsn = DSN(db.path, db.cfg)
	if db.cfg.Synchronous != "NORMAL" {
		db.walSync = newWALSyncer(db.path)
	}
	db.openSQLitePools()
}

// openSQLitePools opens the main and the unsynced pool on the database file, their writes queueing at one gate.
func (db *DB) openSQLitePools() {
	gate := newWriteGate(db.cfg.BusyTimeout)
	db.sql = openPool(db.dsn, db.cfg.MaxOpenConns, gate, nil)
	relaxed := db.cfg
	relaxed.Synchronous = "NORMAL"
	db.unsyncedPool = openPool(DSN(db.path, relaxed), unsyncedConns, gate, db.walSync)
}

// unsyncedConns bounds the unsynced pool. Its users are the consumer groups, whose transactions take the write
// lock one at a time anyway, and whatsmeow's store, whose statements are short; on Postgres a cluster's nodes
// share the server's connection limit.
const unsyncedConns = 8

// openPool opens a connection pool on dsn whose connections keep their prepared statements (see
// cachingConnector), and whose write transactions queue at gate. Its writes are reported to unsynced, when set.
func openPool(dsn string, conns int, gate *writeGate, unsynced *walSyncer) *sql.DB {
	p := sql.OpenDB(cachingConnector{drv: &sqlite.Driver{}, dsn: dsn, gate: gate, unsynced: unsynced})
	p.SetMaxOpenConns(conns)
	// Keep connections: each carries its pragmas, page cache and prepared statements, and reopening costs a
	// file open and parse.
	p.SetMaxIdleConns(conns)
	return p
}

func (db *DB) open(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return fmt.Errorf("store: open %s: %w", db.where(), err)
	}
	if db.dialect == SQLite {
		var mode string
		if err := db.sql.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			return fmt.Errorf("store: read journal mode: %w", err)
		}
		if mode != "wal" {
			return fmt.Errorf("store: journal mode is %q, want wal (is the file on a filesystem without shared memory?)", mode)
		}
	}
	if err := db.Migrate(ctx, "store", storeMigrations); err != nil {
		return err
	}
	v, err := openVault(ctx, db.sql, db.dialect, db.cfg.VaultKeyFile)
	if err != nil {
		return err
	}
	db.vault = v
	return nil
}

// SQL returns the connection pool, for packages that run their own queries (the event log, the read models,
// whatsmeow's sqlstore). Do not close it: close the DB.
func (db *DB) SQL() *sql.DB { return db.sql }

// Unsynced returns a second pool on the same file whose commits are not synced (SQLite: synchronous=NORMAL;
// Postgres: synchronous_commit=off), which makes them cost no fsync. Such a commit is still atomic and
// survives a crash of the process; a power loss may take back the last ones, but only together with every
// commit after them that was not synced either: the log is a sequence, so the next synced commit of the main
// pool makes every earlier commit durable, this pool's included. With no synced commit, they reach the disk
// within unsyncedWindow on SQLite (walSyncer) and within Postgres's WAL writer delay on Postgres.
//
// Its writers are those whose last commits may be taken back so: consumer groups (a group's handler writes
// and its offset commit in one transaction, so losing it means handling its events again from the offset
// before, with the same result) and whatsmeow's store, whose writes that matter are followed by a synced
// commit of their outcome before anything is acknowledged (a received message's Signal session and buffered
// plaintext commit before its event, which is synced before WhatsApp hears the receipt; a sent message's
// session before its MessageSent event). Anything whose loss could not be redone from what stays durable — an
// acknowledged append, a record of a side effect that must not repeat — belongs in the main pool.
func (db *DB) Unsynced() *sql.DB { return db.unsyncedPool }

// DSN returns the connection string the pool was opened with, for a caller that needs its own pool on the same
// file with the same settings. It is empty on Postgres.
func (db *DB) DSN() string { return db.dsn }

// Path returns the database file's path; empty on Postgres.
func (db *DB) Path() string { return db.path }

// Dir returns the data directory.
func (db *DB) Dir() string { return db.cfg.Dir }

// Vault returns the content vault.
func (db *DB) Vault() *Vault { return db.vault }

// InTx runs fn in a read-write transaction (it holds the database's write lock from its first statement) and
// commits it when fn returns nil; otherwise it rolls back and returns fn's error.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return InTx(ctx, db.sql, fn)
}

// InTx runs fn in a transaction of db, committing when fn returns nil and rolling back otherwise.
func InTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if err != nil {
			if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
				err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
			}
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// checkpointBusyTimeout bounds how long a checkpoint waits for readers. A TRUNCATE checkpoint holds back new
// writers while it waits, so it must give up quickly (and try again next time) rather than stall appends for
// the full busy timeout.
const checkpointBusyTimeout = 200 * time.Millisecond

// Checkpoint copies the write-ahead log into the database file and truncates the log to zero bytes, so that
// page images of deleted rows no longer exist in the WAL. It reports complete=false when readers or writers
// kept it from finishing within a short wait; a later checkpoint completes it.
func (db *DB) Checkpoint(ctx context.Context) (complete bool, err error) {
	if db.dialect != SQLite {
		return true, nil // Postgres recycles its own log; deleted content is unreadable once its key is gone.
	}
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("store: checkpoint: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = "+strconv.FormatInt(checkpointBusyTimeout.Milliseconds(), 10)); err != nil {
		return false, fmt.Errorf("store: checkpoint: %w", err)
	}
	defer func() {
		// The connection goes back to the pool: give it its normal timeout back, or discard it.
		restore := "PRAGMA busy_timeout = " + strconv.FormatInt(db.cfg.BusyTimeout.Milliseconds(), 10)
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), restore); rerr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	var busy, logFrames, checkpointed int
	err = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &checkpointed)
	if IsBusy(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: checkpoint: %w", err)
	}
	return busy == 0, nil
}

func (db *DB) checkpointLoop(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		complete, err := db.Checkpoint(ctx)
		cancel()
		switch {
		case err != nil:
			db.log.Warn("wal checkpoint failed", "err", err)
		case !complete:
			db.log.Debug("wal checkpoint incomplete, readers active; retrying next interval")
		}
	}
}

// Close stops the checkpoint loop, runs a last checkpoint and closes the pool. It is safe to call more than once.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		close(db.stop)
		db.loops.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), db.cfg.BusyTimeout)
		_, cpErr := db.Checkpoint(ctx)
		cancel()
		db.closeErr = errors.Join(cpErr, db.unsyncedPool.Close(), db.sql.Close())
		if db.walSync != nil {
			db.closeErr = errors.Join(db.closeErr, db.walSync.close())
		}
	})
	return db.closeErr
}

// IsUniqueViolation reports whether err is a primary-key or unique constraint violation, in either dialect.
func IsUniqueViolation(err error) bool {
	if pgCode(err) == "23505" {
		return true
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	return se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// IsBusy reports whether err is SQLite's "database is locked" in any of its forms (including BUSY_SNAPSHOT), or
// the Postgres equivalents: a serialization failure or deadlock, which a retry of the transaction resolves.
func IsBusy(err error) bool {
	if c := pgCode(err); c == "40001" || c == "40P01" {
		return true
	}
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}
