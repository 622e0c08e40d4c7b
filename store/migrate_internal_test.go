package store

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
)

// Migration 20 moves mailbox ownership from the mailboxes table onto the
// owners' active states: the database is taken back to version 19 with
// an owner and a non-owner, then migrated again.
func TestMigrationMailboxIntoStates(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Config{DSN: testdb.DSN(t, false), Catalog: allot.NewCatalog(nil, nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{
		`ALTER TABLE license_states DROP COLUMN mailbox`,
		`CREATE TABLE mailboxes (tenant_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (tenant_id, user_id))`,
		`DELETE FROM schema_migrations WHERE version = 20`,
		`INSERT INTO mailboxes (tenant_id, user_id) VALUES ('t', 'owner')`,
		`INSERT INTO license_states (tenant_id, user_id, sku_id, source, state, error, updated_at) VALUES
			('t', 'owner', 'e1', '', 'Active', 'None', ''), ('t', 'owner', 'e3', 'g', 'Error', 'CountViolation', ''),
			('t', 'other', 'e1', '', 'Active', 'None', '')`,
	} {
		if _, err := db.db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := db.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := db.db.QueryContext(ctx, `SELECT user_id, sku_id, mailbox FROM license_states WHERE tenant_id = 't' ORDER BY user_id, sku_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var u, sku string
		var m int
		if err := rows.Scan(&u, &sku, &m); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %s %d", u, sku, m))
	}
	want := []string{"other e1 0", "owner e1 1", "owner e3 0"}
	if !slices.Equal(got, want) {
		t.Fatalf("states after migration %v, want %v", got, want)
	}
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM mailboxes`).Scan(&n); err == nil {
		t.Fatal("the mailboxes table is still there")
	}
	var owns bool
	err = db.tx(ctx, func(tx *txn) error {
		owns, err = holdsMailbox(ctx, tx, "t", "owner")
		return err
	})
	if err != nil || !owns {
		t.Fatalf("owner holds a mailbox: %v, %v", owns, err)
	}
}
