package store_test

// What queues a user again (docs/RULES.md §2.3.3): joining or leaving a
// group, a change of the user's or the tenant's location, and a reprocess
// request. The other triggers are tested beside their subject: assignment
// changes in group_assignment_test.go, addresses in uniqueness_test.go, the
// catalog in catalog_change_test.go, freed seats in waitingroom_rules_test.go.

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
)

// Joining a licensed group grants its license and leaving it frees the seat
// (docs/RULES.md §2.3.3); a group that joins is not expanded, so its members
// get nothing (§2.1).
func TestJoiningOrLeavingGroupReevaluatesMember(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	g := e.group("G")
	rvAssign(e, g.ID, lic(skuE1))
	e.drain(10)
	u := e.user("u@x", "")
	e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	e.drain(10)
	e.check()
	rvWant(e, u.ID, skuE1, g.ID, allot.StateActive, allot.NoLicenseError)
	rvWantConsumed(e, skuE1, 1)
	e.must(e.db.RemoveMember(e.ctx, g.ID, u.ID))
	e.drain(10)
	e.check()
	rvNoStates(e, u.ID)
	rvWantConsumed(e, skuE1, 0)
	// A nested group member is ignored (§2.1): its members get nothing.
	inner := e.group("Inner")
	v := e.user("v@x", "")
	e.must(e.db.AddMember(e.ctx, inner.ID, v.ID))
	e.must(e.db.AddMember(e.ctx, g.ID, inner.ID))
	e.drain(10)
	e.check()
	rvNoStates(e, v.ID)
}

// A change of a user's usageLocation queues it again, granting or refusing a
// plan available only in some countries (docs/RULES.md §2.3.3, §2.2 check 1).
func TestUsageLocationChangeReevaluatesUser(t *testing.T) {
	e := newEnv(t, "")
	e.sub(skuPhone, 5)
	g := e.group("Phones")
	u := e.user("u@x", "DE")
	e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	rvAssign(e, g.ID, lic(skuPhone))
	e.drain(10)
	rvWant(e, u.ID, skuPhone, g.ID, allot.StateError, allot.ProhibitedInUsageLocationViolation)
	us, de := "US", "DE"
	_, err := e.db.UpdateUser(e.ctx, u.ID, allot.UserUpdate{UsageLocation: &us})
	e.must(err)
	e.drain(10)
	e.check()
	rvWant(e, u.ID, skuPhone, g.ID, allot.StateActive, allot.NoLicenseError)
	rvWantConsumed(e, skuPhone, 1)
	_, err = e.db.UpdateUser(e.ctx, u.ID, allot.UserUpdate{UsageLocation: &de})
	e.must(err)
	e.drain(10)
	e.check()
	rvWant(e, u.ID, skuPhone, g.ID, allot.StateError, allot.ProhibitedInUsageLocationViolation)
	rvWantConsumed(e, skuPhone, 0)
}

// A change of the tenant's defaultUsageLocation re-evaluates the users that
// have no location of their own and leaves the others as they are
// (docs/RULES.md §2.3.3; a user's location, §2.1).
func TestTenantDefaultLocationChangeReevaluatesUsers(t *testing.T) {
	e := newEnv(t, "")
	e.sub(skuE1, 5)
	e.sub(skuPhone, 5)
	g := e.group("G")
	u := e.user("u@x", "")       // follows the tenant default
	own := e.user("own@x", "DE") // has its own location
	for _, x := range []string{u.ID, own.ID} {
		e.must(e.db.AddMember(e.ctx, g.ID, x))
	}
	rvAssign(e, g.ID, lic(skuPhone))
	e.drain(10)
	rvWant(e, u.ID, skuPhone, g.ID, allot.StateError, allot.ProhibitedInUsageLocationViolation)
	us := "US"
	_, err := e.db.UpdateTenant(e.ctx, &us, nil)
	e.must(err)
	e.drain(10)
	e.check()
	rvWant(e, u.ID, skuPhone, g.ID, allot.StateActive, allot.NoLicenseError)
	rvWant(e, own.ID, skuPhone, g.ID, allot.StateError, allot.ProhibitedInUsageLocationViolation)
	de := "DE"
	_, err = e.db.UpdateTenant(e.ctx, &de, nil)
	e.must(err)
	e.drain(10)
	e.check()
	rvWant(e, u.ID, skuPhone, g.ID, allot.StateError, allot.ProhibitedInUsageLocationViolation)
	rvWantConsumed(e, skuPhone, 0)
}

// A reprocess request (one user, up to 20 users, or a whole group) queues the
// users again, and at the fixed point changes no state (docs/RULES.md §2.3.3,
// §2.2).
func TestReprocessAtFixedPointChangesNoState(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	g := e.group("G")
	var ids []string
	for i := range 20 {
		u := e.user(fmt.Sprintf("u%d@x", i), "")
		ids = append(ids, u.ID)
		e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	}
	rvAssign(e, g.ID, lic(skuE1))
	e.drain(7)
	e.check()
	before := rvSnapshot(e, e.ctx)
	e.must(e.db.ReprocessUsers(e.ctx, ids))
	e.must(e.db.ReprocessUsers(e.ctx, []string{strings.ToUpper(ids[0])}))
	rvCode(t, "21 users", e.db.ReprocessUsers(e.ctx, append(slices.Clone(ids), ids[0])), allot.EINVALID)
	rvCode(t, "no users", e.db.ReprocessUsers(e.ctx, nil), allot.EINVALID)
	e.must(e.db.ReprocessGroup(e.ctx, g.ID))
	if gr, _ := e.db.Group(e.ctx, g.ID); gr.ProcessingState != allot.ProcessingQueued {
		t.Fatalf("after reprocess group: %s", gr.ProcessingState)
	}
	e.drain(3)
	e.check()
	after := rvSnapshot(e, e.ctx)
	// Reprocessing at the fixed point changes no state (audit grows by the
	// group walk's start/finish lines only).
	cut := func(s string) string {
		i := strings.Index(s, "audit entries")
		return s[:i]
	}
	if cut(before) != cut(after) {
		t.Fatalf("reprocess changed something:\n%s\n---\n%s", before, after)
	}
}
