package store_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/store"
)

// TestPreviewAgreesWithApplying builds random tenants, then many times
// previews random changes (sometimes with work already queued, or a group
// walk half done), applies them through the Service, drains the queue and
// checks that the preview told exactly what happened: the same users
// changed, to the same states, and the same seats moved. A refused
// preview must name the change that applying then refuses. Runs on
// PostgreSQL too with ALLOT_TEST_POSTGRES.
func TestPreviewAgreesWithApplying(t *testing.T) {
	for seed := range 4 {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			h := newPreviewHistory(t, uint64(seed))
			counts := map[string]int{}
			for i := range 60 {
				if h.r.IntN(3) == 0 {
					h.step() // may queue work and process part of it
				}
				counts[h.previewStep(fmt.Sprint("step ", i))]++
			}
			t.Logf("previews: %v", counts)
			// The histories must exercise both outcomes, and changes.
			if counts["refused"] == 0 || counts["changed"] == 0 || counts["with queued work"] == 0 {
				t.Fatalf("degenerate history: %v", counts)
			}
		})
	}
}

func newPreviewHistory(t *testing.T, seed uint64) *history {
	h := &history{env: newEnv(t, []string{"", "US", "DE"}[seed%3]), r: rand.New(rand.NewPCG(seed, 11))}
	h.skus = []string{skuE1, skuE3, skuKiosk, skuAudio, skuPhone, skuExoP1}
	for _, sku := range h.skus {
		h.sub(sku, h.r.IntN(6))
	}
	for range 10 {
		h.newUser()
	}
	for range 4 {
		h.newGroup()
	}
	for range 40 {
		h.step()
	}
	h.drain(3)
	return h
}

// randomChange is a change of every kind the preview takes, on objects
// that mostly exist (and sometimes not, or not in that state).
func (h *history) randomChange() allot.PreviewChange {
	sku := h.pick(h.skus)
	switch k := h.r.IntN(100); {
	case k < 20:
		return allot.PreviewChange{Op: allot.PreviewAssignLicense, GroupID: h.pick(h.groups), AddLicenses: []allot.AssignedLicense{{SkuID: sku, DisabledPlans: h.disabled(sku)}}, RemoveLicenses: []string{}}
	case k < 28:
		return allot.PreviewChange{Op: allot.PreviewAssignLicense, GroupID: h.pick(h.groups), AddLicenses: []allot.AssignedLicense{}, RemoveLicenses: []string{sku}}
	case k < 40:
		return allot.PreviewChange{Op: allot.PreviewAssignLicense, UserID: h.pick(h.users), AddLicenses: []allot.AssignedLicense{{SkuID: sku, DisabledPlans: h.disabled(sku)}}, RemoveLicenses: []string{}}
	case k < 45:
		return allot.PreviewChange{Op: allot.PreviewAssignLicense, UserID: h.pick(h.users), AddLicenses: []allot.AssignedLicense{}, RemoveLicenses: []string{sku}}
	case k < 62:
		return allot.PreviewChange{Op: allot.PreviewAddMember, GroupID: h.pick(h.groups), MemberID: h.pick(h.users)}
	case k < 72:
		return allot.PreviewChange{Op: allot.PreviewRemoveMember, GroupID: h.pick(h.groups), MemberID: h.pick(h.users)}
	case k < 85:
		return allot.PreviewChange{Op: allot.PreviewSetSeats, SkuID: sku, Seats: h.r.IntN(8)}
	default:
		return allot.PreviewChange{Op: allot.PreviewUpdateUser, UserID: h.pick(h.users), UsageLocation: h.pick(locations)}
	}
}

// applyChange makes the change as the matching API request does.
func (h *history) applyChange(c allot.PreviewChange) error {
	var err error
	switch c.Op {
	case allot.PreviewAssignLicense:
		if c.UserID != "" {
			_, err = h.db.AssignUserLicense(h.ctx, c.UserID, c.AddLicenses, c.RemoveLicenses)
		} else {
			_, err = h.db.AssignGroupLicense(h.ctx, c.GroupID, c.AddLicenses, c.RemoveLicenses)
		}
	case allot.PreviewAddMember:
		err = h.db.AddMember(h.ctx, c.GroupID, c.MemberID)
	case allot.PreviewRemoveMember:
		err = h.db.RemoveMember(h.ctx, c.GroupID, c.MemberID)
	case allot.PreviewSetSeats:
		_, err = h.db.SetSeats(h.ctx, c.SkuID, c.Seats)
	case allot.PreviewUpdateUser:
		loc := c.UsageLocation
		_, err = h.db.UpdateUser(h.ctx, c.UserID, allot.UserUpdate{UsageLocation: &loc})
	}
	return err
}

type tenantSnapshot struct {
	states    map[string][]allot.LicenseState // user -> states, compared by what PreviewDiff compares
	seats     map[string][2]int               // SKU -> enabled, consumed
	queue     int
	lastAudit int64
}

func (h *history) snapshot() tenantSnapshot {
	h.t.Helper()
	s := tenantSnapshot{states: map[string][]allot.LicenseState{}, seats: map[string][2]int{}}
	for _, uid := range h.users {
		u, err := h.db.User(h.ctx, uid)
		h.must(err)
		for _, st := range u.States {
			s.states[uid] = append(s.states[uid], allot.LicenseState{SkuID: st.SkuID, Source: st.Source, State: st.State, Error: st.Error, DisabledPlans: st.DisabledPlans, Detail: st.Detail})
		}
	}
	subs, err := h.db.Subscriptions(h.ctx)
	h.must(err)
	for _, sub := range subs {
		s.seats[sub.SkuID] = [2]int{sub.Enabled, sub.ConsumedUnits}
	}
	st, err := h.db.Status(h.ctx)
	h.must(err)
	s.queue = st.QueueDepth
	a, err := h.db.Audit(h.ctx, allot.AuditFilter{Top: 1})
	h.must(err)
	if len(a.Items) > 0 {
		s.lastAudit = a.Items[0].ID
	}
	return s
}

// previewStep previews one to three random changes, checks the preview
// changed nothing, applies the changes, drains, and compares. It returns
// what kind of preview it was.
func (h *history) previewStep(label string) string {
	h.t.Helper()
	var changes []allot.PreviewChange
	for range 1 + h.r.IntN(3) {
		changes = append(changes, h.randomChange())
	}
	desc := fmt.Sprintf("%s: %+v", label, changes)
	before := h.snapshot()
	p, perr := h.db.Preview(h.ctx, changes)
	if got := h.snapshot(); !reflect.DeepEqual(got, before) {
		h.t.Fatalf("%s: the preview changed the tenant", desc)
	}
	failedAt := -1
	var applyErr error
	for i, c := range changes {
		if applyErr = h.applyChange(c); applyErr != nil {
			failedAt = i
			break
		}
	}
	h.drain(1 + h.r.IntN(5))
	if perr != nil {
		if failedAt < 0 {
			h.t.Fatalf("%s: the preview refused (%v) what applying accepted", desc, perr)
		}
		want := fmt.Sprintf("Change %d (%s): %s", failedAt+1, changes[failedAt].Op, allot.ErrorMessage(applyErr))
		if allot.ErrorMessage(perr) != want || allot.ErrorCode(perr) != allot.ErrorCode(applyErr) {
			h.t.Fatalf("%s: preview refused with %v; applying refused with %v", desc, perr, applyErr)
		}
		return "refused"
	}
	if failedAt >= 0 {
		h.t.Fatalf("%s: the preview accepted change %d, which applying refused: %v", desc, failedAt+1, applyErr)
	}
	after := h.snapshot()
	wantUsers := map[string]*allot.PreviewUser{}
	for _, uid := range h.users {
		if d := store.PreviewDiff(before.states[uid], after.states[uid]); d != nil {
			wantUsers[uid] = d
		}
	}
	if p.Truncated || p.Totals.Users != len(p.Users) || len(p.Users) != len(wantUsers) {
		h.t.Fatalf("%s: preview lists %d users (total %d), applying changed %d", desc, len(p.Users), p.Totals.Users, len(wantUsers))
	}
	for _, got := range p.Users {
		want := wantUsers[got.ID]
		if want == nil {
			h.t.Fatalf("%s: preview says user %s changes; it did not", desc, got.ID)
		}
		if !sameStates(got.After, want.After) || !sameStates(got.Before, want.Before) {
			h.t.Fatalf("%s: user %s: preview %v -> %v, applying %v -> %v", desc, got.ID, got.Before, got.After, want.Before, want.After)
		}
		if !slices.Equal(got.Gained, want.Gained) || !slices.Equal(got.Lost, want.Lost) ||
			!slices.Equal(got.IntoError, want.IntoError) || !slices.Equal(got.OutOfError, want.OutOfError) {
			h.t.Fatalf("%s: user %s: preview %+v, applying %+v", desc, got.ID, got, want)
		}
	}
	wantSeats := map[string]allot.PreviewSeats{}
	for sku, b := range before.seats {
		if a := after.seats[sku]; a != b {
			wantSeats[sku] = allot.PreviewSeats{SkuID: sku, EnabledBefore: b[0], EnabledAfter: a[0], ConsumedBefore: b[1], ConsumedAfter: a[1]}
		}
	}
	if len(p.Seats) != len(wantSeats) {
		h.t.Fatalf("%s: preview seats %+v, applying %+v", desc, p.Seats, wantSeats)
	}
	for _, got := range p.Seats {
		if wantSeats[got.SkuID] != got {
			h.t.Fatalf("%s: preview seats %+v, applying %+v", desc, p.Seats, wantSeats)
		}
	}
	if p.QueuedBefore != before.queue {
		h.t.Fatalf("%s: preview counted %d queued items, there were %d", desc, p.QueuedBefore, before.queue)
	}
	switch {
	case p.QueuedBefore > 0:
		return "with queued work"
	case len(p.Users) > 0:
		return "changed"
	}
	return "no change"
}

func sameStates(a, b []allot.LicenseState) bool {
	return slices.EqualFunc(a, b, func(x, y allot.LicenseState) bool {
		return x.SkuID == y.SkuID && x.Source == y.Source && x.State == y.State && x.Error == y.Error &&
			slices.Equal(x.DisabledPlans, y.DisabledPlans) && x.Detail == y.Detail
	})
}

// TestPreviewGroupAssignment is the admin's question: assigning E1 to a
// group of three with two seats free takes two seats, and one member goes
// into CountViolation; nothing changes until the assignment is made.
func TestPreviewGroupAssignment(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 2)
	g := e.group("sales")
	var ids []string
	for i := range 3 {
		u := e.user(fmt.Sprintf("u%d@x", i), "")
		ids = append(ids, u.ID)
		e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	}
	e.drain(10)
	p, err := e.db.Preview(e.ctx, []allot.PreviewChange{{Op: allot.PreviewAssignLicense, GroupID: g.ID, AddLicenses: lic(skuE1)}})
	e.must(err)
	if len(p.Seats) != 1 || p.Seats[0].SkuID != skuE1 || p.Seats[0].Delta() != 2 || p.Seats[0].ConsumedAfter != 2 {
		t.Fatalf("seats %+v", p.Seats)
	}
	if p.Totals != (allot.PreviewTotals{Users: 3, Gained: 2, IntoError: 1}) || p.UsersEvaluated != 3 || p.QueuedBefore != 0 {
		t.Fatalf("totals %+v, evaluated %d, queued %d", p.Totals, p.UsersEvaluated, p.QueuedBefore)
	}
	last := p.Users[2] // users are listed by userPrincipalName; u2 joined last
	if last.UserPrincipalName != "u2@x" || len(last.IntoError) != 1 || last.IntoError[0] != (allot.PreviewError{SkuID: skuE1, Source: g.ID, Error: allot.CountViolation}) {
		t.Fatalf("last user %+v", last)
	}
	for _, id := range ids {
		if len(e.states(id)) != 0 {
			t.Fatalf("the preview licensed %s", id)
		}
	}
	sub, err := e.db.Subscription(e.ctx, skuE1)
	e.must(err)
	if sub.ConsumedUnits != 0 {
		t.Fatalf("consumed %d after a preview", sub.ConsumedUnits)
	}
	// Then the real thing does what was previewed.
	_, err = e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuE1), []string{})
	e.must(err)
	e.drain(10)
	if st := e.states(ids[2])[skuE1+" "+g.ID]; st.Error != allot.CountViolation {
		t.Fatalf("u2 %+v", st)
	}
}

// TestPreviewRefusesBadChanges: a change the request would refuse, or one
// that names nothing, is a 400 naming the change, and the changes before it
// are not applied.
func TestPreviewRefusesBadChanges(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	g := e.group("g")
	u := e.user("a@x", "")
	for _, tc := range []struct {
		changes []allot.PreviewChange
		want    string
	}{
		{nil, "between 1 and"},
		{[]allot.PreviewChange{{Op: "delete"}}, "Change 1 (delete): Unknown operation"},
		{[]allot.PreviewChange{{Op: allot.PreviewAddMember, GroupID: g.ID}}, "Change 1 (addMember): memberId is required"},
		{[]allot.PreviewChange{{Op: allot.PreviewAssignLicense, UserID: u.ID, GroupID: g.ID, AddLicenses: lic(skuE1)}}, "Change 1 (assignLicense): Name either userId or groupId"},
		{[]allot.PreviewChange{{Op: allot.PreviewAddMember, GroupID: g.ID, MemberID: u.ID}, {Op: allot.PreviewAddMember, GroupID: g.ID, MemberID: u.ID}}, "Change 2 (addMember): One or more added object references already exist"},

		{[]allot.PreviewChange{{Op: allot.PreviewSetSeats, SkuID: skuE1, Seats: -1}}, "Change 1 (setSeats): seats must be between"},
		{[]allot.PreviewChange{{Op: allot.PreviewUpdateUser, UserID: u.ID, UsageLocation: "XX"}}, "Change 1 (updateUser): Invalid usage location"},
		{[]allot.PreviewChange{{Op: allot.PreviewAssignLicense, GroupID: g.ID, AddLicenses: lic(skuUnsold)}}, "Change 1 (assignLicense): "},
	} {
		_, err := e.db.Preview(e.ctx, tc.changes)
		if allot.ErrorCode(err) != allot.EINVALID || !strings.Contains(allot.ErrorMessage(err), tc.want) {
			t.Errorf("%+v: %v, want a 400 with %q", tc.changes, err, tc.want)
		}
	}
	// A missing object answers as the request would: 404, naming the change.
	_, err := e.db.Preview(e.ctx, []allot.PreviewChange{{Op: allot.PreviewSetSeats, SkuID: skuE1, Seats: 1}, {Op: allot.PreviewAddMember, GroupID: g.ID, MemberID: "00000000-0000-0000-0000-0000000000ff"}})
	if allot.ErrorCode(err) != allot.ENOTFOUND || !strings.HasPrefix(allot.ErrorMessage(err), "Change 2 (addMember): ") {
		t.Errorf("missing member: %v", err)
	}
	m, err := e.db.Members(e.ctx, g.ID, false, allot.ListOptions{})
	e.must(err)
	if len(m.Items) != 0 {
		t.Fatalf("a refused preview added %d members", len(m.Items))
	}
}

// TestPreviewIncludesQueuedWork: work queued before the preview is part of
// what it reports, and stays queued.
func TestPreviewIncludesQueuedWork(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 1)
	g := e.group("g")
	a, b := e.user("a@x", ""), e.user("b@x", "")
	e.must(e.db.AddMember(e.ctx, g.ID, a.ID))
	_, err := e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuE1), []string{})
	e.must(err)
	p, err := e.db.Preview(e.ctx, []allot.PreviewChange{{Op: allot.PreviewAddMember, GroupID: g.ID, MemberID: b.ID}})
	e.must(err)
	if p.QueuedBefore != 1 || p.Totals != (allot.PreviewTotals{Users: 2, Gained: 1, IntoError: 1}) {
		t.Fatalf("queued %d, totals %+v", p.QueuedBefore, p.Totals)
	}
	st, err := e.db.Status(e.ctx)
	e.must(err)
	if st.QueueDepth != 1 {
		t.Fatalf("queue %d after a preview, want the 1 item queued before", st.QueueDepth)
	}
}

// TestPreviewIsBounded: a preview that would evaluate more users than the
// limit is refused, and changes nothing.
func TestPreviewIsBounded(t *testing.T) {
	defer store.SetPreviewMaxUsers(3)()
	e := newEnv(t, "US")
	e.sub(skuE1, 10)
	g := e.group("g")
	for i := range 4 {
		e.must(e.db.AddMember(e.ctx, g.ID, e.user(fmt.Sprintf("u%d@x", i), "").ID))
	}
	_, err := e.db.Preview(e.ctx, []allot.PreviewChange{{Op: allot.PreviewAssignLicense, GroupID: g.ID, AddLicenses: lic(skuE1)}})
	if allot.ErrorCode(err) != allot.EINVALID || !strings.Contains(allot.ErrorMessage(err), "more than 3 users") {
		t.Fatalf("%v", err)
	}
	p, err := e.db.Preview(e.ctx, []allot.PreviewChange{{Op: allot.PreviewSetSeats, SkuID: skuE1, Seats: 3}})
	e.must(err)
	if len(p.Seats) != 1 || p.Seats[0].EnabledAfter != 3 || p.Seats[0].Delta() != 0 || len(p.Users) != 0 {
		t.Fatalf("%+v", p)
	}
}
