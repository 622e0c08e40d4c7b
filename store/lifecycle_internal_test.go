package store

import (
	"context"
	"io/fs"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/catalog"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/google/uuid"
)

// TestLifecycleCheckFindsBrokenPools: allot check reports a pool that is
// not the sums of its subscriptions, a capabilityStatus they do not give,
// and a schedule the status and periods do not give (docs/RULES.md §2.6).
func TestLifecycleCheckFindsBrokenPools(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Config{DSN: testdb.DSN(t, true), Catalog: catalog.Demo()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	op := allot.NewContextWithActor(ctx, allot.Actor{Operator: true})
	tn, err := db.CreateTenant(op, allot.Tenant{DisplayName: "Contoso"})
	if err != nil {
		t.Fatal(err)
	}
	admin := allot.NewContextWithActor(ctx, allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator})
	var sku string
	for id := range db.Catalog().SKUs {
		sku = id
		break
	}
	if _, err := db.AddSubscription(admin, sku, 3); err != nil {
		t.Fatal(err)
	}
	rules := func() []string {
		t.Helper()
		v, err := db.Check(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range v {
			out = append(out, x.Rule)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	if r := rules(); len(r) != 0 {
		t.Fatalf("violations on a sound store: %v", r)
	}
	for _, c := range []struct {
		break_, mend string
		rule         string
	}{
		{`UPDATE subscriptions SET warning = 2`, `UPDATE subscriptions SET warning = 0`, "pool"},
		{`UPDATE subscriptions SET capability = 'Suspended'`, `UPDATE subscriptions SET capability = 'Enabled'`, "pool"},
		{`UPDATE company_subscriptions SET quantity = 4`, `UPDATE company_subscriptions SET quantity = 3`, "pool"},
		{`UPDATE company_subscriptions SET next_lifecycle_at = '2030-01-01T00:00:00.000000000Z'`, `UPDATE company_subscriptions SET next_lifecycle_at = NULL`, "lifecycle"},
	} {
		if _, err := db.db.Exec(c.break_); err != nil {
			t.Fatal(err)
		}
		if r := rules(); !slices.Equal(r, []string{c.rule}) {
			t.Fatalf("%s: violations %v, want %s", c.break_, r, c.rule)
		}
		if _, err := db.db.Exec(c.mend); err != nil {
			t.Fatal(err)
		}
	}
	if r := rules(); len(r) != 0 {
		t.Fatalf("violations after mending: %v", r)
	}
}

// TestLifecycleMigration: a database as it was before lifecycles, with
// pools of seats, is migrated to one Enabled subscription without a term
// per pool, under the pool's id, and passes allot check (docs/RULES.md §2.6).
func TestLifecycleMigration(t *testing.T) {
	ctx := context.Background()
	sdb, dia, err := openSQL(testdb.DSN(t, true))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &DB{db: sdb, dialect: dia, now: func() time.Time { return at }, newID: uuid.NewString, log: slog.New(slog.DiscardHandler), notify: func() {}}
	defer s.Close()
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	err = s.tx(ctx, func(tx *txn) error {
		if _, err := tx.Exec(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
			return err
		}
		for _, name := range names {
			base := strings.TrimPrefix(name, "migrations/")
			version, _ := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
			if version >= 18 {
				break
			}
			if !strings.HasSuffix(base, ".postgres.sql") || dia == dialectPostgres {
				body, _ := migrationFS.ReadFile(name)
				for _, stmt := range splitSQL(s.expand(string(body))) {
					if err := tx.execVerbatim(ctx, stmt); err != nil {
						return err
					}
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, version, fmtTime(at)); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO tenants (id, display_name, created_at) VALUES ('t1', 'Contoso', ?)`, fmtTime(at)); err != nil {
			return err
		}
		for i, seats := range []int{7, 0} {
			if _, err := tx.Exec(ctx, `INSERT INTO subscriptions (tenant_id, sku_id, id, enabled, created_at) VALUES ('t1', ?, ?, ?, ?)`,
				"sku"+strconv.Itoa(i), "pool"+strconv.Itoa(i), seats, fmtTime(at.Add(time.Duration(i)*time.Hour))); err != nil {
				return err
			}
		}
		tx.inputs = false // no generations to bump before migration 23, applied below
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	admin := allot.NewContextWithActor(ctx, allot.Actor{TenantID: "t1", Role: allot.RoleGlobalAdministrator})
	subs, err := s.CompanySubscriptions(admin)
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 2 {
		t.Fatalf("%d subscriptions, want one per pool", len(subs))
	}
	for i, c := range subs {
		if c.ID != "pool"+strconv.Itoa(i) || c.SkuID != "sku"+strconv.Itoa(i) || c.Quantity != []int{7, 0}[i] || c.Status != allot.SubEnabled ||
			c.IsTrial || c.TermEnd != nil || c.NextLifecycleAt != nil || !c.CreatedAt.Equal(at.Add(time.Duration(i)*time.Hour)) {
			t.Fatalf("migrated %+v", c)
		}
	}
	for i := range 2 {
		p, err := s.Subscription(admin, "sku"+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		if p.CapabilityStatus != allot.CapabilityEnabled {
			t.Fatalf("pool %d is %s", i, p.CapabilityStatus)
		}
	}
	v, err := s.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 0 {
		t.Fatalf("violations after the migration: %v", v)
	}
}
