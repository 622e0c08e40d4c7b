package rules_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/rules"
)

// The hand-built catalog of the table tests. Ids are readable fakes: the
// rules package treats them as opaque strings.
//
//	sku-e1       p-exo1 (mailbox, declares conflict with p-exo2), p-teams
//	sku-e3       p-exo2 (mailbox), p-teams
//	sku-base     p-base
//	sku-addon    p-addon       dependsOn [[p-base]]
//	sku-mailaddon p-mailaddon  dependsOn [[p-exo1 p-exo2]]
//	sku-both     p-both        dependsOn [[p-base] [p-c]]
//	sku-a/b/c    p-a -> [[p-b]], p-b -> [[p-c]], p-c
//	sku-us       p-us          availableIn [US]
//	sku-geo      p-us, p-eu    availableIn [US] / [FR DE]
//	sku-n1/n2/n3 plain plans, used for seats
//	sku-w1/w2    plain plans, used for the waiting room
//	sku-odd      p-k1, p-k2    (p-k1 declares a conflict with p-k2 inside one SKU)
//	sku-late     p-late        dependsOn [[p-base]], conflicts with p-rival
//	sku-rival    p-rival
//	sku-all      p-us, p-exo2, p-addon (fails every check when set up to)
func testCatalog() *allot.Catalog {
	plan := func(id string, f func(*allot.ServicePlan)) *allot.ServicePlan {
		p := &allot.ServicePlan{ID: id, Name: strings.ToUpper(strings.TrimPrefix(id, "p-"))}
		if f != nil {
			f(p)
		}
		return p
	}
	plans := []*allot.ServicePlan{
		plan("p-exo1", func(p *allot.ServicePlan) { p.ProvisionsMailbox = true; p.ConflictsWith = []string{"p-exo2"} }),
		plan("p-exo2", func(p *allot.ServicePlan) { p.ProvisionsMailbox = true }),
		plan("p-teams", nil),
		plan("p-base", nil),
		plan("p-addon", func(p *allot.ServicePlan) { p.DependsOn = [][]string{{"p-base"}} }),
		plan("p-mailaddon", func(p *allot.ServicePlan) { p.DependsOn = [][]string{{"p-exo1", "p-exo2"}} }),
		plan("p-both", func(p *allot.ServicePlan) { p.DependsOn = [][]string{{"p-base"}, {"p-c"}} }),
		plan("p-a", func(p *allot.ServicePlan) { p.DependsOn = [][]string{{"p-b"}} }),
		plan("p-b", func(p *allot.ServicePlan) { p.DependsOn = [][]string{{"p-c"}} }),
		plan("p-c", nil),
		plan("p-us", func(p *allot.ServicePlan) { p.AvailableIn = []string{"US"} }),
		plan("p-eu", func(p *allot.ServicePlan) { p.AvailableIn = []string{"FR", "DE"} }),
		plan("p-n1", nil), plan("p-n2", nil), plan("p-n3", nil),
		plan("p-w1", nil), plan("p-w2", nil),
		plan("p-k1", func(p *allot.ServicePlan) { p.ConflictsWith = []string{"p-k2"} }),
		plan("p-k2", nil),
		plan("p-late", func(p *allot.ServicePlan) {
			p.DependsOn = [][]string{{"p-base"}}
			p.ConflictsWith = []string{"p-rival"}
		}),
		plan("p-rival", nil),
	}
	sku := func(id string, plans ...string) *allot.SKU {
		return &allot.SKU{ID: id, PartNumber: strings.ToUpper(strings.TrimPrefix(id, "sku-")), AppliesTo: "User", Plans: plans}
	}
	skus := []*allot.SKU{
		sku("sku-e1", "p-exo1", "p-teams"),
		sku("sku-e3", "p-exo2", "p-teams"),
		sku("sku-base", "p-base"),
		sku("sku-addon", "p-addon"),
		sku("sku-mailaddon", "p-mailaddon"),
		sku("sku-both", "p-both"),
		sku("sku-a", "p-a"), sku("sku-b", "p-b"), sku("sku-c", "p-c"),
		sku("sku-us", "p-us"),
		sku("sku-geo", "p-us", "p-eu"),
		sku("sku-n1", "p-n1"), sku("sku-n2", "p-n2"), sku("sku-n3", "p-n3"),
		sku("sku-w1", "p-w1"), sku("sku-w2", "p-w2"),
		sku("sku-odd", "p-k1", "p-k2"),
		sku("sku-late", "p-late"),
		sku("sku-rival", "p-rival"),
		sku("sku-all", "p-us", "p-exo2", "p-addon"),
	}
	return allot.NewCatalog(plans, skus)
}

var (
	cat = testCatalog()
	t0  = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	now = at(100) // Input.Now of the table tests
)

// at is t0 plus h hours: creation times and timestamps of the tests.
func at(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }

func lic(sku string, disabled ...string) allot.AssignedLicense {
	return allot.AssignedLicense{SkuID: sku, DisabledPlans: disabled}
}

// direct is a direct unit: one SKU assigned to the user, created at hour h.
func direct(sku string, h int, disabled ...string) rules.Unit {
	return rules.Unit{Source: "", Created: at(h), SKUs: []allot.AssignedLicense{lic(sku, disabled...)}}
}

// group is the unit of group id whose oldest assignment was created at hour h.
func group(id string, h int, skus ...string) rules.Unit {
	u := rules.Unit{Source: id, Created: at(h)}
	for _, s := range skus {
		u.SKUs = append(u.SKUs, lic(s))
	}
	return u
}

// groupL is group with explicit disabled plans.
func groupL(id string, h int, lics ...allot.AssignedLicense) rules.Unit {
	return rules.Unit{Source: id, Created: at(h), SKUs: lics}
}

// active is a hand-written Active state from before.
func active(src, sku string) allot.LicenseState {
	return allot.LicenseState{SkuID: sku, Source: src, State: allot.StateActive, Error: allot.NoLicenseError,
		DisabledPlans: []string{}, Detail: "before", LastUpdated: at(1)}
}

// failed is a hand-written Error state from before; CountViolation states
// started waiting at hour 2.
func failed(src, sku string, code allot.LicenseError) allot.LicenseState {
	s := allot.LicenseState{SkuID: sku, Source: src, State: allot.StateError, Error: code,
		DisabledPlans: []string{}, Detail: "before", LastUpdated: at(1)}
	if code == allot.CountViolation {
		s.WaitingSince = at(2)
	}
	return s
}

// allSKUs lists every SKU id of the test catalog.
func allSKUs() []string { return slices.Sorted(maps.Keys(cat.SKUs)) }

// input is a user in the US with one address nobody else owns, five free
// seats of every SKU, and the given units and states before.
func input(units []rules.Unit, before []allot.LicenseState) rules.Input {
	free := map[string]int{}
	for _, s := range allSKUs() {
		free[s] = 5
	}
	return rules.Input{
		Location:       "US",
		ProxyAddresses: []string{"SMTP:user@contoso.test", "smtp:alias@contoso.test"},
		Taken:          map[string]bool{},
		Units:          units,
		Before:         before,
		Free:           free,
		Catalog:        cat,
		Now:            now,
	}
}

// ws is one expected state: source ("" = direct), SKU, and error code
// (allot.NoLicenseError means Active).
type ws struct {
	src, sku string
	err      allot.LicenseError
}

func ok(src, sku string) ws                           { return ws{src, sku, allot.NoLicenseError} }
func bad(src, sku string, code allot.LicenseError) ws { return ws{src, sku, code} }
func other(src, sku string) ws                        { return ws{src, sku, allot.OtherViolation} }
func seats(kv ...any) map[string]int { // seats("sku-x", 1, "sku-y", -1)
	m := map[string]int{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].(int)
	}
	return m
}

// scenario is one table row: an input (built from units, before and an
// optional modifier) and everything expected of the output.
type scenario struct {
	name    string
	units   []rules.Unit
	before  []allot.LicenseState
	mod     func(*rules.Input)
	want    []ws           // every state, units in base order, SKUs by id
	delta   map[string]int // missing = 0
	mailbox bool
	changed bool
	extra   func(t *testing.T, in rules.Input, out rules.Output)
}

func runScenarios(t *testing.T, rows []scenario) {
	t.Helper()
	for _, sc := range rows {
		t.Run(sc.name, func(t *testing.T) {
			in := input(sc.units, sc.before)
			if sc.mod != nil {
				sc.mod(&in)
			}
			out := rules.Evaluate(in)
			checkStructure(t, in, out)
			checkStates(t, out, sc.want)
			checkDelta(t, out, sc.delta)
			if out.Mailbox != sc.mailbox {
				t.Errorf("Mailbox = %v, want %v", out.Mailbox, sc.mailbox)
			}
			if out.Changed != sc.changed {
				t.Errorf("Changed = %v, want %v", out.Changed, sc.changed)
			}
			if sc.extra != nil {
				sc.extra(t, in, out)
			}
		})
	}
}

func fmtStates(states []allot.LicenseState) string {
	var b strings.Builder
	for _, s := range states {
		b.WriteString("\n\t")
		src := s.Source
		if src == "" {
			src = "direct"
		}
		b.WriteString(src + " " + s.SkuID + " " + s.State + "/" + string(s.Error) + ": " + s.Detail)
	}
	return b.String()
}

// checkStates compares the states one to one, in order.
func checkStates(t *testing.T, out rules.Output, want []ws) {
	t.Helper()
	var got []ws
	for _, s := range out.States {
		got = append(got, ws{s.Source, s.SkuID, s.Error})
	}
	if !slices.Equal(got, want) {
		t.Errorf("states:\n got %v\nwant %v%s", got, want, fmtStates(out.States))
	}
}

// checkDelta compares seat deltas, a missing entry being 0.
func checkDelta(t *testing.T, out rules.Output, want map[string]int) {
	t.Helper()
	for k, v := range out.SeatDelta {
		if want[k] != v {
			t.Errorf("SeatDelta[%s] = %d, want %d (got %v)", k, v, want[k], out.SeatDelta)
		}
	}
	for k, v := range want {
		if out.SeatDelta[k] != v {
			t.Errorf("SeatDelta[%s] = %d, want %d (got %v)", k, out.SeatDelta[k], v, out.SeatDelta)
		}
	}
}

// checkStructure asserts what docs/RULES.md §2.2 step 3 says of every output,
// whatever the scenario:
//   - one state per (unit, SKU); Active iff error None;
//   - every state has a detail and a lastUpdatedDateTime;
//   - a refused group unit has exactly one SKU carrying the error and the
//     others carry Other with a detail naming that SKU; a direct state is
//     never Other;
//   - WaitingSince is set exactly on CountViolation states;
//   - Held lists the SKUs with an Active state, by id, and SeatDelta is
//     +1/−1 against the SKUs held before.
func checkStructure(t *testing.T, in rules.Input, out rules.Output) {
	t.Helper()
	n := 0
	for _, u := range in.Units {
		n += len(u.SKUs)
	}
	if len(out.States) != n {
		t.Errorf("%d states for %d (unit, SKU) pairs", len(out.States), n)
	}
	bySource := map[string][]allot.LicenseState{}
	held := map[string]bool{}
	for _, s := range out.States {
		switch {
		case s.Error == allot.NoLicenseError && s.State != allot.StateActive,
			s.Error != allot.NoLicenseError && s.State != allot.StateError:
			t.Errorf("%s/%s: state %s with error %s", s.Source, s.SkuID, s.State, s.Error)
		}
		if s.State == allot.StateActive {
			held[s.SkuID] = true
		}
		if s.Detail == "" {
			t.Errorf("%s/%s: empty detail", s.Source, s.SkuID)
		}
		if s.LastUpdated.IsZero() {
			t.Errorf("%s/%s: zero LastUpdated", s.Source, s.SkuID)
		}
		if (s.Error == allot.CountViolation) == s.WaitingSince.IsZero() {
			t.Errorf("%s/%s: error %s with WaitingSince %v", s.Source, s.SkuID, s.Error, s.WaitingSince)
		}
		if s.Source == "" {
			if s.Error == allot.OtherViolation {
				t.Errorf("direct %s: Other on a direct unit", s.SkuID)
			}
			continue
		}
		bySource[s.Source] = append(bySource[s.Source], s)
	}
	for src, states := range bySource {
		var carriers []allot.LicenseState
		others := 0
		for _, s := range states {
			switch s.Error {
			case allot.NoLicenseError:
			case allot.OtherViolation:
				others++
			default:
				carriers = append(carriers, s)
			}
		}
		if len(carriers) == 0 && others == 0 {
			continue // accepted
		}
		if len(carriers) != 1 || others != len(states)-1 {
			t.Errorf("group %s: refused unit must have one SKU with the error and the rest Other:%s", src, fmtStates(states))
			continue
		}
		for _, s := range states {
			if s.Error == allot.OtherViolation && !strings.Contains(s.Detail, carriers[0].SkuID) {
				t.Errorf("group %s: Other detail of %s does not name the failing SKU %s: %q", src, s.SkuID, carriers[0].SkuID, s.Detail)
			}
		}
	}
	wantHeld := slices.Sorted(maps.Keys(held))
	if !slices.Equal(out.Held, wantHeld) && !(len(out.Held) == 0 && len(wantHeld) == 0) {
		t.Errorf("Held = %v, want %v", out.Held, wantHeld)
	}
	heldBefore := map[string]bool{}
	for _, s := range in.Before {
		if s.State == allot.StateActive {
			heldBefore[s.SkuID] = true
		}
	}
	want := map[string]int{}
	for k := range held {
		if !heldBefore[k] {
			want[k] = 1
		}
	}
	for k := range heldBefore {
		if !held[k] {
			want[k] = -1
		}
	}
	checkDelta(t, out, want)
}

// stateOf finds the output state of (src, sku).
func stateOf(t *testing.T, out rules.Output, src, sku string) allot.LicenseState {
	t.Helper()
	for _, s := range out.States {
		if s.Source == src && s.SkuID == sku {
			return s
		}
	}
	t.Fatalf("no state for %q/%s:%s", src, sku, fmtStates(out.States))
	return allot.LicenseState{}
}
