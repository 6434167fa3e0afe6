package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/store/pgtest"
)

func TestVaultPutGetDelete(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t, Config{})
	v := db.Vault()

	if _, err := v.Get(ctx, "i/out/1"); !errors.Is(err, ErrVaultNotFound) {
		t.Fatalf("Get(missing) = %v", err)
	}
	if err := v.Put(ctx, db.SQL(), "i/out/1", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	got, err := v.Get(ctx, "i/out/1")
	if err != nil || string(got) != "hello" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	// Put replaces.
	if err := v.Put(ctx, db.SQL(), "i/out/1", []byte("hello again")); err != nil {
		t.Fatal(err)
	}
	if got, _ := v.Get(ctx, "i/out/1"); string(got) != "hello again" {
		t.Fatalf("after replace Get = %q", got)
	}
	// Empty content is content.
	if err := v.Put(ctx, db.SQL(), "i/out/empty", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := v.Get(ctx, "i/out/empty"); err != nil || len(got) != 0 {
		t.Fatalf("empty Get = %q, %v", got, err)
	}

	// Writes join the caller's transaction.
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		if err := v.Put(ctx, tx, "i/out/2", []byte("in tx")); err != nil {
			return err
		}
		got, err := v.GetIn(ctx, tx, "i/out/2")
		if err != nil || string(got) != "in tx" {
			t.Errorf("GetIn inside tx = %q, %v", got, err)
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("want rollback error")
	}
	if _, err := v.Get(ctx, "i/out/2"); !errors.Is(err, ErrVaultNotFound) {
		t.Fatalf("rolled-back put visible: %v", err)
	}

	existed, err := v.Delete(ctx, db.SQL(), "i/out/1")
	if err != nil || !existed {
		t.Fatalf("Delete = %v, %v", existed, err)
	}
	if _, err := v.Get(ctx, "i/out/1"); !errors.Is(err, ErrVaultNotFound) {
		t.Fatalf("Get after delete = %v", err)
	}
	if existed, err := v.Delete(ctx, db.SQL(), "i/out/1"); err != nil || existed {
		t.Fatalf("second Delete = %v, %v", existed, err)
	}

	for _, k := range []string{"A/in/1", "A/out/2", "AB/in/1", "B/in/1"} {
		if err := v.Put(ctx, db.SQL(), k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := v.DeletePrefix(ctx, db.SQL(), "A/")
	if err != nil || n != 2 {
		t.Fatalf("DeletePrefix = %d, %v, want 2", n, err)
	}
	for k, want := range map[string]bool{"A/in/1": false, "A/out/2": false, "AB/in/1": true, "B/in/1": true} {
		_, err := v.Get(ctx, k)
		if (err == nil) != want {
			t.Errorf("after DeletePrefix, Get(%s) err = %v, want present=%v", k, err, want)
		}
	}

	for _, bad := range []string{"", strings.Repeat("k", maxVaultKeyLen+1)} {
		if err := v.Put(ctx, db.SQL(), bad, []byte("x")); err == nil {
			t.Errorf("Put(key of %d bytes) accepted", len(bad))
		}
	}
}

func TestVaultRejectsTamperedRecords(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t, Config{})
	v := db.Vault()
	if err := v.Put(ctx, db.SQL(), "a", []byte("content a")); err != nil {
		t.Fatal(err)
	}
	if err := v.Put(ctx, db.SQL(), "b", []byte("content b")); err != nil {
		t.Fatal(err)
	}
	// Moving b's record under key a must not decrypt: records are bound to their keys.
	if _, err := db.SQL().ExecContext(ctx, `UPDATE vault SET (wrapped_key, ciphertext) =
		(SELECT wrapped_key, ciphertext FROM vault WHERE key = 'b') WHERE key = 'a'`); err != nil {
		t.Fatal(err)
	}
	if got, err := v.Get(ctx, "a"); err == nil {
		t.Fatalf("swapped record decrypted to %q", got)
	}
	if _, err := db.SQL().ExecContext(ctx, `UPDATE vault SET ciphertext = ? WHERE key = 'b'`, []byte{0}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Get(ctx, "b"); err == nil {
		t.Fatal("truncated record decrypted")
	}
}

// TestVaultShredding is the content promise: plaintext never reaches the disk, and after Delete and a
// checkpoint not even the ciphertext or the wrapped key is left in any file of the data directory.
func TestVaultShredding(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openSQLiteDB(t, Config{Dir: dir, CheckpointInterval: -1})
	v := db.Vault()

	secret := []byte("the quick brown fox pays invoice 4711 at noon")
	if err := v.Put(ctx, db.SQL(), "inst/out/msg1", secret); err != nil {
		t.Fatal(err)
	}
	// Some unrelated traffic, so the record's page is written and rewritten in the WAL.
	for i := range 50 {
		if err := v.Put(ctx, db.SQL(), "inst/out/other"+string(rune('a'+i%26))+string(rune('a'+i/26)), bytes.Repeat([]byte{'z'}, 300)); err != nil {
			t.Fatal(err)
		}
	}
	var wrapped, ciphertext []byte
	if err := db.SQL().QueryRowContext(ctx, `SELECT wrapped_key, ciphertext FROM vault WHERE key = ?`, "inst/out/msg1").
		Scan(&wrapped, &ciphertext); err != nil {
		t.Fatal(err)
	}
	if hits := filesContaining(t, dir, secret); len(hits) > 0 {
		t.Fatalf("plaintext on disk before delete, in %v", hits)
	}
	if hits := filesContaining(t, dir, ciphertext); len(hits) == 0 {
		t.Fatal("ciphertext not found on disk before delete: the grep after delete would prove nothing")
	}

	if _, err := v.Delete(ctx, db.SQL(), "inst/out/msg1"); err != nil {
		t.Fatal(err)
	}
	complete, err := db.Checkpoint(ctx)
	if err != nil || !complete {
		t.Fatalf("Checkpoint = %v, %v", complete, err)
	}
	for name, needle := range map[string][]byte{"plaintext": secret, "ciphertext": ciphertext, "wrapped key": wrapped} {
		if hits := filesContaining(t, dir, needle); len(hits) > 0 {
			t.Errorf("%s still on disk after delete + checkpoint, in %v", name, hits)
		}
	}
}

func TestVaultKeyFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, Config{Dir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(dir + "/vault.key")
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("vault.key mode %v, want 0600", info.Mode().Perm())
	}
	if err := db.Vault().Put(ctx, db.SQL(), "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopening with the same key file reads the content.
	db, err = Open(ctx, Config{Dir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.Vault().Get(ctx, "k"); err != nil || string(got) != "v" {
		t.Fatalf("Get after reopen = %q, %v", got, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// A different key file with items in the vault is refused, not silently used.
	other := dir + "/other.key"
	if err := os.WriteFile(other, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	if db, err := Open(ctx, Config{Dir: dir, VaultKeyFile: other}, nil); err == nil {
		db.Close()
		t.Fatal("Open with the wrong vault key succeeded")
	}
	// A malformed key file is refused.
	if err := os.WriteFile(other, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if db, err := Open(ctx, Config{Dir: dir, VaultKeyFile: other}, nil); err == nil {
		db.Close()
		t.Fatal("Open with a malformed vault key succeeded")
	}
}

// TestVaultExpiry: an item put until a time is not found from then on, and DeleteExpired destroys it (and only
// what expired).
func TestVaultExpiry(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t, Config{})
	v := db.Vault()
	now := time.Now()
	if err := v.PutUntil(ctx, db.SQL(), "i/fwd/a", []byte("ended"), now.Add(-time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := v.PutUntil(ctx, db.SQL(), "i/fwd/b", []byte("kept"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := v.Put(ctx, db.SQL(), "i/out/c", []byte("queued")); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Get(ctx, "i/fwd/a"); !errors.Is(err, ErrVaultNotFound) {
		t.Errorf("Get(expired) = %v, want ErrVaultNotFound", err)
	}
	if got, err := v.Get(ctx, "i/fwd/b"); err != nil || string(got) != "kept" {
		t.Errorf("Get(kept) = %q, %v", got, err)
	}
	if n, err := v.DeleteExpired(ctx, now); err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want 1", n, err)
	}
	var left int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM vault`).Scan(&left); err != nil || left != 2 {
		t.Errorf("%d items left (%v), want 2", left, err)
	}
	if n, err := v.DeleteExpired(ctx, now.Add(2*time.Hour)); err != nil || n != 1 {
		t.Errorf("DeleteExpired later = %d, %v; want 1", n, err)
	}
}

// On Postgres, a database a cluster's nodes share, a server whose vault key is not the one the database knows is
// refused even while the vault is empty: it would seal content the other nodes cannot open.
func TestVaultKeyMustMatchOnASharedDatabase(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	first, err := Open(ctx, Config{Dir: t.TempDir(), DatabaseURL: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	other, err := Open(ctx, Config{Dir: t.TempDir(), DatabaseURL: url}, nil) // a vault.key of its own
	if err == nil {
		other.Close()
		t.Fatal("a second server with another vault key opened the shared database")
	}
	if !strings.Contains(err.Error(), "same vault.key") {
		t.Errorf("refused with %v, want it to say every server needs the same vault.key", err)
	}
}
