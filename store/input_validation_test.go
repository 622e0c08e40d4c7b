package store_test

// Input the store refuses by itself. The HTTP layer validates requests too;
// the store does not rely on it.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/store"
)

// Malformed, oversized, duplicate or dangling input to any store call is
// refused with a client error code, never an internal one, and changes
// nothing; a garbage paging cursor is not an error at all.
func TestBadInputIsNeverAnInternalError(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	e.sub(skuKiosk, 5)
	u := e.user("u@x", "", "u@x")
	g := e.group("G")
	e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	rvAssign(e, g.ID, lic(skuE1))
	e.drain(10)
	before := rvSnapshot(e, e.ctx)
	huge := strings.Repeat("a", 1<<20)
	bad := []string{allot.EINVALID, allot.ENOTFOUND, allot.ECONFLICT, allot.EUNSUPPORTEDQUERY}
	tooMany := make([]string, 21)
	for i := range tooMany {
		tooMany[i] = u.ID
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("a%d@x", i)
	}
	s := func(v string) *string { return &v }
	type call struct {
		what string
		f    func() error
	}
	calls := []call{
		{"User empty", func() error { _, err := e.db.User(e.ctx, ""); return err }},
		{"User huge", func() error { _, err := e.db.User(e.ctx, huge); return err }},
		{"CreateUser no UPN", func() error { _, err := e.db.CreateUser(e.ctx, allot.UserCreate{DisplayName: "x"}); return err }},
		{"CreateUser bad UPN", func() error {
			_, err := e.db.CreateUser(e.ctx, allot.UserCreate{UserPrincipalName: "nope", DisplayName: "x"})
			return err
		}},
		{"CreateUser huge UPN", func() error {
			_, err := e.db.CreateUser(e.ctx, allot.UserCreate{UserPrincipalName: huge + "@x", DisplayName: "x"})
			return err
		}},
		{"CreateUser dup UPN", func() error {
			_, err := e.db.CreateUser(e.ctx, allot.UserCreate{UserPrincipalName: "U@X", DisplayName: "x"})
			return err
		}},
		{"CreateUser dup id", func() error {
			_, err := e.db.CreateUser(e.ctx, allot.UserCreate{ID: strings.ToUpper(u.ID), UserPrincipalName: "z@x", DisplayName: "x"})
			return err
		}},
		{"CreateUser no name", func() error { _, err := e.db.CreateUser(e.ctx, allot.UserCreate{UserPrincipalName: "z@x"}); return err }},
		{"CreateUser bad location", func() error {
			_, err := e.db.CreateUser(e.ctx, allot.UserCreate{UserPrincipalName: "z@x", DisplayName: "z", UsageLocation: "USA"})
			return err
		}},
		{"CreateUser bad proxy", func() error {
			_, err := e.db.CreateUser(e.ctx, allot.UserCreate{UserPrincipalName: "z@x", DisplayName: "z", ProxyAddresses: []string{"smtp:"}})
			return err
		}},
		{"CreateUser huge proxy", func() error {
			_, err := e.db.CreateUser(e.ctx, allot.UserCreate{UserPrincipalName: "z@x", DisplayName: "z", ProxyAddresses: []string{huge + "@x"}})
			return err
		}},
		{"CreateUser 101 proxies", func() error {
			_, err := e.db.CreateUser(e.ctx, allot.UserCreate{UserPrincipalName: "z@x", DisplayName: "z", ProxyAddresses: many})
			return err
		}},
		{"UpdateUser missing", func() error {
			_, err := e.db.UpdateUser(e.ctx, "nobody", allot.UserUpdate{DisplayName: s("x")})
			return err
		}},
		{"UpdateUser bad location", func() error {
			_, err := e.db.UpdateUser(e.ctx, u.ID, allot.UserUpdate{UsageLocation: s("1X")})
			return err
		}},
		{"UpdateUser empty name", func() error {
			_, err := e.db.UpdateUser(e.ctx, u.ID, allot.UserUpdate{DisplayName: s(" ")})
			return err
		}},
		{"UpdateUser bad UPN", func() error {
			_, err := e.db.UpdateUser(e.ctx, u.ID, allot.UserUpdate{UserPrincipalName: s("@")})
			return err
		}},
		{"UpdateUser bad proxy", func() error {
			p := []string{"no-at"}
			_, err := e.db.UpdateUser(e.ctx, u.ID, allot.UserUpdate{ProxyAddresses: &p})
			return err
		}},
		{"DeleteUser missing", func() error { return e.db.DeleteUser(e.ctx, "nobody") }},
		{"Assign unknown sku", func() error {
			_, err := e.db.AssignUserLicense(e.ctx, u.ID, lic("not-a-guid"), nil)
			return err
		}},
		{"Assign sku twice", func() error {
			_, err := e.db.AssignUserLicense(e.ctx, u.ID, append(lic(skuKiosk), lic(skuKiosk)...), nil)
			return err
		}},
		{"Assign add and remove", func() error {
			_, err := e.db.AssignUserLicense(e.ctx, u.ID, lic(skuKiosk), []string{skuKiosk})
			return err
		}},
		{"Assign remove twice", func() error {
			_, err := e.db.AssignUserLicense(e.ctx, u.ID, nil, []string{skuKiosk, skuKiosk})
			return err
		}},
		{"Assign huge disabled list", func() error {
			_, err := e.db.AssignUserLicense(e.ctx, u.ID, lic(skuKiosk, many...), nil)
			return err
		}},
		{"Assign missing user", func() error { _, err := e.db.AssignUserLicense(e.ctx, "nobody", lic(skuKiosk), nil); return err }},
		{"Group assign unknown sku", func() error { _, err := e.db.AssignGroupLicense(e.ctx, g.ID, lic(huge), nil); return err }},
		{"Group assign conflicting", func() error { _, err := e.db.AssignGroupLicense(e.ctx, g.ID, lic(skuKiosk), nil); return err }},
		{"Group assign remove unassigned", func() error { _, err := e.db.AssignGroupLicense(e.ctx, g.ID, nil, []string{skuKiosk}); return err }},
		{"Group assign missing group", func() error { _, err := e.db.AssignGroupLicense(e.ctx, "nope", lic(skuE1), nil); return err }},
		{"AssignGroupsLicense none", func() error { return e.db.AssignGroupsLicense(e.ctx, nil, lic(skuE1)[0]) }},
		{"AssignGroupsLicense 21", func() error { return e.db.AssignGroupsLicense(e.ctx, tooMany, lic(skuE1)[0]) }},
		{"AssignGroupsLicense bad sku", func() error { return e.db.AssignGroupsLicense(e.ctx, []string{g.ID}, lic("x")[0]) }},
		{"ReprocessUsers 21", func() error { return e.db.ReprocessUsers(e.ctx, tooMany) }},
		{"ReprocessUsers missing", func() error { return e.db.ReprocessUsers(e.ctx, []string{u.ID, huge}) }},
		{"ReprocessGroup missing", func() error { return e.db.ReprocessGroup(e.ctx, huge) }},
		{"AddSubscription unknown", func() error { _, err := e.db.AddSubscription(e.ctx, "x", 1); return err }},
		{"AddSubscription negative", func() error { _, err := e.db.AddSubscription(e.ctx, skuE3, -1); return err }},
		{"AddSubscription huge", func() error { _, err := e.db.AddSubscription(e.ctx, skuE3, 1<<40); return err }},
		{"AddSubscription twice", func() error { _, err := e.db.AddSubscription(e.ctx, skuE1, 1); return err }},
		{"SetSeats negative", func() error { _, err := e.db.SetSeats(e.ctx, skuE1, -1); return err }},
		{"SetSeats huge", func() error { _, err := e.db.SetSeats(e.ctx, skuE1, 1<<40); return err }},
		{"SetSeats unknown", func() error { _, err := e.db.SetSeats(e.ctx, skuE3, 3); return err }},
		{"Purchase zero", func() error { _, err := e.db.Purchase(e.ctx, skuE1, 0, nil); return err }},
		{"Purchase overflow", func() error { _, err := e.db.Purchase(e.ctx, skuE1, store.MaxSeats, nil); return err }},
		{"Purchase 21 users", func() error { _, err := e.db.Purchase(e.ctx, skuE1, 1, tooMany); return err }},
		{"Purchase missing user", func() error { _, err := e.db.Purchase(e.ctx, skuE1, 1, []string{"nobody"}); return err }},
		{"UpdateTenant bad location", func() error { _, err := e.db.UpdateTenant(e.ctx, s("U1"), nil); return err }},
		{"UpdateTenant unknown country", func() error { _, err := e.db.UpdateTenant(e.ctx, s("XX"), nil); return err }},
		{"UpdateTenant empty name", func() error { _, err := e.db.UpdateTenant(e.ctx, nil, s("")); return err }},
		{"CreateGroup no name", func() error { _, err := e.db.CreateGroup(e.ctx, allot.GroupCreate{}); return err }},
		{"CreateGroup bad type", func() error {
			_, err := e.db.CreateGroup(e.ctx, allot.GroupCreate{DisplayName: "x", GroupTypes: []string{"Bogus"}})
			return err
		}},
		{"CreateGroup dup id", func() error {
			_, err := e.db.CreateGroup(e.ctx, allot.GroupCreate{ID: g.ID, DisplayName: "x"})
			return err
		}},
		{"CreateGroup bad proxy", func() error {
			_, err := e.db.CreateGroup(e.ctx, allot.GroupCreate{DisplayName: "x", ProxyAddresses: []string{"a b@x"}})
			return err
		}},
		{"UpdateGroup empty name", func() error {
			_, err := e.db.UpdateGroup(e.ctx, g.ID, allot.GroupUpdate{DisplayName: s("")})
			return err
		}},
		{"UpdateGroup missing", func() error {
			_, err := e.db.UpdateGroup(e.ctx, "x", allot.GroupUpdate{DisplayName: s("y")})
			return err
		}},
		{"DeleteGroup missing", func() error { return e.db.DeleteGroup(e.ctx, huge) }},
		{"AddMember missing group", func() error { return e.db.AddMember(e.ctx, "x", u.ID) }},
		{"AddMember missing member", func() error { return e.db.AddMember(e.ctx, g.ID, "x") }},
		{"AddMember self", func() error { return e.db.AddMember(e.ctx, g.ID, g.ID) }},
		{"AddMember twice", func() error { return e.db.AddMember(e.ctx, g.ID, u.ID) }},
		{"RemoveMember not a member", func() error { return e.db.RemoveMember(e.ctx, g.ID, g.ID) }},
		{"Members missing", func() error { _, err := e.db.Members(e.ctx, "x", false, allot.ListOptions{}); return err }},
		{"ListUsers unknown property", func() error {
			_, err := e.db.ListUsers(e.ctx, allot.ListOptions{Filter: &allot.Compare{Property: "bogus", Op: "eq", Value: "x"}})
			return err
		}},
		{"ListUsers bool on string", func() error {
			_, err := e.db.ListUsers(e.ctx, allot.ListOptions{Filter: &allot.Compare{Property: "displayName", Op: "eq", Value: true}})
			return err
		}},
		{"ListUsers number", func() error {
			_, err := e.db.ListUsers(e.ctx, allot.ListOptions{Filter: &allot.Compare{Property: "displayName", Op: "eq", Value: 3}})
			return err
		}},
		{"ListGroups computed with string", func() error {
			_, err := e.db.ListGroups(e.ctx, allot.ListOptions{Filter: &allot.Compare{Property: "hasMembersWithLicenseErrors", Op: "eq", Value: "x"}})
			return err
		}},
		{"Members filter unknown", func() error {
			_, err := e.db.Members(e.ctx, g.ID, false, allot.ListOptions{Filter: &allot.Compare{Property: "bogus", Op: "eq", Value: "x"}})
			return err
		}},
		{"Audit bad cursor", func() error { _, err := e.db.Audit(e.ctx, allot.AuditFilter{After: "x"}); return err }},
		{"CreateToken bad role", func() error { _, _, err := e.db.CreateToken(e.ctx, "", "Bogus", "", 0); return err }},
		{"CreateToken negative ttl", func() error {
			_, _, err := e.db.CreateToken(e.ctx, "", allot.RoleGlobalReader, "", -time.Second)
			return err
		}},
		{"RevokeToken missing", func() error { return e.db.RevokeToken(e.ctx, huge) }},
		{"ReplaceCatalog nil", func() error { return e.db.ReplaceCatalog(e.ctx, nil) }},
		{"Subscription missing", func() error { _, err := e.db.Subscription(e.ctx, huge); return err }},
		{"LicenseDetails missing", func() error { _, err := e.db.LicenseDetails(e.ctx, "x"); return err }},
		{"AssignedPlans missing", func() error { _, err := e.db.AssignedPlans(e.ctx, "x"); return err }},
		{"MemberOf missing", func() error { _, err := e.db.MemberOf(e.ctx, "x", true, allot.ListOptions{}); return err }},
	}
	for _, c := range calls {
		rvCode(t, c.what, c.f(), bad...)
	}
	// Paging with a garbage cursor is not an error, but must not fail inside.
	for _, opt := range []allot.ListOptions{{After: huge}, {After: "\x00\x00", OrderBy: "displayName"}, {Top: -5}, {Top: 1 << 30}, {Search: "%_\\"}} {
		if _, err := e.db.ListUsers(e.ctx, opt); allot.ErrorCode(err) == allot.EINTERNAL {
			t.Errorf("ListUsers %+v: %v", opt, err)
		}
		if _, err := e.db.ListGroups(e.ctx, opt); allot.ErrorCode(err) == allot.EINTERNAL {
			t.Errorf("ListGroups %+v: %v", opt, err)
		}
		if _, err := e.db.Members(e.ctx, g.ID, true, opt); allot.ErrorCode(err) == allot.EINTERNAL {
			t.Errorf("Members %+v: %v", opt, err)
		}
	}
	e.drain(10)
	if after := rvSnapshot(e, e.ctx); after != before {
		t.Fatalf("bad input changed something:\n%s\n---\n%s", before, after)
	}
	e.check()
}

// The store refuses a user or group id that is not a GUID and an unbounded
// displayName, as defence in depth: the HTTP layer checks GUIDs too
// (docs/ARCHITECTURE.md).
func TestStoreRejectsMalformedIDsAndOversizedText(t *testing.T) {
	e := newEnv(t, "US")
	_, err := e.db.CreateUser(e.ctx, allot.UserCreate{ID: "not-a-guid", UserPrincipalName: "a@x", DisplayName: "a"})
	rvCode(t, "user id not a GUID", err, allot.EINVALID)
	_, err = e.db.CreateGroup(e.ctx, allot.GroupCreate{ID: "b@x", DisplayName: "b"})
	rvCode(t, "group id not a GUID", err, allot.EINVALID)
	_, err = e.db.CreateUser(e.ctx, allot.UserCreate{UserPrincipalName: "c@x", DisplayName: strings.Repeat("c", 1<<20)})
	rvCode(t, "1 MiB displayName", err, allot.EINVALID)
}

// Users and groups share one id space, as Graph directory objects do: a
// group cannot take a user's id, nor a user a group's (docs/RULES.md §1).
// The store's deletes match on the bare id, so a clashing DeleteGroup would
// remove the user's memberships and addresses and leave states without a
// source and a seat counted for nothing.
func TestUserAndGroupIDsDoNotCollide(t *testing.T) {
	e := newEnv(t, "US")
	e.sub(skuE1, 5)
	g := e.group("G")
	u := e.user("u@x", "", "u@x")
	e.must(e.db.AddMember(e.ctx, g.ID, u.ID))
	rvAssign(e, g.ID, lic(skuE1))
	e.drain(10)
	e.check()
	clash, err := e.db.CreateGroup(e.ctx, allot.GroupCreate{ID: u.ID, DisplayName: "Clash", SecurityEnabled: true})
	if err == nil {
		t.Errorf("CreateGroup accepted the id of an existing user")
		e.must(e.db.DeleteGroup(e.ctx, clash.ID))
		e.drain(10)
		v, err := e.db.Check(context.Background())
		e.must(err)
		for _, x := range v {
			t.Errorf("after deleting the clashing group: invariant %s: %s", x.Rule, x.Detail)
		}
	} else {
		rvCode(t, "group with a user's id", err, allot.ECONFLICT, allot.EINVALID)
	}
	_, err = e.db.CreateUser(e.ctx, allot.UserCreate{ID: g.ID, UserPrincipalName: "g@x", DisplayName: "g"})
	rvCode(t, "user with a group's id", err, allot.ECONFLICT, allot.EINVALID)
}
