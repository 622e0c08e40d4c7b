package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/store"
)

const benchMembers = 10000

// benchTenant opens a SQLite file with one tenant whose group holds
// benchMembers users, each listing one address.
func benchTenant(b *testing.B) (*store.DB, context.Context, string) {
	b.Helper()
	db, err := store.Open(context.Background(), store.Config{DSN: filepath.Join(b.TempDir(), "bench.db"), Catalog: testCatalog()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	tn, _ := db.CreateTenant(op, allot.Tenant{DisplayName: "T", DefaultUsageLocation: "US"})
	ctx := allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator})
	if _, err := db.AddSubscription(ctx, skuE1, benchMembers*9/10); err != nil {
		b.Fatal(err)
	}
	users, groups, members := benchDirectory(benchMembers)
	if err := db.ImportDirectory(ctx, users, groups, members); err != nil {
		b.Fatal(err)
	}
	return db, ctx, groups[0].ID
}

func benchDirectory(n int) ([]allot.UserCreate, []allot.GroupCreate, []allot.Membership) {
	g := allot.GroupCreate{ID: "20000000-0000-4000-8000-000000000000", DisplayName: "all", MailNickname: "all", SecurityEnabled: true}
	var us []allot.UserCreate
	var ms []allot.Membership
	for i := range n {
		id := fmt.Sprintf("10000000-0000-4000-8000-%012x", i)
		us = append(us, allot.UserCreate{ID: id, UserPrincipalName: fmt.Sprintf("u%d@x", i), DisplayName: "u", ProxyAddresses: []string{fmt.Sprintf("u%d@x", i)}})
		ms = append(ms, allot.Membership{GroupID: g.ID, MemberID: id})
	}
	return us, []allot.GroupCreate{g}, ms
}

// BenchmarkImportDirectory measures the bulk path that loads users,
// groups and memberships (multi-row statements in one transaction).
func BenchmarkImportDirectory(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		db, err := store.Open(context.Background(), store.Config{DSN: filepath.Join(b.TempDir(), "bench.db"), Catalog: testCatalog()})
		if err != nil {
			b.Fatal(err)
		}
		op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
		tn, _ := db.CreateTenant(op, allot.Tenant{DisplayName: "T"})
		ctx := allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator})
		users, groups, members := benchDirectory(benchMembers)
		b.StartTimer()
		start := time.Now()
		if err := db.ImportDirectory(ctx, users, groups, members); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(benchMembers)/time.Since(start).Seconds(), "users/s")
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
}

// BenchmarkGroupAssignment measures assigning a product to a group of
// benchMembers and processing the queue until it is empty (10% of the
// members wait for seats). It reports members evaluated and written per second.
func BenchmarkGroupAssignment(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		db, ctx, group := benchTenant(b)
		b.StartTimer()
		start := time.Now()
		if _, err := db.AssignGroupLicense(ctx, group, lic(skuE1), nil); err != nil {
			b.Fatal(err)
		}
		for {
			n, err := db.ProcessBatch(context.Background(), 1000)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		b.ReportMetric(float64(benchMembers)/time.Since(start).Seconds(), "members/s")
	}
}
