package store_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/store"
)

// gauges records what ReadGauges reports.
type gauges struct {
	queue  map[string]int       // "tenant kind" → items
	oldest map[string]time.Time // "tenant kind" → oldest enqueued
	seats  map[string][2]int    // "tenant sku" → enabled, consumed
	parts  map[string]string    // sku → part number
	errors map[string]int       // "tenant code" → users
}

func (g *gauges) QueueDepth(tenant, kind string, items int, oldest time.Time) {
	g.queue[tenant+" "+kind] += items
	g.oldest[tenant+" "+kind] = oldest
}

func (g *gauges) Seats(tenant, sku, part string, enabled, consumed int) {
	g.seats[tenant+" "+sku] = [2]int{enabled, consumed}
	g.parts[sku] = part
}

func (g *gauges) UsersInError(tenant string, code allot.LicenseError, users int) {
	g.errors[tenant+" "+string(code)] += users
}

func readGauges(t *testing.T, db *store.DB) *gauges {
	t.Helper()
	g := &gauges{queue: map[string]int{}, oldest: map[string]time.Time{}, seats: map[string][2]int{}, parts: map[string]string{}, errors: map[string]int{}}
	if err := db.ReadGauges(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestReadGauges compares the scrape's aggregates with what the service
// answers object by object: subscriptions, every user's states, the queue
// of Status. Two tenants, so that one's figures never leak into the other's.
func TestReadGauges(t *testing.T) {
	e := newEnv(t, "")
	tenantA := actorTenant(e.ctx)
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	tb, err := e.db.CreateTenant(op, allot.Tenant{DisplayName: "Fabrikam", DefaultUsageLocation: "US"})
	e.must(err)
	ctxB := allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tb.ID, Role: allot.RoleGlobalAdministrator, Name: "admin"})

	// Tenant A: 2 seats of E1 for 4 located members (2 wait: CountViolation),
	// a member with no location (ProhibitedInUsageLocation, for E1 and for
	// the phone SKU: one user in error, counted once).
	e.sub(skuE1, 2)
	e.sub(skuPhone, 10)
	g := e.group("Sales")
	for _, upn := range []string{"a@x", "b@x", "c@x", "d@x"} {
		u := e.user(upn, "US")
		e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	}
	nowhere := e.user("nowhere@x", "")
	e.must(e.db.AddMember(e.ctx, g.ID, nowhere.ID))
	_, err = e.db.AssignGroupLicense(e.ctx, g.ID, []allot.AssignedLicense{{SkuID: skuE1, DisabledPlans: []string{}}, {SkuID: skuPhone, DisabledPlans: []string{}}}, []string{})
	e.must(err)

	// Tenant B: one subscription, one licensed user, nothing in error.
	_, err = e.db.AddSubscription(ctxB, skuE3, 5)
	e.must(err)
	ub, err := e.db.CreateUser(ctxB, allot.UserCreate{UserPrincipalName: "z@y", DisplayName: "z", AccountEnabled: true})
	e.must(err)
	_, err = e.db.AssignUserLicense(ctxB, ub.ID, lic(skuE3), nil)
	e.must(err)

	// Before processing: A's group walk is queued, one item.
	got := readGauges(t, e.db)
	st, err := e.db.Status(e.ctx)
	e.must(err)
	if got.queue[tenantA+" group"] != 1 || st.QueueDepth != 1 {
		t.Fatalf("queue before processing: gauges %v, status %d", got.queue, st.QueueDepth)
	}
	if o := got.oldest[tenantA+" group"]; o.IsZero() || o.After(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("oldest queued item enqueued %v", o)
	}
	if len(got.errors) != 0 {
		t.Fatalf("errors before processing: %v", got.errors)
	}

	e.drain(2)
	got = readGauges(t, e.db)
	if len(got.queue) != 0 {
		t.Fatalf("queue after draining: %v", got.queue)
	}
	for _, c := range []struct {
		ctx    context.Context
		tenant string
	}{{e.ctx, tenantA}, {ctxB, tb.ID}} {
		subs, err := e.db.Subscriptions(c.ctx)
		e.must(err)
		if len(subs) == 0 {
			t.Fatal("no subscriptions")
		}
		for _, s := range subs {
			if g := got.seats[c.tenant+" "+s.SkuID]; g != [2]int{s.Enabled, s.ConsumedUnits} {
				t.Errorf("seats of %s %s: gauges %v, subscription %d/%d", c.tenant, s.SkuID, g, s.Enabled, s.ConsumedUnits)
			}
		}
		// Users in error by code, counted from every user's states.
		want := map[string]int{}
		page, err := e.db.ListUsers(c.ctx, allot.ListOptions{Top: 999})
		e.must(err)
		for _, u := range page.Items {
			full, err := e.db.User(c.ctx, u.ID)
			e.must(err)
			codes := map[string]bool{}
			for _, s := range full.States {
				if s.State == allot.StateError {
					codes[string(s.Error)] = true
				}
			}
			for code := range codes {
				want[c.tenant+" "+code]++
			}
		}
		for k, n := range want {
			if got.errors[k] != n {
				t.Errorf("users in error %s: gauges %d, states %d", k, got.errors[k], n)
			}
		}
		for k, n := range got.errors {
			if len(k) > len(c.tenant) && k[:len(c.tenant)] == c.tenant && want[k] != n {
				t.Errorf("users in error %s: gauges %d, states %d", k, n, want[k])
			}
		}
	}
	// The scenario's own figures, so the comparison above cannot pass on
	// two empty sides.
	if got.seats[tenantA+" "+skuE1] != [2]int{2, 2} || got.seats[tb.ID+" "+skuE3] != [2]int{5, 1} {
		t.Fatalf("seats %v", got.seats)
	}
	if got.parts[skuE1] != "STANDARDPACK" {
		t.Fatalf("part numbers %v", got.parts)
	}
	if got.errors[tenantA+" "+string(allot.CountViolation)] != 2 || got.errors[tenantA+" "+string(allot.ProhibitedInUsageLocationViolation)] != 1 {
		t.Fatalf("users in error %v", got.errors)
	}
	keys := make([]string, 0, len(got.errors))
	for k := range got.errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k[:len(tb.ID)] == tb.ID {
			t.Fatalf("tenant B has users in error: %v", keys)
		}
	}
}

func actorTenant(ctx context.Context) string {
	a, _ := allot.ActorFromContext(ctx)
	return a.TenantID
}
