package catalog

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/allot-dev/allot"
)

// Diff is what replacing one catalog by another changes: what `allot
// catalog import` reports, and what the store uses to decide whose licenses
// to evaluate again.
type Diff struct {
	AddedSKUs    []*allot.SKU // in the new catalog only, by part number
	RemovedSKUs  []*allot.SKU // in the old catalog only, by part number
	ChangedSKUs  []SKUChange  // in both, with other plans or names, by part number
	AddedPlans   []*allot.ServicePlan
	RemovedPlans []*allot.ServicePlan
	ChangedPlans []PlanChange // in both, with other rules or names, by name

	old, new *allot.Catalog
}

// SKUChange is a SKU in both catalogs that differs.
type SKUChange struct {
	Old, New     *allot.SKU
	AddedPlans   []string // plan ids, in the new SKU's order
	RemovedPlans []string // plan ids, in the old SKU's order
}

// PlanChange is a plan in both catalogs that differs. Rules lists the
// changes of its rules in words; empty when only names changed.
type PlanChange struct {
	Old, New *allot.ServicePlan
	Rules    []string
}

// Compare returns what changes from old to new (either may be nil: an
// empty catalog).
func Compare(old, new *allot.Catalog) *Diff {
	if old == nil {
		old = allot.NewCatalog(nil, nil)
	}
	if new == nil {
		new = allot.NewCatalog(nil, nil)
	}
	d := &Diff{old: old, new: new}
	for id, s := range new.SKUs {
		o := old.SKUs[id]
		if o == nil {
			d.AddedSKUs = append(d.AddedSKUs, s)
			continue
		}
		ch := SKUChange{Old: o, New: s}
		for _, p := range s.Plans {
			if !slices.Contains(o.Plans, p) {
				ch.AddedPlans = append(ch.AddedPlans, p)
			}
		}
		for _, p := range o.Plans {
			if !slices.Contains(s.Plans, p) {
				ch.RemovedPlans = append(ch.RemovedPlans, p)
			}
		}
		if len(ch.AddedPlans)+len(ch.RemovedPlans) > 0 || o.PartNumber != s.PartNumber || o.DisplayName != s.DisplayName || o.AppliesTo != s.AppliesTo {
			d.ChangedSKUs = append(d.ChangedSKUs, ch)
		}
	}
	for id, s := range old.SKUs {
		if new.SKUs[id] == nil {
			d.RemovedSKUs = append(d.RemovedSKUs, s)
		}
	}
	oldPartners, newPartners := partners(old), partners(new)
	for id, p := range new.Plans {
		o := old.Plans[id]
		if o == nil {
			d.AddedPlans = append(d.AddedPlans, p)
			continue
		}
		rules := ruleChanges(old, new, o, p, oldPartners[id], newPartners[id])
		if len(rules) > 0 || o.Name != p.Name || o.FriendlyName != p.FriendlyName || o.Service != p.Service {
			d.ChangedPlans = append(d.ChangedPlans, PlanChange{Old: o, New: p, Rules: rules})
		}
	}
	for id, p := range old.Plans {
		if new.Plans[id] == nil {
			d.RemovedPlans = append(d.RemovedPlans, p)
		}
	}
	bySKU := func(xs []*allot.SKU) {
		sort.Slice(xs, func(i, j int) bool { return xs[i].PartNumber < xs[j].PartNumber })
	}
	byPlan := func(xs []*allot.ServicePlan) {
		sort.Slice(xs, func(i, j int) bool { return xs[i].Name < xs[j].Name })
	}
	bySKU(d.AddedSKUs)
	bySKU(d.RemovedSKUs)
	sort.Slice(d.ChangedSKUs, func(i, j int) bool { return d.ChangedSKUs[i].New.PartNumber < d.ChangedSKUs[j].New.PartNumber })
	byPlan(d.AddedPlans)
	byPlan(d.RemovedPlans)
	sort.Slice(d.ChangedPlans, func(i, j int) bool { return d.ChangedPlans[i].New.Name < d.ChangedPlans[j].New.Name })
	return d
}

// partners gives each plan the plans it conflicts with, declared on either
// side: the relation the rules use.
func partners(c *allot.Catalog) map[string][]string {
	out := map[string][]string{}
	for id, p := range c.Plans {
		for _, q := range p.ConflictsWith {
			out[id] = append(out[id], q)
			out[q] = append(out[q], id)
		}
	}
	for id := range out {
		slices.Sort(out[id])
		out[id] = slices.Compact(out[id])
	}
	return out
}

// ruleChanges words how the rules of one plan changed.
func ruleChanges(oc, nc *allot.Catalog, o, n *allot.ServicePlan, oldConf, newConf []string) []string {
	var out []string
	if o.ProvisionsMailbox != n.ProvisionsMailbox {
		if n.ProvisionsMailbox {
			out = append(out, "now provisions a mailbox")
		} else {
			out = append(out, "no longer provisions a mailbox")
		}
	}
	if !sameSet(o.AvailableIn, n.AvailableIn) {
		where := func(cs []string) string {
			if len(cs) == 0 {
				return "everywhere"
			}
			return strings.Join(cs, " ")
		}
		out = append(out, fmt.Sprintf("available %s (was %s)", where(n.AvailableIn), where(o.AvailableIn)))
	}
	if added, removed := setDiff(oldConf, newConf); len(added)+len(removed) > 0 {
		if len(added) > 0 {
			out = append(out, "now conflicts with "+sortedNames(nc, added))
		}
		if len(removed) > 0 {
			out = append(out, "no longer conflicts with "+sortedNames(oc, removed))
		}
	}
	// Groups are compared as sets and written in their own order.
	groupKeys := func(p *allot.ServicePlan) ([]string, map[string][]string) {
		ks := make([]string, len(p.DependsOn))
		byKey := map[string][]string{}
		for i, g := range p.DependsOn {
			ks[i] = strings.Join(slices.Sorted(slices.Values(g)), " ")
			byKey[ks[i]] = g
		}
		return ks, byKey
	}
	ok, og := groupKeys(o)
	nk, ng := groupKeys(n)
	added, removed := setDiff(ok, nk)
	for _, k := range added {
		out = append(out, "now depends on "+planNames(nc, ng[k], " or "))
	}
	for _, k := range removed {
		out = append(out, "no longer depends on "+planNames(oc, og[k], " or "))
	}
	return out
}

// Reevaluate returns the SKUs of both catalogs whose holders' licenses may
// evaluate differently under the new one: their plans changed, or the rules
// of one of their plans did. The evaluation of a user reads only the SKUs
// of its units and their plans' rules, so users with no unit or state of
// these SKUs need not be evaluated again.
func (d *Diff) Reevaluate() []string {
	set := map[string]bool{}
	rulesChanged := map[string]bool{}
	for _, pc := range d.ChangedPlans {
		if len(pc.Rules) > 0 {
			rulesChanged[pc.New.ID] = true
		}
	}
	for _, sc := range d.ChangedSKUs {
		if len(sc.AddedPlans)+len(sc.RemovedPlans) > 0 {
			set[sc.New.ID] = true
		}
	}
	if len(rulesChanged) > 0 {
		for _, c := range []*allot.Catalog{d.old, d.new} {
			for id, s := range c.SKUs {
				if slices.ContainsFunc(s.Plans, func(p string) bool { return rulesChanged[p] }) {
					set[id] = true
				}
			}
		}
	}
	for _, s := range d.RemovedSKUs {
		set[s.ID] = true
	}
	return slices.Sorted(func(yield func(string) bool) {
		for id := range set {
			if !yield(id) {
				return
			}
		}
	})
}

// Empty reports whether the catalogs are the same.
func (d *Diff) Empty() bool {
	return len(d.AddedSKUs)+len(d.RemovedSKUs)+len(d.ChangedSKUs)+len(d.AddedPlans)+len(d.RemovedPlans)+len(d.ChangedPlans) == 0
}

// Write prints the diff for people, one change a line: "+" added, "-"
// removed, "~" changed, the plans a SKU gains or loses indented below it.
func (d *Diff) Write(w io.Writer) error {
	old, new := d.old, d.new
	var b strings.Builder
	if d.Empty() {
		b.WriteString("no change\n")
	}
	for _, s := range d.AddedSKUs {
		fmt.Fprintf(&b, "+ sku %s %s %q (%s)\n", s.PartNumber, s.ID, s.DisplayName, countOf(len(s.Plans), "plan"))
	}
	for _, s := range d.RemovedSKUs {
		fmt.Fprintf(&b, "- sku %s %s %q\n", s.PartNumber, s.ID, s.DisplayName)
	}
	for _, sc := range d.ChangedSKUs {
		fmt.Fprintf(&b, "~ sku %s %s", sc.New.PartNumber, sc.New.ID)
		if sc.Old.PartNumber != sc.New.PartNumber {
			fmt.Fprintf(&b, " (was %s)", sc.Old.PartNumber)
		}
		if sc.Old.DisplayName != sc.New.DisplayName {
			fmt.Fprintf(&b, " %q (was %q)", sc.New.DisplayName, sc.Old.DisplayName)
		}
		if sc.Old.AppliesTo != sc.New.AppliesTo {
			fmt.Fprintf(&b, " appliesTo %s (was %s)", sc.New.AppliesTo, sc.Old.AppliesTo)
		}
		b.WriteString("\n")
		if len(sc.AddedPlans) > 0 {
			fmt.Fprintf(&b, "    + plans %s\n", planNames(new, sc.AddedPlans, " "))
		}
		if len(sc.RemovedPlans) > 0 {
			fmt.Fprintf(&b, "    - plans %s\n", planNames(old, sc.RemovedPlans, " "))
		}
	}
	for _, p := range d.AddedPlans {
		fmt.Fprintf(&b, "+ plan %s %s%s\n", p.Name, p.ID, planRules(new, p))
	}
	for _, p := range d.RemovedPlans {
		fmt.Fprintf(&b, "- plan %s %s\n", p.Name, p.ID)
	}
	for _, pc := range d.ChangedPlans {
		fmt.Fprintf(&b, "~ plan %s %s", pc.New.Name, pc.New.ID)
		if pc.Old.Name != pc.New.Name {
			fmt.Fprintf(&b, " (was %s)", pc.Old.Name)
		}
		if pc.Old.FriendlyName != pc.New.FriendlyName {
			fmt.Fprintf(&b, " %q (was %q)", pc.New.FriendlyName, pc.Old.FriendlyName)
		}
		if pc.Old.Service != pc.New.Service {
			fmt.Fprintf(&b, " service %q (was %q)", pc.New.Service, pc.Old.Service)
		}
		b.WriteString("\n")
		for _, r := range pc.Rules {
			fmt.Fprintf(&b, "    %s\n", r)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// planRules words a new plan's rules, for the report.
func planRules(c *allot.Catalog, p *allot.ServicePlan) string {
	var rs []string
	if p.ProvisionsMailbox {
		rs = append(rs, "mailbox")
	}
	if len(p.AvailableIn) > 0 {
		rs = append(rs, "available in "+strings.Join(p.AvailableIn, " "))
	}
	if len(p.ConflictsWith) > 0 {
		rs = append(rs, "conflicts with "+planNames(c, p.ConflictsWith, ", "))
	}
	for _, g := range p.DependsOn {
		rs = append(rs, "depends on "+planNames(c, g, " or "))
	}
	if len(rs) == 0 {
		return ""
	}
	return ": " + strings.Join(rs, "; ")
}

func planNames(c *allot.Catalog, ids []string, sep string) string {
	ns := make([]string, len(ids))
	for i, id := range ids {
		ns[i] = id
		if p := c.Plans[id]; p != nil {
			ns[i] = p.Name
		}
	}
	return strings.Join(ns, sep)
}

func sortedNames(c *allot.Catalog, ids []string) string {
	ns := strings.Split(planNames(c, ids, "\x00"), "\x00")
	slices.Sort(ns)
	return strings.Join(ns, ", ")
}

func sameSet(a, b []string) bool {
	added, removed := setDiff(a, b)
	return len(added)+len(removed) == 0
}

// setDiff returns what b has that a lacks, and what a has that b lacks.
func setDiff(a, b []string) (added, removed []string) {
	for _, x := range b {
		if !slices.Contains(a, x) && !slices.Contains(added, x) {
			added = append(added, x)
		}
	}
	for _, x := range a {
		if !slices.Contains(b, x) && !slices.Contains(removed, x) {
			removed = append(removed, x)
		}
	}
	return added, removed
}

func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
