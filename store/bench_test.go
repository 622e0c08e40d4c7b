package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/csvio"
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
	rep, err := db.ImportCSV(ctx, benchDirectory(benchMembers), false)
	if err != nil {
		b.Fatal(err)
	}
	if !rep.Applied {
		b.Fatalf("import not applied: %v", rep.Errors.Error())
	}
	groups, err := db.ListGroups(ctx, allot.ListOptions{})
	if err != nil || len(groups.Items) != 1 {
		b.Fatalf("groups: %v, %v", groups, err)
	}
	return db, ctx, groups.Items[0].ID
}

// benchDirectory is n users, each listing one address, and one group
// holding them all.
func benchDirectory(n int) *csvio.Import {
	in := &csvio.Import{UsersFile: "users.csv", GroupsFile: "groups.csv", MembershipsFile: "memberships.csv"}
	sec := true
	in.Groups = []csvio.GroupRow{{Line: 2, MailNickname: "all", DisplayName: "all", SecurityEnabled: &sec}}
	enabled := false
	for i := range n {
		upn := fmt.Sprintf("u%d@x", i)
		in.Users = append(in.Users, csvio.UserRow{Line: i + 2, UserPrincipalName: upn, DisplayName: "u", ProxyAddresses: &[]string{upn}, AccountEnabled: &enabled})
		in.Memberships = append(in.Memberships, csvio.MembershipRow{Line: i + 2, Group: "all", User: upn})
	}
	return in
}

// BenchmarkImportCSV measures the bulk path that loads users, groups and
// memberships (multi-row statements in one transaction).
func BenchmarkImportCSV(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		db, err := store.Open(context.Background(), store.Config{DSN: filepath.Join(b.TempDir(), "bench.db"), Catalog: testCatalog()})
		if err != nil {
			b.Fatal(err)
		}
		op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
		tn, _ := db.CreateTenant(op, allot.Tenant{DisplayName: "T"})
		ctx := allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator})
		in := benchDirectory(benchMembers)
		b.StartTimer()
		start := time.Now()
		rep, err := db.ImportCSV(ctx, in, false)
		if err != nil {
			b.Fatal(err)
		}
		if !rep.Applied {
			b.Fatalf("import not applied: %v", rep.Errors.Error())
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
		benchDrain(b, db)
		b.ReportMetric(float64(benchMembers)/time.Since(start).Seconds(), "members/s")
	}
}

// benchDrain processes the queue until it is empty.
func benchDrain(b *testing.B, db *store.DB) {
	for {
		n, err := db.ProcessBatch(context.Background(), 1000)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// BenchmarkAuditRead measures reading the audit log of a tenant whose group
// of benchMembers was licensed, unlicensed and licensed again: the newest
// page by time (Graph's directoryAudits), the audit of one user, and a
// filter that no license change passes, on a log of batch rows (migration
// 21) and on one of single rows as before it.
func BenchmarkAuditRead(b *testing.B) {
	for _, mode := range []string{"batch-rows", "single-rows"} {
		b.Run(mode, func(b *testing.B) {
			db, ctx, group := benchTenant(b)
			if mode == "single-rows" {
				db.WriteSingleAudit()
			}
			for _, remove := range []bool{false, true, false} {
				var err error
				if remove {
					_, err = db.AssignGroupLicense(ctx, group, nil, []string{skuE1})
				} else {
					_, err = db.AssignGroupLicense(ctx, group, lic(skuE1), nil)
				}
				if err != nil {
					b.Fatal(err)
				}
				benchDrain(b, db)
			}
			users, err := db.ListUsers(ctx, allot.ListOptions{Top: 1})
			if err != nil {
				b.Fatal(err)
			}
			uid := users.Items[0].ID
			for _, c := range []struct {
				name string
				f    allot.AuditFilter
				min  int
			}{
				{"newest-page", allot.AuditFilter{ByTime: true, Top: 50}, 50},
				{"of-a-user", allot.AuditFilter{TargetID: uid, Top: 50}, 3},
				{"no-license-change", allot.AuditFilter{Top: 50, Expr: &allot.Compare{Property: "activityDisplayName", Op: "eq", Value: "Set group license"}}, 3},
			} {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						p, err := db.Audit(ctx, c.f)
						if err != nil || len(p.Items) < c.min {
							b.Fatalf("%d entries, %v", len(p.Items), err)
						}
					}
				})
			}
		})
	}
}
