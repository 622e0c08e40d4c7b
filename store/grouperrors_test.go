package store_test

import (
	"fmt"
	"maps"
	"testing"

	"github.com/allot-dev/allot"
)

// TestGroupErrors: the counts the home page reads agree with the members
// in error read one by one (Members with ErrorsOnly, then each member's
// states by the group panel's rule: Other only when nothing else), with
// two products short of seats, a member without a location, and a member
// who left but keeps its states until its evaluation.
func TestGroupErrors(t *testing.T) {
	e := newEnv(t, "")
	e.sub(skuE1, 3)
	e.sub(skuAudio, 1)
	g, quiet := e.group("Team"), e.group("Quiet")
	for i := 1; i <= 6; i++ {
		loc := "US"
		if i == 6 {
			loc = ""
		}
		u := e.user(fmt.Sprintf("user%d@contoso.example", i), loc)
		e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	}
	_, err := e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuE1), nil)
	e.must(err)
	e.drain(100)
	_, err = e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuAudio), nil)
	e.must(err)
	e.drain(100)

	// What the members read one by one say.
	type key struct {
		sku        string
		code       allot.LicenseError
		noLocation bool
	}
	check := func(what string) {
		t.Helper()
		members, err := e.db.Members(e.ctx, g.ID, false, allot.ListOptions{ErrorsOnly: true, Count: true, WithLicensing: true, Top: 100})
		e.must(err)
		want := map[key]int{}
		for _, o := range members.Items {
			real, other := map[key]bool{}, map[key]bool{}
			for _, st := range o.User.States {
				if st.Source != g.ID || st.State != allot.StateError {
					continue
				}
				k := key{st.SkuID, st.Error, st.Error == allot.ProhibitedInUsageLocationViolation && o.User.UsageLocation == ""}
				if st.Error == allot.OtherViolation {
					other[k] = true
				} else {
					real[k] = true
				}
			}
			if len(real) == 0 {
				real = other
			}
			for k := range real {
				want[k]++
			}
		}
		counts, err := e.db.GroupErrors(e.ctx, []string{g.ID, quiet.ID, "no-such-group"})
		e.must(err)
		got := map[key]int{}
		for _, k := range counts[g.ID].Errors {
			got[key{k.SkuID, k.Error, k.NoLocation}] += k.Users
		}
		if members.Count == 0 || counts[g.ID].Users != members.Count || !maps.Equal(got, want) || len(counts) != 1 {
			t.Fatalf("%s: GroupErrors %+v, members in error %d with %v", what, counts, members.Count, want)
		}
	}
	check("two products short of seats")

	// A member in error leaves: its states stay until its evaluation, and
	// it is no longer counted.
	members, err := e.db.Members(e.ctx, g.ID, false, allot.ListOptions{ErrorsOnly: true, Top: 1})
	e.must(err)
	e.must(e.db.RemoveMember(e.ctx, g.ID, members.Items[0].User.ID))
	check("a member in error left")
}
