package store

import (
	"context"
	"database/sql"
	"log/slog"
	"strconv"
	"testing"
)

// BenchmarkVault measures one content item's life in the vault as the write path sees it: Put in one
// transaction, Get, Delete in another. Synchronous NORMAL keeps fsyncs out of the numbers, so what is measured
// is the statements' CPU cost (parsing and planning them is part of it unless they are prepared once).
//
//	go test -run='^$' -bench=BenchmarkVault -count=6 ./store/
func BenchmarkVault(b *testing.B) {
	db, err := Open(context.Background(), Config{Dir: b.TempDir(), Synchronous: "NORMAL", CheckpointInterval: -1}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	ctx := context.Background()
	v := db.Vault()
	content := []byte("a message of ordinary length, as a send-text carries it")
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		key := "inst/out/" + strconv.Itoa(i)
		if err := db.InTx(ctx, func(tx *sql.Tx) error { return v.Put(ctx, tx, key, content) }); err != nil {
			b.Fatal(err)
		}
		if _, err := v.Get(ctx, key); err != nil {
			b.Fatal(err)
		}
		if err := db.InTx(ctx, func(tx *sql.Tx) error { _, err := v.Delete(ctx, tx, key); return err }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVaultGet measures reading one content item: one indexed SELECT and two decryptions, no write.
//
//	go test -run='^$' -bench=BenchmarkVaultGet -count=6 ./store/
func BenchmarkVaultGet(b *testing.B) {
	db, err := Open(context.Background(), Config{Dir: b.TempDir(), CheckpointInterval: -1}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	ctx := context.Background()
	v := db.Vault()
	if err := db.InTx(ctx, func(tx *sql.Tx) error { return v.Put(ctx, tx, "inst/out/1", []byte("a message")) }); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := v.Get(ctx, "inst/out/1"); err != nil {
			b.Fatal(err)
		}
	}
}
