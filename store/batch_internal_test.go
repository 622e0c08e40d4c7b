package store

import (
	"context"
	"fmt"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
)

// A batch holds each user's states in key order (SKU, then source) however
// the database returns them: the audit's "before" lists them as loaded.
// The rows are written against key order and, on PostgreSQL, read by a
// scan of the table, which returns them as written.
func TestLoadStatesInKeyOrder(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Config{DSN: testdb.DSN(t, false), Catalog: allot.NewCatalog(nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.db.ExecContext(ctx, db.q(`INSERT INTO license_states (tenant_id, user_id, sku_id, source, state, error, disabled_plans, detail, updated_at, waiting_since, mailbox) VALUES
		('t', 'u', 'sku-b', '', 'Active', 'None', '[]', '', '', '', 0),
		('t', 'u', 'sku-a', 'g', 'Active', 'None', '[]', '', '', '', 0),
		('t', 'u', 'sku-a', '', 'Active', 'None', '[]', '', '', '', 0)`)); err != nil {
		t.Fatal(err)
	}
	var got []string
	err = db.tx(ctx, func(tx *txn) error {
		if tx.postgres() {
			for _, off := range []string{"indexscan", "indexonlyscan", "bitmapscan"} {
				if _, err := tx.Exec(ctx, `SET LOCAL enable_`+off+` = off`); err != nil {
					return err
				}
			}
		}
		b := newBatch("t")
		b.users["u"], b.order = &userRow{id: "u"}, []string{"u"}
		if err := b.loadStates(ctx, tx); err != nil {
			return err
		}
		for _, st := range b.states["u"] {
			got = append(got, st.SkuID+"/"+st.Source)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[sku-a/ sku-a/g sku-b/]" {
		t.Fatalf("states loaded as %v", got)
	}
}

// TestAnalyzeDue: a walk refreshes PostgreSQL's statistics after its first
// batch and each time it passes a power of ten from 1,000 on, whatever its
// batch sizes, and not otherwise.
func TestAnalyzeDue(t *testing.T) {
	for _, tc := range []struct {
		before, after int
		want          bool
	}{
		{0, 100, true}, {100, 300, false}, {700, 1000, true}, {1000, 1500, false},
		{9000, 12000, true}, {12000, 99999, false}, {99999, 100000, true}, {400, 20000, true},
		{100000, 500000, false}, {500000, 1000001, true},
	} {
		if got := analyzeDue(tc.before, tc.after); got != tc.want {
			t.Errorf("analyzeDue(%d, %d) = %v, want %v", tc.before, tc.after, got, tc.want)
		}
	}
}
