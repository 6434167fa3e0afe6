package store

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"sync"
)

// stmtCacheSize bounds the prepared statements one connection keeps. The server runs a few dozen distinct
// statements (its own, watermill's, whatsmeow's); a statement whose text varies (a multi-row insert) takes a
// slot per variant, and the least recently used is finalized when the cache is full.
const stmtCacheSize = 256

// cachingConnector opens connections that keep their prepared statements: every statement the pool runs —
// ours, watermill-sql's, whatsmeow's sqlstore's, inside a transaction or not — is parsed and planned once per
// connection and then reused, instead of being prepared and finalized at every call.
//
// It works at the driver boundary, so no caller has to prepare anything or know which pool a transaction
// belongs to: the connections hide the driver's one-shot ExecContext and QueryContext, which makes database/sql
// prepare each statement and close it after use, and their PrepareContext hands out a cached statement
// ("checked out" until database/sql closes it) instead of a new one. Nothing here depends on SQLite: any
// database/sql driver can be wrapped.
type cachingConnector struct {
	drv      driver.Driver
	dsn      string
	gate     *writeGate // shared by every pool on the file
	unsynced *walSyncer // told of every write when the pool's commits are not synced
}

func (c cachingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	cc := newCachingConn(conn, stmtCacheSize)
	cc.gate, cc.unsynced = c.gate, c.unsynced
	return cc, nil
}

func (c cachingConnector) Driver() driver.Driver { return c.drv }

// cachingConn is a driver connection with a statement cache. database/sql uses a connection from one
// goroutine at a time; the mutex only guards against a statement closed from another goroutine (a Rows
// closed late).
type cachingConn struct {
	inner    driver.Conn
	max      int
	gate     *writeGate
	unsynced *walSyncer
	inTx     bool // a transaction is open: its statements are gated with it

	mu    sync.Mutex
	stmts map[string]*list.Element // of *cachedStmt, most recently used at the front
	lru   *list.List
}

func newCachingConn(inner driver.Conn, max int) *cachingConn {
	return &cachingConn{inner: inner, max: max, stmts: map[string]*list.Element{}, lru: list.New()}
}

// cachedStmt is a statement of the cache. While checked out (between PrepareContext and Close) nobody else
// gets it: a statement is one cursor, so a second use while the first's rows are open would reset them.
type cachedStmt struct {
	driver.Stmt
	conn    *cachingConn
	query   string
	out     bool // checked out
	evicted bool // no longer in the cache: finalize when checked in
}

// Close checks the statement back in (database/sql calls it after each use); the statement stays prepared.
func (s *cachedStmt) Close() error {
	s.conn.mu.Lock()
	s.out = false
	evicted := s.evicted
	s.conn.mu.Unlock()
	if evicted {
		return s.Stmt.Close()
	}
	return nil
}

// ExecContext and QueryContext pass the context on; without them database/sql would fall back to the
// context-free Exec and Query of the embedded driver.Stmt.
func (s *cachedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if !s.conn.inTx {
		held, err := s.conn.gate.enter(ctx, urgentLane)
		if err != nil {
			return nil, err
		}
		if held {
			defer s.conn.gate.leave()
		}
		defer s.conn.unsynced.wrote()
	}
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	return s.Stmt.Exec(values(args)) //nolint:staticcheck // the driver has nothing better
}

func (s *cachedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	return s.Stmt.Query(values(args)) //nolint:staticcheck // the driver has nothing better
}

func values(args []driver.NamedValue) []driver.Value {
	v := make([]driver.Value, len(args))
	for i, a := range args {
		v[i] = a.Value
	}
	return v
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext returns the cached statement for query when it is free, and otherwise prepares one: cached
// when query is new, and closed after use when the cached one is checked out already (a statement run again
// while its own rows are open).
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.mu.Lock()
	e, ok := c.stmts[query]
	if ok {
		s := e.Value.(*cachedStmt)
		if !s.out {
			s.out = true
			c.lru.MoveToFront(e)
			c.mu.Unlock()
			return s, nil
		}
	}
	c.mu.Unlock()
	st, err := c.prepareInner(ctx, query)
	if err != nil || ok {
		return st, err
	}
	s := &cachedStmt{Stmt: st, conn: c, query: query, out: true}
	var evict []driver.Stmt
	c.mu.Lock()
	c.stmts[query] = c.lru.PushFront(s)
	for c.lru.Len() > c.max {
		old := c.lru.Remove(c.lru.Back()).(*cachedStmt)
		delete(c.stmts, old.query)
		old.evicted = true
		if !old.out {
			evict = append(evict, old.Stmt)
		}
	}
	c.mu.Unlock()
	for _, st := range evict {
		_ = st.Close()
	}
	return s, nil
}

func (c *cachingConn) prepareInner(ctx context.Context, query string) (driver.Stmt, error) {
	if p, ok := c.inner.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.inner.Prepare(query)
}

// Close finalizes the cached statements, then closes the connection. database/sql has closed every statement
// it had out before it closes their connection.
func (c *cachingConn) Close() error {
	c.mu.Lock()
	var errs []error
	for e := c.lru.Front(); e != nil; e = e.Next() {
		s := e.Value.(*cachedStmt)
		s.evicted = true
		if !s.out {
			errs = append(errs, s.Stmt.Close())
		}
	}
	c.stmts, c.lru = map[string]*list.Element{}, list.New()
	c.mu.Unlock()
	return errors.Join(append(errs, c.inner.Close())...)
}

func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx begins a transaction; a read-write one first passes the write gate (see writeGate).
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var held bool
	if !opts.ReadOnly {
		var err error
		if held, err = c.gate.enter(ctx, laneOf(ctx)); err != nil {
			return nil, err
		}
	}
	var tx driver.Tx
	var err error
	if b, ok := c.inner.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		tx, err = c.inner.Begin() //nolint:staticcheck // the driver has nothing better
	}
	if err != nil {
		if held {
			c.gate.leave()
		}
		return nil, err
	}
	c.inTx = true
	return &txOf{Tx: tx, conn: c, gated: held, readOnly: opts.ReadOnly}, nil
}

func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.inner.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// The connection must not offer the driver's one-shot Exec and Query (which prepare and finalize every time):
// database/sql uses them when present, and the cache would never be asked.
var (
	_ driver.ConnPrepareContext = (*cachingConn)(nil)
	_ driver.ConnBeginTx        = (*cachingConn)(nil)
	_ driver.Pinger             = (*cachingConn)(nil)
	_ driver.SessionResetter    = (*cachingConn)(nil)
	_ driver.Validator          = (*cachingConn)(nil)
	_ driver.StmtExecContext    = (*cachedStmt)(nil)
	_ driver.StmtQueryContext   = (*cachedStmt)(nil)
)
