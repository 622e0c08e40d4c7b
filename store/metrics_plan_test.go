package store

import (
	"context"
	"strings"
	"testing"
)

// TestIndexQueryPlans checks that SQLite answers the scrape's queries, the
// waiting room's and a batch's read of memberships from indexes, with the
// planner statistics every database gets (which describe a
// 1,000,000-user tenant): none may walk license_states or a table of
// users, the waiting room's must find the partial index that holds only
// the waiting, the memberships' an index that holds the group, and a
// walk's page of members an index that holds all it reads.
// PostgreSQL plans on measured statistics, which an empty test database
// does not have, so only SQLite is checked.
func TestIndexQueryPlans(t *testing.T) {
	db, err := Open(context.Background(), Config{DSN: ":memory:"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct {
		name, sql string
		args      []any
		want      []string // each must appear in the plan
	}{
		{"queue", queueSQL, nil, []string{"SCAN work USING COVERING INDEX work_target"}},
		{"a tenant's first item", firstWorkSQL, []any{"t"}, []string{"SEARCH work USING INDEX work_order (tenant_id=?)"}},
		{"a tenant's first users", usersWorkSQL, []any{"t", 10}, []string{"SEARCH work USING INDEX work_order (tenant_id=?)"}},
		{"tenants with work", tenantsWithWorkSQL(false), []any{"", 16}, []string{"SEARCH work USING COVERING INDEX work_order (tenant_id>?)"}},
		{"tenants with work up to", tenantsWithWorkSQL(true), []any{"z", "", "z", 16}, []string{"SEARCH work USING COVERING INDEX work_order (tenant_id>? AND tenant_id<?)"}},
		{"oldest", `SELECT id, enqueued_at FROM work WHERE id IN (?, ?)`, []any{1, 2}, []string{"SEARCH work USING INTEGER PRIMARY KEY"}},
		{"seats", seatsSQL, nil, []string{"subscriptions"}},
		{"users in error", usersInErrorSQL, errorCodes, []string{"SEARCH l USING COVERING INDEX license_states_kind (tenant_id=? AND state=? AND sku_id=?)"}},
		{"waiting count", waitingCountSQL, []any{"t", "s"}, []string{waitingIndexPlan}},
		{"waiting entries", waitingEntriesSQL, []any{"t", "s", 10}, []string{waitingIndexPlan}},
		{"waiting users", waitingUsersSQL, []any{"t", "s", 10, 0}, []string{waitingIndexPlan}},
		{"a batch's memberships", strings.Replace(membershipsOfSQL, "%s", "?, ?", 1), []any{"t", "u1", "u2"},
			[]string{"SEARCH memberships USING COVERING INDEX memberships_member (tenant_id=? AND member_id=?)"}},
		{"a batch's users", strings.Replace(usersOfSQL, "%s", "?, ?", 1), []any{"t", "u1", "u2"},
			[]string{"SEARCH u USING COVERING INDEX users_inputs (tenant_id=? AND id=?)"}},
		{"the listers of a batch's addresses", strings.Replace(listersOfSQL, "%s", "?, ?", 1), []any{"t", "a1", "a2"},
			[]string{"SEARCH addresses USING COVERING INDEX addresses_listers (tenant_id=? AND address=?)"}},
		{"a walk's page of members", walkPageSQL, []any{"t", "g", "", "", 1000},
			[]string{"SEARCH memberships USING COVERING INDEX memberships_order (tenant_id=? AND group_id=? AND (added_at,member_id)>(?,?))"}},
	} {
		rows, err := db.db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+c.sql, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: plan lacks %q:\n%s", c.name, w, text)
			}
		}
		// The only full walks allowed: subscriptions (a row per tenant and
		// SKU), the queue's own index, and a recursive query's own rows.
		for _, line := range plan {
			if strings.HasPrefix(line, "SCAN ") && !strings.HasPrefix(line, "SCAN subscriptions") &&
				!strings.HasPrefix(line, "SCAN s ") && line != "SCAN s" && !strings.HasPrefix(line, "SCAN work USING COVERING INDEX work_target") &&
				line != "SCAN CONSTANT ROW" && line != "SCAN t" {
				t.Errorf("%s: plan walks a large table (%s):\n%s", c.name, line, text)
			}
		}
		t.Logf("%s:\n%s", c.name, text)
	}
}

const waitingIndexPlan = "SEARCH license_states USING COVERING INDEX license_states_waiting (tenant_id=? AND sku_id=? AND error=?)"
