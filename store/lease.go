package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Leases keep one connection per number. A node connects an instance's WhatsApp client, and writes its events,
// only while it holds the instance's lease: two clients on one device make WhatsApp drop one ("stream
// replaced"), and two writers would fork the instance's history. A lease has an owner (a node), an expiry
// that the owner pushes forward by renewing it, and a fencing token that grows every time the lease changes
// hands. The holder passes its token to every write ([DB.CheckFence] in the write's transaction), so a holder
// that was paused or cut off past its expiry, and does not know yet that another node took over, has its
// writes refused.
//
// Time is the database server's clock on Postgres: every node reads the same one, so no node's clock skew
// decides who owns an instance. On SQLite, which runs inside the one process, it is the process's clock.
//
// A lease's row is never deleted: a released or expired lease keeps its token, so the next holder's is higher
// and a token is never handed out twice.

// ErrLeaseHeld is the error of an [DB.Acquire] refused because another owner holds an unexpired lease; the
// error is a [*LeaseHeldError] saying who and until when.
var ErrLeaseHeld = errors.New("lease held by another owner")

// ErrLeaseLost is returned by [DB.Renew] and [DB.Release] when the lease is no longer the caller's: it expired
// or another owner acquired it since. The caller must stop acting for the instance at once.
var ErrLeaseLost = errors.New("lease lost")

// ErrFenced is returned by [DB.CheckFence] when the token is not the instance's current, unexpired lease: the
// write must not happen.
var ErrFenced = errors.New("fenced: not the current lease")

// Lease is an owner's hold on an instance.
type Lease struct {
	InstanceID string
	// Owner names the node holding it. Make it unique per process (a node name and a random suffix): the same
	// owner acquiring again is taken for a renewal and keeps the token, so a restarted process must not reuse
	// the name of one that might still be alive.
	Owner string
	// Token is the fencing token: it grows every time the lease changes hands, and is passed to
	// [DB.CheckFence] with every write made under the lease.
	Token int64
	// Expires is when the lease lapses, by the database's clock (see the notes at the top of lease.go). It is for
	// display and operations: do not compare it with this process's clock; use Deadline.
	Expires time.Time
	// Deadline is the last moment, by this process's clock (monotonic), at which it may act as the holder: the
	// time the Acquire or Renew call began plus the TTL (less the millisecond Expires may be rounded by). The
	// database counted the TTL from a later moment, so every other node sees the lease valid at least until
	// then, whatever the clocks say. Past Deadline without a successful renewal (the database unreachable,
	// say), the holder must stop as if the lease were lost. It is zero on leases read by [DB.Holder] and
	// [DB.Leases].
	Deadline time.Time
}

// LeaseHeldError is the error of an [DB.Acquire] refused because another owner holds the lease. It matches
// [ErrLeaseHeld] with errors.Is.
type LeaseHeldError struct {
	// Holder is the lease as it stands (Deadline zero).
	Holder Lease
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("store: instance %s: lease held by %s until %s (token %d)",
		e.Holder.InstanceID, e.Holder.Owner, e.Holder.Expires.Format(time.RFC3339Nano), e.Holder.Token)
}

func (e *LeaseHeldError) Unwrap() error { return ErrLeaseHeld }

// leaseClock is the current time in Unix milliseconds, as SQL, for the {now} of the lease queries. On Postgres
// it is statement_timestamp(): the server's clock, one value for the whole statement (clock_timestamp() moves
// between the expressions of one statement), taken when this statement began (now() would be the start of the
// transaction, which for CheckFence in a long group commit may be long past).
var leaseClock = map[Dialect]string{
	SQLite:   `CAST(unixepoch('subsec') * 1000 AS BIGINT)`,
	Postgres: `CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT)`,
}

func (db *DB) leaseSQL(query string) string {
	return strings.ReplaceAll(query, "{now}", leaseClock[db.dialect])
}

// acquireQuery takes the lease in one statement, so that two nodes racing for it are ordered by the row's
// lock: it creates the row (token 1), or takes it over when it lapsed (next token), or renews it for the same
// owner while unexpired (same token). A lease held by another owner is left alone and no row comes back.
const acquireQuery = `INSERT INTO leases (instance_id, owner, token, expires_ms) VALUES (?, ?, 1, {now} + ?)
	ON CONFLICT (instance_id) DO UPDATE SET
		token = CASE WHEN leases.owner = excluded.owner AND leases.expires_ms > {now}
			THEN leases.token ELSE leases.token + 1 END,
		owner = excluded.owner,
		expires_ms = excluded.expires_ms
	WHERE leases.owner = excluded.owner OR leases.expires_ms <= {now}
	RETURNING token, expires_ms`

// acquireAttempts bounds Acquire's retries when the lease it was refused lapsed before it could say who held
// it (then acquiring again may succeed).
const acquireAttempts = 3

// Acquire takes instanceID's lease for owner for ttl. It succeeds when the instance has no lease, when its
// lease expired or was released (the token then grows), or when owner holds it already (a renewal: same
// token). Otherwise it fails with a [*LeaseHeldError] ([ErrLeaseHeld]).
//
// On Postgres, Acquire waits for the write transactions that hold the current lease's fence (see
// [DB.CheckFence]) to end: bound it with ctx.
func (db *DB) Acquire(ctx context.Context, instanceID, owner string, ttl time.Duration) (Lease, error) {
	if err := checkLeaseArgs(instanceID, ttl); err != nil {
		return Lease{}, fmt.Errorf("store: acquire lease: %w", err)
	}
	if owner == "" {
		return Lease{}, errors.New("store: acquire lease: empty owner")
	}
	for range acquireAttempts {
		start := time.Now()
		var token, expires int64
		err := db.sql.QueryRowContext(ctx, db.leaseSQL(acquireQuery), instanceID, owner, ttl.Milliseconds()).Scan(&token, &expires)
		if err == nil {
			return Lease{InstanceID: instanceID, Owner: owner, Token: token, Expires: time.UnixMilli(expires), Deadline: deadline(start, ttl)}, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return Lease{}, fmt.Errorf("store: acquire lease of %s: %w", instanceID, err)
		}
		holder, held, err := db.Holder(ctx, instanceID)
		if err != nil {
			return Lease{}, fmt.Errorf("store: acquire lease of %s: %w", instanceID, err)
		}
		if held {
			return Lease{}, &LeaseHeldError{Holder: holder}
		}
	}
	return Lease{}, fmt.Errorf("store: acquire lease of %s: lapsed and taken again %d times in a row: %w", instanceID, acquireAttempts, ErrLeaseHeld)
}

// Renew extends the lease by ttl from now, if it is still the caller's: same owner and token, unexpired.
// Otherwise it fails with [ErrLeaseLost] and the caller must stop acting for the instance (disconnect its
// client, write nothing more); to go on, it acquires the lease again and gets a new token. Any other error
// (the database unreachable) leaves the lease as it was: the caller may retry until lease.Deadline.
func (db *DB) Renew(ctx context.Context, lease Lease, ttl time.Duration) (Lease, error) {
	if err := checkLeaseArgs(lease.InstanceID, ttl); err != nil {
		return Lease{}, fmt.Errorf("store: renew lease: %w", err)
	}
	start := time.Now()
	var expires int64
	err := db.sql.QueryRowContext(ctx, db.leaseSQL(`UPDATE leases SET expires_ms = {now} + ?
		WHERE instance_id = ? AND owner = ? AND token = ? AND expires_ms > {now} RETURNING expires_ms`),
		ttl.Milliseconds(), lease.InstanceID, lease.Owner, lease.Token).Scan(&expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{}, fmt.Errorf("store: renew lease of %s (token %d): %w", lease.InstanceID, lease.Token, ErrLeaseLost)
	}
	if err != nil {
		return Lease{}, fmt.Errorf("store: renew lease of %s: %w", lease.InstanceID, err)
	}
	lease.Expires, lease.Deadline = time.UnixMilli(expires), deadline(start, ttl)
	return lease, nil
}

// renewBatch bounds the leases one statement of RenewAll renews: three parameters each, well under both
// dialects' limits (SQLite's 32,766, Postgres's 65,535).
const renewBatch = 1000

// RenewAll is [DB.Renew] for all of a node's leases at once, a statement per thousand: renewing each instance
// on its own would cost a durable commit per instance every renewal period. It returns the leases it renewed,
// in the order given, with their new Expires and Deadline; a lease missing from the result was lost
// ([ErrLeaseLost] for that instance: stop acting for it). An error renews nothing of the batch it failed in
// and leaves those leases as they were: retry until their Deadline. Run one RenewAll at a time per node.
func (db *DB) RenewAll(ctx context.Context, leases []Lease, ttl time.Duration) ([]Lease, error) {
	if err := checkTTL(ttl); err != nil {
		return nil, fmt.Errorf("store: renew leases: %w", err)
	}
	var renewed []Lease
	for batch := range slices.Chunk(leases, renewBatch) {
		start := time.Now()
		// (instance_id, owner, token) IN (VALUES …): row values, in both dialects. The token is cast because
		// Postgres types a VALUES list of bare parameters as text.
		var q strings.Builder
		q.WriteString(`UPDATE leases SET expires_ms = {now} + ?
			WHERE expires_ms > {now} AND (instance_id, owner, token) IN (VALUES `)
		args := make([]any, 0, 1+3*len(batch))
		args = append(args, ttl.Milliseconds())
		for i, l := range batch {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, CAST(? AS BIGINT))")
			args = append(args, l.InstanceID, l.Owner, l.Token)
		}
		q.WriteString(`) RETURNING instance_id, token, expires_ms`)
		expires, err := db.renewed(ctx, db.leaseSQL(q.String()), args)
		if err != nil {
			return renewed, fmt.Errorf("store: renew %d leases: %w", len(batch), err)
		}
		for _, l := range batch {
			if ms, ok := expires[leaseKey{l.InstanceID, l.Token}]; ok {
				l.Expires, l.Deadline = time.UnixMilli(ms), deadline(start, ttl)
				renewed = append(renewed, l)
			}
		}
	}
	return renewed, nil
}

type leaseKey struct {
	instanceID string
	token      int64
}

// renewed runs a RenewAll statement and returns the new expiry of each lease it renewed.
func (db *DB) renewed(ctx context.Context, query string, args []any) (map[leaseKey]int64, error) {
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[leaseKey]int64{}
	for rows.Next() {
		var k leaseKey
		var ms int64
		if err := rows.Scan(&k.instanceID, &k.token, &ms); err != nil {
			return nil, err
		}
		out[k] = ms
	}
	return out, rows.Err()
}

// Release gives the lease up so that another node can acquire it at once, without waiting for it to expire:
// the clean handover of a drain. Stop acting for the instance first (the writes made under the lease must be
// committed); on Postgres, Release waits for transactions still holding the lease's fence. It fails with
// [ErrLeaseLost] when the lease had already changed hands.
func (db *DB) Release(ctx context.Context, lease Lease) error {
	res, err := db.sql.ExecContext(ctx, `UPDATE leases SET owner = '', expires_ms = 0
		WHERE instance_id = ? AND owner = ? AND token = ?`, lease.InstanceID, lease.Owner, lease.Token)
	if err != nil {
		return fmt.Errorf("store: release lease of %s: %w", lease.InstanceID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: release lease of %s: %w", lease.InstanceID, err)
	} else if n == 0 {
		return fmt.Errorf("store: release lease of %s (token %d): %w", lease.InstanceID, lease.Token, ErrLeaseLost)
	}
	return nil
}

// Holder returns the unexpired lease on instanceID, and false when no one holds it (never acquired, expired
// or released). It is for routing and operations: only the holder's own [DB.CheckFence] decides a write.
func (db *DB) Holder(ctx context.Context, instanceID string) (Lease, bool, error) {
	l := Lease{InstanceID: instanceID}
	var expires int64
	err := db.sql.QueryRowContext(ctx, db.leaseSQL(`SELECT owner, token, expires_ms FROM leases
		WHERE instance_id = ? AND expires_ms > {now}`), instanceID).Scan(&l.Owner, &l.Token, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{}, false, nil
	}
	if err != nil {
		return Lease{}, false, fmt.Errorf("store: lease holder of %s: %w", instanceID, err)
	}
	l.Expires = time.UnixMilli(expires)
	return l, true, nil
}

// Leases returns the unexpired leases owner holds, by instance ID.
func (db *DB) Leases(ctx context.Context, owner string) ([]Lease, error) {
	rows, err := db.sql.QueryContext(ctx, db.leaseSQL(`SELECT instance_id, token, expires_ms FROM leases
		WHERE owner = ? AND expires_ms > {now} ORDER BY instance_id`), owner)
	if err != nil {
		return nil, fmt.Errorf("store: leases of %s: %w", owner, err)
	}
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		l := Lease{Owner: owner}
		var expires int64
		if err := rows.Scan(&l.InstanceID, &l.Token, &expires); err != nil {
			return nil, fmt.Errorf("store: leases of %s: %w", owner, err)
		}
		l.Expires = time.UnixMilli(expires)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: leases of %s: %w", owner, err)
	}
	return out, nil
}

// fenceIdleTimeout bounds how long a transaction that holds a lease's fence may sit idle on Postgres before
// the server ends its session (see CheckFence). A variable for the tests.
var fenceIdleTimeout = 5 * time.Second

// CheckFence is the first statement of a write made under a lease, inside the write's transaction (the event
// append runs it): it fails with [ErrFenced] unless token is instanceID's current lease and that lease is
// unexpired, and it keeps the lease from changing hands until the transaction ends. Every write under a lease
// is thereby ordered before the next holder's takeover, so the next holder finds it when it rebuilds, or is
// refused: a node that was paused or cut off past its lease cannot commit anything after the takeover.
//
// Why the lock is needed, on Postgres (read committed): without it, the old holder checks its token (still
// current, a moment before expiry), is paused; the lease expires; the new holder acquires it (token+1),
// commits and rebuilds the instance from its events; the old holder wakes and commits its write, which the new
// holder never sees — and a message the old holder recorded as sent, or an event numbered in a stream the new
// holder is extending, is lost or forked. With SELECT … FOR SHARE, the takeover's UPDATE (which takes the
// row's FOR NO KEY UPDATE lock, in conflict with FOR SHARE; FOR KEY SHARE would not conflict) waits for the
// write's transaction to end; and a check that comes after an uncommitted takeover waits for it and then reads
// the new token. The lock is released at commit or rollback (or rolling back to a savepoint taken before it).
//
// A holder paused inside such a transaction (SIGSTOP, a frozen VM) would hold the lock, and with it every
// other node's takeover, until it woke. So CheckFence also sets idle_in_transaction_session_timeout for the
// rest of the transaction: once the holder stops talking to the server mid-transaction for fenceIdleTimeout,
// the server ends the session, the lock goes and the write never commits.
//
// On SQLite the write transaction holds the database's write lock from BEGIN (see [DSN]) and a takeover is a
// write too, so the check and the commit are atomic against it without a row lock.
func (db *DB) CheckFence(ctx context.Context, tx *sql.Tx, instanceID string, token int64) error {
	var current int64
	var valid bool
	var err error
	if db.dialect == Postgres {
		// set_config(…, true) is SET LOCAL in the same round trip as the check (it runs the appends' hot path).
		err = tx.QueryRowContext(ctx, db.leaseSQL(`SELECT token, expires_ms > {now},
			set_config('idle_in_transaction_session_timeout', ?, true)
			FROM leases WHERE instance_id = ? FOR SHARE`),
			strconv.FormatInt(fenceIdleTimeout.Milliseconds(), 10), instanceID).Scan(&current, &valid, new(string))
	} else {
		err = tx.QueryRowContext(ctx, db.leaseSQL(`SELECT token, expires_ms > {now} FROM leases WHERE instance_id = ?`),
			instanceID).Scan(&current, &valid)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: instance %s has no lease (token %d): %w", instanceID, token, ErrFenced)
	case err != nil:
		return fmt.Errorf("store: check fence of %s: %w", instanceID, err)
	case current != token:
		return fmt.Errorf("store: instance %s: token %d, the lease is at %d: %w", instanceID, token, current, ErrFenced)
	case !valid:
		return fmt.Errorf("store: instance %s: lease (token %d) expired: %w", instanceID, token, ErrFenced)
	}
	return nil
}

// deadline is the Deadline of a lease whose Acquire or Renew began at start: expires_ms is whole milliseconds,
// cut short of the exact time by up to one.
func deadline(start time.Time, ttl time.Duration) time.Time {
	return start.Add(ttl - time.Millisecond)
}

// maxLeaseTTL keeps a lease's expiry sane: a mistaken hour-long TTL would keep an instance offline that long
// after its node died. A TTL under minLeaseTTL would lapse before its holder could do anything with it.
const (
	minLeaseTTL = 10 * time.Millisecond
	maxLeaseTTL = 10 * time.Minute
)

func checkLeaseArgs(instanceID string, ttl time.Duration) error {
	if instanceID == "" {
		return errors.New("empty instance ID")
	}
	return checkTTL(ttl)
}

func checkTTL(ttl time.Duration) error {
	if ttl < minLeaseTTL || ttl > maxLeaseTTL {
		return fmt.Errorf("ttl %s: want %s to %s", ttl, minLeaseTTL, maxLeaseTTL)
	}
	return nil
}
