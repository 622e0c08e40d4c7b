package store_test

// Group status (docs/RULES.md §2.3.5): licenseProcessingState and
// hasMembersWithLicenseErrors.

import (
	"context"
	"fmt"
	"testing"

	"github.com/allot-dev/allot"
)

// A group is QueuedForProcessing while it has work not yet started,
// ProcessingInProgress (with members done of total) while its members are
// evaluated, and ProcessingComplete otherwise (docs/RULES.md §2.3.5).
func TestGroupProcessingStateFollowsQueuedWork(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 10)
	g := e.group("G")
	for i := range 3 {
		u := e.user(fmt.Sprintf("u%d@x", i), "")
		e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	}
	gr, _ := e.db.Group(e.ctx, g.ID)
	if gr.ProcessingState != allot.ProcessingComplete {
		t.Fatalf("unlicensed group: %s", gr.ProcessingState)
	}
	rvAssign(e, g.ID, lic(skuE1))
	gr, _ = e.db.Group(e.ctx, g.ID)
	if gr.ProcessingState != allot.ProcessingQueued {
		t.Fatalf("after assign: %s", gr.ProcessingState)
	}
	for want := 1; want <= 3; want++ {
		n, err := e.db.ProcessBatch(context.Background(), 1)
		e.must(err)
		if n != 1 {
			t.Fatalf("batch %d did %d", want, n)
		}
		gr, _ = e.db.Group(e.ctx, g.ID)
		if gr.ProcessingState != allot.ProcessingInProgress || gr.MembersDone != want || gr.MembersTotal != 3 {
			t.Fatalf("after %d: %s %d/%d", want, gr.ProcessingState, gr.MembersDone, gr.MembersTotal)
		}
	}
	e.drain(1)
	gr, _ = e.db.Group(e.ctx, g.ID)
	if gr.ProcessingState != allot.ProcessingComplete || gr.HasMembersWithLicenseErrors {
		t.Fatalf("done: %+v", gr)
	}
	e.check()
	// A member leaving queues work for the group.
	m, _ := e.db.Members(e.ctx, g.ID, false, allot.ListOptions{})
	e.must(e.db.RemoveMember(e.ctx, g.ID, m.Items[0].User.ID))
	gr, _ = e.db.Group(e.ctx, g.ID)
	if gr.ProcessingState != allot.ProcessingQueued {
		t.Fatalf("after member left: %s", gr.ProcessingState)
	}
	e.drain(1)
	gr, _ = e.db.Group(e.ctx, g.ID)
	if gr.ProcessingState != allot.ProcessingComplete {
		t.Fatalf("after drain: %s", gr.ProcessingState)
	}
}

// hasMembersWithLicenseErrors counts only a direct member's Error states from
// this group, not its errors from another group or from direct licenses
// (docs/RULES.md §2.3.5).
func TestHasMembersWithLicenseErrorsCountsOnlyThisGroup(t *testing.T) {
	e := newEnv(t, "")
	e.sub(skuE1, 10)
	e.sub(skuKiosk, 10)
	e.sub(skuPhone, 10)
	g1, g2 := e.group("E1s"), e.group("Kiosks")
	u := e.user("u@x", "US")
	v := e.user("v@x", "US")
	e.must(e.db.AddMember(e.ctx, g1.ID, u.ID))
	e.must(e.db.AddMember(e.ctx, g2.ID, u.ID))
	e.must(e.db.AddMember(e.ctx, g1.ID, v.ID))
	rvAssign(e, g1.ID, lic(skuE1))
	rvAssign(e, g2.ID, lic(skuKiosk))
	rvDirect(e, v.ID, lic(skuPhone))
	e.drain(10)
	rvWant(e, u.ID, skuE1, g1.ID, allot.StateActive, allot.NoLicenseError)
	rvWant(e, u.ID, skuKiosk, g2.ID, allot.StateError, allot.MutuallyExclusiveViolation)
	// v's direct Phone license goes into error: not g1's error.
	de := "DE"
	_, err := e.db.UpdateUser(e.ctx, v.ID, allot.UserUpdate{UsageLocation: &de})
	e.must(err)
	e.drain(10)
	e.check()
	rvWant(e, v.ID, skuPhone, "", allot.StateError, allot.ProhibitedInUsageLocationViolation)
	a, _ := e.db.Group(e.ctx, g1.ID)
	b, _ := e.db.Group(e.ctx, g2.ID)
	if a.HasMembersWithLicenseErrors || !b.HasMembersWithLicenseErrors {
		t.Fatalf("g1 %v (want false), g2 %v (want true)", a.HasMembersWithLicenseErrors, b.HasMembersWithLicenseErrors)
	}
	page, err := e.db.ListGroups(e.ctx, allot.ListOptions{Filter: &allot.Compare{Property: "hasMembersWithLicenseErrors", Op: "eq", Value: true}})
	e.must(err)
	if len(page.Items) != 1 || page.Items[0].ID != g2.ID {
		t.Fatalf("filter: %+v", page.Items)
	}
	errs, err := e.db.Members(e.ctx, g1.ID, false, allot.ListOptions{ErrorsOnly: true})
	e.must(err)
	if len(errs.Items) != 0 {
		t.Fatalf("g1 members with errors: %d", len(errs.Items))
	}
	// u leaves g2: g2's errors go away.
	e.must(e.db.RemoveMember(e.ctx, g2.ID, u.ID))
	e.drain(10)
	b, _ = e.db.Group(e.ctx, g2.ID)
	if b.HasMembersWithLicenseErrors {
		t.Fatal("g2 still has errors after its only failing member left")
	}
}
