package store_test

// The audit log filtered and ordered as Graph's directoryAudit
// (allot.AuditFilter's Expr, ByTime and Ascending), which
// GET /v1.0/auditLogs/directoryAudits presents (api/auditlogs.go).

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

// daClock stands still until the test moves it, so that entries share
// times (ordered then by id) and can be written out of time order.
type daClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *daClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *daClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

var daT0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// daWorld is a tenant whose log has entries by a token, an admin center
// account and Allot's processing, at a few shared times, one written after
// a later one; and a second tenant with an entry of its own.
type daWorld struct {
	db                   *store.DB
	token, account       context.Context
	tokenID, accountID   string
	u1, u2, u3, g, other string
	otherEntry           int64
}

func newDAWorld(t *testing.T) *daWorld {
	t.Helper()
	c := &daClock{t: daT0}
	db, err := store.Open(context.Background(), store.Config{DSN: testdb.DSN(t, true), Catalog: testCatalog(), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true, Name: "operator"})
	tenant := func(name string) string {
		tn, err := db.CreateTenant(op, allot.Tenant{DisplayName: name, DefaultUsageLocation: "US"})
		must(err)
		return tn.ID
	}
	w := &daWorld{db: db, tokenID: "7e57a0a0-0000-4000-8000-000000000001", accountID: "acc00000-0000-4000-8000-000000000002"}
	tn := tenant("Contoso")
	w.token = allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn, Role: allot.RoleGlobalAdministrator, Name: "license script", TokenID: w.tokenID})
	w.account = allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn, Role: allot.RoleUserAdministrator, Name: "alice@contoso.com", TokenID: "account:" + w.accountID})
	user := func(ctx context.Context, upn string) string {
		u, err := db.CreateUser(ctx, allot.UserCreate{UserPrincipalName: upn, DisplayName: upn, AccountEnabled: true})
		must(err)
		return u.ID
	}
	drain := func() {
		for {
			n, err := db.ProcessBatch(context.Background(), 10)
			must(err)
			if n == 0 {
				return
			}
		}
	}

	_, err = db.AddSubscription(w.token, skuE1, 1)
	must(err)
	w.u1, w.u2 = user(w.token, "u1@contoso.com"), user(w.token, "u2@contoso.com")
	c.set(daT0.Add(time.Minute))
	g, err := db.CreateGroup(w.account, allot.GroupCreate{DisplayName: "Sales", MailNickname: "sales", SecurityEnabled: true})
	must(err)
	w.g = g.ID
	must(db.AddMember(w.account, w.g, w.u1))
	must(db.AddMember(w.account, w.g, w.u2))
	c.set(daT0.Add(2 * time.Minute))
	_, err = db.AssignGroupLicense(w.token, w.g, lic(skuE1), []string{})
	must(err)
	drain() // one seat: u1's change succeeds, u2's fails
	c.set(daT0.Add(3 * time.Minute))
	must(db.RemoveMember(w.token, w.g, w.u2))
	drain()
	c.set(daT0.Add(4 * time.Minute))
	name := "Alice One"
	_, err = db.UpdateUser(w.account, w.u1, allot.UserUpdate{DisplayName: &name})
	must(err)
	// Written last, dated before most.
	c.set(daT0.Add(30 * time.Second))
	w.u3 = user(w.token, "u3@contoso.com")

	other := tenant("Fabrikam")
	octx := allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: other, Role: allot.RoleGlobalAdministrator, Name: "x", TokenID: w.tokenID})
	w.other = user(octx, "u1@fabrikam.com")
	p, err := db.Audit(octx, allot.AuditFilter{Top: 1})
	must(err)
	w.otherEntry = p.Items[0].ID
	return w
}

// list reads every page of f, Top at a time.
func (w *daWorld) list(t *testing.T, f allot.AuditFilter) []allot.AuditEntry {
	t.Helper()
	var out []allot.AuditEntry
	for i := 0; ; i++ {
		p, err := w.db.Audit(w.token, f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		out = append(out, p.Items...)
		if p.NextCursor == "" {
			return out
		}
		if len(p.Items) != f.Top || i > 100 {
			t.Fatalf("a page of %d before the last, or paging does not end", len(p.Items))
		}
		f.After = p.NextCursor
	}
}

func daIDs(es []allot.AuditEntry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func daCmp(prop, op string, v any) *allot.Compare {
	return &allot.Compare{Property: prop, Op: op, Value: v}
}

func daAny(cond allot.Expr) *allot.Any {
	return &allot.Any{Collection: "targetResources", Cond: cond}
}

// isMember reports whether e added or removed id as a member.
func daIsMember(e allot.AuditEntry, id string) bool {
	return (e.Activity == "Add member to group" || e.Activity == "Remove member from group") &&
		strings.Contains(e.Before+e.After, `"memberId":"`+id+`"`)
}

// TestDirectoryAuditOrder: by time, ties by id, newest or oldest first,
// each page after the last one's (time, id), whatever the page size; by
// id as before without ByTime.
func TestDirectoryAuditOrder(t *testing.T) {
	w := newDAWorld(t)
	all := w.list(t, allot.AuditFilter{ByTime: true, Top: 999})
	if len(all) < 15 {
		t.Fatalf("%d entries: the fixture is not what the test expects", len(all))
	}
	byTime := slices.Clone(all)
	slices.SortFunc(byTime, func(a, b allot.AuditEntry) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return int(b.ID - a.ID)
	})
	if !slices.Equal(daIDs(all), daIDs(byTime)) {
		t.Fatalf("not newest first by (time, id): %v", daIDs(all))
	}
	ties, outOfOrder := 0, false
	for i := 1; i < len(all); i++ {
		if all[i].Time.Equal(all[i-1].Time) {
			ties++
		}
		if all[i].ID > all[i-1].ID {
			outOfOrder = true
		}
	}
	if ties == 0 || !outOfOrder {
		t.Fatalf("the fixture needs entries sharing a time (%d) and ids out of time order (%v)", ties, outOfOrder)
	}
	asc := slices.Clone(all)
	slices.Reverse(asc)
	for _, top := range []int{1, 2, 3, 7} {
		if got := w.list(t, allot.AuditFilter{ByTime: true, Top: top}); !slices.Equal(daIDs(got), daIDs(all)) {
			t.Errorf("desc, %d a page: %v, want %v", top, daIDs(got), daIDs(all))
		}
		if got := w.list(t, allot.AuditFilter{ByTime: true, Ascending: true, Top: top}); !slices.Equal(daIDs(got), daIDs(asc)) {
			t.Errorf("asc, %d a page: %v, want %v", top, daIDs(got), daIDs(asc))
		}
	}
	ids := daIDs(all)
	slices.Sort(ids)
	if got := daIDs(w.list(t, allot.AuditFilter{Ascending: true, Top: 4})); !slices.Equal(got, ids) {
		t.Errorf("by id ascending: %v, want %v", got, ids)
	}
	slices.Reverse(ids)
	if got := daIDs(w.list(t, allot.AuditFilter{Top: 4})); !slices.Equal(got, ids) {
		t.Errorf("by id: %v, want %v", got, ids)
	}

	p, err := w.db.Audit(w.token, allot.AuditFilter{ByTime: true, Top: 2})
	if err != nil {
		t.Fatal(err)
	}
	// A cursor of one order is no cursor of the other.
	for _, f := range []allot.AuditFilter{
		{Top: 2, After: p.NextCursor},
		{ByTime: true, Top: 2, After: strings.Replace(p.NextCursor, " ", "x", 1)},
		{ByTime: true, Top: 2, After: "2026-03-01T10:00:00Z 5"},
		{ByTime: true, Top: 2, After: strconv.FormatInt(all[1].ID, 10)},
	} {
		if _, err := w.db.Audit(w.token, f); allot.ErrorCode(err) != allot.EINVALID {
			t.Errorf("cursor %q (by time %v): %v, want EINVALID", f.After, f.ByTime, err)
		}
	}
}

// TestDirectoryAuditFilter checks each translated condition against the
// same condition evaluated on every entry, on one page and paged.
func TestDirectoryAuditFilter(t *testing.T) {
	w := newDAWorld(t)
	all := w.list(t, allot.AuditFilter{ByTime: true, Top: 999})
	someID := all[len(all)/2].ID
	at := func(d time.Duration) time.Time { return daT0.Add(d) }
	cases := []struct {
		name  string
		x     allot.Expr
		want  func(e allot.AuditEntry) bool
		empty bool // no entry matches, as intended
	}{
		{"activity eq", daCmp("activityDisplayName", "eq", "Change user license"),
			func(e allot.AuditEntry) bool { return e.Activity == "Change user license" }, false},
		// The API gives known names their stored spelling; the store
		// compares as given, which its index serves.
		{"activity eq is exact", daCmp("activityDisplayName", "eq", "change user license"),
			func(e allot.AuditEntry) bool { return false }, true},
		{"activity startswith", daCmp("activityDisplayName", "startswith", "ADD "),
			func(e allot.AuditEntry) bool { return strings.HasPrefix(e.Activity, "Add ") }, false},
		{"activity in", daCmp("activityDisplayName", "in", []any{"Add user", "Add group"}),
			func(e allot.AuditEntry) bool { return e.Activity == "Add user" || e.Activity == "Add group" }, false},
		{"activity ne", daCmp("activityDisplayName", "ne", "Change user license"),
			func(e allot.AuditEntry) bool { return e.Activity != "Change user license" }, false},
		{"time ge", daCmp("activityDateTime", "ge", at(2*time.Minute)),
			func(e allot.AuditEntry) bool { return !e.Time.Before(at(2 * time.Minute)) }, false},
		{"time lt", daCmp("activityDateTime", "lt", at(time.Minute)),
			func(e allot.AuditEntry) bool { return e.Time.Before(at(time.Minute)) }, false},
		{"time eq", daCmp("activityDateTime", "eq", at(3*time.Minute)),
			func(e allot.AuditEntry) bool { return e.Time.Equal(at(3 * time.Minute)) }, false},
		{"time gt and le", &allot.And{Left: daCmp("activityDateTime", "gt", at(time.Minute)), Right: daCmp("activityDateTime", "le", at(3*time.Minute))},
			func(e allot.AuditEntry) bool {
				return e.Time.After(at(time.Minute)) && !e.Time.After(at(3*time.Minute))
			}, false},
		{"result eq", daCmp("result", "eq", "failure"),
			func(e allot.AuditEntry) bool { return e.Result == "failure" }, false},
		{"result ne", daCmp("result", "ne", "SUCCESS"),
			func(e allot.AuditEntry) bool { return e.Result != "success" }, false},
		{"user id", daCmp("initiatedBy/user/id", "eq", strings.ToUpper(w.accountID)),
			func(e allot.AuditEntry) bool { return e.ActorKind == allot.ActorAccount && e.ActorID == w.accountID }, false},
		{"user id null", daCmp("initiatedBy/user/id", "eq", nil),
			func(e allot.AuditEntry) bool { return e.ActorKind != allot.ActorAccount }, false},
		{"user id ne", daCmp("initiatedBy/user/id", "ne", w.accountID),
			func(e allot.AuditEntry) bool { return e.ActorKind != allot.ActorAccount }, false},
		{"user principal name startswith", daCmp("initiatedBy/user/userPrincipalName", "startswith", "ALICE@"),
			func(e allot.AuditEntry) bool { return e.ActorKind == allot.ActorAccount }, false},
		{"user display name", daCmp("initiatedBy/user/displayName", "eq", "Alice@Contoso.com"),
			func(e allot.AuditEntry) bool { return e.ActorKind == allot.ActorAccount }, false},
		// A token's id is its app's: no user.
		{"token id is no user id", daCmp("initiatedBy/user/id", "eq", w.tokenID),
			func(e allot.AuditEntry) bool { return false }, true},
		{"app id", daCmp("initiatedBy/app/appId", "eq", w.tokenID),
			func(e allot.AuditEntry) bool { return e.ActorKind == allot.ActorToken }, false},
		{"app id in", daCmp("initiatedBy/app/appId", "in", []any{"nope", w.tokenID}),
			func(e allot.AuditEntry) bool { return e.ActorKind == allot.ActorToken }, false},
		{"app id ne null", daCmp("initiatedBy/app/appId", "ne", nil),
			func(e allot.AuditEntry) bool { return e.ActorKind == allot.ActorToken }, false},
		{"target or member", daAny(daCmp("targetResources/id", "eq", w.u2)),
			func(e allot.AuditEntry) bool { return e.TargetID == w.u2 || daIsMember(e, w.u2) }, false},
		{"target in", daAny(daCmp("targetResources/id", "in", []any{strings.ToUpper(w.u1), w.g})),
			func(e allot.AuditEntry) bool { return e.TargetID == w.u1 || e.TargetID == w.g || daIsMember(e, w.u1) }, false},
		{"some target is not", daAny(&allot.Not{X: daCmp("targetResources/id", "eq", w.g)}),
			func(e allot.AuditEntry) bool {
				return e.TargetID != w.g || daIsMember(e, w.u1) || daIsMember(e, w.u2)
			}, false},
		{"no target is", &allot.Not{X: daAny(daCmp("targetResources/id", "eq", w.u1))},
			func(e allot.AuditEntry) bool { return e.TargetID != w.u1 && !daIsMember(e, w.u1) }, false},
		{"another tenant's user", daAny(daCmp("targetResources/id", "eq", w.other)),
			func(e allot.AuditEntry) bool { return false }, true},
		{"id", daCmp("id", "eq", strconv.FormatInt(someID, 10)),
			func(e allot.AuditEntry) bool { return e.ID == someID }, false},
		{"id in, not a number dropped", daCmp("id", "in", []any{"x", strconv.FormatInt(someID, 10)}),
			func(e allot.AuditEntry) bool { return e.ID == someID }, false},
		{"id not a number", daCmp("id", "eq", "abc"),
			func(e allot.AuditEntry) bool { return false }, true},
		{"id ne", daCmp("id", "ne", strconv.FormatInt(someID, 10)),
			func(e allot.AuditEntry) bool { return e.ID != someID }, false},
		{"another tenant's entry", daCmp("id", "eq", strconv.FormatInt(w.otherEntry, 10)),
			func(e allot.AuditEntry) bool { return false }, true},
		{"the license report's", &allot.And{Left: daCmp("activityDisplayName", "eq", "Change user license"), Right: daCmp("activityDateTime", "ge", at(3*time.Minute))},
			func(e allot.AuditEntry) bool {
				return e.Activity == "Change user license" && !e.Time.Before(at(3*time.Minute))
			}, false},
		{"or and not", &allot.Or{Left: daCmp("result", "eq", "failure"), Right: &allot.Not{X: daCmp("activityDisplayName", "startswith", "c")}},
			func(e allot.AuditEntry) bool { return e.Result == "failure" || !strings.HasPrefix(e.Activity, "C") }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want []int64
			for _, e := range all {
				if c.want(e) {
					want = append(want, e.ID)
				}
			}
			if (len(want) == 0) != c.empty || len(want) == len(all) {
				t.Fatalf("the case selects %d of %d entries: it tells nothing", len(want), len(all))
			}
			for _, top := range []int{999, 2} {
				if got := daIDs(w.list(t, allot.AuditFilter{ByTime: true, Top: top, Expr: c.x})); !slices.Equal(got, want) {
					t.Errorf("%d a page: %v, want %v", top, got, want)
				}
			}
		})
	}
}

func TestDirectoryAuditFilterRefused(t *testing.T) {
	w := newDAWorld(t)
	for _, c := range []struct {
		x    allot.Expr
		code string
	}{
		{daCmp("category", "eq", "UserManagement"), allot.EUNSUPPORTEDQUERY}, // the API's, derived from the activity
		{daCmp("activityDisplayName", "gt", "A"), allot.EUNSUPPORTEDQUERY},
		{daCmp("activityDateTime", "startswith", "2026"), allot.EUNSUPPORTEDQUERY},
		{daCmp("activityDateTime", "ge", nil), allot.EINVALID},
		{daCmp("initiatedBy/user/id", "startswith", "a"), allot.EUNSUPPORTEDQUERY},
		{daCmp("result", "eq", true), allot.EINVALID},
		{&allot.Any{Collection: "assignedLicenses", Cond: daCmp("assignedLicenses/skuId", "eq", skuE1)}, allot.EUNSUPPORTEDQUERY},
		{daAny(daCmp("targetResources/displayName", "eq", "Sales")), allot.EUNSUPPORTEDQUERY},
		{daAny(daCmp("targetResources/id", "startswith", "a")), allot.EUNSUPPORTEDQUERY},
		{&allot.AnyLicense{SkuID: skuE1}, allot.EUNSUPPORTEDQUERY},
		{daCmp("activityDisplayName", "eq", "a\x00b"), allot.EINVALID},
	} {
		_, err := w.db.Audit(w.token, allot.AuditFilter{ByTime: true, Top: 10, Expr: c.x})
		if allot.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", fmt.Sprint(c.x), err, c.code)
		}
	}
}
