package store_test

// Direct assignment is synchronous (docs/RULES.md §2.3.1).

import (
	"slices"
	"testing"

	"github.com/allot-dev/allot"
)

// A direct assignment that would leave a SKU of the request not Active, or
// that removes an inherited or unassigned SKU, or names an unknown or
// unsubscribed SKU or plan, is a 400 and writes nothing (docs/RULES.md
// §2.3.1).
func TestRefusedDirectAssignmentChangesNothing(t *testing.T) {
	e := newEnv(t, "")
	e.sub(skuE1, 1)
	e.sub(skuE3, 5)
	e.sub(skuKiosk, 5)
	e.sub(skuPhone, 5)
	e.sub(skuAudio, 5)
	h := e.user("h@x", "US")
	rvDirect(e, h.ID, lic(skuE1))
	u := e.user("u@x", "DE")
	g := e.group("Kiosks")
	e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	rvAssign(e, g.ID, lic(skuKiosk))
	noLoc := e.user("n@x", "")
	e.drain(10)
	e.check()
	refuse := func(what, uid string, add []allot.AssignedLicense, remove []string) {
		t.Helper()
		before := rvSnapshot(e, e.ctx)
		_, err := e.db.AssignUserLicense(e.ctx, uid, add, remove)
		rvCode(t, what, err, allot.EINVALID)
		if after := rvSnapshot(e, e.ctx); after != before {
			t.Errorf("%s: refused request changed something:\nbefore %s\nafter  %s", what, before, after)
		}
	}
	refuse("no seat", u.ID, lic(skuE1, pExo1), nil)
	refuse("conflict with a group license", u.ID, lic(skuExoP1), nil)
	refuse("location", u.ID, lic(skuPhone), nil)
	refuse("no location at all", noLoc.ID, lic(skuE3), nil)
	refuse("dependency", u.ID, lic(skuAudio), nil)
	refuse("one good one bad", u.ID, []allot.AssignedLicense{{SkuID: skuE3, DisabledPlans: []string{}}, {SkuID: skuPhone, DisabledPlans: []string{}}}, nil)
	refuse("request conflicts with itself", h.ID, []allot.AssignedLicense{{SkuID: skuE3, DisabledPlans: []string{}}, {SkuID: skuKiosk, DisabledPlans: []string{}}}, nil)
	refuse("inherited removal", u.ID, nil, []string{skuKiosk})
	refuse("removal of unassigned", h.ID, nil, []string{skuE3})
	refuse("add good, remove unassigned", h.ID, lic(skuE3), []string{skuAudio})
	refuse("unknown sku", h.ID, lic("10000000-0000-0000-0000-0000000000ff"), nil)
	refuse("unsubscribed sku", h.ID, lic(skuUnsold), nil)
	refuse("plan not in sku", h.ID, lic(skuE3, pKiosk), nil)
	refuse("narrowing breaks a dependency", h.ID, lic(skuE1, pSP), nil)
	rvWantConsumed(e, skuE1, 1)
	e.check()
}

// Sending a held SKU's direct assignment again replaces its disabledPlans,
// and needs no new seat when the subscription is full (docs/RULES.md §2.3.1,
// §2.1).
func TestDirectReassignmentReplacesDisabledPlans(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 1)
	u := e.user("u@x", "")
	rvDirect(e, u.ID, lic(skuE1, pWAC))
	if s := rvState(e, u.ID, skuE1, ""); !slices.Equal(s.DisabledPlans, []string{pWAC}) {
		t.Fatalf("first: %+v", s)
	}
	got, err := e.db.AssignUserLicense(e.ctx, u.ID, lic(skuE1), nil) // seats full: the holder needs no new seat
	e.must(err)
	if len(got.AssignedLicenses) != 1 || len(got.AssignedLicenses[0].DisabledPlans) != 0 {
		t.Fatalf("assignedLicenses after re-post: %+v", got.AssignedLicenses)
	}
	got, err = e.db.AssignUserLicense(e.ctx, u.ID, lic(skuE1, pTeams, pWAC, pSP), nil)
	e.must(err)
	if !slices.Equal(got.AssignedLicenses[0].DisabledPlans, []string{pSP, pWAC, pTeams}) {
		t.Fatalf("narrowed: %+v", got.AssignedLicenses)
	}
	plans, err := e.db.AssignedPlans(e.ctx, u.ID)
	e.must(err)
	if len(plans) != 1 || plans[0].PlanID != pExo1 {
		t.Fatalf("assigned plans: %+v", plans)
	}
	rvWantConsumed(e, skuE1, 1)
	e.drain(10)
	e.check()
}
