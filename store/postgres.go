package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// Dialect names the SQL database the store runs on.
type Dialect string

const (
	// SQLite is the embedded default: one file in the data directory, one writer at a time.
	SQLite Dialect = "sqlite"
	// Postgres is the cluster's database, shared by every node.
	Postgres Dialect = "postgres"
)

// Dialect returns the database's dialect.
func (db *DB) Dialect() Dialect { return db.dialect }

// DriverName returns the name whatsmeow's sqlstore knows the dialect by (sqlstore.NewWithDB's second argument).
func (d Dialect) DriverName() string {
	if d == Postgres {
		return "postgres"
	}
	return DriverName
}

// openPostgres opens the pools on cfg.DatabaseURL. Statements are written once, with '?' placeholders, for both
// dialects: the connections rewrite them (rebind). pgx prepares and caches each statement per connection
// itself, so the SQLite statement cache and its write gate (Postgres has row locks) are not needed here.
//
// The unsynced pool's sessions commit with synchronous_commit=off: Postgres then acknowledges a commit before
// its WAL record is flushed. Like SQLite's synchronous=NORMAL, a crash of the server may take back the last
// such commits, never a part of one, and never one that a later synchronous commit depended on (the WAL is a
// sequence: flushing a later commit flushes every earlier one).
func (db *DB) openPostgres() error {
	db.dialect = Postgres
	main, err := pgx.ParseConfig(db.cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("store: database URL: %w", err)
	}
	relaxed := main.Copy()
	relaxed.RuntimeParams["synchronous_commit"] = "off"
	if db.cfg.Synchronous == "NORMAL" {
		// The operator traded power-loss durability for speed (PLUGZAPI_DURABLE_COMMITS=0): the same trade.
		main.RuntimeParams["synchronous_commit"] = "off"
	}
	db.pgConfig = main.Copy()
	db.sql = openPostgresPool(*main, db.cfg.MaxOpenConns)
	db.unsyncedPool = openPostgresPool(*relaxed, unsyncedConns)
	return nil
}

// PostgresConfig returns a copy of the settings the main pool's connections are made with, for a caller that
// needs a connection of its own outside the pools: one it holds for as long as it runs (a LISTEN), which would
// take a pool's connection away from everyone else. It is nil on SQLite.
func (db *DB) PostgresConfig() *pgx.ConnConfig {
	if db.pgConfig == nil {
		return nil
	}
	return db.pgConfig.Copy()
}

func openPostgresPool(cfg pgx.ConnConfig, conns int) *sql.DB {
	p := sql.OpenDB(rebindingConnector{stdlib.GetConnector(cfg)})
	p.SetMaxOpenConns(conns)
	p.SetMaxIdleConns(conns)
	return p
}

// where names the database for error messages, without a password.
func (db *DB) where() string {
	if db.dialect != Postgres {
		return db.path
	}
	u, err := url.Parse(db.cfg.DatabaseURL)
	if err != nil {
		return "the Postgres database"
	}
	return u.Redacted()
}

// rebindingConnector opens pgx connections that take '?' placeholders (see rebind).
type rebindingConnector struct{ inner driver.Connector }

func (c rebindingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	pc, ok := conn.(*stdlib.Conn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("store: pgx returned a %T connection", conn)
	}
	return rebindingConn{pc}, nil
}

func (c rebindingConnector) Driver() driver.Driver { return c.inner.Driver() }

// rebindingConn is a pgx connection whose statements are rebound; everything else is pgx's.
type rebindingConn struct{ *stdlib.Conn }

func (c rebindingConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(rebind(query))
}

func (c rebindingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(query))
}

func (c rebindingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), args)
}

func (c rebindingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(query), args)
}

// pgCode returns the SQLSTATE of a Postgres error, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
