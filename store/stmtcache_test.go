package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"modernc.org/sqlite"
)

// countingDriver counts the statements its connections prepare and finalize.
type countingDriver struct {
	prepared, closed atomic.Int64
}

type countingConn struct {
	driver.Conn
	d *countingDriver
}

type countingStmt struct {
	driver.Stmt
	d *countingDriver
}

func (d *countingDriver) Open(name string) (driver.Conn, error) {
	c, err := (&sqlite.Driver{}).Open(name)
	if err != nil {
		return nil, err
	}
	return countingConn{c, d}, nil
}

func (c countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.d.prepared.Add(1)
	return countingStmt{s, c.d}, nil
}

func (c countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (s countingStmt) Close() error {
	s.d.closed.Add(1)
	return s.Stmt.Close()
}

func (s countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

// countingPool opens a one-connection caching pool over a counting driver.
func countingPool(t *testing.T) (*sql.DB, *countingDriver) {
	t.Helper()
	d := &countingDriver{}
	db := sql.OpenDB(cachingConnector{drv: d, dsn: DSN(filepath.Join(t.TempDir(), "c.db"), Config{})})
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	return db, d
}

// TestStatementCacheReusesStatements: a statement run many times, on its own or in transactions, is prepared
// once per connection.
func TestStatementCacheReusesStatements(t *testing.T) {
	db, d := countingPool(t)
	ctx := context.Background()
	before := d.prepared.Load()
	for i := range 50 {
		err := InTx(ctx, db, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO t (k, v) VALUES (?, ?)`, i, fmt.Sprint("v", i))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var v string
		if err := db.QueryRowContext(ctx, `SELECT v FROM t WHERE k = ?`, i).Scan(&v); err != nil || v != fmt.Sprint("v", i) {
			t.Fatalf("select %d = %q, %v", i, v, err)
		}
	}
	if n := d.prepared.Load() - before; n != 2 {
		t.Fatalf("100 runs of 2 statements prepared %d statements, want 2", n)
	}
}

// TestStatementCacheNestedUse: a statement run again while its own rows are open (inside the loop over them)
// gets a statement of its own, and both cursors give the right rows.
func TestStatementCacheNestedUse(t *testing.T) {
	db, _ := countingPool(t)
	ctx := context.Background()
	for k := range 3 {
		if _, err := db.ExecContext(ctx, `INSERT INTO t (k, v) VALUES (?, ?)`, k, fmt.Sprint("v", k)); err != nil {
			t.Fatal(err)
		}
	}
	const q = `SELECT k, v FROM t WHERE k >= ? ORDER BY k`
	err := InTx(ctx, db, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, q, 0)
		if err != nil {
			return err
		}
		defer rows.Close()
		var seen []int
		for rows.Next() {
			var k int
			var v string
			if err := rows.Scan(&k, &v); err != nil {
				return err
			}
			seen = append(seen, k)
			var k2 int
			var v2 string
			if err := tx.QueryRowContext(ctx, q, k).Scan(&k2, &v2); err != nil {
				return err
			}
			if k2 != k || v2 != v {
				return fmt.Errorf("inner query from %d got %d %q, want %d %q", k, k2, v2, k, v)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if fmt.Sprint(seen) != "[0 1 2]" {
			return fmt.Errorf("outer query saw %v, want [0 1 2]", seen)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStatementCacheIsBounded: past its size the cache finalizes its least recently used statements, and a
// closed connection finalizes all of them.
func TestStatementCacheIsBounded(t *testing.T) {
	d := &countingDriver{}
	inner, err := d.Open(DSN(filepath.Join(t.TempDir(), "b.db"), Config{}))
	if err != nil {
		t.Fatal(err)
	}
	c := newCachingConn(inner, 2)
	ctx := context.Background()
	for i := range 5 {
		s, err := c.PrepareContext(ctx, fmt.Sprintf("SELECT %d", i))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := s.(driver.StmtQueryContext).QueryContext(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(c.stmts); got != 2 {
		t.Fatalf("cache holds %d statements, want 2", got)
	}
	if p, cl := d.prepared.Load(), d.closed.Load(); p != 5 || cl != 3 {
		t.Fatalf("prepared %d, finalized %d; want 5 and 3", p, cl)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if cl := d.closed.Load(); cl != 5 {
		t.Fatalf("after Close %d statements finalized, want 5", cl)
	}
}
