// Package pgtest gives tests a fresh, empty database on a real PostgreSQL server: the one named by
// PLUGZAPI_TEST_POSTGRES_URL, or else the throwaway server scripts/test-postgres starts (and installs when
// missing). It is imported by tests only, and imports nothing of the project's, so that every package's tests,
// the store's own included, can use it.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Enabled reports whether this test run is on Postgres: PLUGZAPI_TEST_DATABASE=postgres. The default runs on
// SQLite; `make test` runs the storage packages and an end-to-end set both ways.
func Enabled() bool { return os.Getenv("PLUGZAPI_TEST_DATABASE") == "postgres" }

var server struct {
	once sync.Once
	url  string
	err  error
}

// ServerURL returns the URL of the test server's maintenance database, starting the server when needed.
func ServerURL(t testing.TB) string {
	t.Helper()
	server.once.Do(func() {
		if u := os.Getenv("PLUGZAPI_TEST_POSTGRES_URL"); u != "" {
			server.url = u
			return
		}
		_, here, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(here), "..", "..", "scripts", "test-postgres")
		cmd := exec.Command(script, "start")
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			server.err = fmt.Errorf("%s start: %w", script, err)
			return
		}
		server.url = strings.TrimSpace(string(out))
	})
	if server.err != nil {
		t.Fatalf("pgtest: %v", server.err)
	}
	return server.url
}

// databases maps a data directory to its database (see DatabaseFor).
var databases sync.Map

// DatabaseFor returns the database of a test's data directory: a fresh one the first time, the same one when a
// test reopens a store on that directory (a restart), as it would find its SQLite file again.
func DatabaseFor(t testing.TB, dir string) string {
	t.Helper()
	if u, ok := databases.Load(dir); ok {
		return u.(string)
	}
	u, _ := databases.LoadOrStore(dir, NewDatabase(t))
	return u.(string)
}

// NewDatabase creates an empty database on the test server, drops it when the test ends, and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin := ServerURL(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	exec := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		// FORCE: a server process the test started may still hold connections when it was killed.
		if err := exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database: %v", err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("pgtest: server URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
