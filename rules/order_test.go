package rules_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/rules"
)

func unitKey(u rules.Unit) string {
	var skus []string
	for _, l := range u.SKUs {
		skus = append(skus, l.SkuID)
	}
	src := u.Source
	if src == "" {
		src = "direct"
	}
	return fmt.Sprintf("%s@%d%v", src, int(u.Created.Sub(t0).Hours()), skus)
}

// docs/RULES.md §2.2 base order: direct before group; then creation time; then group
// id; then skuId. SortUnits also sorts the SKUs of each unit by id.
func TestSortUnits(t *testing.T) {
	sorted := []rules.Unit{
		direct("sku-n3", 1),
		direct("sku-n1", 2),
		direct("sku-n2", 2),
		direct("sku-e1", 7),
		group("g-c", 0, "sku-n1", "sku-n3"),
		group("g-a", 1, "sku-e1", "sku-n2"),
		group("g-b", 1, "sku-base"),
		group("g-0", 4, "sku-a"),
	}
	want := make([]string, len(sorted))
	for i, u := range sorted {
		want[i] = unitKey(u)
	}
	perms := [][]int{
		{7, 6, 5, 4, 3, 2, 1, 0},
		{4, 0, 6, 2, 7, 1, 5, 3},
		{5, 6, 7, 4, 0, 1, 2, 3},
		{2, 1, 0, 3, 6, 5, 4, 7},
	}
	for pi, perm := range perms {
		t.Run(fmt.Sprintf("permutation %d", pi), func(t *testing.T) {
			us := make([]rules.Unit, len(perm))
			for i, j := range perm {
				us[i] = sorted[j]
				if us[i].Source == "g-c" {
					// SKUs in reverse: SortUnits sorts them by id.
					us[i].SKUs = []allot.AssignedLicense{lic("sku-n3"), lic("sku-n1")}
				}
			}
			rules.SortUnits(us)
			var got []string
			for _, u := range us {
				got = append(got, unitKey(u))
			}
			if !slices.Equal(got, want) {
				t.Errorf("SortUnits:\n got %v\nwant %v", got, want)
			}
		})
	}
	t.Run("direct before an older group", func(t *testing.T) {
		us := []rules.Unit{group("g1", 0, "sku-n1"), direct("sku-n2", 50)}
		rules.SortUnits(us)
		if us[0].Source != "" {
			t.Errorf("first unit %s, want the direct one", unitKey(us[0]))
		}
	})
	t.Run("creation time before group id", func(t *testing.T) {
		us := []rules.Unit{group("g-a", 2, "sku-n1"), group("g-z", 1, "sku-n2")}
		rules.SortUnits(us)
		if us[0].Source != "g-z" {
			t.Errorf("first unit %s, want g-z (older)", unitKey(us[0]))
		}
	})
}

// The effect of base order on an evaluation.
func TestBaseOrder(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "older group wins a conflict although its id sorts later",
			units: units(group("g-a", 2, "sku-e1"), group("g-b", 1, "sku-e3")),
			want:  []ws{ok("g-b", "sku-e3"), bad("g-a", "sku-e1", eConf)}, delta: seats("sku-e3", 1), mailbox: true, changed: true},
		{name: "same creation time: smaller group id wins",
			units: units(group("g-b", 1, "sku-e3"), group("g-a", 1, "sku-e1")),
			want:  []ws{ok("g-a", "sku-e1"), bad("g-b", "sku-e3", eConf)}, delta: seats("sku-e1", 1), mailbox: true, changed: true},
		{name: "direct unit wins over an older group",
			units: units(group("g1", 0, "sku-e1"), direct("sku-e3", 50)),
			want:  []ws{ok("", "sku-e3"), bad("g1", "sku-e1", eConf)}, delta: seats("sku-e3", 1), mailbox: true, changed: true},
		{name: "older direct unit wins",
			units: units(direct("sku-e1", 2), direct("sku-e3", 1)),
			want:  []ws{ok("", "sku-e3"), bad("", "sku-e1", eConf)}, delta: seats("sku-e3", 1), mailbox: true, changed: true},
		{name: "direct units of the same time: skuId decides",
			units: units(direct("sku-e3", 1), direct("sku-e1", 1)),
			want:  []ws{ok("", "sku-e1"), bad("", "sku-e3", eConf)}, delta: seats("sku-e1", 1), mailbox: true, changed: true},
		{name: "order of input does not matter",
			units: units(group("g2", 3, "sku-n2"), direct("sku-n1", 5), group("g1", 3, "sku-n1", "sku-n3")),
			want:  []ws{ok("", "sku-n1"), ok("g1", "sku-n1"), ok("g1", "sku-n3"), ok("g2", "sku-n2")},
			delta: seats("sku-n1", 1, "sku-n2", 1, "sku-n3", 1), changed: true},
		// Seats: units of one user compete for a seat only through the
		// all-or-nothing rule (a unit giving a SKU makes it free for every
		// later unit). The earlier unit takes the last seat of n1 only when
		// it is accepted as a whole.
		{name: "last seat: the earlier unit is refused, the later one gets it",
			units: units(group("g2", 2, "sku-n1"), group("g1", 1, "sku-n1", "sku-n2")),
			mod:   free("sku-n1", 1, "sku-n2", 0),
			want:  []ws{other("g1", "sku-n1"), bad("g1", "sku-n2", eCount), ok("g2", "sku-n1")},
			delta: seats("sku-n1", 1), changed: true},
	})
}

// docs/RULES.md §2.2 evaluation step 1.
func TestIncumbents(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "incumbent keeps its license against a new unit earlier in base order",
			units:  units(direct("sku-e3", 1), group("g1", 1, "sku-e1")),
			before: before(active("g1", "sku-e1")),
			want:   []ws{bad("", "sku-e3", eConf), ok("g1", "sku-e1")}, mailbox: true, changed: true},
		{name: "two conflicting incumbents: the earlier in base order keeps",
			units:  units(direct("sku-e1", 5), group("g1", 1, "sku-e3")),
			before: before(active("", "sku-e1"), active("g1", "sku-e3")),
			want:   []ws{ok("", "sku-e1"), bad("g1", "sku-e3", eConf)}, delta: seats("sku-e3", -1), mailbox: true, changed: true},
		{name: "user left the group that gave the prerequisite: dependent incumbent dropped",
			units:  units(group("g-addon", 2, "sku-addon")),
			before: before(active("g-base", "sku-base"), active("g-addon", "sku-addon")),
			want:   []ws{bad("g-addon", "sku-addon", eDep)}, delta: seats("sku-base", -1, "sku-addon", -1), changed: true},
		{name: "prerequisite direct license removed: dependent group incumbent dropped",
			units:  units(group("g1", 2, "sku-addon", "sku-n1")),
			before: before(active("", "sku-base"), active("g1", "sku-addon"), active("g1", "sku-n1")),
			want:   []ws{bad("g1", "sku-addon", eDep), other("g1", "sku-n1")},
			delta:  seats("sku-base", -1, "sku-addon", -1, "sku-n1", -1), changed: true},
		{name: "chained drops: A needs B needs C, C gone",
			// g-a sorts before g-b: a single pass over the incumbents would
			// keep A because B is still there when A is looked at.
			units:  units(group("g-a", 1, "sku-a"), group("g-b", 2, "sku-b")),
			before: before(active("g-a", "sku-a"), active("g-b", "sku-b"), active("g-c", "sku-c")),
			want:   []ws{bad("g-a", "sku-a", eDep), bad("g-b", "sku-b", eDep)},
			delta:  seats("sku-a", -1, "sku-b", -1, "sku-c", -1), changed: true},
		{name: "chain intact: all incumbents kept",
			units:  units(group("g-a", 1, "sku-a"), group("g-b", 2, "sku-b"), group("g-c", 3, "sku-c")),
			before: before(active("g-a", "sku-a"), active("g-b", "sku-b"), active("g-c", "sku-c")),
			mod:    free("sku-a", 0, "sku-b", 0, "sku-c", 0),
			want:   []ws{ok("g-a", "sku-a"), ok("g-b", "sku-b"), ok("g-c", "sku-c")}, changed: true},
		{name: "dropped incumbent comes back when a new unit brings the prerequisite",
			units:  units(direct("sku-base", 5), group("g-addon", 2, "sku-addon")),
			before: before(active("g-base", "sku-base"), active("g-addon", "sku-addon")),
			mod:    free("sku-base", 0, "sku-addon", 0),
			want:   []ws{ok("", "sku-base"), ok("g-addon", "sku-addon")}, changed: true},
		{name: "incumbent needs no seat: free 0",
			units: units(group("g1", 1, "sku-n1")), before: before(active("g1", "sku-n1")), mod: free("sku-n1", 0),
			want: []ws{ok("g1", "sku-n1")}, changed: true},
		{name: "incumbent needs no seat: over-allocated",
			units:  units(direct("sku-n1", 1), group("g1", 1, "sku-n2", "sku-n3")),
			before: before(active("", "sku-n1"), active("g1", "sku-n2"), active("g1", "sku-n3")),
			mod:    all(free("sku-n1", -2, "sku-n2", -1), noFreeEntry("sku-n3")),
			want:   []ws{ok("", "sku-n1"), ok("g1", "sku-n2"), ok("g1", "sku-n3")}, changed: true},
		{name: "incumbent whose location no longer allows it is refused",
			units: units(group("g1", 1, "sku-us")), before: before(active("g1", "sku-us")), mod: location("FR"),
			want: []ws{bad("g1", "sku-us", eLoc)}, delta: seats("sku-us", -1), changed: true},
		{name: "incumbent whose address is now taken is refused",
			units: units(direct("sku-e1", 1)), before: before(active("", "sku-e1")), mod: taken("alias@contoso.test"),
			want: []ws{bad("", "sku-e1", eUniq)}, delta: seats("sku-e1", -1), changed: true},
		// g1 gained sku-e1; its sku-n1 was Active. Only partly Active, so not
		// an incumbent: the incumbent g2 (later in base order) is accepted
		// first and g1 is refused for the conflict.
		{name: "partly Active unit is not an incumbent",
			units:  units(group("g1", 1, "sku-n1", "sku-e1"), group("g2", 2, "sku-e3")),
			before: before(active("g1", "sku-n1"), active("g2", "sku-e3")),
			want:   []ws{bad("g1", "sku-e1", eConf), other("g1", "sku-n1"), ok("g2", "sku-e3")},
			delta:  seats("sku-n1", -1), mailbox: true, changed: true},
		{name: "control: the same unit wholly Active is an incumbent and wins",
			units:  units(group("g1", 1, "sku-n1", "sku-e1"), group("g2", 2, "sku-e3")),
			before: before(active("g1", "sku-n1"), active("g1", "sku-e1"), active("g2", "sku-e3")),
			want:   []ws{ok("g1", "sku-e1"), ok("g1", "sku-n1"), bad("g2", "sku-e3", eConf)},
			delta:  seats("sku-e3", -1), mailbox: true, changed: true},
		{name: "partly Active unit needs a seat for its new SKU",
			units:  units(group("g1", 1, "sku-n1", "sku-n2")),
			before: before(active("g1", "sku-n1")), mod: free("sku-n1", 0, "sku-n2", 0),
			want:  []ws{other("g1", "sku-n1"), bad("g1", "sku-n2", eCount)},
			delta: seats("sku-n1", -1), changed: true},
		{name: "partly Active unit with a seat is accepted",
			units:  units(group("g1", 1, "sku-n1", "sku-n2")),
			before: before(active("g1", "sku-n1")), mod: free("sku-n1", 0, "sku-n2", 1),
			want:  []ws{ok("g1", "sku-n1"), ok("g1", "sku-n2")},
			delta: seats("sku-n2", 1), changed: true},
		{name: "SKU removed from an incumbent group: still an incumbent",
			units:  units(direct("sku-e3", 1), group("g1", 1, "sku-e1")),
			before: before(active("g1", "sku-e1"), active("g1", "sku-n1")),
			want:   []ws{bad("", "sku-e3", eConf), ok("g1", "sku-e1")}, delta: seats("sku-n1", -1), mailbox: true, changed: true},
		{name: "Active from another source does not make a unit incumbent",
			units:  units(direct("sku-e3", 1), group("g1", 1, "sku-e1")),
			before: before(active("g-other", "sku-e1")),
			want:   []ws{ok("", "sku-e3"), bad("g1", "sku-e1", eConf)},
			delta:  seats("sku-e1", -1, "sku-e3", 1), mailbox: true, changed: true},
	})
}

// docs/RULES.md §2.1 all or nothing per group, and §2.2 step 3.
func TestAllOrNothing(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "one SKU lacks a seat: it carries the error, the other Other, no seat taken",
			units: units(group("g1", 1, "sku-n1", "sku-n2")), mod: free("sku-n1", 1, "sku-n2", 0),
			want: []ws{other("g1", "sku-n1"), bad("g1", "sku-n2", eCount)}, changed: true},
		{name: "the seat left by a refused group goes to a later unit",
			units: units(group("g1", 1, "sku-n1", "sku-n2"), group("g2", 2, "sku-n1")), mod: free("sku-n1", 1, "sku-n2", 0),
			want:  []ws{other("g1", "sku-n1"), bad("g1", "sku-n2", eCount), ok("g2", "sku-n1")},
			delta: seats("sku-n1", 1), changed: true},
		{name: "each SKU of the unit needs a seat: first lacks",
			units: units(group("g1", 1, "sku-n1", "sku-n2")), mod: free("sku-n1", 0, "sku-n2", 1),
			want: []ws{bad("g1", "sku-n1", eCount), other("g1", "sku-n2")}, changed: true},
		{name: "each SKU of the unit needs a seat: both have one",
			units: units(group("g1", 1, "sku-n1", "sku-n2")), mod: free("sku-n1", 1, "sku-n2", 1),
			want: []ws{ok("g1", "sku-n1"), ok("g1", "sku-n2")}, delta: seats("sku-n1", 1, "sku-n2", 1), changed: true},
		{name: "three SKUs, conflict on the middle one",
			units: units(direct("sku-e1", 1), group("g1", 1, "sku-n2", "sku-e3", "sku-n1")),
			want:  []ws{ok("", "sku-e1"), bad("g1", "sku-e3", eConf), other("g1", "sku-n1"), other("g1", "sku-n2")},
			delta: seats("sku-e1", 1), mailbox: true, changed: true},
		{name: "refused group loses its Active SKUs",
			units:  units(group("g1", 1, "sku-n1", "sku-e1")),
			before: before(active("g1", "sku-n1"), active("g1", "sku-e1")), mod: taken("user@contoso.test"),
			want:  []ws{bad("g1", "sku-e1", eUniq), other("g1", "sku-n1")},
			delta: seats("sku-n1", -1, "sku-e1", -1), changed: true},
		{name: "a refused group does not take the direct license of the same SKU",
			units: units(direct("sku-n1", 1), group("g1", 1, "sku-n1", "sku-n2")), mod: free("sku-n1", 1, "sku-n2", 0),
			want:  []ws{ok("", "sku-n1"), other("g1", "sku-n1"), bad("g1", "sku-n2", eCount)},
			delta: seats("sku-n1", 1), changed: true},
	})
}
