package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/web"
)

// TestAssignPanelPreview: the Preview button of the Assign licenses panel
// shows the licenses the assignment would use and who would go into error,
// assigns nothing, needs the CSRF token and the right to assign; Assign
// then does what was shown.
func TestAssignPanelPreview(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	b, token := e.signIn(allot.RoleLicenseAdministrator)
	panel := groupsTab() + "/assign"
	wantIn(t, b.get(panel), `id="assign-preview-button"`, `id="assign"`)

	form := func(action, token string) url.Values {
		f := assignForm(token, e.groups["Marketing"])
		f.Set("action", action)
		return f
	}
	// Preview is a GET of the panel with the form in the query.
	wantIn(t, b.get(panel), `name="preview" value="1" formmethod="get"`)
	query := func(f url.Values) string {
		f.Del("csrf_token")
		f.Del("action")
		f.Set("preview", "1")
		return panel + "?" + f.Encode()
	}
	p := b.get(query(form("preview", token)))
	if p.status != http.StatusOK {
		t.Fatalf("preview: %d %s", p.status, p.body)
	}
	// Marketing: alice (US), bob (no location, and the tenant has no
	// default), carol (GB); E1 has 2 licenses.
	wantIn(t, p, `id="assign-preview"`, "Nothing has been assigned yet", "0 → 2 of 2", `data-delta="2"`,
		"3 users would change: 2 licenses assigned, 0 removed, <strong>1 going into error</strong>")
	rows := p.body[strings.Index(p.body, `id="preview-users"`):]
	bob := rows[strings.Index(rows, "bob@contoso.example"):]
	bob = bob[:strings.Index(bob, "</tr>")]
	if !strings.Contains(bob, "(Marketing)") || strings.Contains(rows[:strings.Index(rows, "bob@")], "Marketing)") {
		t.Fatalf("bob's row should be the one in error: %s", rows)
	}
	if e.assigned(e.groups["Marketing"]) {
		t.Fatal("the preview assigned the product")
	}
	if sub, err := e.db.Subscription(e.ga, skuE1); err != nil || sub.ConsumedUnits != 0 {
		t.Fatalf("after a preview: %+v %v", sub, err)
	}

	// A posted Preview (a page drawn before) goes to the GET; without
	// the token, refused.
	if p := b.post(panel, form("preview", token)); p.status != http.StatusSeeOther || !strings.Contains(b.follow(p).body, `id="assign-preview"`) {
		t.Fatalf("a posted preview: %d", p.status)
	}
	if p := b.post(panel, form("preview", "")); p.status != http.StatusForbidden || strings.Contains(p.body, `id="assign-preview"`) {
		t.Fatalf("without CSRF: %d", p.status)
	}
	// A role that cannot assign: refused, nothing shown.
	rb, _ := e.signIn(allot.RoleGlobalReader)
	if p := rb.get(query(form("preview", ""))); p.status != http.StatusForbidden || strings.Contains(p.body, `id="assign-preview"`) {
		t.Fatalf("a Global Reader previewing: %d", p.status)
	}
	// Nothing selected: said so.
	empty := form("preview", token)
	empty.Del("group")
	wantIn(t, b.get(query(empty)), "Select at least one group")

	// Assign does what the preview showed.
	if p := b.post(panel, form("assign", token)); p.status != http.StatusSeeOther {
		t.Fatalf("assign: %d %s", p.status, p.body)
	}
	e.drain()
	errs := 0
	for name, id := range e.users {
		u, err := e.db.User(e.ga, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(u.States) != 1 {
			t.Fatalf("%s: %+v", name, u.States)
		}
		if u.States[0].State == allot.StateError {
			errs++
			if name != "bob" {
				t.Fatalf("%s is in error, the preview said bob", name)
			}
		}
	}
	if sub, err := e.db.Subscription(e.ga, skuE1); err != nil || sub.ConsumedUnits != 2 || errs != 1 {
		t.Fatalf("after assigning: %+v %v, %d in error", sub, err, errs)
	}
}
