package store_test

// Assertion helpers shared by the licensing tests: a user's license states,
// a SKU's consumed seats, an error's code, and a rendering of everything a
// tenant's caller can see. (The rv prefix is historical; other test files
// use these helpers by that name.)

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
)

func rvState(e *env, uid, sku, source string) allot.LicenseState {
	e.t.Helper()
	return e.states(uid)[sku+" "+source]
}

func rvWant(e *env, uid, sku, source, state string, errCode allot.LicenseError) {
	e.t.Helper()
	s, ok := e.states(uid)[sku+" "+source]
	if !ok {
		e.t.Fatalf("user %s: no state for %s from %q; states %+v", uid, sku, source, e.states(uid))
	}
	if s.State != state || s.Error != errCode {
		e.t.Fatalf("user %s sku %s source %q: got %s/%s (%s), want %s/%s", uid, sku, source, s.State, s.Error, s.Detail, state, errCode)
	}
}

func rvNoStates(e *env, uid string) {
	e.t.Helper()
	if st := e.states(uid); len(st) != 0 {
		e.t.Fatalf("user %s: want no states, got %+v", uid, st)
	}
}

func rvConsumed(e *env, sku string) int {
	e.t.Helper()
	s, err := e.db.Subscription(e.ctx, sku)
	e.must(err)
	return s.ConsumedUnits
}

func rvWantConsumed(e *env, sku string, n int) {
	e.t.Helper()
	if c := rvConsumed(e, sku); c != n {
		e.t.Fatalf("consumedUnits of %s = %d, want %d", sku, c, n)
	}
}

func rvCode(t *testing.T, what string, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want one of %v", what, want)
		return
	}
	if !slices.Contains(want, allot.ErrorCode(err)) {
		t.Errorf("%s: code %q (%v), want one of %v", what, allot.ErrorCode(err), err, want)
	}
}

// rvSnapshot renders everything a caller of the tenant can see, to compare
// before and after a refused request.
func rvSnapshot(e *env, ctx context.Context) string {
	e.t.Helper()
	var b strings.Builder
	users, err := e.db.ListUsers(ctx, allot.ListOptions{Top: 999, WithLicensing: true})
	e.must(err)
	fmt.Fprintf(&b, "users %+v\n", users.Items)
	groups, err := e.db.ListGroups(ctx, allot.ListOptions{Top: 999})
	e.must(err)
	fmt.Fprintf(&b, "groups %+v\n", groups.Items)
	for _, g := range groups.Items {
		m, err := e.db.Members(ctx, g.ID, false, allot.ListOptions{Top: 999})
		e.must(err)
		for _, o := range m.Items {
			if o.User != nil {
				fmt.Fprintf(&b, "member %s user %s\n", g.ID, o.User.ID)
			} else {
				fmt.Fprintf(&b, "member %s group %s\n", g.ID, o.Group.ID)
			}
		}
	}
	subs, err := e.db.Subscriptions(ctx)
	e.must(err)
	fmt.Fprintf(&b, "subs %+v\n", subs)
	audit, err := e.db.Audit(ctx, allot.AuditFilter{Top: 999})
	e.must(err)
	fmt.Fprintf(&b, "audit entries %d\n", len(audit.Items))
	st, err := e.db.Status(ctx)
	e.must(err)
	fmt.Fprintf(&b, "queue %d\n", st.QueueDepth)
	tn, err := e.db.Tenant(ctx)
	e.must(err)
	fmt.Fprintf(&b, "tenant %+v\n", *tn)
	return b.String()
}

func rvAuditOf(e *env, activity, target string) []allot.AuditEntry {
	e.t.Helper()
	p, err := e.db.Audit(e.ctx, allot.AuditFilter{Top: 999, TargetID: target})
	e.must(err)
	var out []allot.AuditEntry
	for _, a := range p.Items {
		if a.Activity == activity {
			out = append(out, a)
		}
	}
	return out
}
