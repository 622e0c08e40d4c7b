// Package store is Allot's database adapter: it implements allot.Service,
// allot.Processor and allot.Checker on SQLite (embedded, the default) with
// SQL written to run on PostgreSQL too. It owns every transaction, and so
// the one place where seats are counted.
package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/bits"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/catalog"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Config configures a DB.
type Config struct {
	// DSN is a SQLite file path, or ":memory:" for a private in-memory database.
	DSN string
	// Catalog, when set, replaces the stored catalog on open (queueing every
	// licensed user if it differs). When nil the stored one is used.
	Catalog *allot.Catalog
	Now     func() time.Time
	// NewID makes object ids; tests set it so runs are reproducible.
	NewID  func() string
	Logger *slog.Logger
	// OnEnqueue is called after a transaction that queued work commits, so
	// an idle worker can wake at once instead of at its next poll.
	OnEnqueue func()
	// PasswordCost is the bcrypt cost of account passwords; 0 means
	// bcrypt.DefaultCost. Tests lower it.
	PasswordCost int
}

// DB is the store. It is safe for concurrent use.
type DB struct {
	db         *sql.DB
	now        func() time.Time
	newID      func() string
	log        *slog.Logger
	notify     func()
	mu         sync.RWMutex // guards cat and catVersion
	cat        *allot.Catalog
	catVersion string
	dialect    dialect
	pwCost     int
	// stopCheckpoints ends the SQLite file's checkpoint goroutine, which
	// closes checkpointDone; both nil on PostgreSQL and in memory.
	stopCheckpoints, checkpointDone chan struct{}
	stopOnce                        sync.Once
	// gate orders this process's writers on SQLite (writegate.go); nil on
	// PostgreSQL, whose row and advisory locks queue waiters themselves.
	gate *writeGate
	// lastTenant is the tenant whose work the last batch did: the next
	// batch serves the next tenant with work, round-robin (process.go).
	tenantMu   sync.Mutex
	lastTenant string
	// batchHook, when a test sets it, runs inside each processing batch's
	// transaction, so a test can pause a walk mid-batch.
	batchHook func()
}

type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

// Open opens the database, applies pending migrations and loads the catalog.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.NewID == nil {
		cfg.NewID = uuid.NewString
	}
	if cfg.OnEnqueue == nil {
		cfg.OnEnqueue = func() {}
	}
	sdb, dia, err := openSQL(cfg.DSN)
	if err != nil {
		return nil, err
	}
	s := &DB{db: sdb, dialect: dia, newID: cfg.NewID, now: func() time.Time { return cfg.Now().UTC() }, log: cfg.Logger, notify: cfg.OnEnqueue, pwCost: cfg.PasswordCost}
	if dia == dialectSQLite {
		s.gate = newWriteGate()
	}
	if err := retryBusy(ctx, func() error { return s.migrate(ctx) }); err != nil {
		sdb.Close()
		return nil, err
	}
	if err := retryBusy(ctx, func() error { return s.writeSQLiteStats(ctx) }); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("planner statistics: %w", err)
	}
	if err := s.loadCatalog(ctx, cfg.Catalog); err != nil {
		sdb.Close()
		return nil, err
	}
	if _, memory := sqliteDSN(cfg.DSN); dia == dialectSQLite && !memory {
		s.stopCheckpoints, s.checkpointDone = make(chan struct{}), make(chan struct{})
		go s.checkpoints()
	}
	return s, nil
}

// retryBusy retries fn while SQLite answers "database is locked" without
// waiting, as it may while another process opening the same new file
// switches it to WAL.
func retryBusy(ctx context.Context, fn func() error) error {
	for i := 0; ; i++ {
		err := fn()
		var se *sqlite.Error
		busy := errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY || errors.Is(err, errBusy)
		if err == nil || i == 100 || !busy {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func openSQL(dsn string) (*sql.DB, dialect, error) {
	if IsPostgres(dsn) {
		db, err := sql.Open("pgx", pgDSN(dsn))
		if err != nil {
			return nil, 0, fmt.Errorf("open postgres: %w", err)
		}
		db.SetMaxOpenConns(pgPoolSize(dsn))
		db.SetMaxIdleConns(pgPoolSize(dsn))
		db.SetConnMaxIdleTime(5 * time.Minute)
		return db, dialectPostgres, nil
	}
	path, memory := sqliteDSN(dsn)
	db, err := sql.Open(cachingSQLite, path)
	if err != nil {
		return nil, 0, fmt.Errorf("open %s: %w", dsn, err)
	}
	if memory {
		// Each connection to ":memory:" would be its own empty database.
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(4)
	}
	return db, dialectSQLite, nil
}

// pgDSN adds Allot's session defaults unless the URL sets them: a
// transaction left idle by a replica that hangs (rather than dies) is
// ended by the server, releasing its locks and claimed work.
func pgDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn // sql.Open reports it
	}
	q := u.Query()
	if q.Get("idle_in_transaction_session_timeout") == "" {
		q.Set("idle_in_transaction_session_timeout", "60000")
	}
	if q.Get("application_name") == "" {
		q.Set("application_name", "allot")
	}
	q.Del("pool_max_conns") // Allot's own setting, not a server parameter
	u.RawQuery = q.Encode()
	return u.String()
}

// pgPoolSize reads pool_max_conns from the DSN (pgx's own parameter name),
// defaulting to 10 connections per replica.
func pgPoolSize(dsn string) int {
	if u, err := url.Parse(dsn); err == nil {
		if n, err := strconv.Atoi(u.Query().Get("pool_max_conns")); err == nil && n > 0 {
			return n
		}
	}
	return 10
}

// sqliteDSN puts the pragmas in the DSN so every pooled connection gets
// them: busy_timeout before WAL, foreign keys, and immediate transactions
// so two writers queue instead of failing on lock upgrade.
func sqliteDSN(path string) (string, bool) {
	pragmas := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-32768)&_txlock=immediate"
	if path == ":memory:" || path == "" {
		return "file::memory:?" + pragmas, true
	}
	return "file:" + path + "?" + pragmas + "&_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(" + strconv.Itoa(walBackstopPages) + ")", false
}

// checkpointEvery is how often the write-ahead log is copied back into a
// SQLite database file. SQLite would do it in whichever commit crosses
// 1,000 pages, on that writer's path (3% of a large group's processing,
// and the membership-change p99); a goroutine of its own does it on the
// other core, without blocking readers or the writer (PASSIVE).
const checkpointEvery = time.Second

// walBackstopPages is where SQLite's own checkpoint still runs in the
// committing writer. Under continuous writing the goroutine's checkpoints
// always trail the last commit, and the log restarts from its beginning
// only after a checkpoint that caught up: without this backstop the file
// would grow by everything a long run writes. At 16,384 pages (64 MiB)
// the writer copies only what the goroutine has not yet, and the next
// transaction restarts the log.
const walBackstopPages = 16384

func (s *DB) checkpoints() {
	defer close(s.checkpointDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stopCheckpoints:
			return
		case <-t.C:
			if _, err := s.db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
				s.log.Warn("checkpoint of the write-ahead log failed", "err", err)
			}
		}
	}
}

// Close closes the database.
func (s *DB) Close() error {
	if s.stopCheckpoints != nil {
		s.stopOnce.Do(func() { close(s.stopCheckpoints) })
		<-s.checkpointDone
	}
	return s.db.Close()
}

// migrate applies pending migrations, each in one transaction. On
// PostgreSQL every step holds an advisory lock, so replicas started
// together apply each migration once, one replica at a time. A file named
// N_name.postgres.sql changes only PostgreSQL.
func (s *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: bad name", name)
		}
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			return err
		}
		if strings.HasSuffix(base, ".postgres.sql") && s.dialect != dialectPostgres {
			body = nil // recorded as applied, so versions stay in step across databases
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			if s.dialect == dialectPostgres {
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('allot:migrate'))`); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), version).Scan(&n); err != nil || n > 0 {
				return err
			}
			for _, stmt := range splitSQL(s.expand(string(body))) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("migration %s: %w", base, err)
				}
			}
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), version, fmtTime(s.now()))
			if err == nil {
				s.log.Info("applied migration", "version", version, "name", base)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// SchemaVersion is the newest migration applied.
func (s *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	return int(v.Int64), err
}

func (s *DB) expand(sqlText string) string {
	serial := "INTEGER PRIMARY KEY AUTOINCREMENT"
	if s.dialect == dialectPostgres {
		serial = "BIGSERIAL PRIMARY KEY"
	}
	return strings.ReplaceAll(sqlText, "{{serial}}", serial)
}

// splitSQL drops comment lines, then splits statements on semicolons.
func splitSQL(body string) []string {
	var lines []string
	for _, l := range strings.Split(body, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
			lines = append(lines, l)
		}
	}
	var out []string
	for _, stmt := range strings.Split(strings.Join(lines, "\n"), ";") {
		if strings.TrimSpace(stmt) != "" {
			out = append(out, strings.TrimSpace(stmt))
		}
	}
	return out
}

// q rewrites ? placeholders for the dialect in use.
func (s *DB) q(query string) string {
	if s.dialect != dialectPostgres {
		return query
	}
	var b strings.Builder
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

// tx runs fn in one transaction, committing when it returns nil. On
// PostgreSQL it first takes the caller's tenant lock, so that writes of one
// tenant are serialised as SQLite serialises all writes: seats are counted
// by one transaction at a time, whatever the number of replicas.
func (s *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	if tx := previewTx(ctx); tx != nil {
		// Inside a preview (store/preview.go): its transaction, which holds
		// the lock and is always rolled back, is the only one.
		return normalize(fn(tx))
	}
	if err := s.gate.enter(ctx); err != nil {
		return err
	}
	defer s.gate.leave()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return normalize(fmt.Errorf("begin: %w", err))
	}
	if a, ok := allot.ActorFromContext(ctx); ok && a.TenantID != "" {
		if err := s.lockTenant(ctx, tx, a.TenantID); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return normalize(err)
	}
	if err := tx.Commit(); err != nil {
		return normalize(fmt.Errorf("commit: %w", err))
	}
	return nil
}

// lockTenant takes the tenant's write lock until the transaction ends
// (and so also when the replica holding it dies and its connection drops).
func (s *DB) lockTenant(ctx context.Context, tx *sql.Tx, tenantID string) error {
	if s.dialect != dialectPostgres {
		return nil // SQLite: the immediate transaction already holds the write lock
	}
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "tenant:"+tenantID)
	return err
}

// tryLockTenant is lockTenant without waiting.
func (s *DB) tryLockTenant(ctx context.Context, tx *sql.Tx, tenantID string) (bool, error) {
	if s.dialect != dialectPostgres {
		return true, nil
	}
	var ok bool
	err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock(hashtext($1))`, "tenant:"+tenantID).Scan(&ok)
	return ok, err
}

// normalize turns driver errors callers can act on into domain errors.
func normalize(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return allot.Errorf(allot.ECONFLICT, "Another object with the same value already exists.")
		}
	}
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY {
		// Another process holds the file's write lock past busy_timeout.
		return errBusy
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return allot.Errorf(allot.ECONFLICT, "Another object with the same value already exists.")
	}
	return err
}

const timeLayout = "2006-01-02T15:04:05.000000000Z"

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(timeLayout, s)
	return t
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// strList reads a JSON array of strings. Processing reads one or two per
// state and per user, so the shapes Allot writes are split directly
// instead of through encoding/json.
func strList(s string) []string {
	if out, ok := splitPlainList(s); ok {
		return out
	}
	var out []string
	_ = json.Unmarshal([]byte(s), &out)
	if out == nil {
		out = []string{}
	}
	return out
}

// splitPlainList reads ["a","b"] without spaces or escapes, where every
// quote delimits a string; ok is false for any other text.
func splitPlainList(s string) (out []string, ok bool) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, false
	}
	for i := range len(s) {
		if c := s[i]; c <= ' ' || c >= 0x80 || c == '\\' {
			return nil, false // escapes, spacing, UTF-8: encoding/json decides
		}
	}
	out = []string{}
	body := s[1 : len(s)-1]
	for body != "" {
		end := strings.IndexByte(body[1:], '"')
		if body[0] != '"' || end < 0 {
			return nil, false
		}
		out = append(out, body[1:1+end])
		body = body[2+end:]
		if body != "" {
			if body[0] != ',' || len(body) == 1 {
				return nil, false
			}
			body = body[1:]
		}
	}
	return out, true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// in returns the condition "IN (?, ?, …)" for ids with its arguments; on
// PostgreSQL "= ANY(?)" with the ids as one text[] argument, which is
// parsed and planned once whatever the number of ids.
func (s *DB) in(ids []string) (string, []any) {
	if s.dialect == dialectPostgres {
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

// actor returns the tenant actor of ctx, or an error when there is none.
func actorOf(ctx context.Context) (allot.Actor, error) {
	a, ok := allot.ActorFromContext(ctx)
	if !ok || a.TenantID == "" {
		return a, allot.Errorf(allot.EFORBIDDEN, "Insufficient privileges to complete the operation.")
	}
	return a, nil
}

func actorName(ctx context.Context) string {
	a, _ := allot.ActorFromContext(ctx)
	switch {
	case a.Name != "":
		return a.Name
	case a.Operator:
		return "operator"
	}
	return "Allot group-based licensing"
}

// Catalog returns the catalog in force.
func (s *DB) Catalog() *allot.Catalog { return s.catalogIn(context.Background(), s.db) }

// catalogIn returns the catalog in force as q sees it. Another replica may
// have replaced it: a one-row read of its version tells, and only then is
// it reloaded. Inside a transaction pass the transaction, since an
// in-memory database has a single connection.
func (s *DB) catalogIn(ctx context.Context, q rowQueryer) *allot.Catalog {
	s.mu.RLock()
	cat, current := s.cat, s.catVersion
	s.mu.RUnlock()
	var version, body string
	if err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'catalog_version'`).Scan(&version); err != nil || version == current {
		return cat
	}
	if err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'catalog'`).Scan(&body); err != nil {
		s.log.Error("reloading the catalog", "err", err)
		return cat
	}
	c, err := catalog.Parse(strings.NewReader(body))
	if err != nil {
		s.log.Error("reloading the catalog", "err", err)
		return cat
	}
	s.mu.Lock()
	s.cat, s.catVersion = c, version
	s.mu.Unlock()
	return c
}

func (s *DB) loadCatalog(ctx context.Context, given *allot.Catalog) error {
	var stored, version string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'catalog'`).Scan(&stored)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'catalog_version'`).Scan(&version); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if given == nil {
		if stored == "" {
			given = catalog.Demo()
		} else {
			c, err := catalog.Parse(strings.NewReader(stored))
			if err != nil {
				return fmt.Errorf("stored catalog: %w", err)
			}
			s.mu.Lock()
			s.cat, s.catVersion = c, version
			s.mu.Unlock()
			return nil
		}
	}
	return s.setCatalog(ctx, given, stored)
}

// ReplaceCatalog installs a new catalog (docs/RULES.md §2.3.3) in one transaction:
// it refuses to drop a SKU that a subscription or an assignment uses, drops
// plans a SKU loses from the disabledPlans of its assignments (a plan a SKU
// gains is enabled, since assignments list what is off), and queues the
// users holding or assigned a SKU whose plans or plan rules changed.
func (s *DB) ReplaceCatalog(ctx context.Context, c *allot.Catalog) error {
	if c == nil {
		return allot.Errorf(allot.EINVALID, "A catalog is required.")
	}
	return s.setCatalog(ctx, c, "")
}

func (s *DB) setCatalog(ctx context.Context, c *allot.Catalog, stored string) error {
	body, err := catalog.Marshal(c)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	version := hex.EncodeToString(sum[:])
	if string(body) == stored {
		s.mu.Lock()
		s.cat, s.catVersion = c, version
		s.mu.Unlock()
		return nil
	}
	// s.mu is not held across the transaction: a batch in progress reads
	// the catalog while holding the database's write lock.
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if s.dialect == dialectPostgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('allot:catalog'))`); err != nil {
				return err
			}
			// Every tenant's write lock too (SQLite's immediate transaction
			// already excludes other writers), so that no subscription or
			// assignment of a SKU this catalog drops commits meanwhile.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('tenant:' || id)) FROM (SELECT id FROM tenants ORDER BY id) t`); err != nil {
				return err
			}
		}
		old, err := s.storedCatalog(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.refuseDroppedSKUsInUse(ctx, tx, old, c); err != nil {
			return err
		}
		if err := s.refuseConflictingGroups(ctx, tx, c); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM settings WHERE key IN ('catalog', 'catalog_version')`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO settings (key, value) VALUES ('catalog', ?), ('catalog_version', ?)`), string(body), version); err != nil {
			return err
		}
		if old == nil {
			// Nothing to compare with: every user with a unit or a state,
			// in every tenant.
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO work (tenant_id, kind, target_id, enqueued_at)
				SELECT DISTINCT tenant_id, 'user', user_id, CAST(? AS TEXT) FROM (
					SELECT tenant_id, user_id FROM license_states
					UNION SELECT m.tenant_id, m.member_id FROM memberships m JOIN assignments a ON a.tenant_id = m.tenant_id AND a.target_id = m.group_id
					UNION SELECT tenant_id, target_id FROM assignments WHERE target_kind = 'user') x`), fmtTime(s.now()))
			return err
		}
		d := catalog.Compare(old, c)
		if err := s.pruneDisabledPlans(ctx, tx, d); err != nil {
			return err
		}
		return s.enqueueSKUHolders(ctx, tx, d.Reevaluate())
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.cat, s.catVersion = c, version
	s.mu.Unlock()
	s.notify()
	return nil
}

// storedCatalog returns the catalog the database holds as tx sees it, nil
// when it holds none (or one that no longer parses: then everything is
// treated as changed).
func (s *DB) storedCatalog(ctx context.Context, tx *sql.Tx) (*allot.Catalog, error) {
	var version, body string
	err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'catalog_version'`).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	s.mu.RLock()
	cat, current := s.cat, s.catVersion
	s.mu.RUnlock()
	if cat != nil && version == current {
		return cat, nil
	}
	err = tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'catalog'`).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	c, err := catalog.Parse(strings.NewReader(body))
	if err != nil {
		s.log.Error("the stored catalog does not parse; replacing it", "err", err)
		return nil, nil
	}
	return c, nil
}

// refuseDroppedSKUsInUse refuses a catalog without a SKU that a tenant
// subscribes to or that is assigned: their seats and licenses would name
// a product the server no longer knows.
// refuseConflictingGroups refuses a catalog under which the SKUs of one
// group's assignment would conflict with each other, as assignLicense
// refuses such a request: a group unit is granted as a whole, so no
// evaluation could keep both SKUs' plans apart (docs/RULES.md, catalog
// changes). Other rule changes (availability, dependencies, mailbox plans, a
// SKU's plans) are restored by re-evaluating the holders.
func (s *DB) refuseConflictingGroups(ctx context.Context, tx *sql.Tx, c *allot.Catalog) error {
	rows, err := tx.QueryContext(ctx, `SELECT a.tenant_id, a.target_id, g.display_name, a.sku_id, a.disabled_plans FROM assignments a
		JOIN dir_groups g ON g.tenant_id = a.tenant_id AND g.id = a.target_id
		WHERE a.target_kind = 'group' ORDER BY a.tenant_id, a.target_id, a.sku_id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var tenant, group, name string
	var lics []allot.AssignedLicense
	check := func() error {
		if len(lics) < 2 {
			return nil
		}
		if p, q, ok := conflictingPlans(c, lics); ok {
			return allot.Errorf(allot.EINVALID, "The catalog would make the licenses assigned to group %q (%s) conflict: service plans %s and %s would be mutually exclusive. Change the group's licenses first.", name, group, planName(c, p), planName(c, q))
		}
		return nil
	}
	for rows.Next() {
		var t, g, n, sku, disabled string
		if err := rows.Scan(&t, &g, &n, &sku, &disabled); err != nil {
			return err
		}
		if t != tenant || g != group {
			if err := check(); err != nil {
				return err
			}
			tenant, group, name, lics = t, g, n, nil
		}
		lics = append(lics, allot.AssignedLicense{SkuID: sku, DisabledPlans: strList(disabled)})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return check()
}

func (s *DB) refuseDroppedSKUsInUse(ctx context.Context, tx *sql.Tx, old, c *allot.Catalog) error {
	var dropped []string
	if old != nil {
		for id := range old.SKUs {
			if c.SKUs[id] == nil {
				dropped = append(dropped, id)
			}
		}
	} else {
		rows, err := tx.QueryContext(ctx, `SELECT sku_id FROM subscriptions UNION SELECT sku_id FROM assignments`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			if c.SKUs[id] == nil {
				dropped = append(dropped, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	if len(dropped) == 0 {
		return nil
	}
	slices.Sort(dropped)
	subs, assigned := map[string]int{}, map[string]int{}
	for _, part := range chunks(dropped, 500) {
		for _, q := range []struct {
			table string
			n     map[string]int
		}{{"subscriptions", subs}, {"assignments", assigned}} {
			frag, args := s.in(part)
			rows, err := tx.QueryContext(ctx, s.q(`SELECT sku_id, COUNT(*) FROM `+q.table+` WHERE sku_id `+frag+` GROUP BY sku_id`), args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id string
				var n int
				if err := rows.Scan(&id, &n); err != nil {
					rows.Close()
					return err
				}
				q.n[id] = n
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
	}
	var used []string
	for _, id := range dropped {
		if subs[id]+assigned[id] == 0 {
			continue
		}
		name := id
		if old != nil && old.SKUs[id] != nil {
			name = fmt.Sprintf("%s (%s)", old.SKUs[id].PartNumber, id)
		}
		used = append(used, fmt.Sprintf("%s has %s and %s", name, plural(subs[id], "subscription"), plural(assigned[id], "license assignment")))
	}
	if len(used) == 0 {
		return nil
	}
	more := ""
	if len(used) > 5 {
		more = fmt.Sprintf(" and %d more SKUs are in use", len(used)-5)
		used = used[:5]
	}
	return allot.Errorf(allot.ECONFLICT, "The new catalog leaves out SKUs in use: %s%s. A SKU must stay in the catalog while a tenant subscribes to it or a license assigns it.", strings.Join(used, "; "), more)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// pruneDisabledPlans drops, from the assignments of SKUs that lose plans,
// the lost plans: disabledPlans lists plans of the SKU that are off, and a
// plan the SKU no longer has is neither.
func (s *DB) pruneDisabledPlans(ctx context.Context, tx *sql.Tx, d *catalog.Diff) error {
	for _, sc := range d.ChangedSKUs {
		if len(sc.RemovedPlans) == 0 {
			continue
		}
		type row struct{ tenant, target, disabled string }
		var changed []row
		rows, err := tx.QueryContext(ctx, s.q(`SELECT tenant_id, target_id, disabled_plans FROM assignments WHERE sku_id = ? AND disabled_plans <> '[]'`), sc.New.ID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.tenant, &r.target, &r.disabled); err != nil {
				rows.Close()
				return err
			}
			before := strList(r.disabled)
			after := slices.DeleteFunc(slices.Clone(before), func(p string) bool { return slices.Contains(sc.RemovedPlans, p) })
			if len(after) != len(before) {
				r.disabled = toJSON(after)
				changed = append(changed, r)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range changed {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE assignments SET disabled_plans = ? WHERE tenant_id = ? AND target_id = ? AND sku_id = ?`), r.disabled, r.tenant, r.target, sc.New.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// enqueueSKUHolders queues every user with a state for one of skus, a
// direct assignment of one, or membership of a group assigned one: the
// users whose evaluation reads those SKUs.
func (s *DB) enqueueSKUHolders(ctx context.Context, tx *sql.Tx, skus []string) error {
	now := fmtTime(s.now())
	for _, part := range chunks(skus, 500) {
		frag, args := s.in(part)
		all := append([]any{now}, args...)
		all = append(all, args...)
		all = append(all, args...)
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO work (tenant_id, kind, target_id, enqueued_at)
			SELECT DISTINCT tenant_id, 'user', user_id, CAST(? AS TEXT) FROM (
				SELECT tenant_id, user_id FROM license_states WHERE sku_id `+frag+`
				UNION SELECT m.tenant_id, m.member_id FROM memberships m JOIN assignments a ON a.tenant_id = m.tenant_id AND a.target_id = m.group_id
					WHERE m.member_kind = 'user' AND a.target_kind = 'group' AND a.sku_id `+frag+`
				UNION SELECT tenant_id, target_id FROM assignments WHERE target_kind = 'user' AND sku_id `+frag+`) x`), all...)
		if err != nil {
			return err
		}
	}
	return nil
}

// planName is a plan's name with its id, for messages.
func planName(c *allot.Catalog, id string) string {
	if p := c.Plans[id]; p != nil && p.Name != "" {
		return p.Name + " (" + id + ")"
	}
	return id
}
