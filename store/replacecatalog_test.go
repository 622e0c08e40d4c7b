package store_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
)

// withCatalog returns testCatalog changed by edit (plans and SKUs are fresh
// copies, so edits do not leak between calls).
func withCatalog(edit func(plans map[string]*allot.ServicePlan, skus map[string]*allot.SKU)) *allot.Catalog {
	c := testCatalog()
	edit(c.Plans, c.SKUs)
	var ps []*allot.ServicePlan
	for _, p := range c.Plans {
		ps = append(ps, p)
	}
	var ss []*allot.SKU
	for _, s := range c.SKUs {
		ss = append(ss, s)
	}
	return allot.NewCatalog(ps, ss)
}

func (e *env) queued() int {
	e.t.Helper()
	st, err := e.db.Status(e.ctx)
	e.must(err)
	return st.QueueDepth
}

func enabledPlans(e *env, uid string) []string {
	e.t.Helper()
	ps, err := e.db.AssignedPlans(e.ctx, uid)
	e.must(err)
	var out []string
	for _, p := range ps {
		out = append(out, p.PlanID)
	}
	return out
}

// Replacing the catalog queues the holders of the SKUs whose plans or plan
// rules changed, and nobody for a rename or an equivalent rule.
func TestReplaceCatalogQueuesHoldersOfChangedSKUs(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	e.sub(skuKiosk, 5)
	e.sub(skuPhone, 5)
	a, k, p := e.user("a@x", ""), e.user("k@x", ""), e.user("p@x", "DE")
	rvDirect(e, a.ID, lic(skuE1))
	rvDirect(e, k.ID, lic(skuKiosk))
	g := e.group("Phones")
	e.must(e.db.AddMember(e.ctx, g.ID, p.ID))
	rvAssign(e, g.ID, lic(skuPhone))
	e.drain(10)
	if n := e.queued(); n != 0 {
		t.Fatalf("%d items queued before any change", n)
	}

	steps := []struct {
		name  string
		edit  func(map[string]*allot.ServicePlan, map[string]*allot.SKU)
		users int
	}{
		{"Renames", func(ps map[string]*allot.ServicePlan, ss map[string]*allot.SKU) {
			ss[skuE1].DisplayName = "Office 365 E1 (renamed)"
			ss[skuKiosk].PartNumber = "KIOSK"
			ps[pExo1].FriendlyName = "Exchange"
			ps[pCalling].Service = "Calling"
		}, 0},
		{"SKUGainsAPlan", func(ps map[string]*allot.ServicePlan, ss map[string]*allot.SKU) {
			ss[skuKiosk].Plans = append(ss[skuKiosk].Plans, pTeams)
		}, 1}, // k
		{"AvailabilityChanges", func(ps map[string]*allot.ServicePlan, ss map[string]*allot.SKU) {
			ss[skuKiosk].Plans = append(ss[skuKiosk].Plans, pTeams)
			ps[pCalling].AvailableIn = []string{"US", "GB", "DE"}
		}, 1}, // p, through the group
		{"ConflictDeclaredOnTheOtherSide", func(ps map[string]*allot.ServicePlan, ss map[string]*allot.SKU) {
			ss[skuKiosk].Plans = append(ss[skuKiosk].Plans, pTeams)
			ps[pCalling].AvailableIn = []string{"US", "GB", "DE"}
			ps[pExo1].ConflictsWith = nil
			ps[pKiosk].ConflictsWith = []string{pExo1}
		}, 0},
		{"ConflictDropped", func(ps map[string]*allot.ServicePlan, ss map[string]*allot.SKU) {
			ss[skuKiosk].Plans = append(ss[skuKiosk].Plans, pTeams)
			ps[pCalling].AvailableIn = []string{"US", "GB", "DE"}
			ps[pExo1].ConflictsWith = nil
		}, 2}, // a (E1 has pExo1) and k (Kiosk has pKiosk)
	}
	for _, s := range steps {
		e.must(e.db.ReplaceCatalog(e.ctx, withCatalog(s.edit)))
		if n := e.queued(); n != s.users {
			t.Errorf("%s: %d users queued, want %d", s.name, n, s.users)
		}
		e.drain(10)
		e.check()
		switch s.name {
		case "SKUGainsAPlan":
			if !slices.Contains(enabledPlans(e, k.ID), pTeams) {
				t.Errorf("the plan Kiosk gained is not enabled for k: %v", enabledPlans(e, k.ID))
			}
		case "AvailabilityChanges":
			if st := e.states(p.ID)[skuPhone+" "+g.ID]; st.State != allot.StateActive {
				t.Errorf("p in DE after the calling plan came to DE: %+v", st)
			}
		}
	}
}

// A SKU that is subscribed or assigned cannot leave the catalog; the
// refusal changes nothing. A SKU nobody uses can.
func TestReplaceCatalogRefusesDroppingSKUsInUse(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuKiosk, 5) // subscribed, not assigned
	e.sub(skuE1, 5)
	u := e.user("u@x", "")
	g := e.group("G")
	e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	rvAssign(e, g.ID, lic(skuE1))
	e.drain(10)

	for _, sku := range []string{skuKiosk, skuE1} {
		err := e.db.ReplaceCatalog(e.ctx, withCatalog(func(ps map[string]*allot.ServicePlan, ss map[string]*allot.SKU) {
			delete(ss, sku)
			ps[pCalling].AvailableIn = nil // a change that would queue users, were it applied
			ss[skuE3].Plans = ss[skuE3].Plans[:1]
		}))
		if allot.ErrorCode(err) != allot.ECONFLICT {
			t.Fatalf("dropping %s: %v, want a conflict", sku, err)
		}
		if c := e.db.Catalog(); c.SKUs[sku] == nil || len(c.SKUs[skuE3].Plans) != 4 || len(c.Plans[pCalling].AvailableIn) != 2 {
			t.Fatalf("the refused catalog was installed (in part)")
		}
		if n := e.queued(); n != 0 {
			t.Fatalf("the refused catalog queued %d users", n)
		}
	}
	e.must(e.db.ReplaceCatalog(e.ctx, withCatalog(func(ps map[string]*allot.ServicePlan, ss map[string]*allot.SKU) {
		delete(ss, skuUnsold)
	})))
	if e.db.Catalog().SKUs[skuUnsold] != nil {
		t.Fatal("the unused SKU is still in the catalog")
	}
	e.drain(10)
	e.check()
}

// A plan a SKU gains is enabled for its assignments; a plan it loses
// leaves their disabledPlans.
func TestReplaceCatalogKeepsDisabledPlansToTheSKU(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	a, b := e.user("a@x", ""), e.user("b@x", "")
	rvDirect(e, a.ID, lic(skuE1, pWAC))
	g := e.group("G")
	e.must(e.db.AddMember(e.ctx, g.ID, b.ID))
	rvAssign(e, g.ID, lic(skuE1, pWAC, pTeams))
	e.drain(10)

	// E1 loses Office for the web and gains Audio Conferencing (which
	// needs MCOSTANDARD, which E1 has).
	e.must(e.db.ReplaceCatalog(e.ctx, withCatalog(func(ps map[string]*allot.ServicePlan, ss map[string]*allot.SKU) {
		ss[skuE1].Plans = []string{pExo1, pSP, pTeams, pAudio}
	})))
	e.drain(10)
	e.check()
	ua, err := e.db.User(e.ctx, a.ID)
	e.must(err)
	if len(ua.AssignedLicenses) != 1 || len(ua.AssignedLicenses[0].DisabledPlans) != 0 {
		t.Errorf("a's licenses: %+v", ua.AssignedLicenses)
	}
	if got := enabledPlans(e, a.ID); !slices.Contains(got, pAudio) || slices.Contains(got, pWAC) {
		t.Errorf("a's enabled plans: %v", got)
	}
	gr, err := e.db.Group(e.ctx, g.ID)
	e.must(err)
	if len(gr.AssignedLicenses) != 1 || !slices.Equal(gr.AssignedLicenses[0].DisabledPlans, []string{pTeams}) {
		t.Errorf("the group's licenses: %+v", gr.AssignedLicenses)
	}
	// b has Audio Conferencing on but MCOSTANDARD off: a dependency error,
	// found because the group's members were evaluated again.
	if st := e.states(b.ID)[skuE1+" "+g.ID]; st.Error != allot.DependencyViolation {
		t.Errorf("b: %+v", st)
	}
}

// A catalog under which the SKUs of one group's assignment would conflict is
// refused, naming the group and the plans, and changes nothing: a group unit
// is all or nothing, so processing could not keep the plans apart. Every
// other kind of rule change is restored by processing: allot check is clean
// after each.
func TestReplaceCatalogRefusesConflictWithinAGroup(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE3, 5)
	e.sub(skuKiosk, 5)
	e.sub(skuAudio, 5)
	e.sub(skuE1, 5)
	g, h := e.group("Frontline"), e.group("Office")
	rvAssign(e, g.ID, append(lic(skuE3), lic(skuKiosk)...))
	rvAssign(e, h.ID, append(lic(skuE3, pExo2), lic(skuKiosk)...)) // pExo2 disabled
	for i, grp := range []*allot.Group{g, h, g} {
		u := e.user(string(rune('a'+i))+"@x", "", string(rune('a'+i))+"@x")
		e.must(e.db.AddMember(e.ctx, grp.ID, u.ID))
		rvDirect(e, u.ID, lic(skuE1))
	}
	e.drain(10)
	e.check()
	before := e.db.Catalog()

	refused := map[string]*allot.Catalog{
		"a new conflict rule": withCatalog(func(p map[string]*allot.ServicePlan, _ map[string]*allot.SKU) {
			p[pExo2].ConflictsWith = []string{pKiosk}
		}),
		"a plan added to a SKU": withCatalog(func(_ map[string]*allot.ServicePlan, s map[string]*allot.SKU) {
			s[skuE3].Plans = append(s[skuE3].Plans, pExo1) // pExo1 conflicts with pKiosk
		}),
	}
	for name, c := range refused {
		err := e.db.ReplaceCatalog(e.ctx, c)
		if allot.ErrorCode(err) != allot.EINVALID {
			t.Fatalf("%s: %v, want a refusal", name, err)
		}
		msg := allot.ErrorMessage(err)
		for _, want := range []string{`"Frontline"`, g.ID, "EXCHANGE_S_"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: message %q does not name %s", name, msg, want)
			}
		}
		if e.db.Catalog() != before || e.queued() != 0 {
			t.Fatalf("%s: the refused catalog changed something", name)
		}
	}

	// The same rule is fine once the group no longer holds both SKUs; the
	// other group disables the conflicting plan.
	rvAssign(e, g.ID, []allot.AssignedLicense{}, skuKiosk)
	e.drain(10)
	restored := []*allot.Catalog{
		refused["a new conflict rule"],
		withCatalog(func(p map[string]*allot.ServicePlan, _ map[string]*allot.SKU) {
			p[pSP].AvailableIn = []string{"DE"}
		}),
		withCatalog(func(p map[string]*allot.ServicePlan, _ map[string]*allot.SKU) {
			p[pTeams].DependsOn = [][]string{{pCalling}}
		}),
		withCatalog(func(p map[string]*allot.ServicePlan, _ map[string]*allot.SKU) {
			p[pSP].ProvisionsMailbox = true
		}),
		withCatalog(func(_ map[string]*allot.ServicePlan, s map[string]*allot.SKU) {
			s[skuE1].Plans = []string{pExo1, pAudio}
		}),
	}
	for i, c := range restored {
		e.must(e.db.ReplaceCatalog(e.ctx, c))
		e.drain(3)
		e.check()
		t.Logf("catalog change %d restored every invariant", i)
	}
}
