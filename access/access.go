package access

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/plugzapi/plugzapi/actors"
	"github.com/plugzapi/plugzapi/store"
)

// Errors of the checks. An unknown instance or a wrong token is actors.ErrInstanceNotFound, like everywhere else.
var (
	// ErrClientTokenMissing: the account has a Client-Token and the request did not send the header.
	ErrClientTokenMissing = errors.New("the Client-Token header is required")
	// ErrClientTokenInvalid: the request's Client-Token header is not the account's.
	ErrClientTokenInvalid = errors.New("the Client-Token header does not match")
	// ErrSubscriptionCancelled: the instance's subscription was cancelled; it is deleted when its grace ends.
	ErrSubscriptionCancelled = errors.New("the instance's subscription was cancelled")
)

// ErrIPNotAllowed is wrapped by every IPNotAllowedError.
var ErrIPNotAllowed = errors.New("not allowed")

// IPNotAllowedError is the refusal of a client address that is not on the instance's allow-list. Its text is
// Z-API's: "<ip> not allowed".
type IPNotAllowedError struct{ IP netip.Addr }

func (e *IPNotAllowedError) Error() string { return e.IP.String() + " not allowed" }

// Unwrap makes the error ErrIPNotAllowed.
func (e *IPNotAllowedError) Unwrap() error { return ErrIPNotAllowed }

// DefaultCancelGrace is how long a cancelled instance is kept before it is deleted: PlugZapi deletes an instance
// without a subscription after two days.
const DefaultCancelGrace = 48 * time.Hour

// MinClientTokenLen is the shortest Client-Token accepted: it guards every instance of the server.
const MinClientTokenLen = 16

// Config is the access policy's settings. The zero value is usable.
type Config struct {
	// CancelGrace is how long an instance whose subscription was cancelled waits before it is deleted; zero
	// means DefaultCancelGrace.
	CancelGrace time.Duration
	// RefreshEvery, when set, reloads the policies from the database that often: on a cluster another node may
	// have changed them (a Client-Token, an allow-list, a cancellation, a deleted instance's token), and this
	// node enforces the change within RefreshEvery. Zero: never (one server: every change goes through it).
	RefreshEvery time.Duration
}

// Instances is what access does to instances: stop a cancelled one (its connection dropped, its session kept),
// resume it when subscribed again, and delete it when its grace ends (or when the admin deletes it).
type Instances interface {
	Suspend(ctx context.Context, id string) error
	RestoreSession(ctx context.Context, id string) error
	Status(ctx context.Context, id string) (actors.Status, error)
	DeleteInstance(ctx context.Context, id string) error
	// Runs says whether the instance runs on this server: on a cluster, a cancelled instance is deleted by the
	// node that runs it.
	Runs(id string) bool
}

// AdminTokens checks the admin API's token.
type AdminTokens interface {
	CheckAdminToken(ctx context.Context, token string) (bool, error)
}

// Control is the server's access policy. Create it with Open; Close stops its deletion of cancelled instances.
// Its checks read memory only: the tables are read at Open and written through.
type Control struct {
	db        *sql.DB
	cfg       Config
	admin     AdminTokens
	instances Instances
	log       *slog.Logger

	mu sync.RWMutex
	// tokens holds the SHA-256 of each instance's token once it has been checked against the database.
	tokens map[string][32]byte
	// clientToken is the SHA-256 of the account's Client-Token; nil when none is set.
	clientToken []byte
	// allowed holds the instances' IP allow-lists; an instance without one is open to every address.
	allowed map[string][]netip.Prefix
	// cancelled holds when each cancelled instance is to be deleted.
	cancelled map[string]time.Time

	wake   chan struct{}
	stop   context.CancelFunc
	reaper sync.WaitGroup
}

// migrations are the package's tables, per dialect (see store.DB.Migrate).
//
//go:embed migrations
var migrations embed.FS

// Open migrates the access tables, loads them, stops the cancelled instances again, and starts deleting them as
// their grace ends (those whose grace ended while the server was down go at once). Call it once the instances
// have started.
func Open(ctx context.Context, db *store.DB, cfg Config, admin AdminTokens, instances Instances, log *slog.Logger) (*Control, error) {
	if cfg.CancelGrace == 0 {
		cfg.CancelGrace = DefaultCancelGrace
	}
	if cfg.CancelGrace < 0 {
		return nil, fmt.Errorf("access: the cancel grace must be positive, got %s", cfg.CancelGrace)
	}
	if err := db.Migrate(ctx, "access", migrations); err != nil {
		return nil, err
	}
	c := &Control{db: db.SQL(), cfg: cfg, admin: admin, instances: instances, log: log,
		tokens: map[string][32]byte{}, allowed: map[string][]netip.Prefix{}, cancelled: map[string]time.Time{},
		wake: make(chan struct{}, 1)}
	if err := c.load(ctx); err != nil {
		return nil, err
	}
	// The instances have started and reconnected: the cancelled ones stop again.
	for id := range c.cancelled {
		if err := instances.Suspend(ctx, id); err != nil && !errors.Is(err, actors.ErrInstanceNotFound) {
			log.Warn("could not stop a cancelled instance", "instance", id, "err", err)
		}
	}
	reapCtx, stop := context.WithCancel(context.Background())
	c.stop = stop
	c.reaper.Go(func() { c.reap(reapCtx) })
	return c, nil
}

// Close stops the deletion of cancelled instances (a pending one is done at the next start).
func (c *Control) Close() error {
	c.stop()
	c.reaper.Wait()
	return nil
}

// load reads the policies from the database and replaces those in memory; the tokens checked so far are
// checked again.
func (c *Control) load(ctx context.Context) error {
	var clientToken []byte
	allowed := map[string][]netip.Prefix{}
	cancelled := map[string]time.Time{}
	err := c.db.QueryRowContext(ctx, `SELECT token_hash FROM access_client_token WHERE id = 1`).Scan(&clientToken)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("access: load the client token: %w", err)
	}
	rows, err := c.db.QueryContext(ctx, `SELECT instance_id, prefixes FROM access_allowed_ips`)
	if err != nil {
		return fmt.Errorf("access: load the IP allow-lists: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, list string
		if err := rows.Scan(&id, &list); err != nil {
			return fmt.Errorf("access: load the IP allow-lists: %w", err)
		}
		prefixes, err := ParsePrefixes(strings.Split(list, ","))
		if err != nil {
			return fmt.Errorf("access: IP allow-list of %s: %w", id, err)
		}
		allowed[id] = prefixes
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("access: load the IP allow-lists: %w", err)
	}
	crows, err := c.db.QueryContext(ctx, `SELECT instance_id, delete_at_ms FROM access_cancellations`)
	if err != nil {
		return fmt.Errorf("access: load the cancellations: %w", err)
	}
	defer crows.Close()
	for crows.Next() {
		var id string
		var at int64
		if err := crows.Scan(&id, &at); err != nil {
			return fmt.Errorf("access: load the cancellations: %w", err)
		}
		cancelled[id] = time.UnixMilli(at)
	}
	if err := crows.Err(); err != nil {
		return fmt.Errorf("access: load the cancellations: %w", err)
	}
	c.mu.Lock()
	c.clientToken, c.allowed, c.cancelled, c.tokens = clientToken, allowed, cancelled, map[string][32]byte{}
	c.mu.Unlock()
	return nil
}

// hash is how every secret is kept: only its SHA-256. Comparing digests keeps comparisons constant-time
// whatever the lengths.
func hash(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// AuthenticateInstance checks an instance's token; a wrong ID and a wrong token give the same
// actors.ErrInstanceNotFound. A token that passed once is remembered (as its hash, until the instance is
// deleted) so that every request need not read the database; the comparison stays constant-time.
func (c *Control) AuthenticateInstance(ctx context.Context, id, token string) error {
	h := hash(token)
	c.mu.RLock()
	known, ok := c.tokens[id]
	c.mu.RUnlock()
	if ok {
		if subtle.ConstantTimeCompare(known[:], h[:]) == 1 {
			return nil
		}
		return actors.ErrInstanceNotFound
	}
	// The store keeps the same SHA-256 of the token, compared in constant time.
	if _, err := store.Authenticate(ctx, c.db, id, token); err != nil {
		if errors.Is(err, store.ErrInstanceNotFound) {
			return actors.ErrInstanceNotFound
		}
		return err
	}
	c.mu.Lock()
	c.tokens[id] = h
	c.mu.Unlock()
	return nil
}

// AuthenticateAdmin reports whether token is the admin token.
func (c *Control) AuthenticateAdmin(ctx context.Context, token string) (bool, error) {
	return c.admin.CheckAdminToken(ctx, token)
}

// DeleteInstance deletes an instance and everything access holds about it: its remembered token, its
// allow-list and its cancellation.
func (c *Control) DeleteInstance(ctx context.Context, id string) error {
	if err := c.instances.DeleteInstance(ctx, id); err != nil {
		return err
	}
	c.forget(ctx, id)
	return nil
}

// forget drops what access holds about a deleted instance. A row left behind by a failed delete is harmless
// (the instance ID is never reused) and is retried by the next cancellation pass.
func (c *Control) forget(ctx context.Context, id string) {
	c.mu.Lock()
	delete(c.tokens, id)
	delete(c.allowed, id)
	delete(c.cancelled, id)
	c.mu.Unlock()
	for _, table := range []string{"access_allowed_ips", "access_cancellations"} {
		if _, err := c.db.ExecContext(ctx, `DELETE FROM `+table+` WHERE instance_id = ?`, id); err != nil {
			c.log.Warn("could not forget a deleted instance", "instance", id, "err", err)
		}
	}
}

// exists reports actors.ErrInstanceNotFound for an unknown instance.
func (c *Control) exists(ctx context.Context, id string) error {
	if _, err := store.GetInstance(ctx, c.db, id); err != nil {
		if errors.Is(err, store.ErrInstanceNotFound) {
			return actors.ErrInstanceNotFound
		}
		return err
	}
	return nil
}
