package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/allot-dev/allot"
)

// dialect is the SQL of the database in use. The store's statements are
// written once, with ? placeholders, in SQL both databases accept.
type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

// rebind rewrites ? placeholders as $1, $2, … for PostgreSQL.
func (d dialect) rebind(query string) string {
	if d != dialectPostgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// q rebinds a query for a statement run on s.db outside any transaction,
// which only tests do.
func (s *DB) q(query string) string { return s.dialect.rebind(query) }

// txn is a transaction of the store, and the only way its statements
// reach the database: its methods rebind placeholders for the dialect, so
// no statement can be sent to PostgreSQL with the ? it does not read. The
// connection is a field rather than embedded for that reason: its own
// ExecContext and QueryContext are not methods of txn.
type txn struct {
	conn    conn // a *sql.Tx, or the pool for a read on PostgreSQL (readTx)
	dialect dialect
	// queued is set by a statement that adds work: on PostgreSQL the
	// commit then notifies the other replicas' listeners (listen.go).
	queued bool
	// raw is the connection of a PostgreSQL write transaction, for COPY.
	raw *sql.Conn
	// inputs is set by a statement that may change what a batch reads
	// ahead (notInputs); tenant is the tenant a processing batch claimed.
	// The commit then bumps that tenant's input generation (store/ahead.go).
	inputs bool
	tenant string
	// states is set by a statement that writes license_states: the commit
	// then bumps the tenant's states generation. statesOf are the users
	// whose states writeStates wrote (writingStates while it does);
	// strayStates is set by any other write to them. A commit with no stray
	// write records which users its states generation is about, so that a
	// walk's next batch keeps the states it read ahead of other users.
	states, writingStates, strayStates bool
	statesOf                           []string
	// waits are the waiting-room counts its batches used (waitcache.go).
	waits waitCountsOf
	// analyze lists the tables whose PostgreSQL statistics the commit
	// refreshes (analyzeAfterCommit).
	analyze []string
}

// conn is what runs a txn's statements.
type conn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (tx *txn) postgres() bool { return tx.dialect == dialectPostgres }

// Exec runs a statement that returns no rows.
func (tx *txn) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	// Every statement that queues work is an INSERT INTO work, so
	// marking it here cannot miss a new one.
	if strings.HasPrefix(strings.TrimLeft(query, " \t\n"), "INSERT INTO work ") {
		tx.queued = true
	}
	tx.noteWrite(query)
	return tx.conn.ExecContext(ctx, tx.dialect.rebind(query), args...)
}

// Query runs a statement that returns rows.
func (tx *txn) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	tx.noteWrite(query)
	return tx.conn.QueryContext(ctx, tx.dialect.rebind(query), args...)
}

// QueryRow runs a statement that returns at most one row.
func (tx *txn) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	tx.noteWrite(query)
	return tx.conn.QueryRowContext(ctx, tx.dialect.rebind(query), args...)
}

// execVerbatim runs a statement as written, without rebinding. Migrations
// use it: their text is written per dialect ({{serial}}, files named
// .postgres.sql), and a ? in it is SQL (PostgreSQL's jsonb operator), not a
// placeholder.
func (tx *txn) execVerbatim(ctx context.Context, stmt string) error {
	_, err := tx.conn.ExecContext(ctx, stmt)
	return err
}

// tx runs fn in one transaction, committing when it returns nil. On
// PostgreSQL it first takes the caller's tenant lock, so that writes of one
// tenant are serialised as SQLite serialises all writes: seats are counted
// by one transaction at a time, whatever the number of replicas.
func (s *DB) tx(ctx context.Context, fn func(*txn) error) error {
	if err := s.gate.enter(ctx); err != nil {
		return err
	}
	defer s.gate.leave()
	// On PostgreSQL the transaction runs on a connection of its own, so
	// that a bulk insert can reach the driver for COPY (copyRows).
	var c *sql.Conn
	var sqlTx *sql.Tx
	var err error
	if s.dialect == dialectPostgres {
		if c, err = s.db.Conn(ctx); err != nil {
			return normalize(fmt.Errorf("connect: %w", err))
		}
		defer c.Close()
		sqlTx, err = c.BeginTx(ctx, nil)
	} else {
		sqlTx, err = s.db.BeginTx(ctx, nil)
	}
	if err != nil {
		return normalize(fmt.Errorf("begin: %w", err))
	}
	tx := &txn{conn: sqlTx, dialect: s.dialect, raw: c}
	if a, ok := allot.ActorFromContext(ctx); ok && a.TenantID != "" {
		if err := tx.lockTenant(ctx, a.TenantID); err != nil {
			sqlTx.Rollback()
			return err
		}
	}
	if err := fn(tx); err != nil {
		sqlTx.Rollback()
		return normalize(err)
	}
	var statesGen int64
	if tx.states {
		if scope := tx.inputScope(ctx); scope == "" {
			tx.inputs = true // no tenant to bump the states of: every read ahead is stale
		} else if statesGen, err = bumpGen(ctx, sqlTx, s.dialect, statesScope(scope)); err != nil {
			sqlTx.Rollback()
			return normalize(fmt.Errorf("states generation: %w", err))
		}
	}
	if tx.inputs {
		if _, err := bumpGen(ctx, sqlTx, s.dialect, tx.inputScope(ctx)); err != nil {
			sqlTx.Rollback()
			return normalize(fmt.Errorf("input generation: %w", err))
		}
	}
	if tx.queued && tx.postgres() {
		// Delivered at commit, and only if it commits.
		if _, err := sqlTx.ExecContext(ctx, `NOTIFY `+s.channel); err != nil {
			sqlTx.Rollback()
			return normalize(fmt.Errorf("notify: %w", err))
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return normalize(fmt.Errorf("commit: %w", err))
	}
	if statesGen > 0 && !tx.strayStates {
		s.ahead.wroteStates(tx.inputScope(ctx), statesGen, tx.statesOf)
	}
	s.committedWaitCounts(tx, tx.inputScope(ctx), statesGen)
	if len(tx.analyze) > 0 {
		if err := s.analyzePostgres(ctx, tx.analyze...); err != nil {
			s.log.Warn("ANALYZE after a commit failed", "tables", tx.analyze, "err", err)
		}
	}
	return nil
}

// analyzeAfterCommit has the commit refresh PostgreSQL's statistics of a
// table the transaction grew by a lot (analyzePostgres says why after it).
// A transaction that rolls back, a preview's, analyzes nothing.
func (tx *txn) analyzeAfterCommit(table string) {
	if tx.postgres() && !slices.Contains(tx.analyze, table) {
		tx.analyze = append(tx.analyze, table)
	}
}

// bulkQueue is the number of users queued at once from which PostgreSQL's
// statistics of the queue are refreshed.
const bulkQueue = 1000

// readTx runs fn's reads. On SQLite they run in a deferred, read-only
// transaction, always rolled back: a snapshot of the write-ahead log, so
// the reads of one request agree with each other, and a long read never
// holds the write lock that writers queue for. On PostgreSQL, at READ
// COMMITTED, a transaction would give each statement its own snapshot all
// the same, and its BEGIN and ROLLBACK would cost two more round trips per
// read (Authenticate: 60 µs without, 225 µs with), so the reads go to the
// pool as they come. Not nested in another transaction: an in-memory
// database has a single connection.
func (s *DB) readTx(ctx context.Context, fn func(*txn) error) error {
	if s.dialect == dialectPostgres {
		return fn(&txn{conn: s.db, dialect: s.dialect})
	}
	sqlTx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer sqlTx.Rollback()
	return fn(&txn{conn: sqlTx, dialect: s.dialect})
}

// read is readTx for a read that returns a value.
func read[T any](ctx context.Context, s *DB, fn func(*txn) (T, error)) (T, error) {
	var out T
	err := s.readTx(ctx, func(tx *txn) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out, err
}

// lockTenant takes the tenant's write lock until the transaction ends
// (and so also when the replica holding it dies and its connection drops).
func (tx *txn) lockTenant(ctx context.Context, tenantID string) error {
	if !tx.postgres() {
		return nil // SQLite: the immediate transaction already holds the write lock
	}
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext(?))`, "tenant:"+tenantID)
	return err
}

// tryLockTenant is lockTenant without waiting.
func (tx *txn) tryLockTenant(ctx context.Context, tenantID string) (bool, error) {
	if !tx.postgres() {
		return true, nil
	}
	var ok bool
	err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtext(?))`, "tenant:"+tenantID).Scan(&ok)
	return ok, err
}

// skipLocked claims rows on PostgreSQL; SQLite's single writer needs none.
func (tx *txn) skipLocked() string {
	if tx.postgres() {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// planForValues returns a query's arguments so that PostgreSQL plans it
// for their values at each execution, as it does a query's first five,
// rather than once for any values. A list of ids is one array argument
// (in), and a plan for any array checks a row against each of its
// elements, where a plan for a given one hashes it. SQLite plans no
// differently.
func (tx *txn) planForValues(args ...any) []any {
	if tx.postgres() {
		return append([]any{pgx.QueryExecModeCacheDescribe}, args...)
	}
	return args
}

// in returns the condition "IN (?, ?, …)" for ids with its arguments; on
// PostgreSQL "= ANY(?)" with the ids as one text[] argument, which is
// parsed and planned once whatever the number of ids.
func (tx *txn) in(ids []string) (string, []any) {
	if tx.postgres() {
		return "= ANY(CAST(? AS TEXT[]))", []any{pgTextArray(ids)}
	}
	// Padded with the last id to a power of two, so that lists of many
	// lengths share a few statement texts, which stay compiled
	// (store/sqlitecache.go); a repeated value does not change IN.
	args := anys(ids)
	if n := len(ids); n > 0 && n <= 512 {
		for len(args) < 1<<bits.Len(uint(n-1)) {
			args = append(args, ids[n-1])
		}
	}
	return "IN (" + placeholders(len(args)) + ")", args
}

// each runs query once per chunk of ids; query has one "IN (%s)" for the
// list, and args are placed before the ids.
func (tx *txn) each(ctx context.Context, query string, ids []string, args []any, scan func(*sql.Rows) error) error {
	for _, part := range chunks(ids, 500) {
		frag, fargs := tx.in(part)
		a := append(append([]any{}, args...), fargs...)
		rows, err := tx.Query(ctx, strings.Replace(query, "IN (%s)", frag, 1), a...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// queryIDs returns the one column of a query's rows; never nil, as the
// SCIM responses list them.
func (tx *txn) queryIDs(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// idSet runs a query with an IN (%s) list of ids, as each does, and
// returns the set of its one column.
func (tx *txn) idSet(ctx context.Context, query string, ids []string, args ...any) (map[string]bool, error) {
	set := map[string]bool{}
	err := tx.each(ctx, query, ids, args, func(rows *sql.Rows) error {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		set[id] = true
		return nil
	})
	return set, err
}

// insertRows inserts rows with multi-row VALUES statements; on PostgreSQL
// with one INSERT … SELECT FROM unnest(arrays), one array per column.
func (tx *txn) insertRows(ctx context.Context, prefix string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	tx.noteWrite(prefix) // COPY does not pass through Exec
	table, cols, bulk := copyTarget(prefix)
	if tx.postgres() {
		if bulk && tx.raw != nil && len(rows) >= copyMinRows {
			return tx.copyRows(ctx, table, cols, rows)
		}
		return tx.insertUnnest(ctx, prefix, rows)
	}
	// SQLite keeps a statement journal for a statement that writes several
	// rows and may fail halfway on a constraint: the first image of every
	// page the statement touches, written to a temporary file, so that the
	// failing statement alone can be undone. Processing's bulk rows never
	// break a constraint unless Allot has a bug, and then the whole
	// transaction must go anyway; so for those tables a constraint skips
	// the row (OR IGNORE, which cannot fail halfway and needs no journal)
	// and a short count fails the transaction instead. Inserting states,
	// the journals were a third of the bytes written (docs/PERFORMANCE.md,
	// "Ninth round").
	if bulk {
		prefix = strings.Replace(prefix, "INSERT INTO ", "INSERT OR IGNORE INTO ", 1)
	}
	per := max(1, 900/len(rows[0]))
	for len(rows) > 0 {
		n := min(per, len(rows))
		var sb strings.Builder
		sb.WriteString(prefix)
		args := make([]any, 0, n*len(rows[0]))
		for i, r := range rows[:n] {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(" + placeholders(len(r)) + ")")
			args = append(args, r...)
		}
		res, err := tx.Exec(ctx, sb.String(), args...)
		if err != nil {
			return err
		}
		if bulk {
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if k != int64(n) {
				return fmt.Errorf("insert into %s: %d of %d rows written, the others broke a constraint", table, k, n)
			}
		}
		rows = rows[n:]
	}
	return nil
}

// copyMinRows is the fewest rows copyRows sends: below it, COPY's extra
// round trip (pgx first reads the columns' types) costs more than it saves.
const copyMinRows = 64

// copyTables are the tables processing fills in bulk, which insertRows
// fills by COPY on PostgreSQL and without statement journals on SQLite.
// Not the work queue: its inserts must pass through Exec, which marks the
// transaction for a NOTIFY.
var copyTables = map[string]bool{"license_states": true, "audit": true, "audit_users": true}

// copyTarget reads the table and columns of insertRows' prefix,
// "INSERT INTO t (a, b) VALUES ", when t is one of copyTables.
func copyTarget(prefix string) (string, []string, bool) {
	rest, ok := strings.CutPrefix(prefix, "INSERT INTO ")
	if !ok {
		return "", nil, false
	}
	table, rest, ok := strings.Cut(rest, " (")
	if !ok || !copyTables[table] {
		return "", nil, false
	}
	list, rest, ok := strings.Cut(rest, ")")
	if !ok || strings.TrimSpace(rest) != "VALUES" {
		return "", nil, false
	}
	cols := strings.Split(list, ",")
	for i, c := range cols {
		cols[i] = strings.TrimSpace(c)
	}
	return table, cols, true
}

// copyRows is insertRows by COPY, in the transaction's session: the
// server's fastest way in for a batch of a large group's states and audit
// lines (docs/PERFORMANCE.md, "Second round").
func (tx *txn) copyRows(ctx context.Context, table string, cols []string, rows [][]any) error {
	return tx.raw.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy: the driver's connection is a %T", dc)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		return err
	})
}

// insertUnnest is insertRows for PostgreSQL: the columns travel as arrays,
// so a batch of any size is one statement with one parameter per column.
func (tx *txn) insertUnnest(ctx context.Context, prefix string, rows [][]any) error {
	cols := len(rows[0])
	args := make([]any, cols)
	casts := make([]string, cols)
	for c := range cols {
		switch rows[0][c].(type) {
		case int, int64:
			a := make([]int64, len(rows))
			for i, r := range rows {
				a[i] = toInt64(r[c])
			}
			args[c], casts[c] = a, "CAST(? AS BIGINT[])"
		default:
			a := make([]string, len(rows))
			for i, r := range rows {
				if v, ok := r[c].(string); ok {
					a[i] = v
				} else {
					a[i] = fmt.Sprint(r[c])
				}
			}
			args[c], casts[c] = pgTextArray(a), "CAST(? AS TEXT[])"
		}
	}
	query := strings.Replace(prefix, "VALUES ", "SELECT * FROM unnest("+strings.Join(casts, ", ")+")", 1)
	_, err := tx.Exec(ctx, query, args...)
	return err
}

// pgTextArray writes a text[] literal, every element quoted. The server
// parses it faster than pgx encodes a []string in binary through
// reflection (9% of the client's time processing a large group).
func pgTextArray(xs []string) string {
	n := 2
	for _, x := range xs {
		n += len(x) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		for j := range len(x) {
			if x[j] == '"' || x[j] == '\\' {
				b = append(b, '\\')
			}
			b = append(b, x[j])
		}
		b = append(b, '"')
	}
	return string(append(b, '}'))
}

func toInt64(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	}
	return 0
}

// placeholders returns "?, ?, …" for n values.
func placeholders(n int) string {
	if n <= 0 {
		return "NULL"
	}
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func anys(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// chunks splits ids so no statement exceeds the databases' parameter limits.
func chunks(ids []string, size int) [][]string {
	var out [][]string
	for len(ids) > size {
		out = append(out, ids[:size])
		ids = ids[size:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}
