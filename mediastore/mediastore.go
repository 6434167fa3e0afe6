// Package mediastore keeps the files of received messages and serves them over HTTP at unguessable, expiring
// URLs, as PlugZapi's webhooks give them (imageUrl, audioUrl…).
//
// Each file is kept in the content vault, encrypted with a key of its own; its URL holds a random token of 256
// bits, of which only a hash is stored, so that the database does not reveal the URLs. After the retention the
// sweeper destroys the file and its key; a URL stops working at that moment even if the sweeper has not run yet.
// The vault key starts with the owner (the instance), so deleting an instance's content destroys its files too.
//
// It must not know of WhatsApp or of messages: it keeps bytes with a type, for an owner, for a time.
package mediastore

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/plugzapi/plugzapi/store"
)

// DefaultRetention is how long a received file is kept when Config.Retention is zero.
const DefaultRetention = 7 * 24 * time.Hour

// Config configures a Store.
type Config struct {
	// PublicURL is the base of the URLs files are served at (the server's own address as its clients reach
	// it), e.g. "https://api.example.com"; the routes below it start with /media/.
	PublicURL string
	// Retention is how long a file can be downloaded before it is destroyed; zero means DefaultRetention.
	Retention time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Store keeps received files. Its sweeper runs from Open until Close.
type Store struct {
	db    *sql.DB
	vault *store.Vault
	cfg   Config
	base  string
	log   *slog.Logger

	stop chan struct{}
	done sync.WaitGroup
}

// migrations are the package's tables, per dialect (see store.DB.Migrate).
//
//go:embed migrations
var migrations embed.FS

// Open prepares the store's table in db and starts the sweeper.
func Open(ctx context.Context, db *store.DB, cfg Config, log *slog.Logger) (*Store, error) {
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Retention < 0 {
		return nil, errors.New("mediastore: retention must be positive")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("mediastore: public URL %q must be an absolute http or https URL", cfg.PublicURL)
	}
	if err := db.Migrate(ctx, "mediastore", migrations); err != nil {
		return nil, err
	}
	s := &Store{db: db.SQL(), vault: db.Vault(), cfg: cfg, base: strings.TrimRight(cfg.PublicURL, "/"), log: log,
		stop: make(chan struct{})}
	s.done.Add(1)
	go s.sweepLoop()
	return s, nil
}

// Close stops the sweeper and waits for it.
func (s *Store) Close() error {
	close(s.stop)
	s.done.Wait()
	return nil
}

// Keep stores a file for owner and returns the URL it can be downloaded at until the retention ends.
func (s *Store) Keep(ctx context.Context, owner, mimeType string, data []byte) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("keep file: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	id := fileID(token)
	now := s.cfg.Now()
	err := store.InTx(ctx, s.db, func(tx *sql.Tx) error {
		if err := s.vault.Put(ctx, tx, vaultKey(owner, id), data); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO media_files (id, owner, mime_type, created_ms, expires_ms)
			VALUES (?, ?, ?, ?, ?)`, id, owner, mimeType, now.UnixMilli(), now.Add(s.cfg.Retention).UnixMilli())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("keep file: %w", err)
	}
	return s.base + "/media/" + token + extension(mimeType), nil
}

// Serve answers a request for the file named by name (the last part of its URL): its bytes, with their type,
// and ranges of them (audio and video players ask for those). An unknown or expired name is a 404.
func (s *Store) Serve(w http.ResponseWriter, r *http.Request, name string) {
	token, _, _ := strings.Cut(name, ".")
	var owner, mimeType string
	var createdMs, expiresMs int64
	err := s.db.QueryRowContext(r.Context(), `SELECT owner, mime_type, created_ms, expires_ms FROM media_files WHERE id = ?`,
		fileID(token)).Scan(&owner, &mimeType, &createdMs, &expiresMs)
	if err == nil && s.cfg.Now().UnixMilli() >= expiresMs {
		err = sql.ErrNoRows
	}
	var data []byte
	if err == nil {
		data, err = s.vault.Get(r.Context(), vaultKey(owner, fileID(token)))
	}
	switch {
	case errors.Is(err, sql.ErrNoRows), errors.Is(err, store.ErrVaultNotFound):
		writeError(w, http.StatusNotFound, "File not found: the link is wrong or has expired")
		return
	case err != nil:
		s.log.Error("serve a received file", "err", err)
		writeError(w, http.StatusInternalServerError, "Could not read the file")
		return
	}
	if mimeType == "" {
		mimeType = "application/octet-stream"
	}
	w.Header().Set("Content-Type", mimeType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", fmt.Sprintf("private, max-age=%d", max(0, (expiresMs-s.cfg.Now().UnixMilli())/1000)))
	http.ServeContent(w, r, "", time.UnixMilli(createdMs), bytes.NewReader(data))
}

// sweepEvery is how often expired files are destroyed: often enough that a file outlives its retention by a
// small part of it, at most a minute.
func (s *Store) sweepEvery() time.Duration {
	return min(max(s.cfg.Retention/4, 100*time.Millisecond), time.Minute)
}

func (s *Store) sweepLoop() {
	defer s.done.Done()
	ticker := time.NewTicker(s.sweepEvery())
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
			if n, err := s.Sweep(context.Background()); err != nil {
				s.log.Error("destroy expired received files", "err", err)
			} else if n > 0 {
				s.log.Debug("expired received files destroyed", "files", n)
			}
		}
	}
}

// Sweep destroys the files whose retention has ended, with their keys, and returns how many there were.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	var n int
	err := store.InTx(ctx, s.db, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, owner FROM media_files WHERE expires_ms <= ?`, s.cfg.Now().UnixMilli())
		if err != nil {
			return err
		}
		type file struct{ id, owner string }
		var expired []file
		for rows.Next() {
			var f file
			if err := rows.Scan(&f.id, &f.owner); err != nil {
				rows.Close()
				return err
			}
			expired = append(expired, f)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		for _, f := range expired {
			if _, err := s.vault.Delete(ctx, tx, vaultKey(f.owner, f.id)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM media_files WHERE id = ?`, f.id); err != nil {
				return err
			}
		}
		n = len(expired)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweep received files: %w", err)
	}
	return n, nil
}

// fileID is what the database knows a file by: a hash of its URL's token, so that the database does not hold
// working URLs.
func fileID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// vaultKey starts with the owner, so that deleting an owner's content (store.Vault.DeletePrefix of
// "<owner>/") destroys its files too.
func vaultKey(owner, id string) string { return owner + "/media/" + id }

// extension ends a URL with the file's type, for the clients that go by it; it is not needed to find the file.
func extension(mimeType string) string {
	base, _, _ := strings.Cut(mimeType, ";")
	switch strings.TrimSpace(base) {
	case "image/jpeg":
		return ".jpeg"
	case "audio/ogg":
		return ".ogg"
	case "video/mp4":
		return ".mp4"
	case "image/webp":
		return ".webp"
	}
	if exts, err := mime.ExtensionsByType(base); err == nil && len(exts) > 0 {
		return exts[0]
	}
	return ""
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
