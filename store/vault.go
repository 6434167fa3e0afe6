package store

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// ErrVaultNotFound is returned by [Vault.Get] when nothing is stored under the key (never stored, or deleted).
var ErrVaultNotFound = errors.New("vault: no content under that key")

// maxVaultKeyLen bounds vault keys; they are identifiers, not content.
const maxVaultKeyLen = 512

// Vault holds message content (text now, media later) outside the event log, each item encrypted with its own
// random AES-256-GCM key. The per-item key is itself encrypted ("wrapped") with the vault key from the key file,
// so the database file alone reveals nothing. Deleting an item deletes its wrapped key and ciphertext; with
// secure_delete on and the WAL checkpointed, no copy of either is left in the data directory, and any copy that
// escaped earlier (a backup, a replica) is undecryptable once the vault key is rotated or lost with it.
//
// Plaintext never touches the disk: it exists only in memory, in the arguments of Put and the result of Get.
//
// Keys are chosen by the caller. By convention they start with the instance ID and a slash
// ("<instanceID>/out/<messageID>"), so that [Vault.DeletePrefix] can drop everything of a deleted instance.
type Vault struct {
	db  *sql.DB
	kek cipher.AEAD
}

// Record format, both columns: a 12-byte random nonce followed by the AES-GCM sealed bytes. The associated data
// binds each record to its key, so ciphertexts cannot be swapped between keys.
const (
	aadWrapped  = "plugzapi vault key\x00"
	aadContent  = "plugzapi vault content\x00"
	aadSealed   = "plugzapi sealed\x00"
	kekCheckKey = "vault_key_check"
)

// openVault loads the vault key and checks it against the database's record of it. On SQLite a key file that
// is not the recorded one is adopted while the vault holds nothing (a key lost before anything was stored); on
// Postgres the database is shared by a cluster's nodes, and a node with another key would seal content no
// other node can open, so a mismatch is always refused.
func openVault(ctx context.Context, db *sql.DB, dialect Dialect, keyFile string) (*Vault, error) {
	kekBytes, err := loadOrCreateKey(keyFile)
	if err != nil {
		return nil, err
	}
	check := hmac.New(sha256.New, kekBytes)
	check.Write([]byte("plugzapi vault key check v1"))
	sum := check.Sum(nil)
	kek, err := newGCM(kekBytes)
	clear(kekBytes)
	if err != nil {
		return nil, err
	}
	err = InTx(ctx, db, func(tx *sql.Tx) error {
		stored, err := getSetting(ctx, tx, kekCheckKey)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return putSetting(ctx, tx, kekCheckKey, sum)
		case err != nil:
			return err
		case hmac.Equal(stored, sum):
			return nil
		}
		if dialect == Postgres {
			return fmt.Errorf("vault key file %s is not the key this database's vault uses: every server on one database needs the same vault.key", keyFile)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM vault`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("vault key file %s is not the key the vault's %d items were stored with: restore the original file", keyFile, n)
		}
		// Nothing was encrypted with the old key: adopt the new one.
		return putSetting(ctx, tx, kekCheckKey, sum)
	})
	if err != nil {
		return nil, fmt.Errorf("store: open vault: %w", err)
	}
	return &Vault{db: db, kek: kek}, nil
}

// loadOrCreateKey reads the 32-byte vault key (64 hex characters) from path, creating the file with a random key
// when it does not exist.
func loadOrCreateKey(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read vault key: %w", err)
	}
	key, err := hex.DecodeString(string(bytes.TrimSpace(raw)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("store: vault key file %s must hold 64 hex characters", path)
	}
	return key, nil
}

func createKeyFile(path string) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("store: generate vault key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: create vault key file: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("store: write vault key file: %w", err)
	}
	// The key must survive a crash together with the first item it encrypts: sync the directory entry too.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return key, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("vault cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("vault cipher: %w", err)
	}
	return aead, nil
}

func seal(aead cipher.AEAD, plaintext []byte, aad string) ([]byte, error) {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("vault nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, plaintext, []byte(aad)), nil
}

func unseal(aead cipher.AEAD, sealed []byte, aad string) ([]byte, error) {
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("vault record too short")
	}
	n := aead.NonceSize()
	return aead.Open(nil, sealed[:n], sealed[n:], []byte(aad))
}

func checkKey(key string) error {
	if key == "" || len(key) > maxVaultKeyLen {
		return fmt.Errorf("vault key must be 1 to %d bytes", maxVaultKeyLen)
	}
	return nil
}

// Seal encrypts content that another component keeps in its own rows (whatsmeow's buffer of decrypted events)
// with the vault key, bound to context (say, the row's key), so that the database file reveals nothing of it.
// Clearing the row destroys it as deleting an item does.
func (v *Vault) Seal(context string, plaintext []byte) ([]byte, error) {
	return seal(v.kek, plaintext, aadSealed+context)
}

// Open decrypts what Seal sealed with the same context.
func (v *Vault) Open(context string, sealed []byte) ([]byte, error) {
	plaintext, err := unseal(v.kek, sealed, aadSealed+context)
	if err != nil {
		return nil, fmt.Errorf("vault open: %w", err)
	}
	return plaintext, nil
}

// Put encrypts plaintext under a fresh random key and stores it under key, replacing what was there (so a
// retried append can put again). Pass the transaction of the event that references the content.
func (v *Vault) Put(ctx context.Context, q Querier, key string, plaintext []byte) error {
	return v.put(ctx, q, key, plaintext, sql.NullInt64{})
}

// PutUntil is [Vault.Put] for content that ends by itself at expires: from then on it is not found, and
// [Vault.DeleteExpired] destroys it.
func (v *Vault) PutUntil(ctx context.Context, q Querier, key string, plaintext []byte, expires time.Time) error {
	return v.put(ctx, q, key, plaintext, sql.NullInt64{Int64: expires.UnixMilli(), Valid: true})
}

func (v *Vault) put(ctx context.Context, q Querier, key string, plaintext []byte, expiresMs sql.NullInt64) error {
	if err := checkKey(key); err != nil {
		return err
	}
	dekBytes := make([]byte, 32)
	if _, err := rand.Read(dekBytes); err != nil {
		return fmt.Errorf("vault put %s: generate key: %w", key, err)
	}
	defer clear(dekBytes)
	dek, err := newGCM(dekBytes)
	if err != nil {
		return fmt.Errorf("vault put %s: %w", key, err)
	}
	ciphertext, err := seal(dek, plaintext, aadContent+key)
	if err != nil {
		return fmt.Errorf("vault put %s: %w", key, err)
	}
	wrapped, err := seal(v.kek, dekBytes, aadWrapped+key)
	if err != nil {
		return fmt.Errorf("vault put %s: %w", key, err)
	}
	_, err = q.ExecContext(ctx, `INSERT INTO vault (key, wrapped_key, ciphertext, expires_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET wrapped_key = excluded.wrapped_key, ciphertext = excluded.ciphertext,
		expires_ms = excluded.expires_ms`,
		key, wrapped, ciphertext, expiresMs)
	if err != nil {
		return fmt.Errorf("vault put %s: %w", key, err)
	}
	return nil
}

// Get returns the plaintext stored under key, or [ErrVaultNotFound] (also once it expired).
func (v *Vault) Get(ctx context.Context, key string) ([]byte, error) {
	return v.GetIn(ctx, v.db, key)
}

// GetIn is [Vault.Get] inside the caller's transaction (which sees its own uncommitted puts and deletes).
func (v *Vault) GetIn(ctx context.Context, q Querier, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	var wrapped, ciphertext []byte
	err := q.QueryRowContext(ctx, `SELECT wrapped_key, ciphertext FROM vault WHERE key = ? AND (expires_ms IS NULL OR expires_ms > ?)`,
		key, time.Now().UnixMilli()).Scan(&wrapped, &ciphertext)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrVaultNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("vault get %s: %w", key, err)
	}
	dekBytes, err := unseal(v.kek, wrapped, aadWrapped+key)
	if err != nil {
		return nil, fmt.Errorf("vault get %s: unwrap key: %w", key, err)
	}
	defer clear(dekBytes)
	dek, err := newGCM(dekBytes)
	if err != nil {
		return nil, fmt.Errorf("vault get %s: %w", key, err)
	}
	plaintext, err := unseal(dek, ciphertext, aadContent+key)
	if err != nil {
		return nil, fmt.Errorf("vault get %s: decrypt: %w", key, err)
	}
	return plaintext, nil
}

// Delete destroys the item under key — its wrapped key and its ciphertext — and reports whether there was one.
// Deleting a missing key is not an error. Pass the transaction of the event that ends the content's life (the
// message was sent, cancelled, or its webhooks delivered).
func (v *Vault) Delete(ctx context.Context, q Querier, key string) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	res, err := q.ExecContext(ctx, `DELETE FROM vault WHERE key = ?`, key)
	if err != nil {
		return false, fmt.Errorf("vault delete %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("vault delete %s: %w", key, err)
	}
	return n > 0, nil
}

// DeletePrefix destroys every item whose key starts with prefix (for example "<instanceID>/" when an instance is
// deleted) and returns how many there were.
func (v *Vault) DeletePrefix(ctx context.Context, q Querier, prefix string) (int64, error) {
	if err := checkKey(prefix); err != nil {
		return 0, err
	}
	// A range on the primary key, not LIKE: no escaping of '%' and '_' in IDs, and it uses the index.
	res, err := q.ExecContext(ctx, `DELETE FROM vault WHERE key >= ? AND key < ?`, prefix, prefix+"\U0010FFFF")
	if err != nil {
		return 0, fmt.Errorf("vault delete prefix %s: %w", prefix, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("vault delete prefix %s: %w", prefix, err)
	}
	return n, nil
}

// expiredChunk bounds the items one transaction of DeleteExpired destroys, so that a backlog never holds the
// write lock for long.
const expiredChunk = 500

// DeleteExpired destroys the items whose time ended (see [Vault.PutUntil]) as of now, and returns how many there
// were.
func (v *Vault) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for {
		// A read first: the write lock is taken only when there is something to destroy.
		var some int
		err := v.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM vault WHERE expires_ms IS NOT NULL AND expires_ms <= ? LIMIT 1) AS expired`,
			now.UnixMilli()).Scan(&some)
		if err != nil || some == 0 {
			return total, err
		}
		var n int64
		err = InTx(ctx, v.db, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM vault WHERE key IN
				(SELECT key FROM vault WHERE expires_ms IS NOT NULL AND expires_ms <= ? LIMIT ?)`, now.UnixMilli(), expiredChunk)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("vault delete expired: %w", err)
		}
		total += n
		if n < expiredChunk {
			return total, nil
		}
	}
}
