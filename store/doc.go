// Package store is the server's SQL database: one SQLite file (modernc.org/sqlite, pure Go) under the data
// directory holding the event log, the event stream's topic tables, the read models, the instances, the admin
// token, the content vault and — opened by the whatsapp package on the same *sql.DB — whatsmeow's session store.
//
// The package owns the connection settings (pragmas), numbered migrations per component, the instance registry
// with hashed tokens, the admin token, the content vault, and the per-instance leases with a fencing token that
// keep one node at a time connected for an instance (lease.go). It knows nothing about events or webhooks: those
// packages bring their own migrations and run them through [DB.Migrate].
//
// SQL here uses "?" placeholders and standard statements (ON CONFLICT upserts, no SQLite-only functions in the
// queries) so that a Postgres variant needs new DDL and placeholder rebinding, not new logic. The one exception
// is the leases' clock, which is each dialect's own (the database server's on Postgres; see lease.go).
package store
