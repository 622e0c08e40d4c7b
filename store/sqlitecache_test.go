package store

import (
	"context"
	"database/sql"
	"testing"
)

// A cached statement whose rows are still open must not be reused: the
// same query run inside the loop over its own rows gets its own statement.
func TestCachedStatementInUse(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open(cachingSQLite, "file::memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for n := range 3 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO t (n) VALUES (?)`, n); err != nil {
			t.Fatal(err)
		}
	}
	const q = `SELECT n FROM t WHERE n >= ? ORDER BY n`
	rows, err := tx.QueryContext(ctx, q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var outer, inner []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		outer = append(outer, n)
		if err := tx.QueryRowContext(ctx, q, 2).Scan(&n); err != nil {
			t.Fatal(err)
		}
		inner = append(inner, n)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if len(outer) != 3 || outer[2] != 2 || len(inner) != 3 || inner[0] != 2 {
		t.Fatalf("outer %v, inner %v", outer, inner)
	}
	// The rolled-back rows are gone, and the cached statements see it.
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	var count int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM t WHERE n >= ?`, 0).Scan(&count); err != nil || count != 0 {
		t.Fatalf("count %d, %v", count, err)
	}
	// A bad statement reports its error and is not cached.
	for range 2 {
		if _, err := db.ExecContext(ctx, `INSERT INTO missing VALUES (1)`); err == nil {
			t.Fatal("insert into a missing table succeeded")
		}
	}
}
