package store_test

import (
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/store"
)

func nestedLic(sku string, on bool) []allot.AssignedLicense {
	return []allot.AssignedLicense{{SkuID: sku, DisabledPlans: []string{}, IncludeNestedGroups: &on}}
}

// chain creates groups g0 ⊃ g1 ⊃ … ⊃ g(n-1), each nested in the one before.
func (e *env) chain(n int) []*allot.Group {
	e.t.Helper()
	var gs []*allot.Group
	for i := range n {
		g := e.group("g")
		if i > 0 {
			e.must(e.db.AddMember(e.ctx, gs[i-1].ID, g.ID))
		}
		gs = append(gs, g)
	}
	return gs
}

func (e *env) consumed(sku string) int {
	e.t.Helper()
	subs, err := e.db.Subscriptions(e.ctx)
	e.must(err)
	for _, s := range subs {
		if s.SkuID == sku {
			return s.ConsumedUnits
		}
	}
	e.t.Fatalf("no subscription %s", sku)
	return 0
}

func TestNestedGroups(t *testing.T) {
	t.Run("DefaultIsFirstLevelOnly", func(t *testing.T) {
		e := newEnv(t, "US")
		e.sub(skuE3, 10)
		gs := e.chain(2)
		u := e.user("u@x", "")
		e.must(e.db.AddMember(e.ctx, gs[1].ID, u.ID))
		_, err := e.db.AssignGroupLicense(e.ctx, gs[0].ID, lic(skuE3), []string{})
		e.must(err)
		e.drain(10)
		e.check()
		if st := e.states(u.ID); len(st) != 0 {
			t.Fatalf("a nested member got %v without includeNestedGroups", st)
		}
		g, err := e.db.Group(e.ctx, gs[0].ID)
		e.must(err)
		if g.AssignedLicenses[0].IncludeNestedGroups != nil {
			t.Fatal("includeNestedGroups is set on an assignment that did not ask for it")
		}
	})
	t.Run("InheritUpToDepthLimit", func(t *testing.T) {
		e := newEnv(t, "US")
		e.sub(skuE3, 10)
		gs := e.chain(store.MaxNestingDepth + 2)
		users := make([]*allot.User, len(gs))
		for i, g := range gs {
			users[i] = e.user(g.ID+"@x", "")
			e.must(e.db.AddMember(e.ctx, g.ID, users[i].ID))
		}
		_, err := e.db.AssignGroupLicense(e.ctx, gs[0].ID, nestedLic(skuE3, true), []string{})
		e.must(err)
		e.drain(2)
		e.check()
		for i, u := range users {
			st, ok := e.states(u.ID)[skuE3+" "+gs[0].ID]
			if want := i <= store.MaxNestingDepth; ok != want || ok && st.State != allot.StateActive {
				t.Errorf("user at depth %d: state %+v (present %v), want present %v and Active", i, st, ok, want)
			}
		}
		if got := e.consumed(skuE3); got != store.MaxNestingDepth+1 {
			t.Errorf("consumed %d, want %d", got, store.MaxNestingDepth+1)
		}
		g, err := e.db.Group(e.ctx, gs[0].ID)
		e.must(err)
		if p := g.AssignedLicenses[0].IncludeNestedGroups; p == nil || !*p {
			t.Fatal("the group does not report includeNestedGroups")
		}
	})
	t.Run("CycleCountsEachUserOnce", func(t *testing.T) {
		e := newEnv(t, "US")
		e.sub(skuE3, 10)
		a, b := e.group("a"), e.group("b")
		u, v := e.user("u@x", ""), e.user("v@x", "")
		e.must(e.db.AddMember(e.ctx, a.ID, b.ID))
		e.must(e.db.AddMember(e.ctx, b.ID, a.ID)) // a cycle: Graph allows it
		e.must(e.db.AddMember(e.ctx, b.ID, u.ID))
		e.must(e.db.AddMember(e.ctx, a.ID, v.ID))
		e.must(e.db.AddMember(e.ctx, b.ID, v.ID))
		_, err := e.db.AssignGroupLicense(e.ctx, a.ID, nestedLic(skuE3, true), []string{})
		e.must(err)
		e.drain(1)
		e.check()
		for _, id := range []string{u.ID, v.ID} {
			st := e.states(id)
			if len(st) != 1 || st[skuE3+" "+a.ID].State != allot.StateActive {
				t.Errorf("user %s: states %v, want one Active state from %s", id, st, a.ID)
			}
		}
		if got := e.consumed(skuE3); got != 2 {
			t.Errorf("consumed %d, want 2", got)
		}
	})
	t.Run("RemovingTheEdgeRemovesInheritance", func(t *testing.T) {
		e := newEnv(t, "US")
		e.sub(skuE3, 10)
		gs := e.chain(3)
		u := e.user("u@x", "")
		e.must(e.db.AddMember(e.ctx, gs[2].ID, u.ID))
		_, err := e.db.AssignGroupLicense(e.ctx, gs[0].ID, nestedLic(skuE3, true), []string{})
		e.must(err)
		e.drain(5)
		if len(e.states(u.ID)) != 1 {
			t.Fatal("no inherited state")
		}
		e.must(e.db.RemoveMember(e.ctx, gs[0].ID, gs[1].ID))
		e.drain(5)
		e.check()
		if st := e.states(u.ID); len(st) != 0 || e.consumed(skuE3) != 0 {
			t.Fatalf("after removing the edge: states %v, consumed %d", st, e.consumed(skuE3))
		}
		// Putting the edge back, one level higher up, gives it back.
		e.must(e.db.AddMember(e.ctx, gs[0].ID, gs[2].ID))
		e.drain(5)
		e.check()
		if len(e.states(u.ID)) != 1 {
			t.Fatal("re-adding the edge did not give the license back")
		}
		// Deleting the group in the middle removes it again.
		e.must(e.db.DeleteGroup(e.ctx, gs[2].ID))
		e.drain(5)
		e.check()
		if st := e.states(u.ID); len(st) != 0 {
			t.Fatalf("after deleting the nested group: states %v", st)
		}
	})
	t.Run("JoiningADeepGroupQueuesTheUser", func(t *testing.T) {
		e := newEnv(t, "US")
		e.sub(skuE3, 10)
		gs := e.chain(4)
		_, err := e.db.AssignGroupLicense(e.ctx, gs[0].ID, nestedLic(skuE3, true), []string{})
		e.must(err)
		e.drain(5)
		u := e.user("u@x", "")
		e.must(e.db.AddMember(e.ctx, gs[3].ID, u.ID))
		e.drain(5)
		e.check()
		if st := e.states(u.ID)[skuE3+" "+gs[0].ID]; st.State != allot.StateActive {
			t.Fatalf("state %+v", st)
		}
		e.must(e.db.RemoveMember(e.ctx, gs[3].ID, u.ID))
		e.drain(5)
		e.check()
		if st := e.states(u.ID); len(st) != 0 {
			t.Fatalf("after leaving: %v", st)
		}
	})
	t.Run("FlagKeptWhenOmittedAndRemovedWhenOff", func(t *testing.T) {
		e := newEnv(t, "US")
		e.sub(skuE3, 10)
		e.sub(skuAudio, 10)
		gs := e.chain(2)
		direct, nested := e.user("d@x", ""), e.user("n@x", "")
		e.must(e.db.AddMember(e.ctx, gs[0].ID, direct.ID))
		e.must(e.db.AddMember(e.ctx, gs[1].ID, nested.ID))
		// Only the flagged SKU reaches nested members; direct members get both.
		_, err := e.db.AssignGroupLicense(e.ctx, gs[0].ID, append(nestedLic(skuE3, true), lic(skuAudio)...), []string{})
		e.must(err)
		e.drain(5)
		e.check()
		if st := e.states(nested.ID); len(st) != 1 || st[skuE3+" "+gs[0].ID].SkuID == "" {
			t.Fatalf("nested member states %v, want only %s", st, skuE3)
		}
		if st := e.states(direct.ID); len(st) != 2 {
			t.Fatalf("direct member states %v", st)
		}
		// A Graph client changing the plans, knowing nothing of the flag, keeps it.
		_, err = e.db.AssignGroupLicense(e.ctx, gs[0].ID, lic(skuE3, pSP, pWAC), []string{})
		e.must(err)
		e.drain(5)
		e.check()
		st := e.states(nested.ID)[skuE3+" "+gs[0].ID]
		if len(st.DisabledPlans) != 2 {
			t.Fatalf("after a Graph-style update: %+v", st)
		}
		_, err = e.db.AssignGroupLicense(e.ctx, gs[0].ID, nestedLic(skuE3, false), []string{})
		e.must(err)
		e.drain(5)
		e.check()
		if st := e.states(nested.ID); len(st) != 0 {
			t.Fatalf("after switching nesting off: %v", st)
		}
		if st := e.states(direct.ID); len(st) != 2 {
			t.Fatalf("switching nesting off touched a direct member: %v", st)
		}
	})
	t.Run("NestedErrorsAreListed", func(t *testing.T) {
		e := newEnv(t, "US")
		e.sub(skuE3, 0)
		gs := e.chain(2)
		u := e.user("u@x", "")
		e.must(e.db.AddMember(e.ctx, gs[1].ID, u.ID))
		_, err := e.db.AssignGroupLicense(e.ctx, gs[0].ID, nestedLic(skuE3, true), []string{})
		e.must(err)
		e.drain(5)
		e.check()
		if st := e.states(u.ID)[skuE3+" "+gs[0].ID]; st.Error != allot.CountViolation {
			t.Fatalf("state %+v, want CountViolation", st)
		}
		page, err := e.db.Members(e.ctx, gs[0].ID, false, allot.ListOptions{ErrorsOnly: true})
		e.must(err)
		if len(page.Items) != 1 || page.Items[0].User == nil || page.Items[0].User.ID != u.ID {
			t.Fatalf("membersWithLicenseErrors: %+v", page.Items)
		}
		g, err := e.db.Group(e.ctx, gs[0].ID)
		e.must(err)
		if !g.HasMembersWithLicenseErrors {
			t.Fatal("hasMembersWithLicenseErrors is false")
		}
		// Buying a seat wakes the nested member from the waiting room.
		_, err = e.db.SetSeats(e.ctx, skuE3, 1)
		e.must(err)
		e.drain(5)
		e.check()
		if st := e.states(u.ID)[skuE3+" "+gs[0].ID]; st.State != allot.StateActive {
			t.Fatalf("after buying a seat: %+v", st)
		}
	})
}
