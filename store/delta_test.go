package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/catalog"
	"github.com/allot-dev/allot/csvio"
	"github.com/allot-dev/allot/internal/testdb"
)

const deltaSKU = "18181a46-0d4e-45cd-891e-60aabd171b4e" // the demo catalog's STANDARDPACK

// deltaEnv is a store with one tenant and a clock the test moves: it
// ticks a millisecond per reading, and advance jumps it, so that what a
// round reports depends on nothing but the test.
type deltaEnv struct {
	t   *testing.T
	db  *DB
	ctx context.Context
	mu  sync.Mutex
	now time.Time
}

func newDeltaEnv(t *testing.T) *deltaEnv {
	t.Helper()
	e := &deltaEnv{t: t, now: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	db, err := Open(context.Background(), Config{DSN: testdb.DSN(t, true), Catalog: catalog.Demo(), Now: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	e.ctx = e.tenant("Contoso")
	return e
}

func (e *deltaEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(time.Millisecond)
	return e.now
}

func (e *deltaEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// tenant makes a tenant and returns its Global Administrator's context.
func (e *deltaEnv) tenant(name string) context.Context {
	e.t.Helper()
	op := allot.NewContextWithActor(context.Background(), allot.Actor{Operator: true})
	tn, err := e.db.CreateTenant(op, allot.Tenant{DisplayName: name, DefaultUsageLocation: "US"})
	e.must(err)
	return allot.NewContextWithActor(context.Background(), allot.Actor{TenantID: tn.ID, Role: allot.RoleGlobalAdministrator, Name: "admin"})
}

func (e *deltaEnv) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *deltaEnv) user(upn string) string {
	e.t.Helper()
	u, err := e.db.CreateUser(e.ctx, allot.UserCreate{UserPrincipalName: upn + "@contoso.example", DisplayName: upn, AccountEnabled: true})
	e.must(err)
	return u.ID
}

func (e *deltaEnv) group(nick string, members ...string) string {
	e.t.Helper()
	g, err := e.db.CreateGroup(e.ctx, allot.GroupCreate{DisplayName: nick, MailNickname: nick, SecurityEnabled: true})
	e.must(err)
	for _, m := range members {
		e.must(e.db.AddMember(e.ctx, g.ID, m))
	}
	return g.ID
}

func (e *deltaEnv) drain() {
	e.t.Helper()
	for range 1000 {
		n, err := e.db.ProcessBatch(context.Background(), 50)
		e.must(err)
		if n == 0 {
			return
		}
	}
	e.t.Fatal("the queue does not drain")
}

// users follows a users round from q to its end.
func (e *deltaEnv) users(q allot.DeltaQuery) (items []allot.DeltaItem[allot.User], next allot.DeltaRound, pages int) {
	e.t.Helper()
	for pages = 1; ; pages++ {
		p, err := e.db.UsersDelta(e.ctx, q)
		e.must(err)
		items = append(items, p.Items...)
		if !p.More {
			return items, p.Next, pages
		}
		if pages > 100 {
			e.t.Fatal("the round does not end")
		}
		q.DeltaRound = p.Next
	}
}

// groups follows a groups round from q to its end.
func (e *deltaEnv) groups(q allot.DeltaQuery) (pages [][]allot.DeltaItem[allot.Group], next allot.DeltaRound) {
	e.t.Helper()
	for {
		p, err := e.db.GroupsDelta(e.ctx, q)
		e.must(err)
		pages = append(pages, p.Items)
		if !p.More {
			return pages, p.Next
		}
		if len(pages) > 100 {
			e.t.Fatal("the round does not end")
		}
		q.DeltaRound = p.Next
	}
}

// summary writes items as sorted "id" (changed) and "-id" (deleted).
func summary[T any](items []allot.DeltaItem[T], name map[string]string) []string {
	var out []string
	for _, it := range items {
		n := name[it.ID]
		if n == "" {
			n = it.ID
		}
		if it.Object == nil {
			n = "-" + n
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// members writes a group's member changes as sorted "+name" and "-name".
func members(ms []allot.MemberDelta, name map[string]string) []string {
	var out []string
	for _, m := range ms {
		sign := "+"
		if m.Removed {
			sign = "-"
		}
		out = append(out, sign+name[m.ID]+":"+m.Kind)
	}
	sort.Strings(out)
	return out
}

// A round reports each source: new and changed users, users whose licenses
// changed (directly, through a group, and the last one taken away, which
// leaves no state row), and deleted users; a round with no change
// reports nothing.
func TestUsersDeltaSources(t *testing.T) {
	e := newDeltaEnv(t)
	_, err := e.db.AddSubscription(e.ctx, deltaSKU, 10)
	e.must(err)
	name := map[string]string{}
	id := func(n string) string { i := e.user(n); name[i] = n; return i }
	a, b, c, d := id("a"), id("b"), id("c"), id("d")
	_, err = e.db.AssignUserLicense(e.ctx, b, []allot.AssignedLicense{{SkuID: deltaSKU}}, nil)
	e.must(err)
	g := e.group("licensed", d)
	_, err = e.db.AssignGroupLicense(e.ctx, g, []allot.AssignedLicense{{SkuID: deltaSKU}}, nil)
	e.must(err)
	e.drain()
	e.advance(10 * time.Minute)

	items, next, pages := e.users(allot.DeltaQuery{Top: 3})
	if got := summary(items, name); pages != 2 || !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Fatalf("full round: %v in %d pages", got, pages)
	}
	if want := e.now.Add(-deltaWindow); !next.Since.Before(want.Add(time.Second)) || next.Since.Before(want.Add(-time.Second)) || !next.Until.IsZero() || next.After != "" {
		t.Fatalf("next round %+v, want it to start the window before now (%v)", next, want)
	}
	e.advance(10 * time.Minute)

	_, err = e.db.UpdateUser(e.ctx, a, allot.UserUpdate{DisplayName: ptr("A")})
	e.must(err)
	_, err = e.db.AssignUserLicense(e.ctx, c, []allot.AssignedLicense{{SkuID: deltaSKU}}, nil)
	e.must(err)
	_, err = e.db.AssignUserLicense(e.ctx, b, nil, []string{deltaSKU})
	e.must(err)
	e.must(e.db.RemoveMember(e.ctx, g, d))
	e.drain()
	id("f")
	gone := id("gone")
	e.must(e.db.DeleteUser(e.ctx, gone))
	e.advance(10 * time.Minute)

	withLicenses, later, _ := e.users(allot.DeltaQuery{DeltaRound: next, Top: 2, Licenses: true})
	if got, want := summary(withLicenses, name), []string{"-gone", "a", "b", "c", "d", "f"}; !slices.Equal(got, want) {
		t.Fatalf("with licenses: %v, want %v", got, want)
	}
	for _, it := range withLicenses {
		if it.ID == a && it.Object.DisplayName != "A" {
			t.Errorf("a as %q, not as it is now", it.Object.DisplayName)
		}
		if it.ID == c && (it.Object.AssignedLicenses != nil || it.Object.States != nil) {
			t.Errorf("licensing filled without WithLicensing: %+v", it.Object)
		}
	}
	without, _, _ := e.users(allot.DeltaQuery{DeltaRound: next})
	if got := summary(without, name); !slices.Equal(got, []string{"-gone", "a", "f"}) {
		t.Fatalf("without licenses: %v, want the changed, the new and the deleted", got)
	}

	licensed, _, _ := e.users(allot.DeltaQuery{DeltaRound: next, Licenses: true, WithLicensing: true})
	for _, it := range licensed {
		if it.ID == c && (len(it.Object.AssignedLicenses) != 1 || it.Object.AssignedLicenses[0].SkuID != deltaSKU) {
			t.Errorf("c's licenses %+v", it.Object.AssignedLicenses)
		}
	}

	if quiet, _, _ := e.users(allot.DeltaQuery{DeltaRound: later, Licenses: true}); len(quiet) != 0 {
		t.Fatalf("a round with no change: %v", summary(quiet, name))
	}
}

func ptr[T any](v T) *T { return &v }

// A change stamped before a round began but committed after the round
// read past its time (a slow transaction, another replica's clock) is in
// the next round: the window before each round's start. What changed in
// the window is reported by both rounds, and none after it.
func TestDeltaWindowCatchesLateCommits(t *testing.T) {
	e := newDeltaEnv(t)
	name := map[string]string{}
	early := e.user("early")
	name[early] = "early"
	e.advance(10 * time.Minute)
	items, next, _ := e.users(allot.DeltaQuery{})
	if got := summary(items, name); !slices.Equal(got, []string{"early"}) {
		t.Fatalf("full round %v", got)
	}
	// Committed now, stamped as if its transaction had read the clock 30 s
	// before the round began.
	e.advance(-30 * time.Second)
	late := e.user("late")
	name[late] = "late"
	e.advance(30 * time.Second)
	items, next, _ = e.users(allot.DeltaQuery{DeltaRound: next})
	if got := summary(items, name); !slices.Equal(got, []string{"late"}) {
		t.Fatalf("the round after: %v, want the late commit", got)
	}
	// Within the window of this round's start too: reported again.
	items, next, _ = e.users(allot.DeltaQuery{DeltaRound: next})
	if got := summary(items, name); !slices.Equal(got, []string{"late"}) {
		t.Fatalf("the round within the window: %v, want the change again", got)
	}
	e.advance(deltaWindow)
	items, next, _ = e.users(allot.DeltaQuery{DeltaRound: next})
	if got := summary(items, name); !slices.Equal(got, []string{"late"}) {
		t.Fatalf("the first round after the window: %v, want the change once more", got)
	}
	if items, _, _ = e.users(allot.DeltaQuery{DeltaRound: next}); len(items) != 0 {
		t.Fatalf("a round that began past the window: %v", summary(items, name))
	}
}

// Groups report their members: all of them in a full round, then the ones
// gained and lost, whichever way they left (removed, through the CSV
// import, or deleted), and not the ones that left and came back.
func TestGroupsDeltaMembers(t *testing.T) {
	e := newDeltaEnv(t)
	name := map[string]string{}
	user := func(n string) string { i := e.user(n); name[i] = n; return i }
	group := func(n string, ms ...string) string { i := e.group(n, ms...); name[i] = n; return i }
	u1, u2, u3, u5, u6, u7 := user("u1"), user("u2"), user("u3"), user("u5"), user("u6"), user("u7")
	h := group("h", u3)
	g := group("g", u1, u2, h, u7)
	group("l", u5, u6)
	k := group("k")
	e.advance(10 * time.Minute)

	pages, next := e.groups(allot.DeltaQuery{Members: true})
	full := map[string][]string{}
	for _, p := range pages {
		for _, it := range p {
			full[name[it.ID]] = append(full[name[it.ID]], members(it.Members, name)...)
		}
	}
	want := map[string][]string{"g": {"+h:group", "+u1:user", "+u2:user", "+u7:user"}, "h": {"+u3:user"}, "l": {"+u5:user", "+u6:user"}, "k": nil}
	if fmt.Sprint(full) != fmt.Sprint(want) {
		t.Fatalf("full round %v, want %v", full, want)
	}
	e.advance(10 * time.Minute)

	u4 := user("u4")
	e.must(e.db.AddMember(e.ctx, g, u4))
	e.must(e.db.RemoveMember(e.ctx, g, u2))
	e.must(e.db.RemoveMember(e.ctx, g, u7))
	e.must(e.db.AddMember(e.ctx, g, u7))
	e.must(e.db.DeleteUser(e.ctx, u1))
	e.must(e.db.DeleteGroup(e.ctx, h))
	_, err := e.db.ImportCSV(e.ctx, &csvio.Import{MembershipsFile: "memberships.csv", PruneMemberships: true,
		Memberships: []csvio.MembershipRow{{Line: 2, Group: "l", User: "u5@contoso.example"}}}, false)
	e.must(err)
	e.advance(10 * time.Minute)

	pages, later := e.groups(allot.DeltaQuery{DeltaRound: next, Members: true})
	got := map[string][]string{}
	for _, p := range pages {
		for _, it := range p {
			n := name[it.ID]
			if it.Object == nil {
				n = "-" + n
			}
			got[n] = append(got[n], members(it.Members, name)...)
		}
	}
	want = map[string][]string{"g": {"+u4:user", "+u7:user", "-h:group", "-u1:user", "-u2:user"}, "-h": nil, "l": {"-u6:user"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the changes %v, want %v", got, want)
	}

	// Members not asked for: a member's deletion changes no group.
	pages, _ = e.groups(allot.DeltaQuery{DeltaRound: next})
	for _, p := range pages {
		for _, it := range p {
			if it.Members != nil {
				t.Errorf("%s: members %v without Members", name[it.ID], it.Members)
			}
		}
	}

	// A group's licenses: only when they are asked for.
	e.advance(10 * time.Minute)
	_, err = e.db.AddSubscription(e.ctx, deltaSKU, 5)
	e.must(err)
	_, err = e.db.AssignGroupLicense(e.ctx, k, []allot.AssignedLicense{{SkuID: deltaSKU}}, nil)
	e.must(err)
	e.drain()
	e.advance(10 * time.Minute)
	for _, licenses := range []bool{true, false} {
		pages, _ = e.groups(allot.DeltaQuery{DeltaRound: later, Members: true, Licenses: licenses, WithLicensing: true})
		var seen []string
		for _, p := range pages {
			for _, it := range p {
				seen = append(seen, name[it.ID])
				if len(it.Object.AssignedLicenses) != 1 {
					t.Errorf("%s: licenses %v", name[it.ID], it.Object.AssignedLicenses)
				}
			}
		}
		if want := map[bool]int{true: 1, false: 0}[licenses]; len(seen) != want {
			t.Errorf("licenses %v: %v", licenses, seen)
		}
	}
}

// A group with more members than a page holds is spread over pages, each
// carrying the group; a member added while the round is read does not cut
// the group short.
func TestGroupsDeltaSplitsBigGroups(t *testing.T) {
	e := newDeltaEnv(t)
	var ms []string
	for i := range 25 {
		ms = append(ms, e.user(fmt.Sprintf("m%02d", i)))
	}
	big := e.group("big", ms...)
	small := e.group("small", ms[0])
	e.advance(10 * time.Minute)

	q := allot.DeltaQuery{Members: true, MaxMembers: 10}
	p, err := e.db.GroupsDelta(e.ctx, q)
	e.must(err)
	if !p.More || len(p.Items) != 1 || p.Items[0].ID != big || len(p.Items[0].Members) != 10 {
		t.Fatalf("first page: more %v, %d items", p.More, len(p.Items))
	}
	seen := map[string]int{}
	for _, m := range p.Items[0].Members {
		seen[m.ID]++
	}
	late := e.user("late")
	e.must(e.db.AddMember(e.ctx, big, late))
	q.DeltaRound = p.Next
	var bigPages, smallPages int
	for p.More {
		if p, err = e.db.GroupsDelta(e.ctx, q); err != nil {
			t.Fatal(err)
		}
		q.DeltaRound = p.Next
		for _, it := range p.Items {
			switch it.ID {
			case big:
				bigPages++
				for _, m := range it.Members {
					seen[m.ID]++
				}
			case small:
				smallPages++
			}
		}
		if len(p.Items) > 0 && p.Items[0].ID == big && len(p.Items[0].Members) > 10 {
			t.Fatalf("a page with %d members", len(p.Items[0].Members))
		}
	}
	for _, m := range ms {
		if seen[m] != 1 {
			t.Errorf("member %s reported %d times", m, seen[m])
		}
	}
	if bigPages != 2 || smallPages != 1 {
		t.Errorf("big on %d more pages, small on %d", bigPages, smallPages)
	}
	// The member added while the round was read is the next round's.
	e.advance(10 * time.Minute)
	pages, _ := e.groups(allot.DeltaQuery{DeltaRound: q.DeltaRound, Members: true})
	if len(pages) != 1 || len(pages[0]) != 1 || len(pages[0][0].Members) != 1 || pages[0][0].Members[0].ID != late {
		t.Fatalf("the next round: %+v", pages)
	}
}

// What a round's state holds comes back from the client: a cursor the store
// did not write, times it could not have issued, or a round older than
// tombstones are kept is refused; an old round is expired, the rest invalid.
func TestDeltaRoundValidation(t *testing.T) {
	e := newDeltaEnv(t)
	e.user("a")
	e.user("b")
	p, err := e.db.UsersDelta(e.ctx, allot.DeltaQuery{Top: 1})
	e.must(err)
	if !p.More {
		t.Fatal("one user a page: the first page is not the last")
	}
	r := p.Next
	now := e.now
	for name, bad := range map[string]allot.DeltaRound{
		"cursor without a round":   {Since: r.Since, After: r.After},
		"future round":             {Since: r.Since, Until: now.Add(time.Hour), After: r.After},
		"future watermark":         {Since: now.Add(time.Hour)},
		"watermark after start":    {Since: r.Until.Add(time.Second), Until: r.Until},
		"cursor out of the round":  {Since: r.Until.Add(-time.Second), Until: r.Until, After: fmtTime(r.Until.Add(-time.Hour)) + "/" + strings.Split(r.After, "/")[1] + "/"},
		"cursor not the store's":   {Until: r.Until, After: "x"},
		"cursor with a bad time":   {Until: r.Until, After: "2026-03-01T08:00:00Z/" + strings.Split(r.After, "/")[1] + "/"},
		"cursor with a bad id":     {Until: r.Until, After: strings.Split(r.After, "/")[0] + "/ABCDEF00-0000-4000-8000-000000000000/"},
		"cursor with a bad member": {Until: r.Until, After: r.After + "x"},
		"cursor with more parts":   {Until: r.Until, After: r.After + "/"},
	} {
		if _, err := e.db.UsersDelta(e.ctx, allot.DeltaQuery{DeltaRound: bad}); allot.ErrorCode(err) != allot.EINVALID || errors.Is(err, allot.ErrDeltaExpired) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if _, err := e.db.UsersDelta(e.ctx, allot.DeltaQuery{DeltaRound: r}); err != nil {
		t.Fatalf("the round as issued: %v", err)
	}
	e.advance(deltaLifetime)
	for name, old := range map[string]allot.DeltaRound{"a full round begun": r, "a watermark": {Since: now}} {
		if _, err := e.db.UsersDelta(e.ctx, allot.DeltaQuery{DeltaRound: old}); !errors.Is(err, allot.ErrDeltaExpired) {
			t.Errorf("%s %v ago: %v, want expired", name, deltaLifetime, err)
		}
		if _, err := e.db.GroupsDelta(e.ctx, allot.DeltaQuery{DeltaRound: old}); !errors.Is(err, allot.ErrDeltaExpired) {
			t.Errorf("groups, %s %v ago: %v, want expired", name, deltaLifetime, err)
		}
	}
	// Latest starts from now, whatever the round's age.
	p, err = e.db.UsersDelta(e.ctx, allot.DeltaQuery{Latest: true})
	if err != nil || p.More || len(p.Items) != 0 || p.Next.Since.IsZero() {
		t.Fatalf("latest: %+v, %v", p, err)
	}
}

// Tombstones are pruned by the next deletion once no valid round can
// need them, in that tenant only; a round reads only its own tenant's.
func TestDeltaTombstonesPrunedPerTenant(t *testing.T) {
	e := newDeltaEnv(t)
	other := e.tenant("Fabrikam")
	count := func(ctx context.Context) int {
		a, _ := allot.ActorFromContext(ctx)
		var n int
		e.must(e.db.db.QueryRowContext(context.Background(), e.db.q(`SELECT COUNT(*) FROM delta_tombstones WHERE tenant_id = ?`), a.TenantID).Scan(&n))
		return n
	}
	old := e.user("old")
	e.group("g", old)
	mine, err := e.db.CreateUser(other, allot.UserCreate{UserPrincipalName: "mine@fabrikam.example", DisplayName: "mine"})
	e.must(err)
	e.must(e.db.DeleteUser(other, mine.ID))
	_, next, _ := e.users(allot.DeltaQuery{})
	e.advance(time.Hour)
	e.must(e.db.DeleteUser(e.ctx, old))
	if n := count(e.ctx); n != 2 {
		t.Fatalf("%d tombstones, want the user and its membership", n)
	}
	items, _, _ := e.users(allot.DeltaQuery{DeltaRound: next})
	if len(items) != 1 || items[0].ID != old || items[0].Object != nil {
		t.Fatalf("the round after the deletion: %+v (another tenant's deletion must not show)", items)
	}
	e.advance(deltaLifetime)
	e.must(e.db.DeleteUser(e.ctx, e.user("new")))
	if n := count(e.ctx); n != 1 {
		t.Fatalf("%d tombstones after the lifetime, want the new deletion's only", n)
	}
	if n := count(other); n != 1 {
		t.Fatalf("another tenant's tombstones: %d, want them left to its own deletions", n)
	}
}

// Pages merge the sources without skipping: a source that repeats one
// object (its licenses changed again and again) fills its share of a page
// with it, and the page must stop there rather than jump over that
// source's unread rows to another source's later ones.
func TestDeltaPagesMergeSources(t *testing.T) {
	e := newDeltaEnv(t)
	_, err := e.db.AddSubscription(e.ctx, deltaSKU, 10)
	e.must(err)
	name := map[string]string{}
	x, z := e.user("x"), e.user("z")
	name[x], name[z] = "x", "z"
	e.advance(10 * time.Minute)
	_, next, _ := e.users(allot.DeltaQuery{})
	e.advance(10 * time.Minute)
	for range 2 {
		_, err = e.db.AssignUserLicense(e.ctx, x, []allot.AssignedLicense{{SkuID: deltaSKU}}, nil)
		e.must(err)
		_, err = e.db.AssignUserLicense(e.ctx, x, nil, []string{deltaSKU})
		e.must(err)
	}
	_, err = e.db.AssignUserLicense(e.ctx, z, []allot.AssignedLicense{{SkuID: deltaSKU}}, nil)
	e.must(err)
	y := e.user("y")
	name[y] = "y"
	e.advance(10 * time.Minute)
	q := allot.DeltaQuery{DeltaRound: next, Top: 2, Licenses: true}
	var all []allot.DeltaItem[allot.User]
	for pages := 1; ; pages++ {
		p, err := e.db.UsersDelta(e.ctx, q)
		e.must(err)
		if len(p.Items) > 2 || pages > 10 {
			t.Fatalf("page %d: %d items", pages, len(p.Items))
		}
		all = append(all, p.Items...)
		if !p.More {
			break
		}
		q.DeltaRound = p.Next
	}
	seen := map[string]bool{}
	for _, it := range all {
		seen[name[it.ID]] = true
	}
	if len(seen) != 3 || !seen["x"] || !seen["y"] || !seen["z"] {
		t.Fatalf("round reported %v, want x, y and z", summary(all, name))
	}
}
