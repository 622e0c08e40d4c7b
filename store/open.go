// Package store is Allot's database adapter: it implements allot.Service,
// allot.Processor and allot.Checker on SQLite (embedded, the default) with
// SQL written to run on PostgreSQL too. It owns every transaction, and so
// the one place where seats are counted.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/allot-dev/allot"
	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

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
	// db is the pool. Statements go through a txn (tx.go), which rebinds
	// them for the dialect; only the plumbing of Open and of the
	// checkpoints (stats.go, checkpoint.go) runs statements on it directly.
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
	// dsn is the PostgreSQL URL a listener connects with (listen.go).
	dsn     string
	channel string // PostgreSQL's channel of queued work (listen.go)
	// scheduledAt is when a busy ProcessBatch last looked for scheduled
	// steps (maybeRunScheduled).
	scheduledMu sync.Mutex
	scheduledAt time.Time
	// stopCheckpoints ends the SQLite file's checkpoint goroutine, which
	// closes checkpointDone; walGrew asks it for a checkpoint now. All nil
	// on PostgreSQL and in memory.
	stopCheckpoints, checkpointDone, walGrew chan struct{}
	walPath                                  string // the log's file, whose size the goroutine watches
	// checkpointed, when a test sets it before the checkpoint goroutine
	// starts, is told the log's frames and how many are copied back after
	// each of the goroutine's checkpoints.
	checkpointed func(frames, copied int)
	stopOnce     sync.Once
	// gate orders this process's writers on SQLite (writegate.go); nil on
	// PostgreSQL, whose row and advisory locks queue waiters themselves.
	gate *writeGate
	// lastTenant is the tenant whose work the last batch did: the next
	// batch serves the next tenant with work, round-robin (process.go).
	tenantMu   sync.Mutex
	lastTenant string
	// singleAudit writes processing's license changes one row per user,
	// as before migration 21: tests compare the two logs.
	singleAudit bool
	// batchHook, when a test sets it, runs inside each processing batch's
	// transaction once it has claimed a tenant ("" when none had work), so
	// a test can pause a walk mid-batch or act between claim and wake-up.
	batchHook func(tenantID string)
	// aheadHook, when a test sets it, runs each read ahead's reading (read),
	// on its goroutine, so a test can order it against other commits.
	aheadHook func(read func())
	// rules keeps parsed membership rules by text (dynamic.go), ruleCount
	// how many, so the cache is cleared before it grows without bound.
	rules     sync.Map
	ruleCount atomic.Int64
	// ahead reads a group walk's next batch while the current one is
	// evaluated and written (ahead.go); off for an in-memory database,
	// whose one connection the batch holds.
	ahead aheadReader
	// waits carries a tenant's waiting-room counts from one batch to the
	// next (waitcache.go).
	waits waitCache
	// auditSeq is the audit ids' sequence on PostgreSQL (auditSequence).
	auditSeqMu sync.Mutex
	auditSeq   string
}

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
	if dia == dialectPostgres {
		s.dsn = pgDSN(cfg.DSN)
	}
	if dia == dialectSQLite {
		s.gate = newWriteGate()
	}
	if err := retryBusy(ctx, func() error { return s.migrate(ctx) }); err != nil {
		sdb.Close()
		return nil, err
	}
	if dia == dialectPostgres {
		var schema string
		if err := sdb.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			sdb.Close()
			return nil, fmt.Errorf("schema: %w", err)
		}
		s.channel = workChannel(schema)
	}
	if err := retryBusy(ctx, func() error { return s.writeSQLiteStats(ctx) }); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("planner statistics: %w", err)
	}
	if err := s.loadCatalog(ctx, cfg.Catalog); err != nil {
		sdb.Close()
		return nil, err
	}
	_, memory := sqliteDSN(cfg.DSN)
	if dia == dialectSQLite && !memory {
		s.walPath = cfg.DSN + "-wal"
		s.stopCheckpoints, s.checkpointDone, s.walGrew = make(chan struct{}), make(chan struct{}), make(chan struct{}, 1)
		go s.checkpoints(checkpointEvery)
	}
	s.ahead.on = dia == dialectPostgres || !memory
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
		// database/sql keeps two idle connections by default and closes
		// the others as they come back. A SQLite connection carries its
		// page cache and its map of the file (sqliteMmapBytes), which a
		// closed one throws away: the next reads fault every page back
		// in, and the unmapping flushes the other core's TLB. A walk's
		// batch, its read ahead and the checkpoints hold three at once,
		// so at two idle one was closed and opened again every batch
		// (docs/PERFORMANCE.md, "Ninth round").
		db.SetMaxOpenConns(sqlitePoolSize)
		db.SetMaxIdleConns(sqlitePoolSize)
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
// so two writers queue instead of failing on lock upgrade. Temporary
// storage stays in files: in memory it made processing's statement
// journals a little cheaper, but every large sort (allot check at a million
// users) took its spill in the process's memory, 1.8 GiB at its peak.
func sqliteDSN(path string) (string, bool) {
	pragmas := "_pragma=busy_timeout(" + strconv.Itoa(sqliteBusyMs) + ")&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-32768)&_txlock=immediate"
	if path == ":memory:" || path == "" {
		return "file::memory:?" + pragmas, true
	}
	if strconv.IntSize == 64 {
		pragmas += "&_pragma=mmap_size(" + strconv.Itoa(sqliteMmapBytes) + ")"
	}
	return "file:" + path + "?" + pragmas + "&_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(" + strconv.Itoa(walBackstopPages) + ")", false
}

// sqliteBusyMs is how long a SQLite connection waits for a lock another
// process (or the checkpoint goroutine's truncation) holds.
const sqliteBusyMs = 10000

// sqliteMmapBytes is how much of a database file every connection reads
// through a memory map of its own instead of a read call per page: a group
// walk touches pages all over the file, and at 100,000 users the calls were
// 14% of the CPU; mapped, the assignment took 11% less time (docs/PERFORMANCE.md,
// "Eighth round"). A reader drops its map, as it drops its page cache, when
// another connection committed since its last transaction, and faults the
// pages in again; that still costs less than reading them again by calls
// (half the time unassigning 100,000 users, "Ninth round"). SQLite reads
// the file through the map and still writes through the log, so the mapped
// pages are the operating system's clean page cache, which a read call
// would fill as well; they show in the process's RSS but are reclaimed
// under memory pressure like any cache. 2 GiB is SQLite's own ceiling;
// 32-bit builds keep read calls, their address space being too small to
// map a database.
const sqliteMmapBytes = 2147418112

// sqlitePoolSize is the SQLite file's connections: one writer at a time,
// and readers beside it (requests, a walk's read ahead, checkpoints).
const sqlitePoolSize = 4

// Close closes the database.
func (s *DB) Close() error {
	s.ahead.wg.Wait()
	if s.stopCheckpoints != nil {
		s.stopOnce.Do(func() { close(s.stopCheckpoints) })
		<-s.checkpointDone
	}
	return s.db.Close()
}
