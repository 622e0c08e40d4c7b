package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/web"
)

// TestAssignIncludeNestedGroups: the Assign licenses panel's "Include
// nested groups" box licenses the members of groups nested in the selected
// groups; unticked, they get nothing; a reader cannot assign.
func TestAssignIncludeNestedGroups(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	if err := e.db.AddMember(e.ga, e.groups["Sales"], e.groups["Marketing"]); err != nil {
		t.Fatal(err)
	}
	alice := func() []allot.LicenseState {
		t.Helper()
		u, err := e.db.User(e.ga, e.users["alice"])
		if err != nil {
			t.Fatal(err)
		}
		return u.States
	}

	reader, rtoken := e.signIn(allot.RoleGlobalReader)
	f := assignForm(rtoken, e.groups["Sales"])
	f.Set("include_nested", "1")
	if p := reader.post(groupsTab()+"/assign", f); p.status != http.StatusForbidden || e.assigned(e.groups["Sales"]) {
		t.Fatalf("a Global Reader assigning: status %d", p.status)
	}

	b, token := e.signIn(allot.RoleLicenseAdministrator)
	wantIn(t, b.get(groupsTab()+"/assign"), `name="include_nested" value="1" id="include-nested"`, "Include nested groups")

	// Unticked: the reference's behaviour, direct members only.
	p := b.follow(b.post(groupsTab()+"/assign", assignForm(token, e.groups["Sales"])))
	wantIn(t, p, "Office 365 E1 is assigned to 1 group: Sales.")
	e.drain()
	if st := alice(); len(st) != 0 {
		t.Fatalf("without the box a nested member got %+v", st)
	}

	f = assignForm(token, e.groups["Sales"])
	f.Set("include_nested", "1")
	p = b.follow(b.post(groupsTab()+"/assign", f))
	wantIn(t, p, "Members of groups nested in them (up to 5 levels) get it too.")
	e.drain()
	st := alice()
	if len(st) != 1 || st[0].Source != e.groups["Sales"] || st[0].SkuID != skuE1 || st[0].State != allot.StateActive {
		t.Fatalf("with the box: %+v", st)
	}

	// A refused form keeps the box as it was.
	f = url.Values{"csrf_token": {token}, "action": {"assign"}, "include_nested": {"1"}}
	wantIn(t, b.follow(b.post(groupsTab()+"/assign", f)), `id="include-nested" checked`, "Select at least one group")
}
