package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrate applies pending migrations, each in one transaction. On
// PostgreSQL every step holds an advisory lock, so replicas started
// together apply each migration once, one replica at a time. A file named
// N_name.postgres.sql changes only PostgreSQL, N_name.sqlite.sql only SQLite.
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
		if strings.HasSuffix(base, ".postgres.sql") && s.dialect != dialectPostgres ||
			strings.HasSuffix(base, ".sqlite.sql") && s.dialect != dialectSQLite {
			body = nil // recorded as applied, so versions stay in step across databases
		}
		err = s.tx(ctx, func(tx *txn) error {
			if s.dialect == dialectPostgres {
				if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('allot:migrate'))`); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil || n > 0 {
				tx.inputs = false // applied before: nothing changes
				return err
			}
			for _, stmt := range splitSQL(s.expand(string(body))) {
				if err := tx.execVerbatim(ctx, stmt); err != nil {
					return fmt.Errorf("migration %s: %w", base, err)
				}
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, fmtTime(s.now()))
			// A migration may rewrite any table, so it makes every read
			// ahead stale (ahead.go); before the generations' own migration
			// there are none to bump.
			tx.inputs = version >= inputGensVersion
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
	err := s.readTx(ctx, func(tx *txn) error { return tx.QueryRow(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v) })
	return int(v.Int64), err
}

func (s *DB) expand(sqlText string) string {
	// {{id}} is a column of ids, compared byte by byte (migration 8);
	// {{without_rowid}} makes a table its primary key's index on SQLite.
	r := strings.NewReplacer("{{serial}}", "INTEGER PRIMARY KEY AUTOINCREMENT", "{{id}}", "TEXT", "{{without_rowid}}", " WITHOUT ROWID")
	if s.dialect == dialectPostgres {
		r = strings.NewReplacer("{{serial}}", "BIGSERIAL PRIMARY KEY", "{{id}}", `TEXT COLLATE "C"`, "{{without_rowid}}", "")
	}
	return r.Replace(sqlText)
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
