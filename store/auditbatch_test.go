package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/store"
)

// TestAuditBatchesReadAsSingles: processing audits a batch's license
// changes in one row (migration 21), which every reader expands into the
// entries that single rows would have been. The same random history runs
// twice, once writing batch rows and once single rows as before, and both
// logs are read every way: each filter, order and page size gives the same
// entries with the same ids and cursors, and delta queries the same users.
func TestAuditBatchesReadAsSingles(t *testing.T) {
	for _, seed := range []uint64{2, 7} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			batched := runHistoryOn(t, seed, 160, false, true, false, nil)
			single := runHistoryOn(t, seed, 160, false, true, false, (*store.DB).WriteSingleAudit)
			// Then a group of 150 processed 7 at a time: batch rows of many
			// entries, more of them than the reader takes at once.
			for _, h := range []*history{batched, single} {
				g := h.group("bulk")
				for i := range 150 {
					u := h.user(fmt.Sprintf("bulk%d@x", i), "US")
					h.must(h.db.AddMember(h.ctx, g.ID, u.ID))
				}
				_, err := h.db.AssignGroupLicense(h.ctx, g.ID, lic(skuE1), []string{})
				h.must(err)
				h.drain(7)
			}
			ctx := context.Background()
			if s, b, err := batched.db.AuditRows(ctx); err != nil || b == 0 {
				t.Fatalf("batched store: %d single rows, %d batch rows, %v", s, b, err)
			}
			if _, b, err := single.db.AuditRows(ctx); err != nil || b != 0 {
				t.Fatalf("single-row store: %d batch rows, %v", b, err)
			}
			norm := func(h *history) func(string) string {
				// The stores' ids differ only in their salt.
				salt := h.users[0][9:13]
				return func(s string) string { return strings.ReplaceAll(s, "-"+salt+"-4000-8000-", "-salt-4000-8000-") }
			}
			nb, ns := norm(batched), norm(single)
			all := readAudit(t, batched, allot.AuditFilter{Top: 999})
			var license []allot.AuditEntry
			for _, e := range all {
				if e.Activity == "Change user license" {
					license = append(license, e)
				}
			}
			if len(license) < 20 {
				t.Fatalf("%d license changes: the history is not what the test expects", len(license))
			}
			u, v := license[0].TargetID, license[len(license)/2].TargetID
			// The single-row store's names for them.
			// (By position: the salt's four digits may also occur in an id's counter.)
			uS, vS := u[:9]+single.users[0][9:13]+u[13:], v[:9]+single.users[0][9:13]+v[13:]
			mid := license[len(license)/2]
			cmp := func(p, a string, v any) *allot.Compare { return &allot.Compare{Property: p, Op: a, Value: v} }
			anyT := func(c allot.Expr) allot.Expr { return &allot.Any{Collection: "targetResources", Cond: c} }
			id := func(e allot.AuditEntry) string { return fmt.Sprint(e.ID) }
			filters := []struct {
				name string
				f    func(target, other string) allot.AuditFilter
			}{
				{"all", func(_, _ string) allot.AuditFilter { return allot.AuditFilter{} }},
				{"target", func(x, _ string) allot.AuditFilter { return allot.AuditFilter{TargetID: x} }},
				{"any target", func(x, _ string) allot.AuditFilter {
					return allot.AuditFilter{Expr: anyT(cmp("targetResources/id", "eq", strings.ToUpper(x)))}
				}},
				{"not the target", func(x, _ string) allot.AuditFilter {
					return allot.AuditFilter{Expr: &allot.Not{X: anyT(cmp("targetResources/id", "eq", x))}}
				}},
				{"target ne", func(x, _ string) allot.AuditFilter {
					return allot.AuditFilter{Expr: anyT(cmp("targetResources/id", "ne", x))}
				}},
				{"license failures", func(_, _ string) allot.AuditFilter {
					return allot.AuditFilter{Expr: &allot.And{Left: cmp("activityDisplayName", "eq", "Change user license"), Right: cmp("result", "eq", "Failure")}}
				}},
				{"not success or a member", func(_, _ string) allot.AuditFilter {
					return allot.AuditFilter{Expr: &allot.Or{Left: &allot.Not{X: cmp("result", "eq", "success")}, Right: cmp("activityDisplayName", "eq", "Add member to group")}}
				}},
				{"ids", func(_, _ string) allot.AuditFilter {
					return allot.AuditFilter{Expr: &allot.Or{Left: cmp("id", "eq", id(mid)), Right: cmp("id", "in", []any{id(license[0]), id(all[len(all)-1]), "x"})}}
				}},
				{"not an id", func(_, _ string) allot.AuditFilter { return allot.AuditFilter{Expr: cmp("id", "ne", id(mid))} }},
				{"since", func(_, _ string) allot.AuditFilter {
					return allot.AuditFilter{Expr: cmp("activityDateTime", "ge", mid.Time)}
				}},
				{"span", func(_, _ string) allot.AuditFilter { return allot.AuditFilter{Since: mid.Time, Until: license[0].Time} }},
				{"by the system", func(_, _ string) allot.AuditFilter {
					return allot.AuditFilter{Expr: &allot.And{Left: cmp("initiatedBy/user/id", "eq", nil), Right: cmp("initiatedBy/user/displayName", "startswith", "allot")}}
				}},
				{"two targets", func(x, y string) allot.AuditFilter {
					return allot.AuditFilter{Expr: &allot.And{Left: anyT(cmp("targetResources/id", "in", []any{x, y})), Right: cmp("result", "ne", nil)}}
				}},
			}
			for _, fl := range filters {
				for _, order := range []struct{ byTime, asc bool }{{false, false}, {false, true}, {true, false}, {true, true}} {
					for _, top := range []int{5, 32, 999} {
						fb, fs := fl.f(u, v), fl.f(uS, vS)
						fb.ByTime, fb.Ascending, fb.Top = order.byTime, order.asc, top
						fs.ByTime, fs.Ascending, fs.Top = order.byTime, order.asc, top
						got, want := auditPages(t, batched, fb, nb), auditPages(t, single, fs, ns)
						if !slices.Equal(got, want) {
							t.Fatalf("%s, by time %v, ascending %v, %d a page: %s",
								fl.name, order.byTime, order.asc, top, firstDiff(got, want))
						}
						if top == 999 && fl.name == "target" && len(got) < 2 {
							t.Fatalf("the target's log has %d pages: the history is not what the test expects", len(got))
						}
					}
				}
			}
			// As far back as a delta round may start: the history's clock
			// has moved by months.
			if !single.clk.t.Equal(batched.clk.t) {
				t.Fatalf("the histories' clocks differ: %s, %s", batched.clk.t, single.clk.t)
			}
			since := batched.clk.t.Add(-29 * 24 * time.Hour)
			for _, top := range []int{1, 7, 999} {
				got, want := deltaPages(t, batched, since, top, nb), deltaPages(t, single, since, top, ns)
				if !slices.Equal(got, want) || len(got) < 4 {
					t.Fatalf("delta since %s, %d a page (%d lines): %s", since, top, len(got), firstDiff(got, want))
				}
			}
		})
	}
}

// firstDiff shows where the batched store's lines part from the single-row
// store's, with a few lines of context: the whole logs are too long for a
// CI log's tail.
func firstDiff(got, want []string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-3)
	part := func(l []string) string { return strings.Join(l[min(from, len(l)):min(i+4, len(l))], "\n") }
	return fmt.Sprintf("the batched store has %d lines, the single-row store %d; from line %d the batched store reads\n%s\nthe single-row store\n%s", len(got), len(want), from, part(got), part(want))
}

// readAudit reads every entry f selects.
func readAudit(t *testing.T, h *history, f allot.AuditFilter) []allot.AuditEntry {
	t.Helper()
	var out []allot.AuditEntry
	for {
		p, err := h.db.Audit(h.ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Items...)
		if p.NextCursor == "" {
			return out
		}
		f.After = p.NextCursor
	}
}

// auditPages lists f's pages, one line per entry and one per cursor.
func auditPages(t *testing.T, h *history, f allot.AuditFilter, norm func(string) string) []string {
	t.Helper()
	var out []string
	for i := 0; ; i++ {
		p, err := h.db.Audit(h.ctx, f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		for _, e := range p.Items {
			out = append(out, norm(fmt.Sprintf("%+v", e)))
		}
		out = append(out, "cursor "+p.NextCursor)
		if p.NextCursor == "" {
			return out
		}
		if len(p.Items) != f.Top || i > 10000 {
			t.Fatalf("a page of %d before the last, or paging does not end", len(p.Items))
		}
		f.After = p.NextCursor
	}
}

// deltaPages lists a delta round of the users whose licenses changed since.
func deltaPages(t *testing.T, h *history, since time.Time, top int, norm func(string) string) []string {
	t.Helper()
	q := allot.DeltaQuery{DeltaRound: allot.DeltaRound{Since: since}, Top: top, Licenses: true}
	var out []string
	for i := 0; ; i++ {
		p, err := h.db.UsersDelta(h.ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			out = append(out, norm(it.ID))
		}
		out = append(out, norm("next "+p.Next.After))
		if p.Next.After == "" || i > 10000 {
			return out
		}
		q.DeltaRound = p.Next
	}
}

// allot check finds the audit's own index out of step with its batch rows:
// an entry without its audit_users row, one at another time, a row that
// names a batch without the user, and one that names no batch row.
func TestCheckReportsAuditIndexDamage(t *testing.T) {
	for _, c := range []struct{ name, stmt, want string }{
		{"missing", `DELETE FROM audit_users WHERE user_id = ?`, "but no audit_users row"},
		{"another time", `UPDATE audit_users SET at = '2020-01-01T00:00:00.000000000Z' WHERE user_id = ?`, "but no audit_users row"},
		{"stray", `INSERT INTO audit_users (tenant_id, user_id, audit_id, at)
			SELECT tenant_id, 'ffffffff-0000-4000-8000-000000000000', audit_id, at FROM audit_users WHERE user_id = ?`, "users it has no entry of"},
		{"dangling", `INSERT INTO audit_users (tenant_id, user_id, audit_id, at)
			SELECT tenant_id, user_id, audit_id + 1000, at FROM audit_users WHERE user_id = ?`, "not a batch row at its time"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, "US")
			e.sub(skuE1, 5)
			g := e.group("staff")
			var u *allot.User
			for i := range 3 {
				u = e.user(fmt.Sprintf("u%d@x", i), "US")
				e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
			}
			_, err := e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuE1), nil)
			e.must(err)
			e.drain(10)
			if _, b, err := e.db.AuditRows(e.ctx); err != nil || b == 0 {
				t.Fatalf("%d batch rows, %v", b, err)
			}
			e.check()
			e.must(e.db.Exec(context.Background(), c.stmt, u.ID))
			v, err := e.db.Check(context.Background())
			e.must(err)
			found := false
			for _, x := range v {
				if x.Rule != "audit" {
					t.Fatalf("check reports %+v", x)
				}
				found = found || strings.Contains(x.Detail, c.want)
			}
			if !found {
				t.Fatalf("check reports %+v; want an audit violation: %s", v, c.want)
			}
		})
	}
}
