package store

import (
	"context"
	"database/sql"
	"database/sql/driver"

	"modernc.org/sqlite"
)

// Through database/sql every call compiles its statement anew, and in
// SQLite compiling the batch statements of processing (IN lists of
// hundreds of ids, multi-row INSERTs) costs about as much as running them:
// 8% of a large group's processing in the profile. This driver keeps each
// connection's compiled statements by text. PostgreSQL's driver (pgx)
// keeps its own prepared statements.
const cachingSQLite = "allot-sqlite"

func init() { sql.Register(cachingSQLite, cachingDriver{}) }

// maxCachedStmts bounds a connection's cache; texts beyond it run uncached.
// Processing uses a few dozen texts (txn.in in store/tx.go pads IN
// lists to a few fixed lengths so their texts repeat).
const maxCachedStmts = 512

type cachingDriver struct{}

func (cachingDriver) Open(name string) (driver.Conn, error) {
	c, err := (&sqlite.Driver{}).Open(name)
	if err != nil {
		return nil, err
	}
	return &cachingConn{inner: c.(sqliteConn), stmts: map[string]*cachedStmt{}}, nil
}

// sqliteConn is what database/sql uses of modernc.org/sqlite's connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type sqliteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

type cachedStmt struct {
	stmt sqliteStmt
	busy bool // its rows are open: a second use at once runs uncached
}

type cachingConn struct {
	inner sqliteConn
	stmts map[string]*cachedStmt
}

// stmt returns the compiled statement for query, or nil to run it uncached.
// database/sql uses a connection from one goroutine at a time.
func (c *cachingConn) stmt(ctx context.Context, query string) *cachedStmt {
	if s, ok := c.stmts[query]; ok {
		if s.busy {
			return nil
		}
		return s
	}
	if len(c.stmts) >= maxCachedStmts {
		return nil
	}
	ds, err := c.inner.PrepareContext(ctx, query)
	if err != nil {
		return nil // the uncached call reports it
	}
	s := &cachedStmt{stmt: ds.(sqliteStmt)}
	c.stmts[query] = s
	return s
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if s := c.stmt(ctx, query); s != nil {
		return s.stmt.ExecContext(ctx, args)
	}
	return c.inner.ExecContext(ctx, query, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s := c.stmt(ctx, query)
	if s == nil {
		return c.inner.QueryContext(ctx, query, args)
	}
	rows, err := s.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, stmt: s}, nil
}

func (c *cachingConn) Close() error {
	for _, s := range c.stmts {
		s.stmt.Close()
	}
	c.stmts = nil
	return c.inner.Close()
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) { return c.inner.Prepare(query) }
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.inner.PrepareContext(ctx, query)
}

//lint:ignore SA1019 driver.Conn requires Begin; database/sql calls BeginTx.
func (c *cachingConn) Begin() (driver.Tx, error) { return c.inner.Begin() }
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner.BeginTx(ctx, opts)
}
func (c *cachingConn) Ping(ctx context.Context) error         { return c.inner.Ping(ctx) }
func (c *cachingConn) ResetSession(ctx context.Context) error { return c.inner.ResetSession(ctx) }
func (c *cachingConn) IsValid() bool                          { return c.inner.IsValid() }

type cachedRows struct {
	driver.Rows
	stmt *cachedStmt
}

// Close resets the statement (modernc.org/sqlite keeps a prepared
// statement's handle for reuse) and frees it for the next use.
func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.stmt.busy = false
	return err
}
