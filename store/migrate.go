package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migrate brings a component's tables up to date. migrations is the package's embedded migrations folder, with
// one numbered file per version and dialect, as mautrix's bridges keep them: migrations/sqlite/001_init.sql,
// migrations/sqlite/002_….sql, and migrations/postgres/001_init.sql… with the same versions in both folders (version n is the same schema in both dialects). File n takes the component
// from version n−1 to n; files are append-only: never edit a released one, add the next. Each component (the
// store itself, the event log, each read model) keeps its own version in the table plugzapi_schema, so packages
// evolve their tables independently. whatsmeow keeps its own version table.
//
// Pending steps run in one transaction that holds the write lock (on Postgres, a transaction-scoped advisory
// lock: DDL is transactional there too), so two processes starting on one database cannot both apply a step.
// A database newer than the binary (version > the files) is refused rather than used with a schema this code
// does not know.
func (db *DB) Migrate(ctx context.Context, component string, migrations fs.FS) error {
	steps, err := migrationSteps(migrations, db.dialect)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", component, err)
	}
	err = InTx(ctx, db.sql, func(tx *sql.Tx) error {
		if db.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('plugzapi_schema'))`); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS plugzapi_schema (
			component TEXT PRIMARY KEY,
			version INTEGER NOT NULL
		)`); err != nil {
			return fmt.Errorf("create version table: %w", err)
		}
		var version int
		err := tx.QueryRowContext(ctx, `SELECT version FROM plugzapi_schema WHERE component = ?`, component).Scan(&version)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read version: %w", err)
		}
		if version > len(steps) {
			return fmt.Errorf("database is at version %d, newer than this binary's %d: upgrade the binary", version, len(steps))
		}
		if version == len(steps) {
			return nil
		}
		for i := version; i < len(steps); i++ {
			if _, err := tx.ExecContext(ctx, steps[i]); err != nil {
				return fmt.Errorf("step %d: %w", i+1, err)
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO plugzapi_schema (component, version) VALUES (?, ?)
			ON CONFLICT (component) DO UPDATE SET version = excluded.version`, component, len(steps))
		if err != nil {
			return fmt.Errorf("record version: %w", err)
		}
		db.log.Info("database migrated", "schema", component, "dialect", db.dialect, "from", version, "to", len(steps))
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate %s: %w", component, err)
	}
	return nil
}

// migrationSteps reads the dialect's numbered files of migrations, in order. The numbers must run 1, 2, 3… and
// the other dialect must have as many: a migration added for one dialect only is caught at the first start,
// in any test.
func migrationSteps(migrations fs.FS, dialect Dialect) ([]string, error) {
	counts := map[Dialect]int{}
	var steps []string
	for _, d := range []Dialect{SQLite, Postgres} {
		names, err := fs.Glob(migrations, "migrations/"+string(d)+"/*.sql")
		if err != nil {
			return nil, err
		}
		slices.Sort(names)
		for i, name := range names {
			num, _, ok := strings.Cut(path.Base(name), "_")
			if n, err := strconv.Atoi(num); !ok || err != nil || n != i+1 {
				return nil, fmt.Errorf("migration %s: want it numbered %03d_<name>.sql", name, i+1)
			}
			if d != dialect {
				continue
			}
			b, err := fs.ReadFile(migrations, name)
			if err != nil {
				return nil, err
			}
			steps = append(steps, string(b))
		}
		counts[d] = len(names)
	}
	if counts[SQLite] != counts[Postgres] {
		return nil, fmt.Errorf("%d sqlite migrations but %d postgres ones: every version needs both", counts[SQLite], counts[Postgres])
	}
	if len(steps) == 0 {
		return nil, errors.New("no migrations")
	}
	return steps, nil
}

// storeMigrations are the store's own tables.
//
//go:embed migrations
var storeMigrations embed.FS
