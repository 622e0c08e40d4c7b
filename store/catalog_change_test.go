package store_test

// Replacing the catalog (docs/RULES.md §2.3.3, §2.4.3). More catalog
// replacement tests are in replacecatalog_test.go.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

// catalogWithCallingIn is the test catalog with the calling plan available
// only in countries.
func catalogWithCallingIn(countries ...string) *allot.Catalog {
	c := testCatalog()
	c.Plans[pCalling].AvailableIn = countries
	return c
}

// A catalog change to where a plan is available re-evaluates the users
// assigned its SKU, granting or taking the license (docs/RULES.md §2.3.3;
// availability lists are restored by processing, §2.4.3).
func TestCatalogAvailabilityChangeReevaluatesUsers(t *testing.T) {
	e := newEnv(t, "")
	e.sub(skuPhone, 5)
	g := e.group("Phones")
	u := e.user("u@x", "DE")
	e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	rvAssign(e, g.ID, lic(skuPhone))
	e.drain(10)
	rvWant(e, u.ID, skuPhone, g.ID, allot.StateError, allot.ProhibitedInUsageLocationViolation)
	e.must(e.db.ReplaceCatalog(e.ctx, catalogWithCallingIn("US", "GB", "DE")))
	e.drain(10)
	e.check()
	rvWant(e, u.ID, skuPhone, g.ID, allot.StateActive, allot.NoLicenseError)
	rvWantConsumed(e, skuPhone, 1)
	e.must(e.db.ReplaceCatalog(e.ctx, catalogWithCallingIn("US")))
	e.drain(10)
	e.check()
	rvWant(e, u.ID, skuPhone, g.ID, allot.StateError, allot.ProhibitedInUsageLocationViolation)
	rvWantConsumed(e, skuPhone, 0)
}

// Replacing the catalog while processing runs neither deadlocks nor fails
// (docs/RULES.md §2.4.3: a replacement is applied and followed by
// processing). Processing and AssignGroupLicense read the catalog inside
// their transactions, so ReplaceCatalog must not hold the catalog write lock
// while it waits for a transaction: with the in-memory database (one
// connection) the two would wait for each other forever, and with a file
// database ReplaceCatalog would wait out busy_timeout (10 s) and fail.
func TestReplaceCatalogDuringProcessingDoesNotDeadlock(t *testing.T) {
	c := newTestClock()
	var mu sync.Mutex
	n, salt := 0, envSalt()
	newID := func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("%08x-%04x-4000-8000-%012x", n, salt, n)
	}
	db, err := store.Open(context.Background(), store.Config{DSN: testdb.DSN(t, true), Catalog: testCatalog(), Now: c.Now, NewID: newID})
	if err != nil {
		t.Fatal(err)
	}
	// Not closed on purpose when deadlocked: Close would wait forever.
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	tn, err := db.CreateTenant(op, allot.Tenant{DisplayName: "Contoso", DefaultUsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator, Name: "admin"})
	if _, err := db.AddSubscription(ctx, skuE1, 1000); err != nil {
		t.Fatal(err)
	}
	g, err := db.CreateGroup(ctx, allot.GroupCreate{DisplayName: "G", SecurityEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		u, err := db.CreateUser(ctx, allot.UserCreate{UserPrincipalName: fmt.Sprintf("u%d@x", i), DisplayName: "u", AccountEnabled: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.AddMember(ctx, g.ID, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.AssignGroupLicense(ctx, g.ID, lic(skuE1), nil); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := db.ProcessBatch(context.Background(), 300); err != nil {
				t.Errorf("process: %v", err)
				return
			}
			_ = db.ReprocessGroup(ctx, g.ID)
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			cat := catalogWithCallingIn("US", "GB")
			if i%2 == 1 {
				cat = catalogWithCallingIn("US", "GB", "DE")
			}
			if err := db.ReplaceCatalog(ctx, cat); err != nil {
				t.Errorf("replace catalog: %v", err)
				return
			}
		}
	}()
	time.Sleep(3 * time.Second)
	close(stop)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
		db.Close()
	case <-time.After(15 * time.Second):
		t.Fatal("ProcessBatch and ReplaceCatalog deadlocked: neither returned within 15 s")
	}
}

// A catalog that drops a SKU still subscribed or held is refused whole
// (docs/RULES.md §2.4.3): the stored catalog stays, the holders keep the
// license (nobody could describe it otherwise), and it can still be
// unassigned.
func TestRefusedSKUDropKeepsHoldersLicensed(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	g := e.group("G")
	u := e.user("u@x", "")
	e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	rvAssign(e, g.ID, lic(skuE1))
	e.drain(10)
	c := testCatalog()
	delete(c.SKUs, skuE1)
	rvCode(t, "dropping a SKU in use", e.db.ReplaceCatalog(e.ctx, c), allot.ECONFLICT)
	if e.db.Catalog().SKUs[skuE1] == nil {
		t.Fatal("a refused catalog replaced the stored one")
	}
	e.drain(10)
	e.check()
	rvWant(e, u.ID, skuE1, g.ID, allot.StateActive, allot.NoLicenseError)
	rvAssign(e, g.ID, nil, skuE1)
	e.drain(10)
	e.check()
	rvNoStates(e, u.ID)
	rvWantConsumed(e, skuE1, 0)
}
