package rules_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/rules"
)

// ---------------------------------------------------------------------------
// A deterministic generator of users: a small random catalog (conflicts,
// dependencies, availability, mailbox plans, plans shared between SKUs),
// direct and group units, states before, free seats.

type gen struct{ r *rand.Rand }

func (g gen) n(k int) int             { return g.r.IntN(k) }
func (g gen) p(prob float64) bool     { return g.r.Float64() < prob }
func (g gen) pick(xs []string) string { return xs[g.n(len(xs))] }

var locations = []string{"US", "FR", "DE"}

func (g gen) catalog() *allot.Catalog {
	nPlans := 4 + g.n(7)
	var ids []string
	for i := range nPlans {
		ids = append(ids, fmt.Sprintf("p-%d", i))
	}
	plans := make([]*allot.ServicePlan, nPlans)
	for i, id := range ids {
		p := &allot.ServicePlan{ID: id, Name: strings.ToUpper(id)}
		if g.p(0.2) {
			for _, l := range locations {
				if g.p(0.5) {
					p.AvailableIn = append(p.AvailableIn, l)
				}
			}
		}
		p.ProvisionsMailbox = g.p(0.25)
		if g.p(0.3) {
			for range 1 + g.n(2) {
				var grp []string
				for range 1 + g.n(2) {
					if q := g.pick(ids); q != id && !slices.Contains(grp, q) {
						grp = append(grp, q)
					}
				}
				if len(grp) > 0 {
					p.DependsOn = append(p.DependsOn, grp)
				}
			}
		}
		plans[i] = p
	}
	// Conflicts declared on one side only, at random.
	for i := range nPlans {
		for j := i + 1; j < nPlans; j++ {
			if g.p(0.12) {
				if g.p(0.5) {
					plans[i].ConflictsWith = append(plans[i].ConflictsWith, ids[j])
				} else {
					plans[j].ConflictsWith = append(plans[j].ConflictsWith, ids[i])
				}
			}
		}
	}
	conflict := func(a, b string) bool {
		for _, p := range plans {
			if (p.ID == a && slices.Contains(p.ConflictsWith, b)) || (p.ID == b && slices.Contains(p.ConflictsWith, a)) {
				return true
			}
		}
		return false
	}
	nSKUs := 3 + g.n(4)
	var skus []*allot.SKU
	for i := range nSKUs {
		s := &allot.SKU{ID: fmt.Sprintf("sku-%d", i), PartNumber: fmt.Sprintf("SKU%d", i), AppliesTo: "User"}
		for range 1 + g.n(3) {
			q := g.pick(ids)
			if slices.Contains(s.Plans, q) || slices.ContainsFunc(s.Plans, func(o string) bool { return conflict(o, q) }) {
				continue // a SKU never conflicts with itself
			}
			s.Plans = append(s.Plans, q)
		}
		skus = append(skus, s)
	}
	return allot.NewCatalog(plans, skus)
}

// skusConflict reports whether two SKUs have conflicting plans: a group's
// SKUs never do (docs/RULES.md §2.3.2 refuses such an assignment).
func skusConflict(c *allot.Catalog, a, b string) bool {
	for _, p := range c.SKUs[a].Plans {
		for _, q := range c.SKUs[b].Plans {
			if c.Conflicts(p, q) {
				return true
			}
		}
	}
	return false
}

func (g gen) license(c *allot.Catalog, sku string) allot.AssignedLicense {
	l := allot.AssignedLicense{SkuID: sku}
	for _, p := range c.SKUs[sku].Plans {
		if g.p(0.15) {
			l.DisabledPlans = append(l.DisabledPlans, p)
		}
	}
	return l
}

func (g gen) input() rules.Input {
	c := g.catalog()
	skuIDs := slices.Sorted(maps.Keys(c.SKUs))
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	created := func() time.Time { return base.Add(time.Duration(g.n(4)) * time.Hour) }

	var us []rules.Unit
	for _, s := range skuIDs {
		if g.p(0.3) {
			us = append(us, rules.Unit{Source: "", Created: created(), SKUs: []allot.AssignedLicense{g.license(c, s)}})
		}
	}
	for i := range g.n(5) {
		u := rules.Unit{Source: fmt.Sprintf("g-%d", g.n(10)*10+i), Created: created()}
		for range 1 + g.n(3) {
			s := g.pick(skuIDs)
			if slices.ContainsFunc(u.SKUs, func(l allot.AssignedLicense) bool { return l.SkuID == s || skusConflict(c, l.SkuID, s) }) {
				continue
			}
			u.SKUs = append(u.SKUs, g.license(c, s))
		}
		us = append(us, u)
	}
	g.r.Shuffle(len(us), func(i, j int) { us[i], us[j] = us[j], us[i] })

	// States before: none, wholly Active, refused (one SKU carries a code,
	// the rest Other; a CountViolation waits since a random hour), or partly
	// Active; plus states of units the user no longer has.
	codes := []allot.LicenseError{allot.CountViolation, allot.CountViolation, allot.MutuallyExclusiveViolation, allot.DependencyViolation,
		allot.ProhibitedInUsageLocationViolation, allot.UniquenessViolation}
	var bf []allot.LicenseState
	st := func(src, sku, state string, code allot.LicenseError) allot.LicenseState {
		s := allot.LicenseState{SkuID: sku, Source: src, State: state, Error: code, Detail: "before",
			LastUpdated: base.Add(-time.Duration(1+g.n(48)) * time.Hour)}
		if g.p(0.5) {
			s.DisabledPlans = []string{}
		}
		if code == allot.CountViolation {
			s.WaitingSince = base.Add(-time.Duration(100+g.n(48)) * time.Hour)
		}
		return s
	}
	for _, u := range us {
		switch k := g.n(20); {
		case k < 7:
		case k < 14:
			for _, l := range u.SKUs {
				bf = append(bf, st(u.Source, l.SkuID, allot.StateActive, allot.NoLicenseError))
			}
		case k < 18:
			carrier := g.n(len(u.SKUs))
			code := codes[g.n(len(codes))]
			for i, l := range u.SKUs {
				if i == carrier {
					bf = append(bf, st(u.Source, l.SkuID, allot.StateError, code))
				} else {
					bf = append(bf, st(u.Source, l.SkuID, allot.StateError, allot.OtherViolation))
				}
			}
		default:
			bf = append(bf, st(u.Source, u.SKUs[0].SkuID, allot.StateActive, allot.NoLicenseError))
		}
	}
	if g.p(0.25) {
		for range 1 + g.n(2) {
			bf = append(bf, st("g-gone", g.pick(skuIDs), allot.StateActive, allot.NoLicenseError))
		}
	}
	if g.p(0.1) {
		s := g.pick(skuIDs)
		if !slices.ContainsFunc(us, func(u rules.Unit) bool { return u.Source == "" && u.SKUs[0].SkuID == s }) {
			bf = append(bf, st("", s, allot.StateActive, allot.NoLicenseError))
		}
	}
	// Before states of one (source, SKU) are unique.
	seen := map[[2]string]bool{}
	bf = slices.DeleteFunc(bf, func(s allot.LicenseState) bool {
		k := [2]string{s.Source, s.SkuID}
		d := seen[k]
		seen[k] = true
		return d
	})
	g.r.Shuffle(len(bf), func(i, j int) { bf[i], bf[j] = bf[j], bf[i] })

	free := map[string]int{}
	for _, s := range skuIDs {
		if !g.p(0.1) {
			free[s] = g.n(4) - 1 // -1..2; missing means 0
		}
	}
	loc := ""
	if !g.p(0.1) {
		loc = g.pick(locations)
	}
	tk := map[string]bool{}
	if g.p(0.15) {
		tk["user@x.test"] = true
	}
	return rules.Input{
		Location:       loc,
		ProxyAddresses: []string{"SMTP:User@X.test", "smtp:alias@x.test"},
		Taken:          tk,
		Units:          us,
		Before:         bf,
		Free:           free,
		Catalog:        c,
		Now:            base.Add(24 * time.Hour),
	}
}

// ---------------------------------------------------------------------------
// An independent model of docs/RULES.md §2.2, written from the text. It says, per
// unit in base order, whether it is accepted and otherwise which check it
// fails first against the final accepted set and which SKUs may carry it.

type mUnit struct {
	src      string
	created  time.Time
	skus     []allot.AssignedLicense // by id
	accepted bool
	code     allot.LicenseError // first failing check, when refused
	cands    []string           // SKUs that may carry the error
}

func model(in rules.Input) []mUnit {
	c := in.Catalog
	us := make([]mUnit, len(in.Units))
	for i, u := range in.Units {
		skus := slices.Clone(u.SKUs)
		sort.Slice(skus, func(a, b int) bool { return skus[a].SkuID < skus[b].SkuID })
		us[i] = mUnit{src: u.Source, created: u.Created, skus: skus}
	}
	sort.SliceStable(us, func(i, j int) bool {
		a, b := us[i], us[j]
		if (a.src == "") != (b.src == "") {
			return a.src == ""
		}
		if !a.created.Equal(b.created) {
			return a.created.Before(b.created)
		}
		if a.src != b.src {
			return a.src < b.src
		}
		return a.skus[0].SkuID < b.skus[0].SkuID
	})
	enabled := func(l allot.AssignedLicense) []string {
		var out []string
		for _, p := range c.SKUs[l.SkuID].Plans {
			if !slices.Contains(l.DisabledPlans, p) {
				out = append(out, p)
			}
		}
		return out
	}
	conflicts := func(a, b string) bool {
		pa, pb := c.Plans[a], c.Plans[b]
		return (pa != nil && slices.Contains(pa.ConflictsWith, b)) || (pb != nil && slices.Contains(pb.ConflictsWith, a))
	}
	heldBefore := map[string]bool{}
	beforeOf := map[[2]string]allot.LicenseState{}
	for _, s := range in.Before {
		beforeOf[[2]string{s.Source, s.SkuID}] = s
		if s.State == allot.StateActive {
			heldBefore[s.SkuID] = true
		}
	}
	taken := false
	for _, a := range in.ProxyAddresses {
		taken = taken || in.Taken[allot.NormalizeAddress(a)]
	}
	acc := make([]bool, len(us))

	check := func(i, upto int) (allot.LicenseError, []string) {
		u := us[i]
		var cands []string
		// 1. location
		for _, l := range u.skus {
			if in.Location == "" || slices.ContainsFunc(enabled(l), func(p string) bool {
				a := c.Plans[p].AvailableIn
				return len(a) > 0 && !slices.Contains(a, in.Location)
			}) {
				cands = append(cands, l.SkuID)
			}
		}
		if len(cands) > 0 {
			return allot.ProhibitedInUsageLocationViolation, cands
		}
		// 2. uniqueness
		for _, l := range u.skus {
			if taken && slices.ContainsFunc(enabled(l), func(p string) bool { return c.Plans[p].ProvisionsMailbox }) {
				cands = append(cands, l.SkuID)
			}
		}
		if len(cands) > 0 {
			return allot.UniquenessViolation, cands
		}
		// 3. conflict with a plan enabled by a unit of S of a different SKU
		for _, l := range u.skus {
		plans:
			for _, p := range enabled(l) {
				for j, v := range us {
					if !acc[j] || j == i {
						continue
					}
					for _, m := range v.skus {
						if m.SkuID == l.SkuID {
							continue
						}
						for _, q := range enabled(m) {
							if conflicts(p, q) {
								cands = append(cands, l.SkuID)
								break plans
							}
						}
					}
				}
			}
		}
		if len(cands) > 0 {
			return allot.MutuallyExclusiveViolation, cands
		}
		if upto == 3 {
			return "", nil
		}
		// 4. dependency
		on := map[string]bool{}
		for j, v := range us {
			if acc[j] || j == i {
				for _, m := range v.skus {
					for _, p := range enabled(m) {
						on[p] = true
					}
				}
			}
		}
		for _, l := range u.skus {
			if slices.ContainsFunc(enabled(l), func(p string) bool {
				return slices.ContainsFunc(c.Plans[p].DependsOn, func(grp []string) bool {
					return !slices.ContainsFunc(grp, func(q string) bool { return on[q] })
				})
			}) {
				cands = append(cands, l.SkuID)
			}
		}
		if len(cands) > 0 {
			return allot.DependencyViolation, cands
		}
		if upto == 4 {
			return "", nil
		}
		// 5. count. A seat taken earlier in this evaluation is a seat of a
		// SKU some accepted unit gives, which no later unit needs again; and
		// accepted units of step 2 are never dropped. So "no seat is free"
		// for a SKU nobody in S gives is just Free[sku] <= 0.
		given := map[string]bool{}
		for j, v := range us {
			if acc[j] {
				for _, m := range v.skus {
					given[m.SkuID] = true
				}
			}
		}
		var lacking []string
		for _, l := range u.skus {
			if !heldBefore[l.SkuID] && !given[l.SkuID] && in.Free[l.SkuID] <= 0 {
				lacking = append(lacking, l.SkuID)
			}
		}
		if len(lacking) == 0 {
			return "", nil
		}
		for _, s := range lacking {
			if beforeOf[[2]string{u.src, s}].Error == allot.CountViolation {
				return allot.CountViolation, []string{s}
			}
		}
		return allot.CountViolation, lacking[:1]
	}

	// 1. Incumbents.
	inc := make([]bool, len(us))
	for i, u := range us {
		inc[i] = !slices.ContainsFunc(u.skus, func(l allot.AssignedLicense) bool {
			return beforeOf[[2]string{u.src, l.SkuID}].State != allot.StateActive
		})
		if inc[i] {
			if code, _ := check(i, 3); code == "" {
				acc[i] = true
			}
		}
	}
	for dropped := true; dropped; {
		dropped = false
		for i := range us {
			if acc[i] && inc[i] {
				acc[i] = false // check 4 looks at S ∪ {unit}: same thing
				if code, _ := check(i, 4); code == allot.DependencyViolation {
					dropped = true
				} else {
					acc[i] = true
				}
			}
		}
	}
	// 2. Sweeps.
	for added := true; added; {
		added = false
		for i := range us {
			if !acc[i] {
				if code, _ := check(i, 5); code == "" {
					acc[i], added = true, true
				}
			}
		}
	}
	// 3. Result.
	for i := range us {
		us[i].accepted = acc[i]
		if acc[i] {
			continue
		}
		us[i].code, us[i].cands = check(i, 5)
	}
	return us
}

// waitingSince is when the model says the user started waiting for sku:
// the place in line belongs to the user and the SKU, so it is the earliest
// waitingSince of the user's CountViolation states for the SKU before,
// from any unit, or now if it did not wait for it.
func waitingSince(in rules.Input, sku string) time.Time {
	since := in.Now
	for _, b := range in.Before {
		if b.SkuID == sku && b.Error == allot.CountViolation && !b.WaitingSince.IsZero() && b.WaitingSince.Before(since) {
			since = b.WaitingSince
		}
	}
	return since
}

// compareWithModel checks out against the model, state by state.
func compareWithModel(t *testing.T, in rules.Input, out rules.Output) {
	t.Helper()
	k := 0
	for _, u := range model(in) {
		if k+len(u.skus) > len(out.States) {
			t.Fatalf("too few states:%s", fmtStates(out.States))
		}
		states := out.States[k : k+len(u.skus)]
		k += len(u.skus)
		for j, l := range u.skus {
			if states[j].Source != u.src || states[j].SkuID != l.SkuID {
				t.Fatalf("state %d is %s/%s, want %s/%s (base order, SKUs by id):%s", k-len(u.skus)+j,
					states[j].Source, states[j].SkuID, u.src, l.SkuID, fmtStates(out.States))
			}
		}
		if u.accepted {
			for _, s := range states {
				if s.State != allot.StateActive {
					t.Errorf("unit %q: %s is %s/%s, the model accepts the unit", u.src, s.SkuID, s.State, s.Error)
				}
			}
			continue
		}
		if u.code == "" {
			t.Errorf("model: unit %q refused but passes every check against the final set", u.src)
			continue
		}
		var carrier *allot.LicenseState
		for i, s := range states {
			if s.Error != allot.OtherViolation {
				carrier = &states[i]
			}
		}
		if carrier == nil || carrier.Error != u.code || !slices.Contains(u.cands, carrier.SkuID) {
			t.Errorf("unit %q: model says %s on one of %v; got%s", u.src, u.code, u.cands, fmtStates(states))
			continue
		}
		if want := waitingSince(in, carrier.SkuID); u.code == allot.CountViolation && !carrier.WaitingSince.Equal(want) {
			t.Errorf("unit %q: WaitingSince %v, want %v", u.src, carrier.WaitingSince, want)
		}
	}
	if k != len(out.States) {
		t.Errorf("%d states, want %d", len(out.States), k)
	}
}

// checkInvariants asserts docs/RULES.md §2.3.8 at the level of one user.
func checkInvariants(t *testing.T, in rules.Input, out rules.Output) {
	t.Helper()
	c := in.Catalog
	type ep struct{ sku, plan string }
	var on []ep
	onSet := map[string]bool{}
	mailbox := false
	for _, s := range out.States {
		if s.State != allot.StateActive {
			continue
		}
		for _, p := range c.EnabledPlans(s.SkuID, s.DisabledPlans) {
			on = append(on, ep{s.SkuID, p})
			onSet[p] = true
			mailbox = mailbox || c.Plans[p].ProvisionsMailbox
		}
	}
	for _, a := range on {
		for _, b := range on {
			if a.sku != b.sku && c.Conflicts(a.plan, b.plan) {
				t.Errorf("conflicting plans enabled: %s/%s and %s/%s", a.sku, a.plan, b.sku, b.plan)
			}
		}
		for _, grp := range c.Plans[a.plan].DependsOn {
			if !slices.ContainsFunc(grp, func(q string) bool { return onSet[q] }) {
				t.Errorf("%s/%s enabled without any of %v", a.sku, a.plan, grp)
			}
		}
	}
	if out.Mailbox != mailbox {
		t.Errorf("Mailbox = %v, but enabled mailbox plan: %v", out.Mailbox, mailbox)
	}
	if out.Mailbox {
		for _, a := range in.ProxyAddresses {
			if in.Taken[allot.NormalizeAddress(a)] {
				t.Errorf("mailbox with address %s owned by another", a)
			}
		}
	}
	for _, s := range out.States {
		if s.Error == allot.CountViolation && in.Free[s.SkuID]-out.SeatDelta[s.SkuID] > 0 {
			t.Errorf("CountViolation on %s with %d free seats after the delta", s.SkuID, in.Free[s.SkuID]-out.SeatDelta[s.SkuID])
		}
	}
}

// checkStamps asserts lastUpdatedDateTime and Changed against Before:
// a state equal to its state before (state, error, disabledPlans as a set,
// detail) keeps its time, any other gets Now; Changed is true iff some
// state differs or appears or disappears.
func checkStamps(t *testing.T, in rules.Input, out rules.Output) {
	t.Helper()
	norm := func(xs []string) []string { return slices.Sorted(slices.Values(xs)) }
	bf := map[[2]string]allot.LicenseState{}
	for _, s := range in.Before {
		bf[[2]string{s.Source, s.SkuID}] = s
	}
	changed := false
	seen := map[[2]string]bool{}
	for _, s := range out.States {
		k := [2]string{s.Source, s.SkuID}
		seen[k] = true
		b, ok := bf[k]
		same := ok && b.State == s.State && b.Error == s.Error && b.Detail == s.Detail &&
			slices.Equal(norm(b.DisabledPlans), norm(s.DisabledPlans))
		changed = changed || !same
		want := in.Now
		if same {
			want = b.LastUpdated
		}
		if !s.LastUpdated.Equal(want) {
			t.Errorf("%s/%s LastUpdated = %v, want %v (unchanged: %v)", s.Source, s.SkuID, s.LastUpdated, want, same)
		}
	}
	for k := range bf {
		changed = changed || !seen[k]
	}
	if out.Changed != changed {
		t.Errorf("Changed = %v, want %v", out.Changed, changed)
	}
}

// reevaluate applies out and evaluates the same user again an hour later.
func reevaluate(in rules.Input, out rules.Output) (rules.Input, rules.Output) {
	in2 := in
	in2.Before = out.States
	in2.Free = maps.Clone(in.Free)
	for k, d := range out.SeatDelta {
		in2.Free[k] -= d
	}
	in2.Now = in.Now.Add(time.Hour)
	return in2, rules.Evaluate(in2)
}

func checkFixedPoint(t *testing.T, in rules.Input, out rules.Output) {
	t.Helper()
	in2, out2 := reevaluate(in, out)
	if !reflect.DeepEqual(out2.States, out.States) {
		t.Errorf("second evaluation changed states:\nfirst:%s\nsecond:%s", fmtStates(out.States), fmtStates(out2.States))
		for i := range min(len(out.States), len(out2.States)) {
			if !reflect.DeepEqual(out.States[i], out2.States[i]) {
				t.Errorf("first difference:\n%+v\n%+v", out.States[i], out2.States[i])
				break
			}
		}
	}
	for k, d := range out2.SeatDelta {
		if d != 0 {
			t.Errorf("second evaluation SeatDelta[%s] = %d", k, d)
		}
	}
	if out2.Changed {
		t.Errorf("second evaluation Changed = true")
	}
	if out2.Mailbox != out.Mailbox || !slices.Equal(out2.Held, out.Held) {
		t.Errorf("second evaluation Mailbox %v Held %v, first %v %v", out2.Mailbox, out2.Held, out.Mailbox, out.Held)
	}
	checkStructure(t, in2, out2)
}

func describe(in rules.Input) string {
	var b strings.Builder
	fmt.Fprintf(&b, "location %q taken %v free %v\n", in.Location, slices.Collect(maps.Keys(in.Taken)), in.Free)
	for _, id := range slices.Sorted(maps.Keys(in.Catalog.Plans)) {
		p := in.Catalog.Plans[id]
		fmt.Fprintf(&b, "  plan %s in%v conflicts%v depends%v mailbox=%v\n", id, p.AvailableIn, p.ConflictsWith, p.DependsOn, p.ProvisionsMailbox)
	}
	for _, id := range slices.Sorted(maps.Keys(in.Catalog.SKUs)) {
		fmt.Fprintf(&b, "  %s %v\n", id, in.Catalog.SKUs[id].Plans)
	}
	for _, u := range in.Units {
		fmt.Fprintf(&b, "  unit %q %s %v\n", u.Source, u.Created.Format("15h"), u.SKUs)
	}
	for _, s := range in.Before {
		fmt.Fprintf(&b, "  before %q %s %s/%s\n", s.Source, s.SkuID, s.State, s.Error)
	}
	return b.String()
}

// docs/RULES.md §2.2 "This makes the evaluation a fixed point", on the table
// scenarios' inputs and ~2000 generated users; plus the model and the
// invariants of §2.3.8 at the level of one user.
func TestFixedPoint(t *testing.T) {
	t.Run("hand-built", func(t *testing.T) {
		ins := []rules.Input{
			input(units(direct("sku-e1", 1), direct("sku-e3", 2), group("g1", 0, "sku-mailaddon")), nil),
			input(units(direct("sku-addon", 1), group("g1", 0, "sku-base"), group("g2", 3, "sku-a", "sku-n1")), nil),
			input(units(group("g1", 1, "sku-w1", "sku-w2"), direct("sku-late", 2), group("g2", 2, "sku-rival")),
				before(failed("g1", "sku-w2", eCount), failed("g1", "sku-w1", allot.OtherViolation), active("", "sku-late"), active("g2", "sku-rival"))),
		}
		ins[0].Free["sku-e3"] = 0
		ins[2].Free["sku-w1"], ins[2].Free["sku-w2"] = 0, 0
		for i, in := range ins {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				out := rules.Evaluate(in)
				checkStructure(t, in, out)
				compareWithModel(t, in, out)
				checkInvariants(t, in, out)
				checkFixedPoint(t, in, out)
			})
		}
	})
	t.Run("generated", func(t *testing.T) {
		const cases = 2000
		g := gen{rand.New(rand.NewPCG(2024, 7))}
		failures := 0
		seen := map[string]int{} // error codes seen, and a few situations
		for i := range cases {
			in := g.input()
			ok := t.Run(fmt.Sprintf("case %d", i), func(t *testing.T) {
				out := rules.Evaluate(in)
				tally(seen, in, out)
				checkStructure(t, in, out)
				compareWithModel(t, in, out)
				checkInvariants(t, in, out)
				checkStamps(t, in, out)
				checkFixedPoint(t, in, out)
				if t.Failed() {
					t.Logf("input:\n%s\nstates:%s", describe(in), fmtStates(out.States))
				}
			})
			if !ok {
				if failures++; failures >= 5 {
					t.Fatalf("stopping after %d failing cases", failures)
				}
			}
		}
		// The generator must reach every outcome often enough for the
		// properties above to mean something.
		for _, k := range []string{string(allot.NoLicenseError), string(allot.OtherViolation), string(allot.CountViolation), string(allot.MutuallyExclusiveViolation),
			string(allot.DependencyViolation), string(allot.ProhibitedInUsageLocationViolation), string(allot.UniquenessViolation),
			"incumbent kept", "incumbent lost", "seat +1", "seat -1", "sticky count", "mailbox"} {
			if seen[k] < 20 {
				t.Errorf("generated cases reach %q only %d times", k, seen[k])
			}
		}
		t.Logf("outcomes over %d cases: %v", cases, seen)
	})
}

func tally(seen map[string]int, in rules.Input, out rules.Output) {
	bf := map[[2]string]allot.LicenseState{}
	for _, s := range in.Before {
		bf[[2]string{s.Source, s.SkuID}] = s
	}
	for _, s := range out.States {
		seen[string(s.Error)]++
		b, ok := bf[[2]string{s.Source, s.SkuID}]
		switch {
		case ok && b.State == allot.StateActive && s.State == allot.StateActive:
			seen["incumbent kept"]++
		case ok && b.State == allot.StateActive:
			seen["incumbent lost"]++
		}
		if ok && b.Error == allot.CountViolation && s.Error == allot.CountViolation {
			seen["sticky count"]++
		}
	}
	for _, d := range out.SeatDelta {
		if d > 0 {
			seen["seat +1"]++
		} else if d < 0 {
			seen["seat -1"]++
		}
	}
	if out.Mailbox {
		seen["mailbox"]++
	}
}
