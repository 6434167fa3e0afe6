package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plugzapi/plugzapi/store/pgtest"
)

// eventually polls check until it returns nil, failing the test with check's last error at the deadline (the
// e2e tests' helper of the same name; the store's tests cannot import it).
func eventually(t testing.TB, timeout time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// openNodes opens n stores on one database, as n nodes of a cluster would (on SQLite: n pools on one file).
func openNodes(t *testing.T, n int) []*DB {
	t.Helper()
	dir := t.TempDir()
	nodes := make([]*DB, n)
	for i := range nodes {
		nodes[i] = openTestDB(t, Config{Dir: dir})
	}
	return nodes
}

// openPostgresNodes opens n stores on one Postgres database, whatever the run's dialect: for what only happens
// with several processes on one database.
func openPostgresNodes(t *testing.T, n int) []*DB {
	t.Helper()
	dir, url := t.TempDir(), pgtest.NewDatabase(t)
	nodes := make([]*DB, n)
	for i := range nodes {
		nodes[i] = openStore(t, Config{Dir: dir, DatabaseURL: url})
	}
	return nodes
}

// beginFencedWrite begins a transaction on db that checks lease l's fence and writes under it, and leaves it
// open: a holder paused in the middle of a write.
func beginFencedWrite(t *testing.T, db *DB, l Lease) *sql.Tx {
	t.Helper()
	ctx := context.Background()
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	if err := db.CheckFence(ctx, tx, l.InstanceID, l.Token); err != nil {
		t.Fatalf("check the fence of a valid lease: %v", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO fenced_writes (instance_id, token, owner) VALUES (?, ?, ?)`, l.InstanceID, l.Token, l.Owner); err != nil {
		t.Fatal(err)
	}
	return tx
}

// createWritesTable makes the table the tests' fenced writes go to: it stands for the event log.
func createWritesTable(t *testing.T, db *DB) {
	t.Helper()
	if _, err := db.SQL().Exec(`CREATE TABLE fenced_writes (instance_id TEXT NOT NULL, token BIGINT NOT NULL,
		owner TEXT NOT NULL, PRIMARY KEY (instance_id, token))`); err != nil {
		t.Fatal(err)
	}
}

// fencedWrite records a write under lease l, as the event append will: fenced, in one transaction.
func fencedWrite(ctx context.Context, db *DB, l Lease) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		if err := db.CheckFence(ctx, tx, l.InstanceID, l.Token); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO fenced_writes (instance_id, token, owner) VALUES (?, ?, ?)`,
			l.InstanceID, l.Token, l.Owner)
		return err
	})
}

func writesOf(t *testing.T, db *DB, instanceID string) []int64 {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT token FROM fenced_writes WHERE instance_id = ? ORDER BY token`, instanceID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tokens []int64
	for rows.Next() {
		var tok int64
		if err := rows.Scan(&tok); err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return tokens
}

func TestLeaseAcquireRenewRelease(t *testing.T) {
	db := openTestDB(t, Config{})
	ctx := context.Background()
	id := mustID(t)
	const ttl = time.Minute

	before := time.Now()
	a, err := db.Acquire(ctx, id, "node-a", ttl)
	if err != nil {
		t.Fatalf("acquire a free lease: %v", err)
	}
	if a.Token != 1 || a.Owner != "node-a" || a.InstanceID != id {
		t.Fatalf("first lease = %+v, want node-a with token 1", a)
	}
	if a.Deadline.Before(before.Add(ttl-time.Millisecond)) || a.Deadline.After(time.Now().Add(ttl)) {
		t.Errorf("deadline %s, want the call's start plus %s", a.Deadline, ttl)
	}
	// The test's database server shares this machine's clock, so the two are comparable here.
	if a.Deadline.After(a.Expires) {
		t.Errorf("deadline %s after the expiry %s: the holder would act past its lease", a.Deadline, a.Expires)
	}
	if until := time.Until(a.Expires); until < ttl-5*time.Second || until > ttl+5*time.Second {
		t.Errorf("expires in %s, want about %s", until, ttl)
	}

	_, err = db.Acquire(ctx, id, "node-b", ttl)
	var held *LeaseHeldError
	if !errors.As(err, &held) || !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("acquire a held lease: %v, want ErrLeaseHeld", err)
	}
	if held.Holder.Owner != "node-a" || held.Holder.Token != 1 || !held.Holder.Expires.Equal(a.Expires) {
		t.Errorf("held by %+v, want node-a's lease %+v", held.Holder, a)
	}

	again, err := db.Acquire(ctx, id, "node-a", ttl)
	if err != nil || again.Token != a.Token || again.Expires.Before(a.Expires) {
		t.Fatalf("the holder acquiring again = %+v, %v; want a renewal with token %d", again, err, a.Token)
	}
	renewed, err := db.Renew(ctx, again, ttl)
	if err != nil || renewed.Token != a.Token || renewed.Expires.Before(again.Expires) || renewed.Deadline.Before(again.Deadline) {
		t.Fatalf("renew = %+v, %v; want token %d pushed forward", renewed, err, a.Token)
	}

	if h, ok, err := db.Holder(ctx, id); err != nil || !ok || h.Owner != "node-a" || h.Token != 1 || !h.Expires.Equal(renewed.Expires) {
		t.Errorf("holder = %+v, %v, %v; want node-a's renewed lease", h, ok, err)
	}
	other := mustID(t)
	if _, err := db.Acquire(ctx, other, "node-a", ttl); err != nil {
		t.Fatal(err)
	}
	if ls, err := db.Leases(ctx, "node-a"); err != nil || len(ls) != 2 || !slices.IsSortedFunc(ls, func(x, y Lease) int {
		return strings.Compare(x.InstanceID, y.InstanceID)
	}) {
		t.Errorf("node-a's leases = %+v, %v; want both instances, by ID", ls, err)
	}
	if ls, err := db.Leases(ctx, "node-b"); err != nil || len(ls) != 0 {
		t.Errorf("node-b's leases = %+v, %v; want none", ls, err)
	}

	if err := db.Release(ctx, renewed); err != nil {
		t.Fatalf("release: %v", err)
	}
	if h, ok, err := db.Holder(ctx, id); err != nil || ok {
		t.Errorf("holder after release = %+v, %v, %v; want none", h, ok, err)
	}
	if ls, _ := db.Leases(ctx, "node-a"); len(ls) != 1 || ls[0].InstanceID != other {
		t.Errorf("node-a's leases after releasing one = %+v, want only %s", ls, other)
	}
	if err := db.Release(ctx, renewed); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("release twice: %v, want ErrLeaseLost", err)
	}
	if _, err := db.Renew(ctx, renewed, ttl); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("renew a released lease: %v, want ErrLeaseLost", err)
	}

	// The next node gets the lease at once, with a new token; so does a holder taking it again after release.
	b, err := db.Acquire(ctx, id, "node-b", ttl)
	if err != nil || b.Token != 2 {
		t.Fatalf("acquire after release = %+v, %v; want token 2", b, err)
	}
	if _, err := db.Renew(ctx, renewed, ttl); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("the old holder renewing: %v, want ErrLeaseLost", err)
	}
	if err := db.Release(ctx, b); err != nil {
		t.Fatal(err)
	}
	b2, err := db.Acquire(ctx, id, "node-b", ttl)
	if err != nil || b2.Token != 3 {
		t.Fatalf("the same owner after its release = %+v, %v; want token 3", b2, err)
	}

	for _, bad := range []struct {
		id, owner string
		ttl       time.Duration
	}{{"", "node-a", ttl}, {id, "", ttl}, {id, "node-a", 0}, {id, "node-a", time.Hour}} {
		if _, err := db.Acquire(ctx, bad.id, bad.owner, bad.ttl); err == nil || errors.Is(err, ErrLeaseHeld) {
			t.Errorf("Acquire(%q, %q, %s) = %v, want an argument error", bad.id, bad.owner, bad.ttl, err)
		}
	}
}

func TestLeaseExpiryTakeover(t *testing.T) {
	db := openTestDB(t, Config{})
	createWritesTable(t, db)
	ctx := context.Background()
	id := mustID(t)
	const short = 200 * time.Millisecond

	a, err := db.Acquire(ctx, id, "node-a", short)
	if err != nil {
		t.Fatal(err)
	}
	if err := fencedWrite(ctx, db, a); err != nil {
		t.Fatalf("the holder's write: %v", err)
	}
	var b Lease
	eventually(t, 5*time.Second, "node-b takes the expired lease over", func() error {
		b, err = db.Acquire(ctx, id, "node-b", time.Minute)
		return err
	})
	if b.Token != a.Token+1 {
		t.Errorf("takeover token %d, want %d", b.Token, a.Token+1)
	}
	if h, ok, _ := db.Holder(ctx, id); !ok || h.Owner != "node-b" || h.Token != b.Token {
		t.Errorf("holder = %+v, want node-b's lease", h)
	}
	// node-a was paused past its lease and wakes up: it can neither renew nor write.
	if _, err := db.Renew(ctx, a, time.Minute); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("the old holder renewing: %v, want ErrLeaseLost", err)
	}
	if err := fencedWrite(ctx, db, a); !errors.Is(err, ErrFenced) {
		t.Errorf("the old holder's write: %v, want ErrFenced", err)
	}
	if err := fencedWrite(ctx, db, b); err != nil {
		t.Errorf("the new holder's write: %v", err)
	}
	if got := writesOf(t, db, id); !slices.Equal(got, []int64{a.Token, b.Token}) {
		t.Errorf("writes under tokens %v, want %v", got, []int64{a.Token, b.Token})
	}

	// A lapsed lease is lost even when no one took it: renewing fails, writing is fenced, and taking it again
	// — by the same owner — gives a new token, so nothing written under the old one can pass for the new one.
	other := mustID(t)
	c, err := db.Acquire(ctx, other, "node-a", short)
	if err != nil {
		t.Fatal(err)
	}
	// A write transaction begun while the lease was valid (a long group commit) checks the time of the check,
	// not of its beginning.
	long, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer long.Rollback()
	if err := db.CheckFence(ctx, long, other, c.Token); err != nil {
		t.Fatalf("check a valid lease: %v", err)
	}
	eventually(t, 5*time.Second, "the lease lapses", func() error {
		if h, ok, err := db.Holder(ctx, other); err != nil || ok {
			return fmt.Errorf("held: %+v, %v", h, err)
		}
		return nil
	})
	if err := db.CheckFence(ctx, long, other, c.Token); !errors.Is(err, ErrFenced) {
		t.Errorf("check the lapsed lease in a transaction begun before it lapsed: %v, want ErrFenced", err)
	}
	if err := long.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Renew(ctx, c, time.Minute); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("renew a lapsed lease: %v, want ErrLeaseLost", err)
	}
	if err := fencedWrite(ctx, db, c); !errors.Is(err, ErrFenced) {
		t.Errorf("write under a lapsed lease: %v, want ErrFenced", err)
	}
	c2, err := db.Acquire(ctx, other, "node-a", time.Minute)
	if err != nil || c2.Token != c.Token+1 {
		t.Errorf("the same owner after its lease lapsed = %+v, %v; want token %d", c2, err, c.Token+1)
	}
	if err := fencedWrite(ctx, db, Lease{InstanceID: mustID(t), Owner: "node-a", Token: 1}); !errors.Is(err, ErrFenced) {
		t.Errorf("write for an instance never leased: %v, want ErrFenced", err)
	}
}

func TestLeaseRenewAll(t *testing.T) {
	db := openTestDB(t, Config{})
	ctx := context.Background()
	kept, taken, lapsed := mustID(t), mustID(t), mustID(t)
	k, err := db.Acquire(ctx, kept, "node-a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := db.Acquire(ctx, taken, "node-a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Release(ctx, tk); err != nil {
		t.Fatal(err)
	}
	b, err := db.Acquire(ctx, taken, "node-b", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	l, err := db.Acquire(ctx, lapsed, "node-a", 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "a lease lapses", func() error {
		if h, ok, err := db.Holder(ctx, lapsed); err != nil || ok {
			return fmt.Errorf("held: %+v, %v", h, err)
		}
		return nil
	})

	// More than one statement's worth, so that the batches are seen to join up.
	many := make([]Lease, renewBatch+10)
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		for i := range many {
			many[i] = Lease{InstanceID: mustID(t), Owner: "node-a", Token: 1}
			if _, err := tx.ExecContext(ctx, db.leaseSQL(`INSERT INTO leases (instance_id, owner, token, expires_ms)
				VALUES (?, ?, ?, {now} + 60000)`), many[i].InstanceID, many[i].Owner, many[i].Token); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	before := time.Now()
	asked := append([]Lease{l, tk, k}, many...)
	renewed, err := db.RenewAll(ctx, asked, 2*time.Minute)
	if err != nil {
		t.Fatalf("renew all: %v", err)
	}
	if len(renewed) != 1+len(many) || renewed[0].InstanceID != kept || renewed[0].Token != k.Token {
		t.Fatalf("renewed %d leases, the first %+v; want %s and the %d others, in the order asked", len(renewed), renewed[0], kept, len(many))
	}
	for i, r := range renewed {
		if r.Deadline.Before(before.Add(2*time.Minute-time.Millisecond)) || !r.Expires.After(k.Expires) {
			t.Fatalf("lease %d renewed to %+v, want two minutes from now", i, r)
		}
		if i > 0 && r.InstanceID != many[i-1].InstanceID {
			t.Fatalf("renewed[%d] is %s, want %s: not in the order asked", i, r.InstanceID, many[i-1].InstanceID)
		}
	}
	if h, _, _ := db.Holder(ctx, kept); !h.Expires.Equal(renewed[0].Expires) {
		t.Errorf("the kept lease expires %s, want the renewal's %s", h.Expires, renewed[0].Expires)
	}
	if h, _, _ := db.Holder(ctx, taken); h.Owner != "node-b" || !h.Expires.Equal(b.Expires) {
		t.Errorf("the lease node-b took is %+v, want it untouched: %+v", h, b)
	}
	if _, ok, _ := db.Holder(ctx, lapsed); ok {
		t.Error("renew all brought a lapsed lease back")
	}
	if _, err := db.RenewAll(ctx, asked, 0); err == nil {
		t.Error("renew all with no ttl: no error")
	}
}

// TestLeaseFenceHoldsOffTakeover is the interleaving CheckFence's lock exists for: the old holder has checked
// its fence inside its write transaction and is paused there while its lease expires. The takeover must wait
// for that transaction, so the write lands before the takeover (the new holder sees it) and the old holder's
// next write is refused. Without the lock, the takeover would commit first and the old holder's write after it.
//
// It runs on Postgres in either run: on SQLite a write transaction holds the database's write lock from BEGIN,
// and a takeover is a write too.
func TestLeaseFenceHoldsOffTakeover(t *testing.T) {
	nodes := openPostgresNodes(t, 2)
	nodeA, nodeB := nodes[0], nodes[1]
	createWritesTable(t, nodeA)
	ctx := context.Background()
	id := mustID(t)

	a, err := nodeA.Acquire(ctx, id, "node-a", 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	tx := beginFencedWrite(t, nodeA, a)
	// Paused: the lease lapses by the database's clock.
	eventually(t, 5*time.Second, "node-a's lease lapses", func() error {
		if h, ok, err := nodeB.Holder(ctx, id); err != nil || ok {
			return fmt.Errorf("held: %+v, %v", h, err)
		}
		return nil
	})

	type result struct {
		lease Lease
		err   error
	}
	takeover := make(chan result, 1)
	go func() {
		l, err := nodeB.Acquire(ctx, id, "node-b", time.Minute)
		takeover <- result{l, err}
	}()
	eventually(t, 5*time.Second, "node-b's takeover waits for node-a's fenced transaction", func() error {
		select {
		case r := <-takeover:
			t.Fatalf("node-b took the lease over (%+v, %v) while node-a's fenced write was uncommitted: that write would land after the takeover", r.lease, r.err)
		default:
		}
		var waiting int
		if err := nodeB.SQL().QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			return err
		}
		if waiting == 0 {
			return errors.New("no session waits for a lock")
		}
		return nil
	})
	if err := tx.Commit(); err != nil {
		t.Fatalf("node-a commits its write, checked before the takeover: %v", err)
	}
	r := <-takeover
	if r.err != nil || r.lease.Token != a.Token+1 {
		t.Fatalf("takeover after node-a's commit = %+v, %v; want token %d", r.lease, r.err, a.Token+1)
	}
	if got := writesOf(t, nodeB, id); !slices.Equal(got, []int64{a.Token}) {
		t.Errorf("node-b sees writes under tokens %v, want node-a's %d", got, a.Token)
	}
	if err := fencedWrite(ctx, nodeA, a); !errors.Is(err, ErrFenced) {
		t.Errorf("node-a's next write: %v, want ErrFenced", err)
	}
}

// TestLeaseFencePausedHolderTimesOut: a holder paused inside its fenced transaction must not hold every other
// node's takeover for as long as it is paused. The server ends its idle session, the takeover goes through and
// the paused write never commits.
// It runs on Postgres in either run: SQLite has one process.
func TestLeaseFencePausedHolderTimesOut(t *testing.T) {
	defer func(d time.Duration) { fenceIdleTimeout = d }(fenceIdleTimeout)
	fenceIdleTimeout = 500 * time.Millisecond
	nodes := openPostgresNodes(t, 2)
	nodeA, nodeB := nodes[0], nodes[1]
	createWritesTable(t, nodeA)
	ctx := context.Background()
	id := mustID(t)

	a, err := nodeA.Acquire(ctx, id, "node-a", 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	tx := beginFencedWrite(t, nodeA, a)
	// node-a stays paused; node-b's takeover must not wait for it to wake.
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var b Lease
	eventually(t, 20*time.Second, "node-b takes over from the paused node-a", func() error {
		b, err = nodeB.Acquire(actx, id, "node-b", time.Minute)
		return err
	})
	if b.Token != a.Token+1 {
		t.Errorf("takeover token %d, want %d", b.Token, a.Token+1)
	}
	if err := tx.Commit(); err == nil {
		t.Error("node-a woke and committed its write after the takeover")
	}
	if got := writesOf(t, nodeB, id); len(got) != 0 {
		t.Errorf("writes under tokens %v, want none", got)
	}
}

// TestLeaseRace: two nodes, several workers each (each its own owner), race for many instances, each worker
// writing under every lease it wins and releasing it, round after round; then all of them try to keep every
// instance. Each instance must end with exactly one holder, and its tokens must have gone 1, 2, 3… with no
// token handed out twice.
func TestLeaseRace(t *testing.T) {
	nodes := openNodes(t, 2)
	createWritesTable(t, nodes[0])
	ctx := context.Background()
	const (
		instances = 24
		workers   = 3 // per node
		rounds    = 3
	)
	ids := make([]string, instances)
	for i := range ids {
		ids[i] = mustID(t)
	}

	type grant struct {
		owner string
		token int64
	}
	var (
		mu     sync.Mutex
		grants = map[string][]grant{} // by instance
		kept   = map[string][]Lease{} // the final round's leases, by instance
	)
	// race runs every worker through the instances in its own random order, acquiring what it can; with keep
	// false, it writes under each lease it wins and releases it.
	race := func(keep bool) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, len(nodes)*workers)
		for n, db := range nodes {
			for w := range workers {
				owner := fmt.Sprintf("node-%d/worker-%d", n, w)
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- func() error {
						order := slices.Clone(ids)
						rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
						for _, id := range order {
							l, err := db.Acquire(ctx, id, owner, time.Minute)
							if errors.Is(err, ErrLeaseHeld) {
								continue
							}
							if err != nil {
								return err
							}
							mu.Lock()
							grants[id] = append(grants[id], grant{owner, l.Token})
							if keep {
								kept[id] = append(kept[id], l)
							}
							mu.Unlock()
							if keep {
								continue
							}
							if err := fencedWrite(ctx, db, l); err != nil {
								return fmt.Errorf("%s's write under its lease %+v: %w", owner, l, err)
							}
							if err := db.Release(ctx, l); err != nil {
								return fmt.Errorf("%s releases %+v: %w", owner, l, err)
							}
						}
						return nil
					}()
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	for range rounds {
		race(false)
	}
	race(true)

	total := 0
	for _, id := range ids {
		gs := grants[id]
		total += len(gs)
		tokens := make([]int64, len(gs))
		for i, g := range gs {
			tokens[i] = g.token
		}
		slices.Sort(tokens)
		for i, tok := range tokens {
			if tok != int64(i+1) {
				t.Fatalf("instance %s: tokens handed out %v, want 1 to %d, each once", id, tokens, len(gs))
			}
		}
		if len(kept[id]) != 1 {
			t.Fatalf("instance %s: kept by %+v in the last round, want exactly one holder", id, kept[id])
		}
		want := kept[id][0]
		for _, db := range nodes {
			h, ok, err := db.Holder(ctx, id)
			if err != nil || !ok || h.Owner != want.Owner || h.Token != want.Token || h.Token != int64(len(gs)) {
				t.Errorf("instance %s: holder %+v, %v, %v; want %s with the last token %d", id, h, ok, err, want.Owner, len(gs))
			}
		}
		// Every lease but the kept one wrote once, under its own token.
		if got := writesOf(t, nodes[0], id); !slices.Equal(got, tokens[:len(tokens)-1]) {
			t.Errorf("instance %s: writes under tokens %v, want %v", id, got, tokens[:len(tokens)-1])
		}
	}
	t.Logf("%d leases handed out over %d instances", total, instances)
}
