package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
)

// A bulk insert of states goes by COPY on PostgreSQL (insertRows on
// SQLite): every row arrives, with its mailbox flag; a batch that breaks
// a key fails whole, and its transaction leaves nothing behind.
func TestInsertRowsByCopy(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Config{DSN: testdb.DSN(t, false), Catalog: allot.NewCatalog(nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const prefix = `INSERT INTO license_states (tenant_id, user_id, sku_id, source, state, error, disabled_plans, detail, updated_at, waiting_since, mailbox) VALUES `
	rows := func(tenant string, n int) [][]any {
		var out [][]any
		for i := range n {
			out = append(out, []any{tenant, fmt.Sprintf("u%04d", i), "sku", "", "Active", "None", "[]", "", "2026-01-01T00:00:00.000000000Z", "", i % 2})
		}
		return out
	}
	if err := db.tx(ctx, func(tx *txn) error { return tx.insertRows(ctx, prefix, rows("t", 3*copyMinRows)) }); err != nil {
		t.Fatal(err)
	}
	var n, flagged int
	if err := db.db.QueryRowContext(ctx, db.q(`SELECT COUNT(*), SUM(mailbox) FROM license_states WHERE tenant_id = 't'`)).Scan(&n, &flagged); err != nil {
		t.Fatal(err)
	}
	if n != 3*copyMinRows || flagged != 3*copyMinRows/2 {
		t.Fatalf("%d rows, %d flagged; want %d, %d", n, flagged, 3*copyMinRows, 3*copyMinRows/2)
	}
	dup := append(rows("u", copyMinRows), rows("u", 1)...)
	if err := db.tx(ctx, func(tx *txn) error { return tx.insertRows(ctx, prefix, dup) }); err == nil {
		t.Fatal("a batch with a duplicate key was accepted")
	}
	if err := db.db.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM license_states WHERE tenant_id = 'u'`)).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the failed batch left %d rows, %v", n, err)
	}
}

func TestCopyTarget(t *testing.T) {
	for _, c := range []struct {
		prefix, table string
		cols          int
	}{
		{auditCols, "audit", 12},
		{`INSERT INTO license_states (tenant_id, user_id) VALUES `, "license_states", 2},
		{`INSERT INTO work (tenant_id, kind) VALUES `, "", 0},
		{`INSERT INTO audit (tenant_id) VALUES ON CONFLICT`, "", 0},
	} {
		table, cols, ok := copyTarget(c.prefix)
		if table != c.table || len(cols) != c.cols || ok != (c.table != "") {
			t.Errorf("%q: %q %v %v", c.prefix, table, cols, ok)
		}
	}
}
