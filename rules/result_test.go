package rules_test

import (
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/rules"
)

// docs/RULES.md §2.2 step 3: a refused unit reports the first check it fails against
// the FINAL accepted set, which may differ from the first failure seen while
// sweeping.
func TestErrorAgainstFinalAcceptedSet(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "failed dependency during the first sweep, accepted on the second",
			units: units(direct("sku-addon", 1), group("g1", 0, "sku-base")),
			want:  []ws{ok("", "sku-addon"), ok("g1", "sku-base")}, delta: seats("sku-addon", 1, "sku-base", 1), changed: true},
		// Sweep 1: direct sku-e1 has no seat (count); g1 is then accepted.
		// Against the final set the direct unit fails check 3 first.
		{name: "count seen first, conflict reported",
			units: units(direct("sku-e1", 1), group("g1", 0, "sku-e3")), mod: free("sku-e1", 0),
			want: []ws{bad("", "sku-e1", eConf), ok("g1", "sku-e3")}, delta: seats("sku-e3", 1), mailbox: true, changed: true},
		// Sweep 1: sku-late lacks p-base (dependency); g1 (rival) and g2
		// (base) are accepted after it. Sweep 2: it conflicts with rival.
		{name: "dependency seen first, conflict reported",
			units: units(direct("sku-late", 1), group("g1", 1, "sku-rival"), group("g2", 2, "sku-base")),
			want:  []ws{bad("", "sku-late", eConf), ok("g1", "sku-rival"), ok("g2", "sku-base")},
			delta: seats("sku-rival", 1, "sku-base", 1), changed: true},
		// Both incumbents. sku-late (direct, first) is kept by step 1 and
		// rival refused for the conflict; then sku-late is dropped for its
		// lost prerequisite (g-base gone); rival gets in on the sweep. Against
		// the final set sku-late fails check 3 before check 4.
		{name: "incumbent dropped for dependency, reported as conflict",
			units:  units(direct("sku-late", 1), group("g1", 1, "sku-rival")),
			before: before(active("", "sku-late"), active("g1", "sku-rival"), active("g-base", "sku-base")),
			want:   []ws{bad("", "sku-late", eConf), ok("g1", "sku-rival")},
			delta:  seats("sku-late", -1, "sku-base", -1), changed: true},
		{name: "control: prerequisite still there, the first incumbent keeps",
			units:  units(direct("sku-late", 1), group("g1", 1, "sku-rival"), group("g-base", 0, "sku-base")),
			before: before(active("", "sku-late"), active("g1", "sku-rival"), active("g-base", "sku-base")),
			want:   []ws{ok("", "sku-late"), ok("g-base", "sku-base"), bad("g1", "sku-rival", eConf)},
			delta:  seats("sku-rival", -1), changed: true},
		{name: "dependency on a unit refused for its seats",
			units: units(direct("sku-addon", 1), group("g1", 1, "sku-base", "sku-n1")), mod: free("sku-n1", 0),
			want: []ws{bad("", "sku-addon", eDep), other("g1", "sku-base"), bad("g1", "sku-n1", eCount)}, changed: true},
	})
}

// docs/RULES.md §2.2 step 3, check 5: the SKU a unit already waits for keeps its
// place; else the first lacking SKU by id. X = sku-w2 sorts after Y = sku-w1.
func TestStickyWaitingSKU(t *testing.T) {
	const X, Y = "sku-w2", "sku-w1"
	waitingOnX := before(failed("g1", X, eCount), failed("g1", Y, allot.OtherViolation))
	wsIs := func(src, sku string, want time.Time) func(*testing.T, rules.Input, rules.Output) {
		return func(t *testing.T, _ rules.Input, out rules.Output) {
			if s := stateOf(t, out, src, sku); !s.WaitingSince.Equal(want) {
				t.Errorf("%s WaitingSince = %v, want %v", sku, s.WaitingSince, want)
			}
		}
	}
	runScenarios(t, []scenario{
		{name: "waiting on X, both lack now: still X, WaitingSince kept",
			units: units(group("g1", 1, X, Y)), before: waitingOnX, mod: free(X, 0, Y, 0),
			want: []ws{other("g1", Y), bad("g1", X, eCount)}, changed: true, extra: wsIs("g1", X, at(2))},
		{name: "waiting on X, X lacks, Y has a seat: still X",
			units: units(group("g1", 1, X, Y)), before: waitingOnX, mod: free(X, 0, Y, 3),
			want: []ws{other("g1", Y), bad("g1", X, eCount)}, changed: true, extra: wsIs("g1", X, at(2))},
		{name: "waiting on X, X has a seat, Y lacks: Y, starts waiting now",
			units: units(group("g1", 1, X, Y)), before: waitingOnX, mod: free(X, 1, Y, 0),
			want: []ws{bad("g1", Y, eCount), other("g1", X)}, changed: true, extra: wsIs("g1", Y, now)},
		{name: "waiting on X, both have seats: accepted",
			units: units(group("g1", 1, X, Y)), before: waitingOnX, mod: free(X, 1, Y, 1),
			want: []ws{ok("g1", Y), ok("g1", X)}, delta: seats(X, 1, Y, 1), changed: true},
		{name: "new to waiting, both lack: first lacking by id (Y)",
			units: units(group("g1", 1, X, Y)), mod: free(X, 0, Y, 0),
			want: []ws{bad("g1", Y, eCount), other("g1", X)}, changed: true, extra: wsIs("g1", Y, now)},
		{name: "new to waiting, only X lacks",
			units: units(group("g1", 1, X, Y)), mod: free(X, 0, Y, 1),
			want: []ws{other("g1", Y), bad("g1", X, eCount)}, changed: true, extra: wsIs("g1", X, now)},
		{name: "waiting on X in another group does not make X sticky here",
			units: units(group("g1", 1, X, Y)), before: before(failed("g2", X, eCount)), mod: free(X, 0, Y, 0),
			want: []ws{bad("g1", Y, eCount), other("g1", X)}, changed: true, extra: wsIs("g1", Y, now)},
		{name: "direct unit keeps waiting: WaitingSince kept",
			units: units(direct(X, 1)), before: before(failed("", X, eCount)), mod: free(X, 0),
			want: []ws{bad("", X, eCount)}, changed: true, extra: wsIs("", X, at(2))},
		{name: "waiting on X, now refused for a conflict: no longer waiting",
			units:  units(direct("sku-e1", 1), group("g1", 1, X, Y, "sku-e3")),
			before: before(active("", "sku-e1"), failed("g1", X, eCount), failed("g1", Y, allot.OtherViolation), failed("g1", "sku-e3", allot.OtherViolation)),
			mod:    free(X, 0, Y, 0),
			want:   []ws{ok("", "sku-e1"), bad("g1", "sku-e3", eConf), other("g1", Y), other("g1", X)}, mailbox: true, changed: true},
	})

	// The same story through real evaluations: Y has a seat, X not, so the
	// unit waits on X; then Y's seats run out too.
	t.Run("through evaluations: X keeps its place and its time", func(t *testing.T) {
		in := input(units(group("g1", 1, X, Y)), nil)
		in.Free[X], in.Free[Y], in.Now = 0, 1, at(50)
		first := rules.Evaluate(in)
		checkStates(t, first, []ws{other("g1", Y), bad("g1", X, eCount)})
		in.Before, in.Free[Y], in.Now = first.States, 0, now
		second := rules.Evaluate(in)
		checkStructure(t, in, second)
		checkStates(t, second, []ws{other("g1", Y), bad("g1", X, eCount)})
		if !reflect.DeepEqual(first.States, second.States) {
			t.Errorf("states changed:%s\nthen:%s", fmtStates(first.States), fmtStates(second.States))
		}
		if second.Changed {
			t.Errorf("Changed = true, want false")
		}
		if s := stateOf(t, second, "g1", X); !s.WaitingSince.Equal(at(50)) || !s.LastUpdated.Equal(at(50)) {
			t.Errorf("WaitingSince %v LastUpdated %v, want both %v", s.WaitingSince, s.LastUpdated, at(50))
		}
	})
}

// docs/RULES.md §2.2 step 3, seats.
func TestSeatDelta(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "new SKU held: +1", units: units(direct("sku-n1", 1)),
			want: []ws{ok("", "sku-n1")}, delta: seats("sku-n1", 1), changed: true},
		{name: "direct license removed: -1", before: before(active("", "sku-n1")),
			want: nil, delta: seats("sku-n1", -1), changed: true},
		{name: "user left the group: -1 per SKU", before: before(active("g1", "sku-n1"), active("g1", "sku-n2")),
			want: nil, delta: seats("sku-n1", -1, "sku-n2", -1), changed: true},
		{name: "user left one group, other units stay",
			units:  units(direct("sku-n3", 1)),
			before: before(active("", "sku-n3"), active("g1", "sku-n1"), active("g1", "sku-n2")),
			want:   []ws{ok("", "sku-n3")}, delta: seats("sku-n1", -1, "sku-n2", -1), changed: true},
		{name: "moves from a group unit to a direct unit: 0",
			units: units(direct("sku-n1", 1)), before: before(active("g1", "sku-n1")), mod: free("sku-n1", 0),
			want: []ws{ok("", "sku-n1")}, changed: true},
		{name: "moves from a direct unit to a group unit: 0",
			units: units(group("g1", 1, "sku-n1")), before: before(active("", "sku-n1")), mod: free("sku-n1", 0),
			want: []ws{ok("g1", "sku-n1")}, changed: true},
		{name: "several units give the same SKU: one seat",
			units: units(direct("sku-n1", 1), group("g1", 1, "sku-n1"), group("g2", 1, "sku-n1", "sku-n2")),
			mod:   free("sku-n1", 1, "sku-n2", 1),
			want:  []ws{ok("", "sku-n1"), ok("g1", "sku-n1"), ok("g2", "sku-n1"), ok("g2", "sku-n2")},
			delta: seats("sku-n1", 1, "sku-n2", 1), changed: true},
		{name: "still held through another unit: 0",
			units:  units(group("g1", 1, "sku-n1")),
			before: before(active("", "sku-n1"), active("g1", "sku-n1")),
			want:   []ws{ok("g1", "sku-n1")}, changed: true},
		{name: "group refused, SKU still held directly: 0 for it, -1 for the other",
			units:  units(direct("sku-n1", 1), group("g1", 1, "sku-n1", "sku-e1")),
			before: before(active("", "sku-n1"), active("g1", "sku-n1"), active("g1", "sku-e1")),
			mod:    taken("user@contoso.test"),
			want:   []ws{ok("", "sku-n1"), bad("g1", "sku-e1", eUniq), other("g1", "sku-n1")},
			delta:  seats("sku-e1", -1), changed: true},
		{name: "Error before, Active now: +1",
			units: units(direct("sku-n1", 1)), before: before(failed("", "sku-n1", eCount)),
			want: []ws{ok("", "sku-n1")}, delta: seats("sku-n1", 1), changed: true},
		{name: "Held lists SKUs by id",
			units: units(group("g2", 1, "sku-n3", "sku-base"), direct("sku-n1", 1), direct("sku-e1", 1)),
			want:  []ws{ok("", "sku-e1"), ok("", "sku-n1"), ok("g2", "sku-base"), ok("g2", "sku-n3")},
			delta: seats("sku-e1", 1, "sku-n1", 1, "sku-base", 1, "sku-n3", 1), mailbox: true, changed: true,
			extra: func(t *testing.T, _ rules.Input, out rules.Output) {
				if want := []string{"sku-base", "sku-e1", "sku-n1", "sku-n3"}; !slices.Equal(out.Held, want) {
					t.Errorf("Held = %v, want %v", out.Held, want)
				}
			}},
	})
}

// settle evaluates in at hour h and returns the states, as the store would
// keep them.
func settle(t *testing.T, in rules.Input, h int) []allot.LicenseState {
	t.Helper()
	in.Now = at(h)
	out := rules.Evaluate(in)
	checkStructure(t, in, out)
	return out.States
}

// docs/RULES.md §2.2 step 3 lastUpdatedDateTime, and Output.Changed.
func TestLastUpdatedAndChanged(t *testing.T) {
	lastUpdated := func(t *testing.T, out rules.Output, want map[string]time.Time) {
		t.Helper()
		for _, s := range out.States {
			if w, ok := want[s.Source+"/"+s.SkuID]; ok && !s.LastUpdated.Equal(w) {
				t.Errorf("%s/%s LastUpdated = %v, want %v", s.Source, s.SkuID, s.LastUpdated, w)
			}
		}
	}

	t.Run("nothing changed: timestamps kept, Changed false", func(t *testing.T) {
		in := input(units(direct("sku-n1", 1), group("g1", 1, "sku-e1", "sku-n2"), group("g2", 2, "sku-e3")), nil)
		in.Free["sku-n2"] = 0
		in.Before = settle(t, in, 50)
		in.Free["sku-n1"]--
		out := rules.Evaluate(in)
		checkStructure(t, in, out)
		if out.Changed {
			t.Errorf("Changed = true")
		}
		if !reflect.DeepEqual(out.States, in.Before) {
			t.Errorf("states differ:%s\nbefore:%s", fmtStates(out.States), fmtStates(in.Before))
		}
		lastUpdated(t, out, map[string]time.Time{"/sku-n1": at(50), "g1/sku-e1": at(50), "g1/sku-n2": at(50), "g2/sku-e3": at(50)})
	})
	t.Run("no units, no states: Changed false", func(t *testing.T) {
		out := rules.Evaluate(input(nil, nil))
		if out.Changed || len(out.States) != 0 || len(out.Held) != 0 || out.Mailbox {
			t.Errorf("got %+v", out)
		}
		checkDelta(t, out, nil)
	})
	t.Run("one state changes: it gets Now, the other keeps its time", func(t *testing.T) {
		in := input(units(direct("sku-n1", 1), direct("sku-us", 2)), nil)
		in.Before = settle(t, in, 50)
		in.Location = "FR"
		out := rules.Evaluate(in)
		checkStructure(t, in, out)
		checkStates(t, out, []ws{ok("", "sku-n1"), bad("", "sku-us", eLoc)})
		if !out.Changed {
			t.Errorf("Changed = false")
		}
		lastUpdated(t, out, map[string]time.Time{"/sku-n1": at(50), "/sku-us": now})
	})
	t.Run("Error to Active: Now, WaitingSince cleared", func(t *testing.T) {
		in := input(units(direct("sku-n1", 1)), nil)
		in.Free["sku-n1"] = 0
		in.Before = settle(t, in, 50)
		in.Free["sku-n1"] = 1
		out := rules.Evaluate(in)
		checkStructure(t, in, out)
		checkStates(t, out, []ws{ok("", "sku-n1")})
		if !out.Changed {
			t.Errorf("Changed = false")
		}
		lastUpdated(t, out, map[string]time.Time{"/sku-n1": now})
	})
	t.Run("disabledPlans changed: Changed, Now, still Active with no new seat", func(t *testing.T) {
		in := input(units(direct("sku-e1", 1, "p-teams")), nil)
		in.Before = settle(t, in, 50)
		in.Units = units(direct("sku-e1", 1))
		in.Free["sku-e1"] = 0
		out := rules.Evaluate(in)
		checkStructure(t, in, out)
		checkStates(t, out, []ws{ok("", "sku-e1")})
		checkDelta(t, out, nil)
		if !out.Changed {
			t.Errorf("Changed = false")
		}
		lastUpdated(t, out, map[string]time.Time{"/sku-e1": now})
		if s := stateOf(t, out, "", "sku-e1"); len(s.DisabledPlans) != 0 {
			t.Errorf("DisabledPlans = %v, want none", s.DisabledPlans)
		}
	})
	// disabledPlans is a set: the same plans listed in another order are no
	// change (reading chosen where the spec is silent).
	t.Run("disabledPlans in another order: no change", func(t *testing.T) {
		in := input(units(groupL("g1", 1, lic("sku-all", "p-exo2", "p-addon"))), nil)
		in.Before = settle(t, in, 50)
		in.Units = units(groupL("g1", 1, lic("sku-all", "p-addon", "p-exo2")))
		out := rules.Evaluate(in)
		checkStructure(t, in, out)
		checkStates(t, out, []ws{ok("g1", "sku-all")})
		if out.Changed {
			t.Errorf("Changed = true")
		}
		lastUpdated(t, out, map[string]time.Time{"g1/sku-all": at(50)})
	})
	// The store may keep disabledPlans in the order they were given.
	t.Run("disabledPlans before listed in another order: no change", func(t *testing.T) {
		in := input(units(groupL("g1", 1, lic("sku-all", "p-addon", "p-exo2"))), nil)
		in.Before = settle(t, in, 50)
		in.Before[0].DisabledPlans = []string{"p-exo2", "p-addon"}
		out := rules.Evaluate(in)
		checkStructure(t, in, out)
		checkStates(t, out, []ws{ok("g1", "sku-all")})
		if out.Changed {
			t.Errorf("Changed = true")
		}
		lastUpdated(t, out, map[string]time.Time{"g1/sku-all": at(50)})
	})
	t.Run("detail differs: Changed, Now", func(t *testing.T) {
		in := input(units(direct("sku-e1", 1), direct("sku-e3", 2)), nil)
		in.Before = settle(t, in, 50)
		for i := range in.Before {
			if in.Before[i].SkuID == "sku-e3" {
				in.Before[i].Detail = "a stale message"
			}
		}
		out := rules.Evaluate(in)
		checkStructure(t, in, out)
		checkStates(t, out, []ws{ok("", "sku-e1"), bad("", "sku-e3", eConf)})
		if !out.Changed {
			t.Errorf("Changed = false")
		}
		lastUpdated(t, out, map[string]time.Time{"/sku-e1": at(50), "/sku-e3": now})
	})
	t.Run("a state disappears: Changed, the others keep their time", func(t *testing.T) {
		in := input(units(direct("sku-n1", 1), group("g1", 1, "sku-n2")), nil)
		in.Before = settle(t, in, 50)
		in.Units = units(direct("sku-n1", 1))
		out := rules.Evaluate(in)
		checkStructure(t, in, out)
		checkStates(t, out, []ws{ok("", "sku-n1")})
		checkDelta(t, out, seats("sku-n2", -1))
		if !out.Changed {
			t.Errorf("Changed = false")
		}
		lastUpdated(t, out, map[string]time.Time{"/sku-n1": at(50)})
	})
	t.Run("a state appears: Changed, Now for it only", func(t *testing.T) {
		in := input(units(direct("sku-n1", 1)), nil)
		in.Before = settle(t, in, 50)
		in.Units = units(direct("sku-n1", 1), group("g1", 1, "sku-n1"))
		out := rules.Evaluate(in)
		checkStructure(t, in, out)
		checkStates(t, out, []ws{ok("", "sku-n1"), ok("g1", "sku-n1")})
		checkDelta(t, out, nil)
		if !out.Changed {
			t.Errorf("Changed = false")
		}
		lastUpdated(t, out, map[string]time.Time{"/sku-n1": at(50), "g1/sku-n1": now})
	})
	t.Run("a state appears while another disappears", func(t *testing.T) {
		in := input(units(group("g1", 1, "sku-n1")), nil)
		in.Before = settle(t, in, 50)
		in.Units = units(group("g2", 1, "sku-n1"))
		out := rules.Evaluate(in)
		checkStructure(t, in, out)
		checkStates(t, out, []ws{ok("g2", "sku-n1")})
		if !out.Changed {
			t.Errorf("Changed = false")
		}
	})
	t.Run("still waiting: nothing changes", func(t *testing.T) {
		in := input(units(group("g1", 1, "sku-n1", "sku-n2")), nil)
		in.Free["sku-n2"] = 0
		in.Before = settle(t, in, 50)
		out := rules.Evaluate(in)
		checkStructure(t, in, out)
		if out.Changed || !reflect.DeepEqual(out.States, in.Before) {
			t.Errorf("Changed = %v;%s\nbefore:%s", out.Changed, fmtStates(out.States), fmtStates(in.Before))
		}
	})
}

// Output.Mailbox: true iff an accepted unit enables a provisionsMailbox plan.
func TestMailbox(t *testing.T) {
	runScenarios(t, []scenario{
		{name: "direct mailbox plan", units: units(direct("sku-e1", 1)),
			want: []ws{ok("", "sku-e1")}, delta: seats("sku-e1", 1), mailbox: true, changed: true},
		{name: "group mailbox plan", units: units(group("g1", 1, "sku-n1", "sku-e3")),
			want: []ws{ok("g1", "sku-e3"), ok("g1", "sku-n1")}, delta: seats("sku-e3", 1, "sku-n1", 1), mailbox: true, changed: true},
		{name: "mailbox plan disabled", units: units(direct("sku-e1", 1, "p-exo1")),
			want: []ws{ok("", "sku-e1")}, delta: seats("sku-e1", 1), changed: true},
		{name: "no mailbox plan", units: units(direct("sku-n1", 1)),
			want: []ws{ok("", "sku-n1")}, delta: seats("sku-n1", 1), changed: true},
		{name: "mailbox unit refused for seats", units: units(direct("sku-e1", 1)), mod: free("sku-e1", 0),
			want: []ws{bad("", "sku-e1", eCount)}, changed: true},
		{name: "mailbox group refused for another SKU", units: units(group("g1", 1, "sku-e1", "sku-n1")), mod: free("sku-n1", 0),
			want: []ws{other("g1", "sku-e1"), bad("g1", "sku-n1", eCount)}, changed: true},
		{name: "disabled in one unit, enabled in another",
			units: units(direct("sku-e1", 1, "p-exo1"), groupL("g1", 1, lic("sku-e1"))),
			want:  []ws{ok("", "sku-e1"), ok("g1", "sku-e1")}, delta: seats("sku-e1", 1), mailbox: true, changed: true},
		{name: "incumbent mailbox kept", units: units(direct("sku-e3", 1)), before: before(active("", "sku-e3")),
			want: []ws{ok("", "sku-e3")}, mailbox: true, changed: true},
		{name: "mailbox refused, other unit without mailbox accepted",
			units: units(direct("sku-n1", 1), direct("sku-e1", 2)), mod: taken("user@contoso.test"),
			want: []ws{ok("", "sku-n1"), bad("", "sku-e1", eUniq)}, delta: seats("sku-n1", 1), changed: true},
	})
}

// docs/RULES.md §2.2: "one pure function". Evaluate must not change its input.
func TestEvaluateDoesNotChangeInput(t *testing.T) {
	us := units(group("g2", 1, "sku-n3", "sku-n1"), direct("sku-n2", 1), group("g1", 1, "sku-e1"))
	bf := before(active("g1", "sku-e1"), failed("g2", "sku-n3", eCount), failed("g2", "sku-n1", allot.OtherViolation))
	in := input(us, bf)
	in.Free["sku-n3"] = 0
	keepUnits := unitsCopy(in.Units)
	keepBefore := slices.Clone(in.Before)
	keepFree := maps.Clone(in.Free)
	a := rules.Evaluate(in)
	b := rules.Evaluate(in)
	if !reflect.DeepEqual(in.Units, keepUnits) {
		t.Errorf("units changed: %v", in.Units)
	}
	if !reflect.DeepEqual(in.Before, keepBefore) {
		t.Errorf("before changed")
	}
	if !reflect.DeepEqual(in.Free, keepFree) {
		t.Errorf("free changed: %v", in.Free)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two evaluations of one input differ")
	}
}

func unitsCopy(us []rules.Unit) []rules.Unit {
	out := slices.Clone(us)
	for i := range out {
		out[i].SKUs = slices.Clone(out[i].SKUs)
	}
	return out
}
