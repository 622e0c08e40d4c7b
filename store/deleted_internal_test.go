package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
)

// allot check reports a deleted object that still holds a state (and so
// a seat), lists an address or is still live: each is written behind the
// store's back, and each must be reported.
func TestCheckReportsLiveRemainsOfDeleted(t *testing.T) {
	for _, c := range []struct{ name, stmt, want string }{
		{"state", `INSERT INTO license_states (tenant_id, user_id, sku_id, source, state, error, disabled_plans, detail, updated_at, waiting_since)
			VALUES (?, ?, '10000000-0000-0000-0000-000000000001', '', 'Error', 'Other', '[]', '', '2026-01-01T00:00:00.000000000Z', '')`, "holds a license state"},
		{"address", `INSERT INTO addresses (tenant_id, address, owner_id, owner_kind, skeleton) VALUES (?, 'smtp:gone@x', ?, 'user', 'smtp:gone@x')`, "owns or lists an address"},
		{"membership", `INSERT INTO memberships (tenant_id, group_id, member_id, member_kind, added_at) VALUES (?, '00000000-0000-4000-8000-0000000000ff', ?, 'user', '')`, "is still live"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, err := Open(context.Background(), Config{DSN: testdb.DSN(t, true), Catalog: allot.NewCatalog(nil, nil)})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
			tn, err := db.CreateTenant(op, allot.Tenant{DisplayName: "Contoso", DefaultUsageLocation: "US"})
			if err != nil {
				t.Fatal(err)
			}
			ctx := allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator})
			u, err := db.CreateUser(ctx, allot.UserCreate{UserPrincipalName: "gone@x", DisplayName: "gone", AccountEnabled: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.DeleteUser(ctx, u.ID); err != nil {
				t.Fatal(err)
			}
			if v, err := db.Check(context.Background()); err != nil || len(v) != 0 {
				t.Fatalf("before: %v %v", v, err)
			}
			if _, err := db.db.ExecContext(context.Background(), db.q(c.stmt), tn.ID, u.ID); err != nil {
				t.Fatal(err)
			}
			v, err := db.Check(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, x := range v {
				found = found || (x.Rule == "deleted" && strings.Contains(x.Detail, c.want) && strings.Contains(x.Detail, u.ID))
			}
			if !found {
				t.Fatalf("check does not report it: %+v", v)
			}
		})
	}
}

// A replica that read an item as due after another purged it purges
// nothing and audits nothing: the guard, not the timing of the race,
// makes the purge apply once (TestPurgeRaceAppliesOnce races the two).
func TestPurgeOfAnItemAlreadyPurged(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	dsn := testdb.DSN(t, false)
	a, err := Open(context.Background(), Config{DSN: dsn, Catalog: allot.NewCatalog(nil, nil), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(context.Background(), Config{DSN: dsn, Catalog: allot.NewCatalog(nil, nil), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	tn, err := a.CreateTenant(op, allot.Tenant{DisplayName: "Contoso"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator})
	u, err := a.CreateUser(ctx, allot.UserCreate{UserPrincipalName: "gone@x", DisplayName: "gone", AccountEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	now = now.AddDate(0, 0, 30)
	if n, err := a.purgeDeleted(context.Background()); err != nil || n != 1 {
		t.Fatalf("purged %d, %v", n, err)
	}
	var done bool
	err = b.tx(ctx, func(tx *txn) error {
		var err error
		done, err = b.purgeOne(ctx, tx, tn.ID, u.ID, fmtTime(now))
		return err
	})
	if err != nil || done {
		t.Fatalf("the second purge of one item: %v %v", done, err)
	}
	p, err := a.Audit(ctx, allot.AuditFilter{Top: 99, TargetID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	hard := 0
	for _, e := range p.Items {
		if e.Activity == "Hard delete user" {
			hard++
		}
	}
	if hard != 1 {
		t.Fatalf("%d Hard delete user lines, want 1", hard)
	}
}
