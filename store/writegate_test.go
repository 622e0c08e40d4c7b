package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

// fileEnv is newEnv on a database file (or PostgreSQL), where writers can
// wait for each other, unlike the in-memory database's single connection.
func fileEnv(t *testing.T) *env {
	t.Helper()
	return fileEnvOn(t, testdb.DSN(t, false))
}

// fileEnvOn is fileEnv on dsn.
func fileEnvOn(t *testing.T, dsn string) *env {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{DSN: dsn, Catalog: testCatalog()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	tn, err := db.CreateTenant(op, allot.Tenant{DisplayName: "Contoso", DefaultUsageLocation: "US"})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, db: db, ctx: allot.NewContextWithActor(context.Background(),
		allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator, Name: "admin"})}
}

// TestWritesTakeTurnsWithProcessing: a user PATCH that arrives while a
// batch of a group walk holds the write lock is written before the walk's
// next batch, however eagerly the worker asks again. A paused batch makes
// the moment exact.
func TestWritesTakeTurnsWithProcessing(t *testing.T) {
	e := fileEnv(t)
	e.sub(skuE1, 100)
	g := e.group("Everyone")
	var target string
	for i := range 30 {
		u := e.user(fmt.Sprintf("u%02d@x", i), "")
		e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
		target = u.ID
	}
	_, err := e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuE1), []string{})
	e.must(err)

	pause, paused := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	batches, sawWrite := 0, -1
	e.db.SetBatchHook(func(tenantID string) {
		if tenantID == "" {
			return
		}
		mu.Lock()
		batches++
		n := batches
		mu.Unlock()
		if n == 1 {
			close(paused)
			<-pause // hold the write lock until the PATCH is in line
			return
		}
		if n == 2 {
			u, err := e.db.User(e.ctx, target)
			if err == nil && u.UsageLocation == "DE" {
				sawWrite = n
			}
		}
	})
	worker := make(chan error, 1)
	go func() { // the worker: one batch after another, without a pause
		for {
			n, err := e.db.ProcessBatch(context.Background(), 5)
			if err != nil || n == 0 {
				worker <- err
				return
			}
		}
	}()
	<-paused
	wrote := make(chan error, 1)
	go func() {
		de := "DE"
		_, err := e.db.UpdateUser(e.ctx, target, allot.UserUpdate{UsageLocation: &de})
		wrote <- err
	}()
	for { // until the PATCH waits for its turn
		n, err := e.db.WritersWaiting(context.Background(), tenantOf(e))
		e.must(err)
		if n > 0 {
			break
		}
	}
	close(pause)
	e.must(<-wrote)
	e.must(<-worker)
	if sawWrite != 2 {
		t.Fatal("the worker's next batch went before the PATCH that was waiting")
	}
	e.check()
}

// TestTenantsTakeTurns: a one-user tenant's group assignment is processed
// after at most one batch of another tenant's long walk queued before it.
func TestTenantsTakeTurns(t *testing.T) {
	a := newEnv(t, "US")
	a.sub(skuE1, 100)
	big := a.group("Everyone")
	for i := range 40 {
		u := a.user(fmt.Sprintf("a%02d@x", i), "")
		a.must(a.db.AddMember(a.ctx, big.ID, u.ID))
	}
	_, err := a.db.AssignGroupLicense(a.ctx, big.ID, lic(skuE1), []string{})
	a.must(err)

	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	tn, err := a.db.CreateTenant(op, allot.Tenant{DisplayName: "Fabrikam", DefaultUsageLocation: "US"})
	a.must(err)
	b := &env{t: t, db: a.db, ctx: allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator, Name: "admin"})}
	b.sub(skuE1, 1)
	small := b.group("One")
	u := b.user("b@x", "")
	b.must(b.db.AddMember(b.ctx, small.ID, u.ID))
	_, err = b.db.AssignGroupLicense(b.ctx, small.ID, lic(skuE1), []string{})
	b.must(err)

	for batch := 1; ; batch++ {
		if _, err := a.db.ProcessBatch(context.Background(), 5); err != nil {
			t.Fatal(err)
		}
		if st := b.states(u.ID)[skuE1+" "+small.ID]; st.State == allot.StateActive {
			if batch > 2 {
				t.Fatalf("the one-user tenant waited %d batches", batch)
			}
			break
		}
		if batch > 2 {
			t.Fatalf("the one-user tenant is not licensed after %d batches", batch)
		}
	}
	a.drain(5)
	a.check()
	b.check()
}

func tenantOf(e *env) string {
	a, _ := allot.ActorFromContext(e.ctx)
	return a.TenantID
}

// TestIdleBatchCountsOnlyItsOwnWork: a batch that finds no work does
// nothing and says so, even when a request queues work between its look
// and its end; the next batch does that work. On PostgreSQL the request
// commits while the batch waits in the hook (its transactions do not
// exclude each other's); on SQLite the batch holds the write lock, so the
// request commits after it. A batch that reported the new work as done made
// a throttled worker (--batch-pause) sleep with the work still queued.
func TestIdleBatchCountsOnlyItsOwnWork(t *testing.T) {
	e := fileEnv(t)
	e.sub(skuE1, 1)
	g := e.group("Team")
	u := e.user("u@x", "")
	e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	e.drain(10)

	assigned := make(chan struct{})
	var assignErr error
	var once sync.Once
	e.db.SetBatchHook(func(tenantID string) {
		if tenantID != "" {
			return
		}
		once.Do(func() {
			go func() {
				_, assignErr = e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuE1), []string{})
				close(assigned)
			}()
			if testdb.Postgres() {
				<-assigned
			}
		})
	})
	n, err := e.db.ProcessBatch(context.Background(), 10)
	e.must(err)
	<-assigned
	e.must(assignErr)
	if n != 0 {
		t.Fatalf("a batch that found no work reports %d done", n)
	}
	e.db.SetBatchHook(nil)
	if n, err := e.db.ProcessBatch(context.Background(), 10); err != nil || n == 0 {
		t.Fatalf("the next batch did %d (%v), want the group's walk", n, err)
	}
	e.drain(10)
	if st := e.states(u.ID)[skuE1+" "+g.ID]; st.State != allot.StateActive {
		t.Fatalf("state %+v, want Active", st)
	}
	e.check()
}
