// Package rules is the licensing rules of docs/RULES.md §2.2 as one pure function:
// state in, decisions out. It does no I/O and reads no clock; the caller
// passes the time to stamp on changed states.
package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

// Unit is what is granted or refused as a whole for one user: one directly
// assigned SKU, or every SKU of one group the user is a direct member of.
type Unit struct {
	Source  string    // "" for a direct unit, else the group id
	Created time.Time // the assignment's creation, or the group's oldest assignment
	SKUs    []allot.AssignedLicense
}

// Input is everything the evaluation of one user depends on.
type Input struct {
	Location       string          // usageLocation, or the tenant default when empty
	ProxyAddresses []string        // as listed on the user; compared normalised
	Taken          map[string]bool // normalised addresses owned by another user or a group
	Units          []Unit
	Before         []allot.LicenseState
	Free           map[string]int // seats a new holder may take, per SKU
	Catalog        *allot.Catalog
	Now            time.Time
}

// Output is the user's new states and what they change around the user.
type Output struct {
	States    []allot.LicenseState // one per (unit, SKU), units in base order, SKUs by id
	SeatDelta map[string]int       // +1 per SKU held now and not before, -1 the reverse
	Held      []string             // SKUs held now, by id
	Mailbox   bool                 // an enabled provisionsMailbox plan: the user owns its addresses
	Changed   bool                 // some state differs from Before in more than its timestamps
}

// Failure is why a unit is refused: the check's error code, the SKU it fails
// on, and a message in the reference's words.
type Failure struct {
	Code    allot.LicenseError
	SkuID   string
	Message string
}

type evaluator struct {
	in         Input
	units      []Unit
	heldBefore map[string]bool
	before     map[stateKey]allot.LicenseState
	free       map[string]int
	accepted   []bool
	// Enabled plans of the accepted set: plan -> how many SKUs of the
	// accepted units enable it. Only ever counted up from nothing (recount
	// starts over), so a plan is enabled when its count is above zero; a
	// count, unlike a set per plan, costs no allocation per plan and user.
	enabled map[string]int
	gives   map[string]int // SKU -> accepted units giving it
	// waitingSince is, per SKU, when the user started waiting for it: the
	// earliest WaitingSince of its CountViolation states before, whatever
	// their units. The place in line belongs to the user and the SKU.
	waitingSince map[string]time.Time
}

type stateKey struct{ sku, source string }

// SortUnits puts units in the base order of docs/RULES.md §2.2: direct before group,
// then creation time, then group id, then first skuId. SKUs inside a unit
// are sorted by id.
func SortUnits(units []Unit) {
	for i := range units {
		units[i].SKUs = slices.Clone(units[i].SKUs)
		slices.SortFunc(units[i].SKUs, func(a, b allot.AssignedLicense) int { return strings.Compare(a.SkuID, b.SkuID) })
	}
	slices.SortStableFunc(units, func(a, b Unit) int {
		if (a.Source == "") != (b.Source == "") {
			if a.Source == "" {
				return -1
			}
			return 1
		}
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.Source, b.Source), strings.Compare(firstSku(a), firstSku(b)))
	})
}

func firstSku(u Unit) string {
	if len(u.SKUs) == 0 {
		return ""
	}
	return u.SKUs[0].SkuID
}

// Evaluate applies docs/RULES.md §2.2 to one user.
func Evaluate(in Input) Output {
	e := &evaluator{
		in:           in,
		units:        slices.Clone(in.Units),
		heldBefore:   make(map[string]bool),
		before:       make(map[stateKey]allot.LicenseState, len(in.Before)),
		free:         make(map[string]int, len(in.Free)),
		enabled:      make(map[string]int),
		gives:        make(map[string]int),
		waitingSince: make(map[string]time.Time),
	}
	SortUnits(e.units)
	e.accepted = make([]bool, len(e.units))
	for _, s := range in.Before {
		e.before[stateKey{s.SkuID, s.Source}] = s
		if s.State == allot.StateActive {
			e.heldBefore[s.SkuID] = true
		}
		if s.Error == allot.CountViolation && !s.WaitingSince.IsZero() {
			if w, ok := e.waitingSince[s.SkuID]; !ok || s.WaitingSince.Before(w) {
				e.waitingSince[s.SkuID] = s.WaitingSince
			}
		}
	}
	for k, v := range in.Free {
		e.free[k] = v
	}

	// 1. Incumbents keep what they have.
	incumbent := make([]bool, len(e.units))
	for i, u := range e.units {
		if !e.whollyActive(u) {
			continue
		}
		incumbent[i] = true
		if e.firstFailure(u, 3) == nil {
			e.accept(i)
		}
	}
	for dropped := true; dropped; {
		dropped = false
		for i, u := range e.units {
			if e.accepted[i] && incumbent[i] && e.dependencyFailure(u) != nil {
				e.drop(i)
				dropped = true
			}
		}
	}

	// 2. Then the others, one at a time, sweeping until a sweep adds nothing.
	for added := true; added; {
		added = false
		for i, u := range e.units {
			if !e.accepted[i] && e.firstFailure(u, 5) == nil {
				e.accept(i)
				added = true
			}
		}
	}

	// 3. Result, against the final accepted set.
	return e.result()
}

func (e *evaluator) whollyActive(u Unit) bool {
	if len(u.SKUs) == 0 {
		return false
	}
	for _, l := range u.SKUs {
		if s, ok := e.before[stateKey{l.SkuID, u.Source}]; !ok || s.State != allot.StateActive {
			return false
		}
	}
	return true
}

func (e *evaluator) accept(i int) {
	u := e.units[i]
	for _, l := range u.SKUs {
		if !e.heldBefore[l.SkuID] && e.gives[l.SkuID] == 0 {
			e.free[l.SkuID]--
		}
	}
	e.accepted[i] = true
	e.add(u)
}

// add counts an accepted unit's SKUs and enabled plans.
func (e *evaluator) add(u Unit) {
	for _, l := range u.SKUs {
		e.gives[l.SkuID]++
		for _, p := range e.in.Catalog.EnabledPlans(l.SkuID, l.DisabledPlans) {
			e.enabled[p]++
		}
	}
}

// drop is used only for incumbents, which held their SKUs before and so
// took no seat in this evaluation: there is no seat to give back.
func (e *evaluator) drop(i int) {
	e.accepted[i] = false
	e.recount()
}

func (e *evaluator) recount() {
	clear(e.enabled)
	clear(e.gives)
	for i, u := range e.units {
		if e.accepted[i] {
			e.add(u)
		}
	}
}

// firstFailure runs checks 1..upto of docs/RULES.md §2.2 against the accepted set.
func (e *evaluator) firstFailure(u Unit, upto int) *Failure {
	for check := 1; check <= upto; check++ {
		var f *Failure
		switch check {
		case 1:
			f = e.locationFailure(u)
		case 2:
			f = e.uniquenessFailure(u)
		case 3:
			f = e.conflictFailure(u)
		case 4:
			f = e.dependencyFailure(u)
		case 5:
			f = e.countFailure(u)
		}
		if f != nil {
			return f
		}
	}
	return nil
}

func (e *evaluator) locationFailure(u Unit) *Failure {
	msg := "License assignment cannot be done for user with invalid usage location."
	for _, l := range u.SKUs {
		if e.in.Location == "" {
			return &Failure{allot.ProhibitedInUsageLocationViolation, l.SkuID, msg + " The user has no usage location and the tenant has no default."}
		}
		for _, p := range e.in.Catalog.EnabledPlans(l.SkuID, l.DisabledPlans) {
			if sp := e.in.Catalog.Plans[p]; sp != nil && len(sp.AvailableIn) > 0 && !slices.Contains(sp.AvailableIn, e.in.Location) {
				return &Failure{allot.ProhibitedInUsageLocationViolation, l.SkuID, fmt.Sprintf("%s Service plan %s (%s) is not available in %s.", msg, sp.Name, p, e.in.Location)}
			}
		}
	}
	return nil
}

func (e *evaluator) uniquenessFailure(u Unit) *Failure {
	for _, l := range u.SKUs {
		if !e.enablesMailbox(l) {
			continue
		}
		for _, a := range e.in.ProxyAddresses {
			if n := allot.NormalizeAddress(a); e.in.Taken[n] {
				return &Failure{allot.UniquenessViolation, l.SkuID, fmt.Sprintf("License assignment failed because proxy address %s is already being used by another object.", n)}
			}
		}
	}
	return nil
}

func (e *evaluator) enablesMailbox(l allot.AssignedLicense) bool {
	for _, p := range e.in.Catalog.EnabledPlans(l.SkuID, l.DisabledPlans) {
		if sp := e.in.Catalog.Plans[p]; sp != nil && sp.ProvisionsMailbox {
			return true
		}
	}
	return false
}

func (e *evaluator) conflictFailure(u Unit) *Failure {
	for _, l := range u.SKUs {
		for _, p := range e.in.Catalog.EnabledPlans(l.SkuID, l.DisabledPlans) {
			// Walk the accepted set in base order so the message is the same
			// on every evaluation.
			for i, v := range e.units {
				if !e.accepted[i] {
					continue
				}
				for _, m := range v.SKUs {
					if m.SkuID == l.SkuID {
						continue
					}
					for _, q := range e.in.Catalog.EnabledPlans(m.SkuID, m.DisabledPlans) {
						if e.in.Catalog.Conflicts(p, q) {
							return &Failure{allot.MutuallyExclusiveViolation, l.SkuID, fmt.Sprintf("License assignment failed because service plans %s,%s are mutually exclusive.", p, q)}
						}
					}
				}
			}
		}
	}
	return nil
}

// dependencyFailure: a plan the unit enables has a dependsOn group none of
// whose plans is enabled by the accepted set or by the unit itself.
func (e *evaluator) dependencyFailure(u Unit) *Failure {
	own := func(q string) bool {
		for _, l := range u.SKUs {
			if slices.Contains(e.in.Catalog.EnabledPlans(l.SkuID, l.DisabledPlans), q) {
				return true
			}
		}
		return false
	}
	for _, l := range u.SKUs {
		for _, p := range e.in.Catalog.EnabledPlans(l.SkuID, l.DisabledPlans) {
			sp := e.in.Catalog.Plans[p]
			if sp == nil {
				continue
			}
			for _, group := range sp.DependsOn {
				if !slices.ContainsFunc(group, func(q string) bool { return e.enabled[q] > 0 || own(q) }) {
					return &Failure{allot.DependencyViolation, l.SkuID, fmt.Sprintf("License assignment failed because service plan %s depends on the service plan(s) %s.", p, strings.Join(group, ","))}
				}
			}
		}
	}
	return nil
}

func (e *evaluator) lacking(u Unit) []string {
	var out []string
	for _, l := range u.SKUs {
		if !e.heldBefore[l.SkuID] && e.gives[l.SkuID] == 0 && e.free[l.SkuID] <= 0 {
			out = append(out, l.SkuID)
		}
	}
	return out
}

func (e *evaluator) countFailure(u Unit) *Failure {
	lack := e.lacking(u)
	if len(lack) == 0 {
		return nil
	}
	sku := lack[0]
	for _, l := range lack {
		if s, ok := e.before[stateKey{l, u.Source}]; ok && s.Error == allot.CountViolation {
			sku = l // the SKU it was already waiting for keeps its place
			break
		}
	}
	return &Failure{allot.CountViolation, sku, fmt.Sprintf("Subscription with SKU %s does not have any available licenses.", sku)}
}

func (e *evaluator) result() Output {
	out := Output{SeatDelta: make(map[string]int)}
	held := make(map[string]bool)
	for i, u := range e.units {
		var f *Failure
		if !e.accepted[i] {
			f = e.firstFailure(u, 5)
			if f == nil {
				// Unreachable by construction: the last sweep tried this unit
				// against the same set. Refuse rather than grant without a check.
				f = &Failure{allot.OtherViolation, firstSku(u), "License assignment failed for an unknown reason."}
			}
		}
		for _, l := range u.SKUs {
			s := allot.LicenseState{SkuID: l.SkuID, Source: u.Source, DisabledPlans: sortedCopy(l.DisabledPlans)}
			switch {
			case f == nil:
				s.State, s.Error = allot.StateActive, allot.NoLicenseError
				held[l.SkuID] = true
				if u.Source == "" {
					s.Detail = "Assigned directly."
				} else {
					s.Detail = "Assigned through group " + u.Source + "."
				}
				if e.enablesMailbox(l) {
					out.Mailbox = true
				}
			case l.SkuID == f.SkuID:
				s.State, s.Error, s.Detail = allot.StateError, f.Code, f.Message
			default:
				s.State, s.Error = allot.StateError, allot.OtherViolation
				s.Detail = fmt.Sprintf("Not assigned because SKU %s of the same group failed with %s: %s", f.SkuID, f.Code, f.Message)
			}
			e.stamp(&s)
			if !sameState(e.before[stateKey{s.SkuID, s.Source}], s) {
				out.Changed = true
			}
			out.States = append(out.States, s)
		}
	}
	if len(e.before) != len(out.States) {
		out.Changed = true
	}
	for sku := range held {
		out.Held = append(out.Held, sku)
		if !e.heldBefore[sku] {
			out.SeatDelta[sku]++
		}
	}
	slices.Sort(out.Held)
	for sku := range e.heldBefore {
		if !held[sku] {
			out.SeatDelta[sku]--
		}
	}
	return out
}

// stamp keeps the timestamps of an unchanged state, so that evaluating a
// user again with nothing changed gives the very same states.
func (e *evaluator) stamp(s *allot.LicenseState) {
	b, ok := e.before[stateKey{s.SkuID, s.Source}]
	s.LastUpdated = e.in.Now
	if ok && sameState(b, *s) {
		s.LastUpdated = b.LastUpdated
	}
	if s.Error == allot.CountViolation {
		// Still waiting for the SKU through any unit is no break: every
		// CountViolation state of the SKU keeps the user's place
		// (docs/RULES.md, the waiting room).
		s.WaitingSince = e.in.Now
		if w, ok := e.waitingSince[s.SkuID]; ok {
			s.WaitingSince = w
		}
	}
}

func sameState(a, b allot.LicenseState) bool {
	return a.SkuID == b.SkuID && a.Source == b.Source && a.State == b.State && a.Error == b.Error &&
		a.Detail == b.Detail && slices.Equal(sortedCopy(a.DisabledPlans), sortedCopy(b.DisabledPlans))
}

func sortedCopy(xs []string) []string {
	out := slices.Clone(xs)
	if out == nil {
		out = []string{}
	}
	slices.Sort(out)
	return out
}
