package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/alerts"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

const day = 24 * time.Hour

// lcEnv is an env with a clock the test moves.
type lcEnv struct {
	*env
	clk *testClock
}

// lifecycleEnv is newEnv with a clock the test moves.
func lifecycleEnv(t testing.TB, defaultLocation string) (*lcEnv, *testClock) {
	t.Helper()
	return lifecycleEnvOn(t, testdb.DSN(t, true), defaultLocation)
}

func lifecycleEnvOn(t testing.TB, dsn, defaultLocation string) (*lcEnv, *testClock) {
	t.Helper()
	c := newTestClock()
	return &lcEnv{env: openEnv(t, dsn, c, defaultLocation, ""), clk: c}, c
}

func (e *lcEnv) buy(sku string, quantity int, trial bool, term time.Duration) *allot.CompanySubscription {
	e.t.Helper()
	var end *time.Time
	if term > 0 {
		t := e.now().Add(term)
		end = &t
	}
	c, err := e.db.CreateCompanySubscription(e.ctx, allot.CompanySubscriptionCreate{SkuID: sku, Quantity: quantity, IsTrial: trial, TermEnd: end})
	e.must(err)
	return c
}

// now is the clock's time, without moving it.
func (e *lcEnv) now() time.Time {
	e.clk.mu.Lock()
	defer e.clk.mu.Unlock()
	return e.clk.t
}

func (e *lcEnv) csub(id string) *allot.CompanySubscription {
	e.t.Helper()
	c, err := e.db.CompanySubscription(e.ctx, id)
	e.must(err)
	return c
}

func (e *lcEnv) pool(sku string) *allot.Subscription {
	e.t.Helper()
	s, err := e.db.Subscription(e.ctx, sku)
	e.must(err)
	return s
}

// wantPool checks a SKU's pool: enabled, warning, suspended, lockedOut,
// consumed and capabilityStatus.
func (e *lcEnv) wantPool(sku string, en, wa, su, lo, consumed int, capability string) {
	e.t.Helper()
	p := e.pool(sku)
	if p.Enabled != en || p.Warning != wa || p.Suspended != su || p.LockedOut != lo || p.ConsumedUnits != consumed || p.CapabilityStatus != capability {
		e.t.Fatalf("pool of %s: enabled %d warning %d suspended %d lockedOut %d consumed %d %s; want %d %d %d %d %d %s",
			sku, p.Enabled, p.Warning, p.Suspended, p.LockedOut, p.ConsumedUnits, p.CapabilityStatus, en, wa, su, lo, consumed, capability)
	}
}

func (e *lcEnv) run() int {
	e.t.Helper()
	n, err := e.db.RunScheduled(context.Background())
	e.must(err)
	return n
}

// events returns the alert events raised since the last call, by type.
func (e *lcEnv) events() map[string]int {
	e.t.Helper()
	evs, err := e.db.ClaimEvents(context.Background(), 10000)
	e.must(err)
	out := map[string]int{}
	for _, ev := range evs {
		out[ev.Type]++
	}
	return out
}

// updates counts the "Update subscription" audit lines of a commercial
// subscription, and fails the test if a step the lifecycle took is not
// audited as the lifecycle's.
func (e *lcEnv) updates(id string) int {
	e.t.Helper()
	p, err := e.db.Audit(e.ctx, allot.AuditFilter{TargetID: id, Top: 999})
	e.must(err)
	n := 0
	for _, a := range p.Items {
		if a.Activity != "Update subscription" {
			continue
		}
		n++
		if strings.Contains(a.After, `"action":"lifecycle"`) != (a.Actor == "Allot subscription lifecycle") {
			e.t.Fatalf("audit line %d by %q: %s", a.ID, a.Actor, a.After)
		}
	}
	return n
}

func (e *lcEnv) wantStatus(id, status string) *allot.CompanySubscription {
	e.t.Helper()
	c := e.csub(id)
	if c.Status != status {
		e.t.Fatalf("subscription %s is %s, want %s", id, c.Status, status)
	}
	return c
}

// holders returns the users of ids that hold sku, and those waiting for it.
func (e *lcEnv) holders(sku string, ids ...string) (holding, waiting []string) {
	e.t.Helper()
	for _, id := range ids {
		for _, st := range e.states(id) {
			if st.SkuID != sku {
				continue
			}
			if st.State == allot.StateActive {
				holding = append(holding, id)
			} else if st.Error == "CountViolation" {
				waiting = append(waiting, id)
			}
		}
	}
	return holding, waiting
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if allot.ErrorCode(err) != code {
		t.Fatalf("%s: %v, want %s", what, err, code)
	}
}

// TestLifecycleWalk walks a subscription from Enabled to Deleted by moving
// the clock (docs/RULES.md §2.6): the pool follows at each step, the SKU's
// capabilityStatus and whether its plans are served follow the pool, no
// holder loses its license at any step, the user waiting stays waiting,
// and the group's errors do not change.
func TestLifecycleWalk(t *testing.T) {
	e, clk := lifecycleEnv(t, "US")
	c := e.buy(skuE1, 3, false, 10*day)
	if c.Status != allot.SubEnabled || c.TermEnd == nil || c.NextLifecycleAt == nil || !c.NextLifecycleAt.Equal(*c.TermEnd) {
		t.Fatalf("bought %+v", c)
	}
	g := e.group("g")
	var users []string
	for i := range 4 {
		u := e.user(fmt.Sprintf("u%d@x", i), "")
		users = append(users, u.ID)
		e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	}
	_, err := e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuE1), []string{})
	e.must(err)
	e.drain(2)
	e.check()
	e.wantPool(skuE1, 3, 0, 0, 0, 3, allot.CapabilityEnabled)
	hold, wait := e.holders(skuE1, users...)
	if len(hold) != 3 || len(wait) != 1 || wait[0] != users[3] {
		t.Fatalf("holding %v waiting %v", hold, wait)
	}
	e.events()
	grp, err := e.db.Group(e.ctx, g.ID)
	e.must(err)
	errorsBefore := grp.HasMembersWithLicenseErrors

	steps := []struct {
		jump             time.Duration
		status           string
		en, wa, su       int
		capability       string
		served           bool
		event            string
		overAllocatedNew bool
	}{
		{10*day + time.Hour, allot.SubWarning, 0, 3, 0, allot.CapabilityWarning, true, alerts.SubscriptionWarning, true},
		{30 * day, allot.SubSuspended, 0, 0, 3, allot.CapabilitySuspended, false, alerts.SubscriptionSuspended, false},
		{90 * day, allot.SubDeleted, 0, 0, 0, allot.CapabilityDeleted, false, alerts.SubscriptionDeleted, false},
	}
	for _, s := range steps {
		clk.jump(s.jump)
		if n := e.run(); n != 1 {
			t.Fatalf("%s: RunScheduled applied %d, want 1", s.status, n)
		}
		e.drain(2)
		e.check()
		e.wantStatus(c.ID, s.status)
		e.wantPool(skuE1, s.en, s.wa, s.su, 0, 3, s.capability)
		if p := e.pool(skuE1); p.PlansServed() != s.served || (p.ProvisioningStatus() == "Success") != s.served {
			t.Fatalf("%s: plans served %v, want %v", s.status, p.PlansServed(), s.served)
		}
		hold, wait := e.holders(skuE1, users...)
		if len(hold) != 3 || len(wait) != 1 {
			t.Fatalf("%s: holding %v waiting %v; a transition took or gave a license", s.status, hold, wait)
		}
		for _, u := range hold {
			for _, st := range e.states(u) {
				if st.State != allot.StateActive || st.Error != "None" {
					t.Fatalf("%s: holder %s is %s/%s", s.status, u, st.State, st.Error)
				}
			}
		}
		grp, err := e.db.Group(e.ctx, g.ID)
		e.must(err)
		if grp.HasMembersWithLicenseErrors != errorsBefore {
			t.Fatalf("%s: the group's errors changed", s.status)
		}
		ev := e.events()
		if ev[s.event] != 1 || (ev[alerts.SubscriptionOverAllocated] == 1) != s.overAllocatedNew {
			t.Fatalf("%s: events %v", s.status, ev)
		}
		if n := e.run(); n != 0 {
			t.Fatalf("%s: a second run applied %d", s.status, n)
		}
	}
	if n := e.updates(c.ID); n != 3 {
		t.Fatalf("%d audit lines for 3 steps", n)
	}
	// Deleted is the end: reactivating or cancelling it is refused.
	_, err = e.db.ReactivateSubscription(e.ctx, c.ID)
	wantCode(t, "reactivate Deleted", err, allot.ECONFLICT)
	_, err = e.db.CancelSubscription(e.ctx, c.ID)
	wantCode(t, "cancel Deleted", err, allot.ECONFLICT)
}

// TestLifecycleReactivationWakesTheWaitingRoomInOrder: units in Warning are
// not seats, so holders leaving free nothing; reactivating gives the
// enabled units to the waiting users in the order they started waiting,
// which here is not the order of their ids.
func TestLifecycleReactivationWakesTheWaitingRoomInOrder(t *testing.T) {
	e, clk := lifecycleEnv(t, "US")
	c := e.buy(skuE1, 2, false, 5*day)
	w1, w2, w3 := e.user("w1@x", ""), e.user("w2@x", ""), e.user("w3@x", "")
	h1, h2 := e.user("h1@x", ""), e.user("h2@x", "")
	g := e.group("g")
	for _, u := range []*allot.User{h1, h2, w3, w2, w1} {
		e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	}
	_, err := e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuE1), []string{})
	e.must(err)
	e.drain(1)
	if hold, wait := e.holders(skuE1, h1.ID, h2.ID, w1.ID, w2.ID, w3.ID); len(hold) != 2 || len(wait) != 3 {
		t.Fatalf("holding %v waiting %v", hold, wait)
	}
	clk.jump(6 * day)
	e.run()
	e.must(e.db.RemoveMember(e.ctx, g.ID, h1.ID))
	e.must(e.db.RemoveMember(e.ctx, g.ID, h2.ID))
	e.drain(1)
	e.check()
	e.wantPool(skuE1, 0, 2, 0, 0, 0, allot.CapabilityWarning)
	if hold, _ := e.holders(skuE1, w1.ID, w2.ID, w3.ID); len(hold) != 0 {
		t.Fatalf("%v took units in Warning", hold)
	}
	r, err := e.db.ReactivateSubscription(e.ctx, c.ID)
	e.must(err)
	if r.Status != allot.SubEnabled || r.TermEnd == nil || r.TermEnd.Sub(r.TermStart) < 364*day {
		t.Fatalf("reactivated %+v", r)
	}
	e.drain(1)
	e.check()
	e.wantPool(skuE1, 2, 0, 0, 0, 2, allot.CapabilityEnabled)
	hold, wait := e.holders(skuE1, w1.ID, w2.ID, w3.ID)
	if len(hold) != 2 || hold[0] != w2.ID || hold[1] != w3.ID || len(wait) != 1 || wait[0] != w1.ID {
		t.Fatalf("holding %v waiting %v; want w2 and w3 to hold (they waited first), w1 to wait", hold, wait)
	}
}

// TestLifecycleQuantityAndOverAllocation: fewer units take no license away
// (over-allocated, no new holder); more units reach the waiting user.
func TestLifecycleQuantityAndOverAllocation(t *testing.T) {
	e, clk := lifecycleEnv(t, "US")
	c := e.buy(skuE1, 3, false, 100*day)
	g := e.group("g")
	var users []string
	for i := range 4 {
		u := e.user(fmt.Sprintf("u%d@x", i), "")
		users = append(users, u.ID)
		e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	}
	_, err := e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuE1), []string{})
	e.must(err)
	e.drain(3)
	e.events()
	_, err = e.db.SetSubscriptionQuantity(e.ctx, c.ID, 1)
	e.must(err)
	e.drain(3)
	e.check()
	e.wantPool(skuE1, 1, 0, 0, 0, 3, allot.CapabilityEnabled)
	if hold, wait := e.holders(skuE1, users...); len(hold) != 3 || len(wait) != 1 {
		t.Fatalf("after lowering: holding %v waiting %v", hold, wait)
	}
	if ev := e.events(); ev[alerts.SubscriptionOverAllocated] != 1 {
		t.Fatalf("events %v", ev)
	}
	_, err = e.db.SetSubscriptionQuantity(e.ctx, c.ID, 4)
	e.must(err)
	e.drain(3)
	e.check()
	e.wantPool(skuE1, 4, 0, 0, 0, 4, allot.CapabilityEnabled)
	if n := e.updates(c.ID); n != 2 {
		t.Fatalf("%d audit lines for two quantity changes", n)
	}
	// Setting the same quantity again changes nothing and audits nothing.
	_, err = e.db.SetSubscriptionQuantity(e.ctx, c.ID, 4)
	e.must(err)
	if n := e.updates(c.ID); n != 2 {
		t.Fatalf("an unchanged quantity was audited")
	}
	// Only an Enabled subscription's quantity changes.
	clk.jump(101 * day)
	e.run()
	_, err = e.db.SetSubscriptionQuantity(e.ctx, c.ID, 9)
	wantCode(t, "quantity in Warning", err, allot.ECONFLICT)
	e.wantPool(skuE1, 0, 4, 0, 0, 4, allot.CapabilityWarning)
}

// TestLifecycleCancel: LockedOut at once, its services stop, it cannot be
// reactivated, and it is deleted after the suspended period.
func TestLifecycleCancel(t *testing.T) {
	e, clk := lifecycleEnv(t, "US")
	c := e.buy(skuE1, 2, false, 0)
	u := e.user("u@x", "")
	_, err := e.db.AssignUserLicense(e.ctx, u.ID, lic(skuE1), []string{})
	e.must(err)
	x, err := e.db.CancelSubscription(e.ctx, c.ID)
	e.must(err)
	if x.Status != allot.SubLockedOut || x.NextLifecycleAt == nil || x.NextLifecycleAt.Sub(x.StatusSince) != 90*day {
		t.Fatalf("cancelled %+v", x)
	}
	e.drain(5)
	e.check()
	e.wantPool(skuE1, 0, 0, 0, 2, 1, allot.CapabilityLockedOut)
	if e.pool(skuE1).PlansServed() {
		t.Fatal("a locked out SKU's plans are served")
	}
	if st := e.states(u.ID)[skuE1+" "]; st.State != allot.StateActive {
		t.Fatalf("the holder's state is %s after cancelling", st.State)
	}
	_, err = e.db.CancelSubscription(e.ctx, c.ID)
	wantCode(t, "cancel twice", err, allot.ECONFLICT)
	_, err = e.db.ReactivateSubscription(e.ctx, c.ID)
	wantCode(t, "reactivate LockedOut", err, allot.ECONFLICT)
	_, err = e.db.RenewSubscription(e.ctx, c.ID, nil)
	wantCode(t, "renew LockedOut", err, allot.ECONFLICT)
	clk.jump(89 * day)
	if n := e.run(); n != 0 {
		t.Fatalf("deleted %d before the suspended period ended", n)
	}
	clk.jump(2 * day)
	if n := e.run(); n != 1 {
		t.Fatalf("applied %d at the end of the suspended period", n)
	}
	e.wantStatus(c.ID, allot.SubDeleted)
	e.wantPool(skuE1, 0, 0, 0, 0, 1, allot.CapabilityDeleted)
	e.drain(5)
	e.check()
}

// TestLifecycleRenew: an Enabled subscription's term is extended; a
// Warning one is Enabled again and its units reach the waiting user.
func TestLifecycleRenew(t *testing.T) {
	e, clk := lifecycleEnv(t, "US")
	c := e.buy(skuE1, 1, false, 10*day)
	end := *c.TermEnd
	r, err := e.db.RenewSubscription(e.ctx, c.ID, nil)
	e.must(err)
	if !r.TermEnd.Equal(end.AddDate(1, 0, 0)) || r.Status != allot.SubEnabled {
		t.Fatalf("renewed %+v, want the end a year after %s", r, end)
	}
	earlier := r.TermEnd.Add(-day)
	_, err = e.db.RenewSubscription(e.ctx, c.ID, &earlier)
	wantCode(t, "renew to an earlier end", err, allot.EINVALID)
	later := r.TermEnd.Add(day)
	r, err = e.db.RenewSubscription(e.ctx, c.ID, &later)
	e.must(err)
	if !r.TermEnd.Equal(later) || !r.NextLifecycleAt.Equal(later) {
		t.Fatalf("renewed to %s: %+v", later, r)
	}

	a, b := e.user("a@x", ""), e.user("b@x", "")
	g := e.group("g")
	e.must(e.db.AddMember(e.ctx, g.ID, a.ID))
	e.must(e.db.AddMember(e.ctx, g.ID, b.ID))
	_, err = e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuE1), []string{})
	e.must(err)
	e.drain(5)
	clk.jump(later.Sub(e.now()) + time.Hour)
	e.run()
	e.wantStatus(c.ID, allot.SubWarning)
	// Renewed out of Warning, its unit is a seat again, and one more unit
	// reaches the user still waiting.
	_, err = e.db.RenewSubscription(e.ctx, c.ID, nil)
	e.must(err)
	e.drain(5)
	e.check()
	e.wantPool(skuE1, 1, 0, 0, 0, 1, allot.CapabilityEnabled)
	_, err = e.db.SetSubscriptionQuantity(e.ctx, c.ID, 2)
	e.must(err)
	e.drain(5)
	e.check()
	if hold, _ := e.holders(skuE1, a.ID, b.ID); len(hold) != 2 {
		t.Fatalf("holding %v after renewing and adding a unit", hold)
	}
	// Suspended subscriptions are reactivated, not renewed.
	clk.jump(400 * day)
	e.run()
	e.wantStatus(c.ID, allot.SubSuspended)
	_, err = e.db.RenewSubscription(e.ctx, c.ID, nil)
	wantCode(t, "renew Suspended", err, allot.ECONFLICT)
}

// TestLifecycleTrial: a trial lasts 30 days by default, alerts when it
// ends, and converting it makes it a paid subscription of a year.
func TestLifecycleTrial(t *testing.T) {
	e, clk := lifecycleEnv(t, "US")
	trial := e.buy(skuE3, 5, true, 0)
	if !trial.IsTrial || trial.TermEnd.Sub(trial.TermStart) != 30*day {
		t.Fatalf("trial %+v", trial)
	}
	paid := e.buy(skuE1, 1, false, 0)
	e.run()
	if ev := e.events(); ev[alerts.SubscriptionExpiring] != 0 {
		t.Fatalf("a new trial announced its end at once: %v", ev)
	}
	_, err := e.db.ConvertTrial(e.ctx, paid.ID)
	wantCode(t, "convert a paid subscription", err, allot.ECONFLICT)
	e.events()
	clk.jump(31 * day)
	e.run()
	e.wantStatus(trial.ID, allot.SubWarning)
	if ev := e.events(); ev[alerts.SubscriptionTrialEnded] != 1 || ev[alerts.SubscriptionWarning] != 1 {
		t.Fatalf("events at the trial's end %v", ev)
	}
	c, err := e.db.ConvertTrial(e.ctx, trial.ID)
	e.must(err)
	if c.IsTrial || c.Status != allot.SubEnabled || c.TermEnd.Sub(c.TermStart) < 364*day {
		t.Fatalf("converted %+v", c)
	}
	e.wantPool(skuE3, 5, 0, 0, 0, 0, allot.CapabilityEnabled)
	_, err = e.db.ConvertTrial(e.ctx, trial.ID)
	wantCode(t, "convert twice", err, allot.ECONFLICT)
	e.drain(5)
	e.check()
}

// TestLifecycleCatchUp: a subscription overdue by several periods (the
// server was down) walks every step at once, each with its own audit line
// and its status entered when it fell due.
func TestLifecycleCatchUp(t *testing.T) {
	e, clk := lifecycleEnv(t, "US")
	c := e.buy(skuE1, 2, false, day)
	clk.jump(200 * day)
	if n := e.run(); n != 3 {
		t.Fatalf("applied %d steps, want 3", n)
	}
	d := e.wantStatus(c.ID, allot.SubDeleted)
	if want := c.TermEnd.Add(120 * day); !d.StatusSince.Equal(want) {
		t.Fatalf("deleted since %s, want %s (term end + grace + suspended)", d.StatusSince, want)
	}
	if n := e.updates(c.ID); n != 3 {
		t.Fatalf("%d audit lines, want one per step", n)
	}
	if ev := e.events(); ev[alerts.SubscriptionWarning] != 1 || ev[alerts.SubscriptionSuspended] != 1 || ev[alerts.SubscriptionDeleted] != 1 {
		t.Fatalf("events %v", ev)
	}
	e.wantPool(skuE1, 0, 0, 0, 0, 0, allot.CapabilityDeleted)
	e.check()
}

// TestLifecycleProcessingRunsTheScheduler: the worker's processing applies
// due steps when its queue is empty, so no separate call is needed.
func TestLifecycleProcessingRunsTheScheduler(t *testing.T) {
	e, clk := lifecycleEnv(t, "US")
	c := e.buy(skuE1, 2, false, day)
	e.drain(5)
	e.wantStatus(c.ID, allot.SubEnabled)
	clk.jump(2 * day)
	// A step that has come due is work not yet done: a script waiting for
	// idle waits for it too.
	if st, err := e.db.Status(e.ctx); err != nil || st.Idle {
		t.Fatalf("with a step due the tenant is idle (%v)", err)
	}
	e.drain(5)
	e.wantStatus(c.ID, allot.SubWarning)
	if st, err := e.db.Status(e.ctx); err != nil || !st.Idle {
		t.Fatalf("after the step the tenant is not idle (%v)", err)
	}
}

// TestLifecycleAlertsOncePerThreshold: each "days before the end" alert
// is raised once per term, the nearest reached one only after downtime,
// and afresh after a renewal.
func TestLifecycleAlertsOncePerThreshold(t *testing.T) {
	e, clk := lifecycleEnv(t, "US")
	c := e.buy(skuE1, 1, false, 40*day)
	e.events()
	expiring := func(want int) {
		t.Helper()
		e.run()
		if ev := e.events(); ev[alerts.SubscriptionExpiring] != want {
			t.Fatalf("expiring alerts %v, want %d", ev, want)
		}
	}
	expiring(0)
	clk.jump(10*day + time.Hour) // 30 days left, less an hour
	expiring(1)
	expiring(0)
	clk.jump(day)
	expiring(0)
	clk.jump(22 * day) // 7 days left, less some
	expiring(1)
	expiring(0)
	clk.jump(6*day + time.Hour) // less than a day left
	expiring(1)
	clk.jump(day)
	e.run()
	if ev := e.events(); ev[alerts.SubscriptionExpiring] != 0 || ev[alerts.SubscriptionWarning] != 1 {
		t.Fatalf("at the term's end: %v", ev)
	}
	// A renewal starts a term whose thresholds alert again; a jump past two
	// of them raises only the nearest.
	r, err := e.db.RenewSubscription(e.ctx, c.ID, nil)
	e.must(err)
	clk.jump(r.TermEnd.Sub(e.now()) - 5*day)
	expiring(1)
	clk.jump(4*day + time.Hour)
	expiring(1)
	expiring(0)
}

// TestLifecycleRace: two stores on one database (two replicas) run the
// scheduler at once for the same due step: it is applied once, with one
// audit line.
func TestLifecycleRace(t *testing.T) {
	for round := range 3 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			dsn := testdb.DSN(t, false)
			clk := newTestClock()
			a := &lcEnv{env: openEnv(t, dsn, clk, "US", ""), clk: clk}
			tenant, _ := allot.ActorFromContext(a.ctx)
			b := &lcEnv{env: openEnv(t, dsn, clk, "US", tenant.TenantID), clk: clk}
			c := a.buy(skuE1, 2, false, day)
			clk.jump(2 * day)
			var wg sync.WaitGroup
			ns, errs := make([]int, 2), make([]error, 2)
			for i, db := range []*store.DB{a.db, b.db} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ns[i], errs[i] = db.RunScheduled(context.Background())
				}()
			}
			wg.Wait()
			for _, err := range errs {
				a.must(err)
			}
			if ns[0]+ns[1] != 1 {
				t.Fatalf("the replicas applied %d and %d steps, want 1 in all", ns[0], ns[1])
			}
			if n := a.updates(c.ID); n != 1 {
				t.Fatalf("%d audit lines", n)
			}
			a.wantStatus(c.ID, allot.SubWarning)
			a.wantPool(skuE1, 0, 2, 0, 0, 0, allot.CapabilityWarning)
		})
	}
}

// TestLifecycleCrashMidTransition: a step that fails inside its transaction
// (a crash, a cancelled context) leaves everything as it was and the step
// due; the next run applies it once.
func TestLifecycleCrashMidTransition(t *testing.T) {
	e, clk := lifecycleEnv(t, "US")
	c := e.buy(skuE1, 2, false, day)
	clk.jump(2 * day)
	e.events()
	ctx, cancel := context.WithCancel(context.Background())
	crash := errors.New("crash")
	store.SetLifecycleHook(e.db, func() error { cancel(); return crash })
	if _, err := e.db.RunScheduled(ctx); !errors.Is(err, crash) {
		t.Fatalf("RunScheduled: %v, want the crash", err)
	}
	store.SetLifecycleHook(e.db, nil)
	x := e.wantStatus(c.ID, allot.SubEnabled)
	if x.NextLifecycleAt == nil || !x.NextLifecycleAt.Equal(*c.TermEnd) {
		t.Fatalf("the step is no longer due: %+v", x)
	}
	e.wantPool(skuE1, 2, 0, 0, 0, 0, allot.CapabilityEnabled)
	if n := e.updates(c.ID); n != 0 {
		t.Fatalf("a rolled back step left %d audit lines", n)
	}
	if ev := e.events(); len(ev) != 0 {
		t.Fatalf("a rolled back step raised %v", ev)
	}
	if n := e.run(); n != 1 {
		t.Fatalf("the next run applied %d", n)
	}
	if n := e.run(); n != 0 {
		t.Fatalf("a further run applied %d", n)
	}
	e.wantStatus(c.ID, allot.SubWarning)
	if n := e.updates(c.ID); n != 1 {
		t.Fatalf("%d audit lines", n)
	}
}

// TestLifecycleSeatsAndPurchases: the seat count and purchases act on the
// commercial subscriptions as docs/RULES.md §2.6 says.
func TestLifecycleSeatsAndPurchases(t *testing.T) {
	e, clk := lifecycleEnv(t, "US")
	e.sub(skuE1, 5)
	subs, err := e.db.CompanySubscriptions(e.ctx)
	e.must(err)
	pool := e.pool(skuE1)
	if len(subs) != 1 || subs[0].ID != pool.ID || subs[0].Quantity != 5 || subs[0].TermEnd != nil || subs[0].NextLifecycleAt != nil {
		t.Fatalf("AddSubscription made %+v", subs)
	}
	noTerm := subs[0].ID
	term := e.buy(skuE1, 3, false, 30*day)
	_, err = e.db.SetSeats(e.ctx, skuE1, 10)
	e.must(err)
	if q := e.csub(noTerm).Quantity; q != 7 {
		t.Fatalf("seats added went elsewhere: the subscription without a term has %d", q)
	}
	_, err = e.db.SetSeats(e.ctx, skuE1, 2)
	e.must(err)
	if a, b := e.csub(noTerm).Quantity, e.csub(term.ID).Quantity; a != 0 || b != 2 {
		t.Fatalf("after lowering to 2: %d and %d, want 0 and 2", a, b)
	}
	_, err = e.db.Purchase(e.ctx, skuE1, 1, nil)
	e.must(err)
	if q := e.csub(noTerm).Quantity; q != 1 {
		t.Fatalf("purchase went elsewhere: %d", q)
	}
	e.wantPool(skuE1, 3, 0, 0, 0, 0, allot.CapabilityEnabled)
	// With nothing Enabled left, new seats make a subscription without a term.
	_, err = e.db.CancelSubscription(e.ctx, noTerm)
	e.must(err)
	clk.jump(31 * day)
	e.run()
	e.wantPool(skuE1, 0, 2, 0, 1, 0, allot.CapabilityWarning)
	_, err = e.db.SetSeats(e.ctx, skuE1, 4)
	e.must(err)
	subs, err = e.db.CompanySubscriptions(e.ctx)
	e.must(err)
	if len(subs) != 3 || subs[2].Quantity != 4 || subs[2].TermEnd != nil || subs[2].Status != allot.SubEnabled {
		t.Fatalf("subscriptions %+v", subs)
	}
	e.wantPool(skuE1, 4, 2, 0, 1, 0, allot.CapabilityEnabled)
	e.drain(5)
	e.check()
}

// TestLifecycleBadInputChangesNothing: unknown ids, wrong statuses and
// values out of range are refused with their code, and leave the
// subscriptions, the pool and the audit log as they were.
func TestLifecycleBadInputChangesNothing(t *testing.T) {
	e, clk := lifecycleEnv(t, "US")
	c := e.buy(skuE1, 2, false, 10*day)
	clk.jump(11 * day)
	e.run()
	snapshot := func() string {
		subs, err := e.db.CompanySubscriptions(e.ctx)
		e.must(err)
		p, err := e.db.Audit(e.ctx, allot.AuditFilter{Top: 999})
		e.must(err)
		st, err := e.db.LifecycleSettings(e.ctx)
		e.must(err)
		return fmt.Sprintf("%+v %+v %d %+v", subs, *e.pool(skuE1), len(p.Items), st)
	}
	before := snapshot()
	past := e.now().Add(-time.Hour)
	unknown := "00000000-0000-0000-0000-0000000000ff"
	for _, x := range []struct {
		what string
		code string
		do   func() error
	}{
		{"unknown id", allot.ENOTFOUND, func() error { _, err := e.db.CancelSubscription(e.ctx, unknown); return err }},
		{"unknown id to read", allot.ENOTFOUND, func() error { _, err := e.db.CompanySubscription(e.ctx, unknown); return err }},
		{"quantity in Warning", allot.ECONFLICT, func() error { _, err := e.db.SetSubscriptionQuantity(e.ctx, c.ID, 3); return err }},
		{"negative quantity", allot.EINVALID, func() error { _, err := e.db.SetSubscriptionQuantity(e.ctx, c.ID, -1); return err }},
		{"quantity too large", allot.EINVALID, func() error { _, err := e.db.SetSubscriptionQuantity(e.ctx, c.ID, store.MaxSeats+1); return err }},
		{"convert a paid one", allot.ECONFLICT, func() error { _, err := e.db.ConvertTrial(e.ctx, c.ID); return err }},
		{"renew to the past", allot.EINVALID, func() error { _, err := e.db.RenewSubscription(e.ctx, c.ID, &past); return err }},
		{"buy with a past end", allot.EINVALID, func() error {
			_, err := e.db.CreateCompanySubscription(e.ctx, allot.CompanySubscriptionCreate{SkuID: skuE1, Quantity: 1, TermEnd: &past})
			return err
		}},
		{"buy an unknown SKU", allot.EINVALID, func() error {
			_, err := e.db.CreateCompanySubscription(e.ctx, allot.CompanySubscriptionCreate{SkuID: unknown, Quantity: 1})
			return err
		}},
		{"buy none", allot.EINVALID, func() error {
			_, err := e.db.CreateCompanySubscription(e.ctx, allot.CompanySubscriptionCreate{SkuID: skuE1, Quantity: 0})
			return err
		}},
		{"buy beyond the SKU's limit", allot.EINVALID, func() error {
			_, err := e.db.CreateCompanySubscription(e.ctx, allot.CompanySubscriptionCreate{SkuID: skuE1, Quantity: store.MaxSeats})
			return err
		}},
		{"import with an unknown status", allot.EINVALID, func() error {
			_, err := e.db.ImportCompanySubscription(e.ctx, allot.CompanySubscription{SkuID: skuE1, Quantity: 1, Status: "Sleeping"})
			return err
		}},
		{"import a duplicate id", allot.ECONFLICT, func() error {
			_, err := e.db.ImportCompanySubscription(e.ctx, allot.CompanySubscription{ID: c.ID, SkuID: skuE1, Quantity: 1, Status: allot.SubEnabled})
			return err
		}},
		{"grace period of 0", allot.EINVALID, func() error {
			st := allot.DefaultLifecycleSettings()
			st.GraceDays = 0
			_, err := e.db.SetLifecycleSettings(e.ctx, st)
			return err
		}},
		{"six alert days", allot.EINVALID, func() error {
			st := allot.DefaultLifecycleSettings()
			st.AlertDays = []int{1, 2, 3, 4, 5, 6}
			_, err := e.db.SetLifecycleSettings(e.ctx, st)
			return err
		}},
	} {
		wantCode(t, x.what, x.do(), x.code)
		if after := snapshot(); after != before {
			t.Fatalf("%s changed something:\n%s\n%s", x.what, before, after)
		}
	}
}

// TestLifecycleSettingsMoveTheSchedule: new periods apply to subscriptions
// already under way, from when they entered their status.
func TestLifecycleSettingsMoveTheSchedule(t *testing.T) {
	e, clk := lifecycleEnv(t, "US")
	c := e.buy(skuE1, 2, false, day)
	clk.jump(2 * day)
	e.run()
	w := e.wantStatus(c.ID, allot.SubWarning)
	st := allot.DefaultLifecycleSettings()
	st.GraceDays, st.AlertDays = 3, []int{7, 7, 30}
	got, err := e.db.SetLifecycleSettings(e.ctx, st)
	e.must(err)
	if len(got.AlertDays) != 2 || got.AlertDays[0] != 30 || got.AlertDays[1] != 7 {
		t.Fatalf("alert days %v, want [30 7]", got.AlertDays)
	}
	if x := e.csub(c.ID); !x.NextLifecycleAt.Equal(w.StatusSince.Add(3 * day)) {
		t.Fatalf("next step %s, want 3 days after %s", x.NextLifecycleAt, w.StatusSince)
	}
	clk.jump(2 * day)
	e.run()
	e.wantStatus(c.ID, allot.SubSuspended)
	e.check()
}

// TestLifecycleSettingsPatch: a patch changes the fields it sets and keeps
// the others as stored when it commits, so that two patches of different
// fields both stay; a bad patch changes nothing.
func TestLifecycleSettingsPatch(t *testing.T) {
	e, _ := lifecycleEnv(t, "US")
	grace, retention, bad := 10, 60, 0
	_, err := e.db.PatchLifecycleSettings(e.ctx, allot.LifecycleSettingsPatch{GraceDays: &grace})
	e.must(err)
	_, err = e.db.PatchLifecycleSettings(e.ctx, allot.LifecycleSettingsPatch{RetentionDays: &retention, AlertDays: []int{14}, SetAlertDays: true})
	e.must(err)
	if _, err := e.db.PatchLifecycleSettings(e.ctx, allot.LifecycleSettingsPatch{SuspendedDays: &bad}); allot.ErrorCode(err) != allot.EINVALID {
		t.Fatalf("a suspended period of 0 days: %v", err)
	}
	got, err := e.db.LifecycleSettings(e.ctx)
	e.must(err)
	want := allot.DefaultLifecycleSettings()
	want.GraceDays, want.RetentionDays, want.AlertDays = 10, 60, []int{14}
	if got.GraceDays != want.GraceDays || got.SuspendedDays != want.SuspendedDays || got.RetentionDays != want.RetentionDays || len(got.AlertDays) != 1 || got.AlertDays[0] != 14 {
		t.Fatalf("settings %+v, want %+v", got, want)
	}
}

// TestLifecycleImport: the demo's subscriptions, in any status, with the
// pool created and following them.
func TestLifecycleImport(t *testing.T) {
	e, clk := lifecycleEnv(t, "US")
	now := e.now()
	soon := now.Add(3 * day)
	trial, err := e.db.ImportCompanySubscription(e.ctx, allot.CompanySubscription{SkuID: skuE3, Quantity: 5, Status: allot.SubEnabled, IsTrial: true,
		TermStart: now.Add(-27 * day), TermEnd: &soon})
	e.must(err)
	ended := now.Add(-10 * day)
	_, err = e.db.ImportCompanySubscription(e.ctx, allot.CompanySubscription{SkuID: skuE3, Quantity: 2, Status: allot.SubWarning,
		TermStart: now.Add(-375 * day), TermEnd: &ended, StatusSince: ended})
	e.must(err)
	_, err = e.db.ImportCompanySubscription(e.ctx, allot.CompanySubscription{SkuID: skuE3, Quantity: 1, Status: allot.SubSuspended, StatusSince: now.Add(-day)})
	e.must(err)
	e.wantPool(skuE3, 5, 2, 1, 0, 0, allot.CapabilityEnabled)
	e.check()
	// The trial ends in 3 days: the 7-day alert is due, the 30-day one fell
	// on the day its term began and is not sent.
	e.events()
	e.run()
	if ev := e.events(); ev[alerts.SubscriptionExpiring] != 1 {
		t.Fatalf("events %v", ev)
	}
	clk.jump(4 * day)
	e.run()
	e.wantStatus(trial.ID, allot.SubWarning)
	e.wantPool(skuE3, 0, 7, 1, 0, 0, allot.CapabilityWarning)
	e.check()
}

// lifecycleOp is one lifecycle operation of a random history: a purchase
// (sometimes a trial), a cancellation, a reactivation, a renewal, a
// conversion, a new quantity, or a jump of the clock by days followed by
// the scheduler, which must not take any license away (docs/RULES.md §2.6).
func (h *history) lifecycleOp() {
	h.t.Helper()
	var op string
	var err error
	all, lerr := h.db.CompanySubscriptions(h.ctx)
	h.must(lerr)
	// Deleted subscriptions refuse everything; they are picked rarely.
	subs := slices.DeleteFunc(slices.Clone(all), func(c allot.CompanySubscription) bool { return c.Status == allot.SubDeleted })
	if len(subs) == 0 || h.lc.IntN(10) == 0 {
		subs = all
	}
	pick := func() string {
		if len(subs) == 0 || h.lc.IntN(20) == 0 {
			return "00000000-0000-0000-0000-0000000000ff"
		}
		return subs[h.lc.IntN(len(subs))].ID
	}
	now := func() time.Time { h.clk.mu.Lock(); defer h.clk.mu.Unlock(); return h.clk.t }
	switch h.lc.IntN(10) {
	case 0, 1:
		sku, q, trial := h.skus[h.lc.IntN(len(h.skus))], 1+h.lc.IntN(4), h.lc.IntN(3) == 0
		end := now().Add(time.Duration(1+h.lc.IntN(60)) * day)
		op = fmt.Sprintf("buy %d of %s trial %v until %s", q, sku, trial, end.Format(time.DateOnly))
		_, err = h.db.CreateCompanySubscription(h.ctx, allot.CompanySubscriptionCreate{SkuID: sku, Quantity: q, IsTrial: trial, TermEnd: &end})
	case 2:
		id := pick()
		op = "cancel " + id
		_, err = h.db.CancelSubscription(h.ctx, id)
	case 3:
		id := pick()
		op = "reactivate " + id
		_, err = h.db.ReactivateSubscription(h.ctx, id)
	case 4:
		id := pick()
		var end *time.Time
		if h.lc.IntN(2) == 0 {
			t := now().Add(time.Duration(h.lc.IntN(100)) * day)
			end = &t
		}
		op = fmt.Sprintf("renew %s to %v", id, end)
		_, err = h.db.RenewSubscription(h.ctx, id, end)
	case 5:
		id, q := pick(), h.lc.IntN(7)
		op = fmt.Sprintf("set quantity of %s to %d", id, q)
		_, err = h.db.SetSubscriptionQuantity(h.ctx, id, q)
	case 6:
		id := pick()
		op = "convert " + id
		_, err = h.db.ConvertTrial(h.ctx, id)
	default:
		jump := time.Duration(h.lc.IntN(45))*day + time.Duration(h.lc.IntN(24))*time.Hour
		op = fmt.Sprintf("jump %s and run the scheduler", jump)
		active := map[string]bool{}
		for _, id := range h.users {
			for _, st := range h.states(id) {
				if st.State == allot.StateActive {
					active[id+" "+st.SkuID+" "+st.Source] = true
				}
			}
		}
		h.clk.jump(jump)
		var n int
		n, err = h.db.RunScheduled(context.Background())
		op += fmt.Sprintf(" (%d steps)", n)
		for _, id := range h.users {
			for k, st := range h.states(id) {
				if active[id+" "+st.SkuID+" "+st.Source] && st.State != allot.StateActive {
					h.t.Fatalf("%s: %s lost its license %s", op, id, k)
				}
			}
		}
	}
	if err != nil {
		op += " -> " + allot.ErrorCode(err)
	}
	h.log = append(h.log, op)
	if code := allot.ErrorCode(err); err != nil && code != allot.EINVALID && code != allot.ENOTFOUND && code != allot.ECONFLICT {
		h.t.Fatalf("%s: %v", op, err)
	}
}
