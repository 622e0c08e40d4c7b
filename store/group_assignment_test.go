package store_test

// Group assignment (docs/RULES.md §2.3.2): checked and stored at once, then
// applied to the group's direct members as one unit each (§2.1).

import (
	"slices"
	"testing"

	"github.com/allot-dev/allot"
)

// A change to a group's assignment re-evaluates its members (docs/RULES.md
// §2.3.3), and the group unit is granted or refused whole (§2.1): disabling a
// plan another enabled plan depends on, or a plan a second SKU of the group
// depends on, fails the whole unit.
func TestGroupAssignmentChangeReevaluatesMembers(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	e.sub(skuAudio, 5)
	g := e.group("G")
	u := e.user("u@x", "")
	e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	rvAssign(e, g.ID, lic(skuE1))
	e.drain(10)
	rvWant(e, u.ID, skuE1, g.ID, allot.StateActive, allot.NoLicenseError)
	// Disabling SharePoint while Office Online (depends on it) stays on.
	rvAssign(e, g.ID, lic(skuE1, pSP))
	e.drain(10)
	e.check()
	rvWant(e, u.ID, skuE1, g.ID, allot.StateError, allot.DependencyViolation)
	rvWantConsumed(e, skuE1, 0)
	// Disabling both makes it whole again, with the plans disabled.
	rvAssign(e, g.ID, lic(skuE1, pSP, pWAC))
	e.drain(10)
	e.check()
	rvWant(e, u.ID, skuE1, g.ID, allot.StateActive, allot.NoLicenseError)
	if s := rvState(e, u.ID, skuE1, g.ID); !slices.Equal(s.DisabledPlans, []string{pSP, pWAC}) {
		t.Fatalf("disabled plans %v", s.DisabledPlans)
	}
	// Adding a second SKU to the group: one unit with both.
	rvAssign(e, g.ID, lic(skuAudio))
	e.drain(10)
	e.check()
	rvWant(e, u.ID, skuAudio, g.ID, allot.StateActive, allot.NoLicenseError)
	rvWantConsumed(e, skuAudio, 1)
	// Removing the SKU Audio depends on (Teams, from E1) breaks the unit:
	// all or nothing per group, so Audio's error is a dependency.
	rvAssign(e, g.ID, lic(skuE1, pSP, pWAC, pTeams))
	e.drain(10)
	e.check()
	rvWant(e, u.ID, skuAudio, g.ID, allot.StateError, allot.DependencyViolation)
	rvWant(e, u.ID, skuE1, g.ID, allot.StateError, allot.OtherViolation)
	rvWantConsumed(e, skuE1, 0)
	rvWantConsumed(e, skuAudio, 0)
}

// Assigning a license to several groups at once is all or nothing: if one
// group's SKUs would then conflict, no group is changed (docs/RULES.md
// §2.3.2).
func TestAssignGroupsLicenseIsAllOrNone(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	e.sub(skuKiosk, 5)
	g1, g2 := e.group("G1"), e.group("G2")
	rvAssign(e, g2.ID, lic(skuKiosk))
	e.drain(10)
	before := rvSnapshot(e, e.ctx)
	err := e.db.AssignGroupsLicense(e.ctx, []string{g1.ID, g2.ID}, allot.AssignedLicense{SkuID: skuE1, DisabledPlans: []string{}})
	rvCode(t, "second group's SKUs would conflict", err, allot.EINVALID)
	if after := rvSnapshot(e, e.ctx); after != before {
		t.Fatalf("partial batch assignment")
	}
}
