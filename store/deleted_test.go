package store_test

// Deleted items: a deleted user or group is kept for the tenant's
// retention and can be restored (docs/RULES.md §2.3.6,
// docs/DELETED-ITEMS.md).

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

// deletedEnv is newEnv with a clock the test moves; dsn is the database,
// so that a second handle can open the same one.
func deletedEnv(t *testing.T, memory bool) (*env, *testClock, string) {
	t.Helper()
	c, dsn := newTestClock(), testdb.DSN(t, memory)
	return openEnv(t, dsn, c, "US", ""), c, dsn
}

func deletedIDs(e *env, kind string) []string {
	e.t.Helper()
	p, err := e.db.ListDeletedItems(e.ctx, kind, allot.ListOptions{Top: 999})
	e.must(err)
	var out []string
	for _, d := range p.Items {
		out = append(out, d.ID)
	}
	return out
}

func memberOf(e *env, uid string) []string {
	e.t.Helper()
	p, err := e.db.MemberOf(e.ctx, uid, false, allot.ListOptions{Top: 999})
	e.must(err)
	var out []string
	for _, g := range p.Items {
		out = append(out, g.ID)
	}
	slices.Sort(out)
	return out
}

// A deleted user is gone from every read and frees its seats at once; it
// is listed in deleted items; restored, it comes back with its direct
// licenses and its groups, and processing gives it its licenses again.
func TestDeletedUserRestoredWithLicensesAndGroups(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	e.sub(skuAudio, 5)
	g, h := e.group("G"), e.group("H")
	a := e.user("a@x", "", "a@x")
	e.must(e.db.AddMember(e.ctx, g.ID, a.ID))
	e.must(e.db.AddMember(e.ctx, h.ID, a.ID))
	rvAssign(e, g.ID, lic(skuE1))
	rvDirect(e, a.ID, lic(skuAudio))
	e.drain(10)
	rvWant(e, a.ID, skuE1, g.ID, allot.StateActive, allot.NoLicenseError)

	e.must(e.db.DeleteUser(e.ctx, a.ID))
	rvWantConsumed(e, skuE1, 0)
	rvWantConsumed(e, skuAudio, 0)
	if _, err := e.db.User(e.ctx, a.ID); allot.ErrorCode(err) != allot.ENOTFOUND {
		t.Fatalf("deleted user still found: %v", err)
	}
	if _, err := e.db.User(e.ctx, "a@x"); allot.ErrorCode(err) != allot.ENOTFOUND {
		t.Fatalf("deleted user still found by name: %v", err)
	}
	if p, _ := e.db.ListUsers(e.ctx, allot.ListOptions{}); len(p.Items) != 0 {
		t.Fatalf("deleted user listed: %+v", p.Items)
	}
	if got := deletedIDs(e, allot.MemberUser); !slices.Equal(got, []string{a.ID}) {
		t.Fatalf("deleted users %v, want %v", got, a.ID)
	}
	if got := deletedIDs(e, allot.MemberGroup); len(got) != 0 {
		t.Fatalf("deleted groups %v", got)
	}
	d, err := e.db.DeletedItem(e.ctx, a.ID)
	e.must(err)
	if d.User == nil || d.User.UserPrincipalName != "a@x" || d.Kind != allot.MemberUser || d.DeletedAt.IsZero() {
		t.Fatalf("deleted item %+v", d)
	}
	if got := d.PurgeAt.Sub(d.DeletedAt); got != 30*24*time.Hour {
		t.Fatalf("kept for %v, want 30 days", got)
	}
	e.drain(10)
	e.check()

	r, err := e.db.RestoreDeletedItem(e.ctx, a.ID)
	e.must(err)
	if r.User == nil || r.User.ID != a.ID {
		t.Fatalf("restored %+v", r)
	}
	if got, want := memberOf(e, a.ID), []string{g.ID, h.ID}; !slices.Equal(got, want) {
		t.Fatalf("memberOf %v, want %v", got, want)
	}
	e.drain(10)
	e.check()
	rvWant(e, a.ID, skuE1, g.ID, allot.StateActive, allot.NoLicenseError)
	rvWant(e, a.ID, skuAudio, "", allot.StateActive, allot.NoLicenseError)
	rvWantConsumed(e, skuE1, 1)
	rvWantConsumed(e, skuAudio, 1)
	if _, err := e.db.DeletedItem(e.ctx, a.ID); allot.ErrorCode(err) != allot.ENOTFOUND {
		t.Fatalf("restored user still in deleted items: %v", err)
	}
	if len(rvAuditOf(e, "Restore user", a.ID)) != 1 {
		t.Fatalf("no Restore user audit line")
	}
	// A second restore finds nothing.
	_, err = e.db.RestoreDeletedItem(e.ctx, a.ID)
	rvCode(t, "restore twice", err, allot.ENOTFOUND)
}

// A new user may take a deleted user's userPrincipalName; restoring the
// deleted one is then refused with a conflict that names the name, and
// changes nothing. Once the name is free again the restore succeeds.
func TestRestoreRefusedWhenNameTaken(t *testing.T) {
	e := newEnv(t, "US")
	a := e.user("a@x", "")
	e.must(e.db.DeleteUser(e.ctx, a.ID))
	b := e.user("A@x", "")
	before := rvSnapshot(e, e.ctx)
	_, err := e.db.RestoreDeletedItem(e.ctx, a.ID)
	rvCode(t, "restore over a taken name", err, allot.ECONFLICT)
	if msg := allot.ErrorMessage(err); !strings.Contains(msg, "a@x") || !strings.Contains(msg, "userPrincipalName") {
		t.Errorf("message not clear: %q", msg)
	}
	if after := rvSnapshot(e, e.ctx); after != before {
		t.Fatalf("refused restore changed something:\n%s\n%s", before, after)
	}
	if got := deletedIDs(e, allot.MemberUser); !slices.Equal(got, []string{a.ID}) {
		t.Fatalf("refused restore lost the deleted item: %v", got)
	}
	e.must(e.db.DeleteUser(e.ctx, b.ID))
	_, err = e.db.RestoreDeletedItem(e.ctx, a.ID)
	e.must(err)
	// b's name is taken by a now: b cannot come back.
	_, err = e.db.RestoreDeletedItem(e.ctx, b.ID)
	rvCode(t, "restore b", err, allot.ECONFLICT)

	// A group's mailNickname: one that looks like it (a Cyrillic а) is
	// refused as it would be to a new group.
	g := e.group("sales")
	e.must(e.db.DeleteGroup(e.ctx, g.ID))
	e.group("s\u0430les")
	_, err = e.db.RestoreDeletedItem(e.ctx, g.ID)
	rvCode(t, "restore group over a look-alike nickname", err, allot.ECONFLICT)
	if !strings.Contains(allot.ErrorMessage(err), "sales") || !strings.Contains(allot.ErrorMessage(err), "cannot be restored") {
		t.Errorf("message not clear: %q", allot.ErrorMessage(err))
	}
}

// A deleted object keeps its id: a new object cannot be created with it,
// and once purged the id is free again.
func TestDeletedItemKeepsItsID(t *testing.T) {
	e := newEnv(t, "US")
	const id = "4b1c2d3e-0000-4000-8000-00000000abcd"
	_, err := e.db.CreateUser(e.ctx, allot.UserCreate{ID: id, UserPrincipalName: "a@x", DisplayName: "a", AccountEnabled: true})
	e.must(err)
	e.must(e.db.DeleteUser(e.ctx, id))
	_, err = e.db.CreateUser(e.ctx, allot.UserCreate{ID: id, UserPrincipalName: "b@x", DisplayName: "b", AccountEnabled: true})
	rvCode(t, "create with a deleted object's id", err, allot.ECONFLICT)
	e.must(e.db.PurgeDeletedItem(e.ctx, id))
	_, err = e.db.RestoreDeletedItem(e.ctx, id)
	rvCode(t, "restore a purged object", err, allot.ENOTFOUND)
	rvCode(t, "purge twice", e.db.PurgeDeletedItem(e.ctx, id), allot.ENOTFOUND)
	if len(rvAuditOf(e, "Hard delete user", id)) != 1 {
		t.Fatalf("no Hard delete user audit line")
	}
	_, err = e.db.CreateUser(e.ctx, allot.UserCreate{ID: id, UserPrincipalName: "b@x", DisplayName: "b", AccountEnabled: true})
	e.must(err)
}

// Restored after its seat was taken, a user waits for the seat in the
// waiting room like any new claimant, and gets it when one is bought.
func TestRestoredUserWaitsWhenSeatsTaken(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 1)
	g := e.group("G")
	rvAssign(e, g.ID, lic(skuE1))
	a := e.user("a@x", "")
	e.must(e.db.AddMember(e.ctx, g.ID, a.ID))
	e.drain(10)
	rvWant(e, a.ID, skuE1, g.ID, allot.StateActive, allot.NoLicenseError)
	e.must(e.db.DeleteUser(e.ctx, a.ID))
	b := e.user("b@x", "")
	e.must(e.db.AddMember(e.ctx, g.ID, b.ID))
	e.drain(10)
	rvWant(e, b.ID, skuE1, g.ID, allot.StateActive, allot.NoLicenseError)
	_, err := e.db.RestoreDeletedItem(e.ctx, a.ID)
	e.must(err)
	e.drain(10)
	e.check()
	rvWant(e, a.ID, skuE1, g.ID, allot.StateError, allot.CountViolation)
	rvWant(e, b.ID, skuE1, g.ID, allot.StateActive, allot.NoLicenseError)
	_, err = e.db.SetSeats(e.ctx, skuE1, 2)
	e.must(err)
	e.drain(10)
	e.check()
	rvWant(e, a.ID, skuE1, g.ID, allot.StateActive, allot.NoLicenseError)
}

// Restored after another user took its address, a user's mailbox license
// fails uniqueness rather than taking the address back.
func TestRestoredUserAddressTakenMeanwhile(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	a := e.user("a@x", "", "shared@x")
	rvDirect(e, a.ID, lic(skuE1))
	e.must(e.db.DeleteUser(e.ctx, a.ID))
	b := e.user("b@x", "", "shared@x")
	rvDirect(e, b.ID, lic(skuE1))
	_, err := e.db.RestoreDeletedItem(e.ctx, a.ID)
	e.must(err)
	e.drain(10)
	e.check()
	rvWant(e, a.ID, skuE1, "", allot.StateError, allot.UniquenessViolation)
	rvWant(e, b.ID, skuE1, "", allot.StateActive, allot.NoLicenseError)
}

// A restored group comes back with the members that still exist and in
// the groups that still exist; its users inherit again through a group
// above it whose license includes nested groups.
func TestDeletedGroupRestoredWithMembers(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	top, g := e.group("Top"), e.group("G")
	u1, u2 := e.user("u1@x", ""), e.user("u2@x", "")
	e.must(e.db.AddMember(e.ctx, g.ID, u1.ID))
	e.must(e.db.AddMember(e.ctx, g.ID, u2.ID))
	e.must(e.db.AddMember(e.ctx, top.ID, g.ID))
	on := true
	_, err := e.db.AssignGroupLicense(e.ctx, top.ID, []allot.AssignedLicense{{SkuID: skuE1, DisabledPlans: []string{}, IncludeNestedGroups: &on}}, nil)
	e.must(err)
	e.drain(10)
	rvWant(e, u1.ID, skuE1, top.ID, allot.StateActive, allot.NoLicenseError)

	e.must(e.db.DeleteGroup(e.ctx, g.ID))
	e.drain(10)
	e.check()
	rvNoStates(e, u1.ID)
	if _, err := e.db.Group(e.ctx, g.ID); allot.ErrorCode(err) != allot.ENOTFOUND {
		t.Fatalf("deleted group found: %v", err)
	}
	if got := deletedIDs(e, allot.MemberGroup); !slices.Equal(got, []string{g.ID}) {
		t.Fatalf("deleted groups %v", got)
	}
	e.must(e.db.DeleteUser(e.ctx, u2.ID))
	e.must(e.db.PurgeDeletedItem(e.ctx, u2.ID))

	r, err := e.db.RestoreDeletedItem(e.ctx, g.ID)
	e.must(err)
	if r.Group == nil || r.Group.DisplayName != "G" {
		t.Fatalf("restored %+v", r)
	}
	m, err := e.db.Members(e.ctx, g.ID, false, allot.ListOptions{})
	e.must(err)
	if len(m.Items) != 1 || m.Items[0].User == nil || m.Items[0].User.ID != u1.ID {
		t.Fatalf("members after restore: %+v", m.Items)
	}
	if got := memberOf(e, u1.ID); !slices.Equal(got, []string{g.ID}) {
		t.Fatalf("u1 memberOf %v", got)
	}
	e.drain(10)
	e.check()
	rvWant(e, u1.ID, skuE1, top.ID, allot.StateActive, allot.NoLicenseError)
	if len(rvAuditOf(e, "Restore group", g.ID)) != 1 {
		t.Fatalf("no Restore group audit line")
	}
}

// Restoring in another tenant finds nothing: ids of one tenant are not
// seen from another.
func TestDeletedItemsAreTenantScoped(t *testing.T) {
	e := newEnv(t, "US")
	a := e.user("a@x", "")
	e.must(e.db.DeleteUser(e.ctx, a.ID))
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	other, err := e.db.CreateTenant(op, allot.Tenant{DisplayName: "Fabrikam"})
	e.must(err)
	octx := allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: other.ID, Role: allot.RoleGlobalAdministrator, Name: "admin"})
	_, err = e.db.DeletedItem(octx, a.ID)
	rvCode(t, "read another tenant's deleted item", err, allot.ENOTFOUND)
	_, err = e.db.RestoreDeletedItem(octx, a.ID)
	rvCode(t, "restore another tenant's deleted item", err, allot.ENOTFOUND)
	rvCode(t, "purge another tenant's deleted item", e.db.PurgeDeletedItem(octx, a.ID), allot.ENOTFOUND)
	p, err := e.db.ListDeletedItems(octx, allot.MemberUser, allot.ListOptions{})
	e.must(err)
	if len(p.Items) != 0 {
		t.Fatalf("another tenant's deleted users listed: %+v", p.Items)
	}
	_, err = e.db.ListDeletedItems(e.ctx, "device", allot.ListOptions{})
	rvCode(t, "list an unknown kind", err, allot.EINVALID)
}

// The list pages by id with a cursor, and counts.
func TestDeletedItemsPaging(t *testing.T) {
	e := newEnv(t, "US")
	var want []string
	for i := range 5 {
		u := e.user(fmt.Sprintf("u%d@x", i), "")
		e.must(e.db.DeleteUser(e.ctx, u.ID))
		want = append(want, u.ID)
	}
	slices.Sort(want)
	var got []string
	opt := allot.ListOptions{Top: 2, Count: true}
	for pages := 0; ; pages++ {
		p, err := e.db.ListDeletedItems(e.ctx, allot.MemberUser, opt)
		e.must(err)
		if opt.Count && p.Count != 5 {
			t.Fatalf("count %d", p.Count)
		}
		for _, d := range p.Items {
			got = append(got, d.ID)
		}
		if p.NextCursor == "" {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		opt = allot.ListOptions{Top: 2, After: p.NextCursor}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages %v, want %v", got, want)
	}
	p, err := e.db.ListDeletedItems(e.ctx, allot.MemberUser, allot.ListOptions{Search: "u3@"})
	e.must(err)
	if len(p.Items) != 1 || p.Items[0].User.UserPrincipalName != "u3@x" {
		t.Fatalf("search: %+v", p.Items)
	}
}

// Items are purged when their retention ends by the store's clock, not
// before, and each is audited.
func TestPurgeAfterRetention(t *testing.T) {
	e, c, _ := deletedEnv(t, true)
	a := e.user("a@x", "")
	g := e.group("G")
	e.must(e.db.AddMember(e.ctx, g.ID, a.ID))
	e.must(e.db.DeleteUser(e.ctx, a.ID))
	c.jump(10 * 24 * time.Hour)
	e.must(e.db.DeleteGroup(e.ctx, g.ID))
	c.jump(20*24*time.Hour - time.Hour)
	n, err := e.db.RunScheduled(context.Background())
	e.must(err)
	if n != 0 {
		t.Fatalf("purged %d before the retention ended", n)
	}
	c.jump(2 * time.Hour)
	n, err = e.db.RunScheduled(context.Background())
	e.must(err)
	if n != 1 {
		t.Fatalf("purged %d, want the user", n)
	}
	if _, err := e.db.DeletedItem(e.ctx, a.ID); allot.ErrorCode(err) != allot.ENOTFOUND {
		t.Fatalf("purged user still kept: %v", err)
	}
	if _, err := e.db.DeletedItem(e.ctx, g.ID); err != nil {
		t.Fatalf("group purged early: %v", err)
	}
	if len(rvAuditOf(e, "Hard delete user", a.ID)) != 1 {
		t.Fatalf("purge not audited")
	}
	// The worker's processing runs the schedule by itself.
	c.jump(10 * 24 * time.Hour)
	n, err = e.db.ProcessBatch(context.Background(), 100)
	e.must(err)
	if n != 1 || len(deletedIDs(e, allot.MemberGroup)) != 0 {
		t.Fatalf("processing purged %d, want the group", n)
	}
	e.check()
}

// Two replicas purging at once purge each item once: the counts add up
// to the items, and each has one audit line.
func TestPurgeRaceAppliesOnce(t *testing.T) {
	e, c, dsn := deletedEnv(t, false)
	var ids []string
	for i := range 6 {
		u := e.user(fmt.Sprintf("u%d@x", i), "")
		e.must(e.db.DeleteUser(e.ctx, u.ID))
		ids = append(ids, u.ID)
	}
	other, err := store.Open(context.Background(), store.Config{DSN: dsn, Catalog: testCatalog(), Now: c.Now})
	e.must(err)
	defer other.Close()
	c.jump(31 * 24 * time.Hour)
	var wg sync.WaitGroup
	counts := make([]int, 2)
	errs := make([]error, 2)
	for i, db := range []*store.DB{e.db, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i], errs[i] = db.RunScheduled(context.Background())
		}()
	}
	wg.Wait()
	for _, err := range errs {
		e.must(err)
	}
	if counts[0]+counts[1] != len(ids) {
		t.Fatalf("purged %d + %d, want %d in all", counts[0], counts[1], len(ids))
	}
	for _, id := range ids {
		if n := len(rvAuditOf(e, "Hard delete user", id)); n != 1 {
			t.Fatalf("user %s purged %d times", id, n)
		}
	}
	if len(deletedIDs(e, allot.MemberUser)) != 0 {
		t.Fatal("items left after the purge")
	}
}

// restoreStep restores a random deleted user or group of a
// random-operations history (store/property_test.go): a user comes back
// with its licenses and groups, a group with its members and parents, to
// be processed like any change, and the invariants must hold after the
// next drain. One purged meanwhile (the lifecycle's time jumps run the
// scheduler) is not found.
func (h *history) restoreStep() {
	i := h.rs.IntN(len(h.deleted))
	id := h.deleted[i]
	d, err := h.db.RestoreDeletedItem(h.ctx, id)
	op := "restore " + id
	switch allot.ErrorCode(err) {
	case "":
		if d.User != nil {
			h.users = append(h.users, id)
		} else {
			h.groups = append(h.groups, id)
		}
		h.deleted = append(h.deleted[:i], h.deleted[i+1:]...)
	case allot.ENOTFOUND:
		h.deleted = append(h.deleted[:i], h.deleted[i+1:]...)
		op += " -> " + allot.ENOTFOUND
	case allot.EINTERNAL:
		h.t.Fatalf("%s: %v", op, err)
	default:
		op += " -> " + allot.ErrorCode(err)
	}
	h.log = append(h.log, op)
}

// The retention is the tenant's lifecycle setting: items deleted after a
// change are kept for the new period, those deleted before keep theirs.
func TestRetentionFollowsLifecycleSettings(t *testing.T) {
	e := newEnv(t, "US")
	a, b := e.user("a@x", ""), e.user("b@x", "")
	e.must(e.db.DeleteUser(e.ctx, a.ID))
	st, err := e.db.LifecycleSettings(e.ctx)
	e.must(err)
	st.RetentionDays = 7
	_, err = e.db.SetLifecycleSettings(e.ctx, st)
	e.must(err)
	e.must(e.db.DeleteUser(e.ctx, b.ID))
	for id, want := range map[string]time.Duration{a.ID: 30 * 24 * time.Hour, b.ID: 7 * 24 * time.Hour} {
		d, err := e.db.DeletedItem(e.ctx, id)
		e.must(err)
		if got := d.PurgeAt.Sub(d.DeletedAt); got != want {
			t.Errorf("%s kept for %v, want %v", id, got, want)
		}
	}
}

// A restored dynamic group applies its rule again: its members are the
// users the rule matches now. A restored user joins the dynamic groups
// whose rules match it, whatever it was in before.
func TestRestoreWithDynamicGroups(t *testing.T) {
	e := newEnv(t, "US")
	s1, s2, o := e.profiled("s1@x", "", "Sales"), e.profiled("s2@x", "", "Sales"), e.profiled("o@x", "", "Ops")
	d := e.dynamicGroup("sales", `user.department -eq "Sales"`)
	e.drain(10)
	if got := e.members(d.ID); !slices.Equal(got, sortedIDs(s1.ID, s2.ID)) {
		t.Fatalf("members %v", got)
	}
	e.must(e.db.DeleteGroup(e.ctx, d.ID))
	e.setDept(s2.ID, "Ops")
	e.setDept(o.ID, "Sales")
	_, err := e.db.RestoreDeletedItem(e.ctx, d.ID)
	e.must(err)
	e.drain(10)
	e.check()
	g, err := e.db.Group(e.ctx, d.ID)
	e.must(err)
	if g.MembershipRuleProcessingState != allot.RuleOn || g.MembershipRule != `user.department -eq "Sales"` {
		t.Fatalf("restored rule %q %q", g.MembershipRule, g.MembershipRuleProcessingState)
	}
	if got := e.members(d.ID); !slices.Equal(got, sortedIDs(s1.ID, o.ID)) {
		t.Fatalf("members after restore %v, want s1 and o", got)
	}

	e.must(e.db.DeleteUser(e.ctx, s1.ID))
	if got := e.members(d.ID); !slices.Equal(got, []string{o.ID}) {
		t.Fatalf("members after deleting s1 %v", got)
	}
	_, err = e.db.RestoreDeletedItem(e.ctx, s1.ID)
	e.must(err)
	if got := e.members(d.ID); !slices.Equal(got, sortedIDs(s1.ID, o.ID)) {
		t.Fatalf("members after restoring s1 %v", got)
	}
	e.drain(10)
	e.check()
}

func sortedIDs(ids ...string) []string { slices.Sort(ids); return ids }
