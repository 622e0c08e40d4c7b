package store_test

import (
	"testing"

	"github.com/allot-dev/allot"
)

func TestGroupAssignment(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 2)
	g := e.group("Sales")
	var users []*allot.User
	for _, n := range []string{"a@x", "b@x", "c@x"} {
		u := e.user(n, "")
		users = append(users, u)
		e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	}
	_, err := e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuE1), []string{})
	e.must(err)
	gr, _ := e.db.Group(e.ctx, g.ID)
	if gr.ProcessingState != allot.ProcessingQueued {
		t.Fatalf("state %s, want queued", gr.ProcessingState)
	}
	e.drain(2)
	e.check()
	gr, _ = e.db.Group(e.ctx, g.ID)
	if gr.ProcessingState != allot.ProcessingComplete || !gr.HasMembersWithLicenseErrors {
		t.Fatalf("group %+v", gr)
	}
	// Members are processed in membership order: the third waits.
	if s := e.states(users[2].ID)[skuE1+" "+g.ID]; s.Error != allot.CountViolation {
		t.Fatalf("third user %+v", s)
	}
	sub, _ := e.db.Subscription(e.ctx, skuE1)
	if sub.ConsumedUnits != 2 {
		t.Fatalf("consumed %d", sub.ConsumedUnits)
	}
	// Buying a seat wakes the waiting user.
	_, err = e.db.Purchase(e.ctx, skuE1, 1, nil)
	e.must(err)
	e.drain(10)
	e.check()
	if s := e.states(users[2].ID)[skuE1+" "+g.ID]; s.State != allot.StateActive {
		t.Fatalf("after purchase %+v", s)
	}
	// Unassigning frees every seat.
	_, err = e.db.AssignGroupLicense(e.ctx, g.ID, []allot.AssignedLicense{}, []string{skuE1})
	e.must(err)
	e.drain(10)
	e.check()
	sub, _ = e.db.Subscription(e.ctx, skuE1)
	if sub.ConsumedUnits != 0 {
		t.Fatalf("consumed %d after unassign", sub.ConsumedUnits)
	}
	e.must(e.db.DeleteGroup(e.ctx, g.ID))
}

func TestDirectAssignment(t *testing.T) {
	e := newEnv(t, "")
	e.sub(skuE1, 1)
	e.sub(skuKiosk, 5)
	noLoc := e.user("n@x", "")
	_, err := e.db.AssignUserLicense(e.ctx, noLoc.ID, lic(skuE1), nil)
	if allot.ErrorCode(err) != allot.EINVALID {
		t.Fatalf("no location: %v", err)
	}
	u := e.user("u@x", "GB")
	_, err = e.db.AssignUserLicense(e.ctx, u.ID, lic(skuE1), nil)
	e.must(err)
	_, err = e.db.AssignUserLicense(e.ctx, u.ID, lic(skuKiosk), nil)
	if allot.ErrorCode(err) != allot.EINVALID {
		t.Fatalf("conflict: %v", err)
	}
	v := e.user("v@x", "GB")
	if _, err = e.db.AssignUserLicense(e.ctx, v.ID, lic(skuE1), nil); allot.ErrorCode(err) != allot.EINVALID {
		t.Fatalf("no seat: %v", err)
	}
	if _, err = e.db.AssignUserLicense(e.ctx, v.ID, lic(skuUnsold), nil); allot.ErrorCode(err) != allot.EINVALID {
		t.Fatalf("unsold: %v", err)
	}
	e.drain(10)
	e.check()
	// A license inherited from a group cannot be removed from the user.
	g := e.group("G")
	e.must(e.db.AddMember(e.ctx, g.ID, v.ID))
	_, err = e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuKiosk), nil)
	e.must(err)
	e.drain(10)
	if _, err = e.db.AssignUserLicense(e.ctx, v.ID, nil, []string{skuKiosk}); allot.ErrorCode(err) != allot.EINVALID {
		t.Fatalf("inherited removal: %v", err)
	}
	e.check()
}
