package store

import (
	"context"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
)

// Every planner statistic installed on SQLite names an index of the
// migrated schema: a statistic whose index was renamed or rebuilt under
// another name would leave the planner guessing again, silently.
func TestSQLiteStatsNameIndexes(t *testing.T) {
	if testdb.Postgres() {
		t.Skip("planner statistics are SQLite's")
	}
	ctx := context.Background()
	db, err := Open(ctx, Config{DSN: testdb.DSN(t, false), Catalog: allot.NewCatalog(nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, st := range sqliteStats {
		// A WITHOUT ROWID table is its primary key's index, whose
		// statistics go by the table's name.
		var n int
		if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE tbl_name = ?1 AND name = ?2
			AND (type = 'index' OR type = 'table' AND name = ?1 AND sql LIKE '%WITHOUT ROWID')`, st[0], st[1]).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("statistics for %s.%s, which is no index", st[0], st[1])
		}
	}
}
