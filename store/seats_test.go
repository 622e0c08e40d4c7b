package store_test

// Seats: a user holding a SKU takes exactly one seat (docs/RULES.md §2.1),
// and a subscription lowered below its consumed count takes no license away
// (§2.3.4).

import (
	"fmt"
	"testing"

	"github.com/allot-dev/allot"
)

// Lowering a subscription's seats below its consumed count takes no license
// away: the subscription is over-allocated, says so, and takes no new holder,
// directly or through a group, until it is back under (docs/RULES.md §2.3.4).
func TestLoweringSeatsTakesNoLicenseAway(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 3)
	g := e.group("G")
	rvAssign(e, g.ID, lic(skuE1))
	var hs []*allot.User
	for i := range 3 {
		u := e.user(fmt.Sprintf("h%d@x", i), "")
		hs = append(hs, u)
		e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	}
	e.drain(10)
	_, err := e.db.SetSeats(e.ctx, skuE1, 1)
	e.must(err)
	e.drain(10)
	e.check()
	sub, _ := e.db.Subscription(e.ctx, skuE1)
	if sub.ConsumedUnits != 3 || !sub.OverAllocated() || sub.Available() != 0 {
		t.Fatalf("after lowering: %+v", sub)
	}
	for _, h := range hs {
		rvWant(e, h.ID, skuE1, g.ID, allot.StateActive, allot.NoLicenseError)
	}
	// A new holder is refused, directly and through a group.
	w := e.user("w@x", "")
	if _, err := e.db.AssignUserLicense(e.ctx, w.ID, lic(skuE1), nil); allot.ErrorCode(err) != allot.EINVALID {
		t.Fatalf("direct on over-allocated: %v", err)
	}
	e.must(e.db.AddMember(e.ctx, g.ID, w.ID))
	e.drain(10)
	rvWant(e, w.ID, skuE1, g.ID, allot.StateError, allot.CountViolation)
	// Holders leave: still no seat until back under.
	e.must(e.db.RemoveMember(e.ctx, g.ID, hs[0].ID))
	e.drain(10)
	e.check()
	rvWant(e, w.ID, skuE1, g.ID, allot.StateError, allot.CountViolation)
	e.must(e.db.DeleteUser(e.ctx, hs[1].ID))
	e.drain(10)
	e.check()
	rvWant(e, w.ID, skuE1, g.ID, allot.StateError, allot.CountViolation)
	rvWantConsumed(e, skuE1, 1)
	e.must(e.db.RemoveMember(e.ctx, g.ID, hs[2].ID))
	e.drain(10)
	e.check()
	rvWant(e, w.ID, skuE1, g.ID, allot.StateActive, allot.NoLicenseError)
	rvWantConsumed(e, skuE1, 1)
}

// A user holding a SKU both directly and through a group takes one seat,
// enables the union of the plans, and keeps the SKU when the direct license
// is removed (docs/RULES.md §2.1: holds, enables).
func TestDirectAndGroupLicenseShareOneSeat(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 1)
	u := e.user("u@x", "")
	g := e.group("G")
	e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	rvAssign(e, g.ID, lic(skuE1))
	e.drain(10)
	rvDirect(e, u.ID, lic(skuE1, pWAC))
	rvWantConsumed(e, skuE1, 1)
	got, err := e.db.User(e.ctx, u.ID)
	e.must(err)
	// Union of enabled plans: nothing disabled in every source.
	if len(got.AssignedLicenses) != 1 || len(got.AssignedLicenses[0].DisabledPlans) != 0 {
		t.Fatalf("assignedLicenses %+v", got.AssignedLicenses)
	}
	rvDirect(e, u.ID, nil, skuE1)
	rvWantConsumed(e, skuE1, 1)
	rvWant(e, u.ID, skuE1, g.ID, allot.StateActive, allot.NoLicenseError)
	e.drain(10)
	e.check()
}
