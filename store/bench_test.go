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

// BenchmarkGroupAssignment measures assigning a product to a group of
// 10,000 members and processing the queue until it is empty, on a SQLite
// file. It reports members evaluated and written per second.
func BenchmarkGroupAssignment(b *testing.B) {
	const members = 10000
	for b.Loop() {
		b.StopTimer()
		db, err := store.Open(context.Background(), store.Config{DSN: filepath.Join(b.TempDir(), "bench.db"), Catalog: testCatalog()})
		if err != nil {
			b.Fatal(err)
		}
		op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
		tn, _ := db.CreateTenant(op, allot.Tenant{DisplayName: "T", DefaultUsageLocation: "US"})
		ctx := allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator})
		if _, err := db.AddSubscription(ctx, skuE1, members*9/10); err != nil {
			b.Fatal(err)
		}
		g, _ := db.CreateGroup(ctx, allot.GroupCreate{DisplayName: "all", MailNickname: "all", SecurityEnabled: true})
		for i := range members {
			u, err := db.CreateUser(ctx, allot.UserCreate{UserPrincipalName: fmt.Sprintf("u%d@x", i), DisplayName: "u", ProxyAddresses: []string{fmt.Sprintf("u%d@x", i)}})
			if err != nil {
				b.Fatal(err)
			}
			if err := db.AddMember(ctx, g.ID, u.ID); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		if _, err := db.AssignGroupLicense(ctx, g.ID, lic(skuE1), nil); err != nil {
			b.Fatal(err)
		}
		for {
			n, err := db.ProcessBatch(context.Background(), 500)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		b.ReportMetric(float64(members)/time.Since(start).Seconds(), "members/s")
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
}
