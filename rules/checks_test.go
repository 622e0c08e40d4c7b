package rules_test

import (
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/rules"
)

const (
	eLoc   = allot.ProhibitedInUsageLocationViolation
	eUniq  = allot.UniquenessViolation
	eConf  = allot.MutuallyExclusiveViolation
	eDep   = allot.DependencyViolation
	eCount = allot.CountViolation
)

func units(us ...rules.Unit) []rules.Unit { return us }

func before(ss ...allot.LicenseState) []allot.LicenseState { return ss }

func location(loc string) func(*rules.Input) { return func(in *rules.Input) { in.Location = loc } }

func taken(addrs ...string) func(*rules.Input) {
	return func(in *rules.Input) {
		for _, a := range addrs {
			in.Taken[a] = true
		}
	}
}

func proxies(addrs ...string) func(*rules.Input) {
	return func(in *rules.Input) { in.ProxyAddresses = addrs }
}

// free sets the free seats of some SKUs: free("sku-x", 0, ...).
func free(kv ...any) func(*rules.Input) {
	return func(in *rules.Input) {
		for i := 0; i < len(kv); i += 2 {
			in.Free[kv[i].(string)] = kv[i+1].(int)
		}
	}
}

func noFreeEntry(sku string) func(*rules.Input) {
	return func(in *rules.Input) { delete(in.Free, sku) }
}

func all(mods ...func(*rules.Input)) func(*rules.Input) {
	return func(in *rules.Input) {
		for _, m := range mods {
			m(in)
		}
	}
}

// Check 1 of docs/RULES.md §2.2.
func TestCheckLocation(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "direct/no location", units: units(direct("sku-n1", 1)), mod: location(""),
			want: []ws{bad("", "sku-n1", eLoc)}, changed: true},
		{name: "group/no location", units: units(group("g1", 1, "sku-n1")), mod: location(""),
			want: []ws{bad("g1", "sku-n1", eLoc)}, changed: true},
		{name: "direct/plan not available in location", units: units(direct("sku-us", 1)), mod: location("FR"),
			want: []ws{bad("", "sku-us", eLoc)}, changed: true},
		{name: "direct/plan available in location", units: units(direct("sku-us", 1)),
			want: []ws{ok("", "sku-us")}, delta: seats("sku-us", 1), changed: true},
		{name: "direct/empty availableIn means everywhere", units: units(direct("sku-n1", 1)), mod: location("JP"),
			want: []ws{ok("", "sku-n1")}, delta: seats("sku-n1", 1), changed: true},
		{name: "direct/one of two plans not available", units: units(direct("sku-geo", 1)),
			want: []ws{bad("", "sku-geo", eLoc)}, changed: true},
		{name: "direct/disabled unavailable plan does not fail", units: units(direct("sku-geo", 1, "p-eu")),
			want: []ws{ok("", "sku-geo")}, delta: seats("sku-geo", 1), changed: true},
		{name: "direct/disabled available plan leaves the unavailable one", units: units(direct("sku-geo", 1, "p-us")),
			want: []ws{bad("", "sku-geo", eLoc)}, changed: true},
		{name: "direct/other location, other plan", units: units(direct("sku-geo", 1, "p-us")), mod: location("DE"),
			want: []ws{ok("", "sku-geo")}, delta: seats("sku-geo", 1), changed: true},
		{name: "group/plan not available: that SKU carries the error",
			units: units(group("g1", 1, "sku-geo", "sku-n1")),
			want:  []ws{bad("g1", "sku-geo", eLoc), other("g1", "sku-n1")}, changed: true},
		{name: "group/disabled unavailable plan does not fail",
			units: units(groupL("g1", 1, lic("sku-geo", "p-eu"), lic("sku-n1"))),
			want:  []ws{ok("g1", "sku-geo"), ok("g1", "sku-n1")}, delta: seats("sku-geo", 1, "sku-n1", 1), changed: true},
		{name: "group/location failure of one group does not touch a direct unit",
			units: units(direct("sku-n1", 1), group("g1", 1, "sku-us")), mod: location("FR"),
			want: []ws{ok("", "sku-n1"), bad("g1", "sku-us", eLoc)}, delta: seats("sku-n1", 1), changed: true},
	})

	// With no location every SKU of a group fails check 1; the spec does not
	// say which one carries the error, only that one does and the others
	// carry Other (checked by checkStructure).
	t.Run("group/no location, two SKUs: one carries the error", func(t *testing.T) {
		in := input(units(group("g1", 1, "sku-n1", "sku-n2")), nil)
		in.Location = ""
		out := rules.Evaluate(in)
		checkStructure(t, in, out)
		n := 0
		for _, s := range out.States {
			if s.Error == eLoc {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d states in %s, want 1:%s", n, eLoc, fmtStates(out.States))
		}
	})
}

// Check 2 of docs/RULES.md §2.2.
func TestCheckUniqueness(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "direct/mailbox plan and an address taken", units: units(direct("sku-e1", 1)), mod: taken("user@contoso.test"),
			want: []ws{bad("", "sku-e1", eUniq)}, changed: true},
		{name: "direct/second address taken", units: units(direct("sku-e1", 1)), mod: taken("alias@contoso.test"),
			want: []ws{bad("", "sku-e1", eUniq)}, changed: true},
		{name: "direct/address free", units: units(direct("sku-e1", 1)), mod: taken("someone.else@contoso.test"),
			want: []ws{ok("", "sku-e1")}, delta: seats("sku-e1", 1), mailbox: true, changed: true},
		{name: "direct/address taken but no mailbox plan", units: units(direct("sku-n1", 1)), mod: taken("user@contoso.test"),
			want: []ws{ok("", "sku-n1")}, delta: seats("sku-n1", 1), changed: true},
		{name: "direct/address taken but mailbox plan disabled", units: units(direct("sku-e1", 1, "p-exo1")), mod: taken("user@contoso.test"),
			want: []ws{ok("", "sku-e1")}, delta: seats("sku-e1", 1), changed: true},
		{name: "direct/case and smtp prefix insensitive",
			units: units(direct("sku-e3", 1)),
			mod:   all(proxies("SMTP:User@Contoso.TEST"), taken(allot.NormalizeAddress("smtp:USER@contoso.test"))),
			want:  []ws{bad("", "sku-e3", eUniq)}, changed: true},
		{name: "direct/lower-case smtp prefix, upper-case address",
			units: units(direct("sku-e3", 1)),
			mod:   all(proxies("smtp:ALIAS@CONTOSO.TEST"), taken("alias@contoso.test")),
			want:  []ws{bad("", "sku-e3", eUniq)}, changed: true},
		{name: "direct/no proxy addresses", units: units(direct("sku-e1", 1)),
			mod:  all(proxies(), taken("user@contoso.test")),
			want: []ws{ok("", "sku-e1")}, delta: seats("sku-e1", 1), mailbox: true, changed: true},
		{name: "group/mailbox SKU carries the error",
			units: units(group("g1", 1, "sku-e1", "sku-n1")), mod: taken("user@contoso.test"),
			want: []ws{bad("g1", "sku-e1", eUniq), other("g1", "sku-n1")}, changed: true},
		{name: "group/mailbox SKU sorts after the other SKU",
			units: units(group("g1", 1, "sku-n1", "sku-e3", "sku-base")), mod: taken("user@contoso.test"),
			want: []ws{other("g1", "sku-base"), bad("g1", "sku-e3", eUniq), other("g1", "sku-n1")}, changed: true},
		{name: "group/no mailbox plan passes",
			units: units(group("g1", 1, "sku-n1", "sku-base")), mod: taken("user@contoso.test"),
			want: []ws{ok("g1", "sku-base"), ok("g1", "sku-n1")}, delta: seats("sku-n1", 1, "sku-base", 1), changed: true},
		{name: "group/only the mailbox unit fails",
			units: units(direct("sku-n1", 1), group("g1", 1, "sku-e1")), mod: taken("user@contoso.test"),
			want: []ws{ok("", "sku-n1"), bad("g1", "sku-e1", eUniq)}, delta: seats("sku-n1", 1), changed: true},
	})
}

// Check 3 of docs/RULES.md §2.2.
func TestCheckConflict(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "direct/declaring side accepted first", units: units(direct("sku-e1", 1), direct("sku-e3", 2)),
			want: []ws{ok("", "sku-e1"), bad("", "sku-e3", eConf)}, delta: seats("sku-e1", 1), mailbox: true, changed: true},
		{name: "direct/non-declaring side accepted first (symmetric)", units: units(direct("sku-e3", 1), direct("sku-e1", 2)),
			want: []ws{ok("", "sku-e3"), bad("", "sku-e1", eConf)}, delta: seats("sku-e3", 1), mailbox: true, changed: true},
		{name: "group/conflict with a direct unit",
			units: units(group("g1", 0, "sku-e1", "sku-n1"), direct("sku-e3", 5)),
			want:  []ws{ok("", "sku-e3"), bad("g1", "sku-e1", eConf), other("g1", "sku-n1")},
			delta: seats("sku-e3", 1), mailbox: true, changed: true},
		{name: "group/conflict with another group",
			units: units(group("g1", 1, "sku-e3"), group("g2", 2, "sku-e1")),
			want:  []ws{ok("g1", "sku-e3"), bad("g2", "sku-e1", eConf)}, delta: seats("sku-e3", 1), mailbox: true, changed: true},
		{name: "group/conflicting plan disabled in the accepted unit",
			units: units(groupL("g1", 1, lic("sku-e3", "p-exo2")), group("g2", 2, "sku-e1")),
			want:  []ws{ok("g1", "sku-e3"), ok("g2", "sku-e1")}, delta: seats("sku-e3", 1, "sku-e1", 1), mailbox: true, changed: true},
		{name: "group/conflicting plan disabled in the new unit",
			units: units(group("g1", 1, "sku-e3"), groupL("g2", 2, lic("sku-e1", "p-exo1"))),
			want:  []ws{ok("g1", "sku-e3"), ok("g2", "sku-e1")}, delta: seats("sku-e3", 1, "sku-e1", 1), mailbox: true, changed: true},
		{name: "same SKU from two units does not conflict",
			units: units(direct("sku-odd", 1), group("g1", 1, "sku-odd"), group("g2", 2, "sku-odd")),
			want:  []ws{ok("", "sku-odd"), ok("g1", "sku-odd"), ok("g2", "sku-odd")}, delta: seats("sku-odd", 1), changed: true},
		{name: "same SKU from two units, with different disabled plans",
			units: units(direct("sku-odd", 1, "p-k2"), groupL("g1", 1, lic("sku-odd", "p-k1"))),
			want:  []ws{ok("", "sku-odd"), ok("g1", "sku-odd")}, delta: seats("sku-odd", 1), changed: true},
		{name: "a refused unit is not in the accepted set",
			units: units(group("g1", 1, "sku-e1", "sku-us"), group("g2", 2, "sku-e3")), mod: location("FR"),
			want:  []ws{other("g1", "sku-e1"), bad("g1", "sku-us", eLoc), ok("g2", "sku-e3")},
			delta: seats("sku-e3", 1), mailbox: true, changed: true},
	})
}

// Check 4 of docs/RULES.md §2.2.
func TestCheckDependency(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "direct/no plan of the group enabled", units: units(direct("sku-addon", 1)),
			want: []ws{bad("", "sku-addon", eDep)}, changed: true},
		{name: "group/no plan of the group enabled", units: units(group("g1", 1, "sku-addon")),
			want: []ws{bad("g1", "sku-addon", eDep)}, changed: true},
		{name: "group/satisfied by the unit itself", units: units(group("g1", 1, "sku-addon", "sku-base")),
			want: []ws{ok("g1", "sku-addon"), ok("g1", "sku-base")}, delta: seats("sku-addon", 1, "sku-base", 1), changed: true},
		{name: "group/prerequisite disabled in the unit itself",
			units: units(groupL("g1", 1, lic("sku-addon"), lic("sku-base", "p-base"))),
			want:  []ws{bad("g1", "sku-addon", eDep), other("g1", "sku-base")}, changed: true},
		{name: "direct/satisfied by another accepted unit", units: units(direct("sku-base", 1), direct("sku-addon", 2)),
			want: []ws{ok("", "sku-base"), ok("", "sku-addon")}, delta: seats("sku-addon", 1, "sku-base", 1), changed: true},
		{name: "group/satisfied by a direct unit", units: units(direct("sku-base", 1), group("g1", 0, "sku-addon")),
			want: []ws{ok("", "sku-base"), ok("g1", "sku-addon")}, delta: seats("sku-addon", 1, "sku-base", 1), changed: true},
		{name: "direct/satisfied by a later unit in base order", units: units(direct("sku-addon", 1), direct("sku-base", 2)),
			want: []ws{ok("", "sku-addon"), ok("", "sku-base")}, delta: seats("sku-addon", 1, "sku-base", 1), changed: true},
		{name: "direct/satisfied by a later group unit", units: units(group("g1", 0, "sku-base"), direct("sku-addon", 9)),
			want: []ws{ok("", "sku-addon"), ok("g1", "sku-base")}, delta: seats("sku-addon", 1, "sku-base", 1), changed: true},
		{name: "chain satisfied by later units", units: units(group("g3", 3, "sku-c"), group("g2", 2, "sku-b"), group("g1", 1, "sku-a")),
			want:  []ws{ok("g1", "sku-a"), ok("g2", "sku-b"), ok("g3", "sku-c")},
			delta: seats("sku-a", 1, "sku-b", 1, "sku-c", 1), changed: true},
		{name: "prerequisite of a refused unit does not count",
			units: units(direct("sku-base", 1), direct("sku-addon", 2)), mod: free("sku-base", 0),
			want: []ws{bad("", "sku-base", eCount), bad("", "sku-addon", eDep)}, changed: true},
		{name: "prerequisite disabled in the other unit",
			units: units(direct("sku-base", 1, "p-base"), direct("sku-addon", 2)),
			want:  []ws{ok("", "sku-base"), bad("", "sku-addon", eDep)}, delta: seats("sku-base", 1), changed: true},
		{name: "any plan of the group: first", units: units(direct("sku-e1", 1), direct("sku-mailaddon", 2)),
			want: []ws{ok("", "sku-e1"), ok("", "sku-mailaddon")}, delta: seats("sku-e1", 1, "sku-mailaddon", 1), mailbox: true, changed: true},
		{name: "any plan of the group: second", units: units(direct("sku-mailaddon", 1), group("g1", 1, "sku-e3")),
			want: []ws{ok("", "sku-mailaddon"), ok("g1", "sku-e3")}, delta: seats("sku-e3", 1, "sku-mailaddon", 1), mailbox: true, changed: true},
		{name: "every group needs a plan: one missing", units: units(direct("sku-base", 1), direct("sku-both", 2)),
			want: []ws{ok("", "sku-base"), bad("", "sku-both", eDep)}, delta: seats("sku-base", 1), changed: true},
		{name: "every group needs a plan: both present", units: units(direct("sku-base", 1), direct("sku-both", 2), group("g1", 1, "sku-c")),
			want:  []ws{ok("", "sku-base"), ok("", "sku-both"), ok("g1", "sku-c")},
			delta: seats("sku-base", 1, "sku-both", 1, "sku-c", 1), changed: true},
		{name: "group/dependent SKU carries the error",
			units: units(group("g1", 1, "sku-n1", "sku-addon", "sku-n2")),
			want:  []ws{bad("g1", "sku-addon", eDep), other("g1", "sku-n1"), other("g1", "sku-n2")}, changed: true},
	})
}

// Check 5 of docs/RULES.md §2.2.
func TestCheckCount(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "direct/no free seat", units: units(direct("sku-n1", 1)), mod: free("sku-n1", 0),
			want: []ws{bad("", "sku-n1", eCount)}, changed: true,
			extra: func(t *testing.T, _ rules.Input, out rules.Output) {
				if s := stateOf(t, out, "", "sku-n1"); !s.WaitingSince.Equal(now) {
					t.Errorf("WaitingSince = %v, want Now %v", s.WaitingSince, now)
				}
			}},
		{name: "direct/negative free seats", units: units(direct("sku-n1", 1)), mod: free("sku-n1", -3),
			want: []ws{bad("", "sku-n1", eCount)}, changed: true},
		{name: "direct/free map missing the SKU means 0", units: units(direct("sku-n1", 1)), mod: noFreeEntry("sku-n1"),
			want: []ws{bad("", "sku-n1", eCount)}, changed: true},
		{name: "direct/nil free map", units: units(direct("sku-n1", 1)), mod: func(in *rules.Input) { in.Free = nil },
			want: []ws{bad("", "sku-n1", eCount)}, changed: true},
		{name: "direct/last free seat", units: units(direct("sku-n1", 1)), mod: free("sku-n1", 1),
			want: []ws{ok("", "sku-n1")}, delta: seats("sku-n1", 1), changed: true},
		{name: "group/no free seat", units: units(group("g1", 1, "sku-n1")), mod: free("sku-n1", 0),
			want: []ws{bad("g1", "sku-n1", eCount)}, changed: true},
		{name: "group/held before through a direct unit needs no seat",
			units:  units(direct("sku-n1", 1), group("g1", 2, "sku-n1")),
			before: before(active("", "sku-n1")), mod: free("sku-n1", 0),
			want: []ws{ok("", "sku-n1"), ok("g1", "sku-n1")}, changed: true},
		{name: "direct/held before through a group that is gone needs no seat",
			units:  units(direct("sku-n1", 1)),
			before: before(active("g-gone", "sku-n1")), mod: free("sku-n1", 0),
			want: []ws{ok("", "sku-n1")}, changed: true},
		{name: "direct/held before through an Error unit does not count as held",
			units:  units(direct("sku-n1", 1)),
			before: before(failed("", "sku-n1", eCount)), mod: free("sku-n1", 0),
			want: []ws{bad("", "sku-n1", eCount)}, changed: true},
		{name: "given by another accepted unit: one seat for two units",
			units: units(direct("sku-n1", 1), group("g1", 1, "sku-n1")), mod: free("sku-n1", 1),
			want: []ws{ok("", "sku-n1"), ok("g1", "sku-n1")}, delta: seats("sku-n1", 1), changed: true},
		{name: "two groups of different SKU sets share the last seat of one SKU",
			units: units(group("g1", 1, "sku-n1", "sku-n2"), group("g2", 2, "sku-n1", "sku-n3")),
			mod:   free("sku-n1", 1, "sku-n2", 1, "sku-n3", 1),
			want:  []ws{ok("g1", "sku-n1"), ok("g1", "sku-n2"), ok("g2", "sku-n1"), ok("g2", "sku-n3")},
			delta: seats("sku-n1", 1, "sku-n2", 1, "sku-n3", 1), changed: true},
		{name: "given by a later unit in base order: still one seat",
			units: units(group("g2", 2, "sku-n1", "sku-n3"), direct("sku-addon", 1), group("g1", 1, "sku-n1", "sku-base")),
			mod:   free("sku-n1", 1, "sku-base", 1, "sku-n3", 1, "sku-addon", 1),
			want:  []ws{ok("", "sku-addon"), ok("g1", "sku-base"), ok("g1", "sku-n1"), ok("g2", "sku-n1"), ok("g2", "sku-n3")},
			delta: seats("sku-n1", 1, "sku-n3", 1, "sku-base", 1, "sku-addon", 1), changed: true},
		{name: "seat taken earlier in this evaluation: the last seat is not free twice",
			// g1 takes the only seat of n1; g2 needs n1 too (no new seat:
			// g1 gives it) but its n2 has no seat, so it is refused on n2.
			units: units(group("g1", 1, "sku-n1"), group("g2", 2, "sku-n1", "sku-n2")),
			mod:   free("sku-n1", 1, "sku-n2", 0),
			want:  []ws{ok("g1", "sku-n1"), other("g2", "sku-n1"), bad("g2", "sku-n2", eCount)},
			delta: seats("sku-n1", 1), changed: true},
	})
}

// docs/RULES.md §2.2: the checks run in the order location, uniqueness, conflict,
// dependency, count, and a unit reports the first it fails.
func TestCheckOrder(t *testing.T) {
	// sku-all enables p-us (US only), p-exo2 (mailbox, conflicts with p-exo1
	// of sku-e1) and p-addon (needs p-base); the direct sku-e1 comes first.
	failAll := all(location("FR"), taken("user@contoso.test"), free("sku-all", 0))
	rows := []scenario{
		{name: "location before uniqueness, conflict, dependency, count",
			units: units(direct("sku-e1", 9, "p-exo1"), group("g1", 0, "sku-all")), mod: failAll,
			want: []ws{ok("", "sku-e1"), bad("g1", "sku-all", eLoc)}, delta: seats("sku-e1", 1), changed: true},
		{name: "uniqueness before conflict, dependency, count",
			units: units(direct("sku-e1", 9, "p-exo1"), group("g1", 0, "sku-all")), mod: all(failAll, location("US")),
			want: []ws{ok("", "sku-e1"), bad("g1", "sku-all", eUniq)}, delta: seats("sku-e1", 1), changed: true},
		{name: "conflict before dependency, count",
			units: units(direct("sku-e1", 9), group("g1", 0, "sku-all")), mod: free("sku-all", 0),
			want: []ws{ok("", "sku-e1"), bad("g1", "sku-all", eConf)}, delta: seats("sku-e1", 1), mailbox: true, changed: true},
		{name: "dependency before count",
			units: units(group("g1", 0, "sku-all")), mod: free("sku-all", 0),
			want: []ws{bad("g1", "sku-all", eDep)}, changed: true},
		{name: "count last",
			units: units(direct("sku-base", 9), group("g1", 0, "sku-all")), mod: free("sku-all", 0),
			want: []ws{ok("", "sku-base"), bad("g1", "sku-all", eCount)}, delta: seats("sku-base", 1), changed: true},
		{name: "all pass",
			units: units(direct("sku-base", 9), group("g1", 0, "sku-all")), mod: free("sku-all", 1),
			want: []ws{ok("", "sku-base"), ok("g1", "sku-all")}, delta: seats("sku-base", 1, "sku-all", 1), mailbox: true, changed: true},
		// Across the SKUs of one group the check order wins over the skuId
		// order: sku-n1 (count) sorts before sku-us (location).
		{name: "group/location on a later SKU beats count on an earlier one",
			units: units(group("g1", 0, "sku-us", "sku-n1")), mod: all(location("FR"), free("sku-n1", 0)),
			want: []ws{other("g1", "sku-n1"), bad("g1", "sku-us", eLoc)}, changed: true},
		{name: "group/conflict on a later SKU beats dependency on an earlier one",
			units: units(direct("sku-e1", 0), group("g1", 0, "sku-addon", "sku-e3")),
			want:  []ws{ok("", "sku-e1"), other("g1", "sku-addon"), bad("g1", "sku-e3", eConf)},
			delta: seats("sku-e1", 1), mailbox: true, changed: true},
		{name: "group/dependency on a later SKU beats count on an earlier one",
			units: units(group("g1", 0, "sku-n1", "sku-addon")), mod: free("sku-n1", 0),
			want: []ws{bad("g1", "sku-addon", eDep), other("g1", "sku-n1")}, changed: true},
	}
	runScenarios(t, rows)
}
