package web_test

import (
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/web"
)

// Deleted users and Deleted groups: listed with the days left; a User
// Administrator restores a user (post, redirect, flash) and deletes a
// group for good after a confirmation; a Global Reader sees the lists
// without buttons and is refused the actions; a Group Administrator may
// act on groups but not on users.
func TestDeletedItemsPages(t *testing.T) {
	e := newEnv(t, web.Config{}, false)
	alice, marketing, sales := e.users["alice"], e.groups["Marketing"], e.groups["Sales"]
	if err := e.db.DeleteUser(e.ga, alice); err != nil {
		t.Fatal(err)
	}
	if err := e.db.DeleteGroup(e.ga, sales); err != nil {
		t.Fatal(err)
	}

	reader, readerToken := e.signIn(allot.RoleGlobalReader)
	p := reader.get("/users/deleted")
	if p.status != http.StatusOK {
		t.Fatalf("deleted users for a reader: %d", p.status)
	}
	wantIn(t, p, "Deleted users", "alice@contoso.example", `data-days-left="30"`, `href="/users/deleted"`)
	if strings.Contains(p.body, "/restore") || strings.Contains(p.body, "Delete permanently") {
		t.Fatal("a Global Reader sees the buttons")
	}
	if p := reader.post("/users/deleted/"+alice+"/restore", url.Values{"csrf_token": {readerToken}}); p.status != http.StatusForbidden {
		t.Fatalf("a reader's restore: %d", p.status)
	}
	if p := reader.get("/users/deleted/" + alice + "/purge"); p.status != http.StatusForbidden {
		t.Fatalf("a reader's purge dialog: %d", p.status)
	}

	groupAdmin, gaToken := e.signIn(allot.RoleGroupAdministrator)
	if p := groupAdmin.post("/users/deleted/"+alice+"/restore", url.Values{"csrf_token": {gaToken}}); p.status != http.StatusForbidden {
		t.Fatalf("a Group Administrator restoring a user: %d", p.status)
	}
	wantIn(t, groupAdmin.get("/groups/deleted"), "Deleted groups", ">Sales<", "/groups/deleted/"+sales+"/restore")
	// A group's id under Deleted users names nothing.
	userAdmin, token := e.signIn(allot.RoleUserAdministrator)
	if p := userAdmin.post("/users/deleted/"+sales+"/restore", url.Values{"csrf_token": {token}}); p.status != http.StatusSeeOther {
		t.Fatalf("restore of a group as a user: %d", p.status)
	} else {
		wantIn(t, userAdmin.get(p.header.Get("Location")), "no longer in deleted items")
	}
	if _, err := e.db.Group(e.ga, sales); allot.ErrorCode(err) != allot.ENOTFOUND {
		t.Fatalf("the group came back through Deleted users: %v", err)
	}

	// Restore: a redirect to the user's page with a flash; the user is
	// back in Marketing.
	p = userAdmin.post("/users/deleted/"+alice+"/restore", url.Values{"csrf_token": {token}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/users/"+alice {
		t.Fatalf("restore: %d %s", p.status, p.header.Get("Location"))
	}
	wantIn(t, userAdmin.follow(p), "Restored alice (alice@contoso.example)")
	m, err := e.db.Members(e.ga, marketing, false, allot.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	back := false
	for _, o := range m.Items {
		back = back || (o.User != nil && o.User.ID == alice)
	}
	if !back {
		t.Fatal("alice is not back in Marketing")
	}
	// Restoring it again says it is gone from the list.
	p = userAdmin.post("/users/deleted/"+alice+"/restore", url.Values{"csrf_token": {token}})
	wantIn(t, userAdmin.follow(p), "no longer in deleted items")

	// A refused restore (the name is taken) changes nothing and says why.
	if err := e.db.DeleteUser(e.ga, e.users["bob"]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateUser(e.ga, allot.UserCreate{UserPrincipalName: "bob@contoso.example", DisplayName: "new bob", AccountEnabled: true}); err != nil {
		t.Fatal(err)
	}
	p = userAdmin.post("/users/deleted/"+e.users["bob"]+"/restore", url.Values{"csrf_token": {token}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/users/deleted" {
		t.Fatalf("refused restore: %d %s", p.status, p.header.Get("Location"))
	}
	wantIn(t, userAdmin.follow(p), "cannot be restored", "bob@contoso.example")
	if _, err := e.db.DeletedItem(e.ga, e.users["bob"]); err != nil {
		t.Fatalf("the refused restore lost bob: %v", err)
	}

	// Delete permanently: the button opens a confirmation; a POST
	// without it only sends there; confirmed, the group is gone for good.
	p = userAdmin.get("/groups/deleted/" + sales + "/purge")
	wantIn(t, p, "Delete group permanently", "cannot be undone", `id="confirm-yes"`)
	p = userAdmin.post("/groups/deleted/"+sales+"/purge", url.Values{"csrf_token": {token}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/groups/deleted/"+sales+"/purge" {
		t.Fatalf("unconfirmed purge: %d %s", p.status, p.header.Get("Location"))
	}
	if _, err := e.db.DeletedItem(e.ga, sales); err != nil {
		t.Fatalf("an unconfirmed purge deleted: %v", err)
	}
	p = userAdmin.post("/groups/deleted/"+sales+"/purge", url.Values{"csrf_token": {token}, "confirm": {"1"}})
	wantIn(t, userAdmin.follow(p), "Deleted Sales permanently", "No deleted groups.")
	if _, err := e.db.DeletedItem(e.ga, sales); allot.ErrorCode(err) != allot.ENOTFOUND {
		t.Fatalf("purged group still kept: %v", err)
	}
	// Without the CSRF token nothing happens.
	if p := userAdmin.post("/users/deleted/"+e.users["bob"]+"/purge", url.Values{"confirm": {"1"}}); p.status != http.StatusForbidden {
		t.Fatalf("purge without a CSRF token: %d", p.status)
	}
}

// deletedForForm makes a user or group and deletes it, for a form of
// TestEveryPostRedirects to act on.
func deletedForForm(t *testing.T, e *env, kind string) string {
	t.Helper()
	// The subtest's own name, in letters and digits: one per case.
	name := "gone" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, path.Base(t.Name()))
	var id string
	if kind == allot.MemberUser {
		u, err := e.db.CreateUser(e.ga, allot.UserCreate{UserPrincipalName: strings.ToLower(name) + "@contoso.example", DisplayName: name, AccountEnabled: true})
		if err != nil {
			t.Fatal(err)
		}
		id = u.ID
		err = e.db.DeleteUser(e.ga, id)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	g, err := e.db.CreateGroup(e.ga, allot.GroupCreate{DisplayName: name, MailNickname: "gone", SecurityEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.DeleteGroup(e.ga, g.ID); err != nil {
		t.Fatal(err)
	}
	return g.ID
}
