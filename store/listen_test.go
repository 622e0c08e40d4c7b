package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

// TestListenWakesOtherReplicas: on PostgreSQL a transaction that queues
// work wakes another replica's listener at its commit; one that queues
// nothing, or is rolled back, does not.
func TestListenWakesOtherReplicas(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("notifications between replicas are PostgreSQL's; on SQLite one process owns the database (Listen returns at once, tested below)")
	}
	dsn := testdb.DSN(t, false)
	var replicas [2]*store.DB
	for i := range replicas {
		db, err := store.Open(context.Background(), store.Config{DSN: dsn, Catalog: testCatalog()})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		replicas[i] = db
	}
	db, other := replicas[0], replicas[1]
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	tn, err := db.CreateTenant(op, allot.Tenant{DisplayName: "Contoso"})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, ctx: allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator, Name: "admin"})}
	ctx, cancel := context.WithCancel(context.Background())
	wakes := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() { done <- other.Listen(ctx, func() { wakes <- struct{}{} }) }()
	defer func() { cancel(); <-done }()
	// A guard against a hang, not a measure: the wake comes at commit.
	next := func(what string) {
		t.Helper()
		select {
		case <-wakes:
		case <-time.After(time.Minute):
			t.Fatalf("no wake %s", what)
		}
	}
	next("when listening starts")

	e.sub(skuE1, 5)
	u := e.user("ann@contoso.example", "US")
	g := e.group("Sales")
	e.must(e.db.AddMember(e.ctx, g.ID, u.ID)) // queues nothing: the group has no license
	if _, err := e.db.AssignGroupLicense(e.ctx, g.ID, []allot.AssignedLicense{{SkuID: skuE1, DisabledPlans: []string{}}}, nil); err != nil {
		t.Fatal(err)
	}
	next("after a group assignment committed")
	select {
	case <-wakes:
		t.Fatal("a transaction that queued nothing woke the listener")
	default:
	}
}

func TestListenReturnsOnSQLite(t *testing.T) {
	if testdb.Postgres() {
		t.Skip("SQLite only")
	}
	e := newEnv(t, "US")
	if err := e.db.Listen(context.Background(), func() { t.Error("woke on SQLite") }); err != nil {
		t.Fatal(err)
	}
}
