package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/store"
	"github.com/plugzapi/plugzapi/store/pgtest"
)

// database returns a handle on the server's database for the test to read, opened at the first call and closed
// when the test ends: the SQLite file of the data directory read-only, or, when the run is on Postgres, the
// server's database through the store's own pool, so that the tests' queries are written once with '?' as the
// server's are. The server may be running or stopped; on Postgres the store's open finds the schema current and
// the vault key the server made.
func (s *server) database(t testing.TB) *sql.DB {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != nil {
		return s.db
	}
	if !pgtest.Enabled() {
		db, err := sql.Open(store.DriverName, "file:"+filepath.Join(s.dataDir, store.DatabaseFile)+"?mode=ro")
		if err != nil {
			t.Fatalf("open the server's database: %v", err)
		}
		s.t.Cleanup(func() { db.Close() })
		s.db = db
		return db
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, store.Config{Dir: s.dataDir, DatabaseURL: pgtest.DatabaseFor(t, s.dataDir), MaxOpenConns: 2},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open the server's database: %v", err)
	}
	s.t.Cleanup(func() { db.Close() })
	s.db = db.SQL()
	return s.db
}

// findInDatabase returns where the server's database holds needle. On SQLite that is the database's files in the
// data directory (the file, its write-ahead log); on Postgres, the columns ("table.column") with a value that
// contains it, searched through every text, JSON and bytea column of every table: what the server keeps there is
// all the database can give away.
func findInDatabase(t testing.TB, srv *server, needle []byte) []string {
	t.Helper()
	if !pgtest.Enabled() {
		var found []string
		for _, f := range findInDir(t, srv.dataDir, needle) {
			if strings.HasPrefix(filepath.Base(f), store.DatabaseFile) {
				found = append(found, f)
			}
		}
		return found
	}
	db := srv.database(t)
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying', 'character', 'bytea', 'json', 'jsonb')
		ORDER BY table_name, column_name`)
	if err != nil {
		t.Fatalf("list the database's columns: %v", err)
	}
	type column struct{ table, name, kind string }
	var columns []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.table, &c.name, &c.kind); err != nil {
			t.Fatal(err)
		}
		columns = append(columns, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(columns) == 0 {
		t.Fatal("the server's database has no text or bytea column: the search would find nothing")
	}
	var found []string
	for _, c := range columns {
		// Text and JSON come back as their text, bytea as its bytes: the needle is looked for in what is stored.
		value := quoteIdent(c.name)
		if c.kind == "json" || c.kind == "jsonb" {
			value += "::text"
		}
		vals, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM %s WHERE %s IS NOT NULL`, value, quoteIdent(c.table), quoteIdent(c.name)))
		if err != nil {
			t.Fatalf("read %s.%s: %v", c.table, c.name, err)
		}
		for vals.Next() {
			var b []byte
			if err := vals.Scan(&b); err != nil {
				t.Fatalf("read %s.%s: %v", c.table, c.name, err)
			}
			if bytes.Contains(b, needle) {
				found = append(found, c.table+"."+c.name)
				break
			}
		}
		if err := vals.Err(); err != nil {
			t.Fatalf("read %s.%s: %v", c.table, c.name, err)
		}
		vals.Close()
	}
	return found
}

// quoteIdent quotes a Postgres identifier.
func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// findAtRest returns everywhere the server keeps needle: the files of its data directory (the SQLite database
// among them) and, on Postgres, its database's columns.
func findAtRest(t testing.TB, srv *server, needle []byte) []string {
	t.Helper()
	found := findInDir(t, srv.dataDir, needle)
	if pgtest.Enabled() {
		found = append(found, findInDatabase(t, srv, needle)...)
	}
	return found
}
