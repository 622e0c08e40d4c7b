package store_test

// The audit log of licensing changes (docs/RULES.md §2.3.7).

import (
	"fmt"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
)

// Assignments, state changes, seat changes and purchases are audited with the
// actor, time, target, before and after, under the reference's activity
// names; the group walk's finish line counts the users licensed and failed
// across batches (docs/RULES.md §2.3.7).
func TestAuditRecordsLicensingChanges(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 2)
	g := e.group("G")
	var us []*allot.User
	for i := range 3 {
		u := e.user(fmt.Sprintf("u%d@x", i), "")
		us = append(us, u)
		e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	}
	rvAssign(e, g.ID, lic(skuE1))
	e.drain(1) // the walk spans batches: its counts must survive between them
	check := func(what string, xs []allot.AuditEntry, actor string, n int) []allot.AuditEntry {
		t.Helper()
		if len(xs) < n {
			t.Fatalf("%s: %d entries, want %d", what, len(xs), n)
		}
		for _, x := range xs {
			if x.Time.IsZero() || x.TargetID == "" || x.Actor != actor {
				t.Fatalf("%s: incomplete entry %+v (want actor %q)", what, x, actor)
			}
		}
		return xs
	}
	set := check("Set group license", rvAuditOf(e, "Set group license", g.ID), "admin", 1)
	if set[0].Before != "[]" || !strings.Contains(set[0].After, skuE1) {
		t.Fatalf("set group license before/after: %q %q", set[0].Before, set[0].After)
	}
	check("Start", rvAuditOf(e, "Start applying group based license to users", g.ID), "Allot group-based licensing", 1)
	fin := check("Finish", rvAuditOf(e, "Finish applying group based license to users", g.ID), "Allot group-based licensing", 1)
	if !strings.Contains(fin[0].After, `"licensed":2`) || !strings.Contains(fin[0].After, `"failed":1`) {
		t.Fatalf("finish counts: %s", fin[0].After)
	}
	for i, u := range us {
		ch := check("Change user license", rvAuditOf(e, "Change user license", u.ID), "Allot group-based licensing", 1)
		if !strings.Contains(ch[0].After, skuE1) || ch[0].Before != "[]" {
			t.Fatalf("user %d change: %+v", i, ch[0])
		}
	}
	// Direct assignment: by the admin.
	v := e.user("v@x", "")
	_, err := e.db.SetSeats(e.ctx, skuE1, 4)
	e.must(err)
	up := check("Update subscription", rvAuditOf(e, "Update subscription", skuE1), "admin", 1)
	if up[0].Before != `{"seats":2}` || up[0].After != `{"seats":4}` {
		t.Fatalf("seat change: %+v", up[0])
	}
	rvDirect(e, v.ID, lic(skuE1))
	ch := rvAuditOf(e, "Change user license", v.ID)
	check("direct change", ch, "admin", 1)
	e.drain(10)
	_, err = e.db.Purchase(e.ctx, skuE1, 1, nil)
	e.must(err)
	check("Purchase", rvAuditOf(e, "Purchase licenses", skuE1), "admin", 1)
	// The waiting third member got a seat: its state change is audited.
	if n := len(rvAuditOf(e, "Change user license", us[2].ID)); n < 2 {
		t.Fatalf("third member's activation not audited (%d entries)", n)
	}
}
