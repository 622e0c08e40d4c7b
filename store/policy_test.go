package store_test

import (
	"slices"
	"testing"

	"github.com/allot-dev/allot"
)

func TestPolicy(t *testing.T) {
	t.Run("BlockedDirectAssignmentIsRefused", func(t *testing.T) {
		e := newEnv(t, "US")
		e.sub(skuE1, 5)
		e.sub(skuE3, 5)
		early, late := e.user("early@x", ""), e.user("late@x", "")
		_, err := e.db.AssignUserLicense(e.ctx, early.ID, lic(skuE1), []string{})
		e.must(err)

		p, err := e.db.SetPolicy(e.ctx, []string{skuE3, skuE1, skuE1})
		e.must(err)
		if !slices.Equal(p.BlockedDirectSKUs, []string{skuE1, skuE3}) {
			t.Fatalf("policy %+v", p)
		}
		if got, err := e.db.Policy(e.ctx); err != nil || !slices.Equal(got.BlockedDirectSKUs, p.BlockedDirectSKUs) {
			t.Fatalf("read back %+v %v", got, err)
		}

		// Adding a blocked SKU directly is refused and changes nothing.
		_, err = e.db.AssignUserLicense(e.ctx, late.ID, lic(skuE1), []string{})
		if allot.ErrorCode(err) != allot.EINVALID {
			t.Fatalf("blocked assignment: %v", err)
		}
		if len(e.states(late.ID)) != 0 {
			t.Fatalf("late got %+v", e.states(late.ID))
		}
		sub, _ := e.db.Subscription(e.ctx, skuE1)
		if sub.ConsumedUnits != 1 {
			t.Fatalf("consumed %d", sub.ConsumedUnits)
		}

		// The existing direct assignment stays, its plans may change, and
		// it can be removed; then it cannot come back.
		if s := e.states(early.ID)[skuE1+" "]; s.State != allot.StateActive {
			t.Fatalf("early lost its license: %+v", s)
		}
		_, err = e.db.AssignUserLicense(e.ctx, early.ID, lic(skuE1, pWAC), []string{})
		e.must(err)
		_, err = e.db.AssignUserLicense(e.ctx, early.ID, []allot.AssignedLicense{}, []string{skuE1})
		e.must(err)
		if _, err = e.db.AssignUserLicense(e.ctx, early.ID, lic(skuE1), []string{}); allot.ErrorCode(err) != allot.EINVALID {
			t.Fatalf("re-adding after removal: %v", err)
		}

		// Groups are unaffected.
		g := e.group("Sales")
		e.must(e.db.AddMember(e.ctx, g.ID, late.ID))
		_, err = e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuE1), []string{})
		e.must(err)
		e.drain(10)
		e.check()
		if s := e.states(late.ID)[skuE1+" "+g.ID]; s.State != allot.StateActive {
			t.Fatalf("group license %+v", s)
		}

		// Allowing again lets direct assignment through.
		_, err = e.db.SetPolicy(e.ctx, []string{skuE3})
		e.must(err)
		_, err = e.db.AssignUserLicense(e.ctx, early.ID, lic(skuE1), []string{})
		e.must(err)
	})

	t.Run("UnknownSKUIsRefused", func(t *testing.T) {
		e := newEnv(t, "US")
		_, err := e.db.SetPolicy(e.ctx, []string{skuUnsold})
		e.must(err) // in the catalog, not subscribed: allowed
		if _, err := e.db.SetPolicy(e.ctx, []string{"10000000-0000-0000-0000-0000000000ff"}); allot.ErrorCode(err) != allot.EINVALID {
			t.Fatalf("unknown SKU: %v", err)
		}
		p, err := e.db.Policy(e.ctx)
		e.must(err)
		if !slices.Equal(p.BlockedDirectSKUs, []string{skuUnsold}) {
			t.Fatalf("policy changed by a refused request: %+v", p)
		}
	})
}
