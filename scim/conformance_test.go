package scim_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// The identity providers' own documentation of their requests, replayed
// in order through the real handler: the request bodies are the guides'
// (short JSON, ids replaced by the ones Allot assigned), and the checks are
// what the guides' responses show.

// testClock is the store's clock in these tests, so that meta's times are
// known: it moves only when told.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 27, 19, 59, 26, 0, time.UTC)}
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// tick moves the clock a minute on and returns the new time.
func (c *testClock) tick() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Minute)
	return c.t
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func obj(m map[string]any, key string) map[string]any {
	v, _ := m[key].(map[string]any)
	return v
}

func first(m map[string]any, key string) map[string]any {
	l, _ := m[key].([]any)
	if len(l) == 0 {
		return nil
	}
	v, _ := l[0].(map[string]any)
	return v
}

// wantMeta checks a resource's meta (RFC 7643 §3.1): its type, its times
// in UTC, and a weak version.
func wantMeta(t *testing.T, res map[string]any, typ string, created, modified time.Time) {
	t.Helper()
	m := obj(res, "meta")
	v, _ := m["version"].(string)
	if m["resourceType"] != typ || m["created"] != stamp(created) || m["lastModified"] != stamp(modified) || len(v) < 5 || v[:3] != `W/"` {
		t.Fatalf("meta %v, want %s created %s, lastModified %s and a weak version", m, typ, stamp(created), stamp(modified))
	}
}

// scimH is scim with the response's headers.
func (w *world) scimH(method, path, body string, want int) (map[string]any, http.Header) {
	w.t.Helper()
	h, m := w.call(w.token, method, "/scim/v2"+path, body, want)
	return m, h
}

// TestEntraTutorial replays the requests of Microsoft's "Tutorial: Develop
// and plan provisioning for a SCIM endpoint in Microsoft Entra ID",
// https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups
// (sections "User Operations", "Group Operations", and examples 2, 4 and 5
// of "Handling provisioning and deprovisioning of users"), in its order.
// Where Allot answers otherwise than the tutorial shows, the test says why.
func TestEntraTutorial(t *testing.T) {
	clk := newClock()
	w := newWorldAt(t, clk.now)
	t0 := clk.now()

	// Test Connection: a user that does not exist, matched by a random
	// GUID, is an empty ListResponse.
	m := w.scim("GET", "/Users?filter="+q(`userName eq "3f8d1c56-2f0e-4a43-9a35-3c1c86b1c8d5"`), "", 200)
	if m["totalResults"] != 0.0 || m["Resources"] == nil || len(resources(m)) != 0 {
		t.Fatalf("test connection: %v", m)
	}

	// Create User. The tutorial's userName is no userPrincipalName, which
	// Allot's userName is, so it gets a domain.
	upn := "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee@testuser.com"
	u, h := w.scimH("POST", "/Users", `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
		"userName": "`+upn+`",
		"active": true,
		"emails": [{"primary": true, "type": "work", "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"}],
		"meta": {"resourceType": "User"},
		"name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
		"roles": []}`, 201)
	uid, _ := u["id"].(string)
	name := obj(u, "name")
	email := first(u, "emails")
	if uid == "" || u["externalId"] != "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef" || u["userName"] != upn || u["active"] != true ||
		name["formatted"] != "givenName familyName" || name["familyName"] != "familyName" || name["givenName"] != "givenName" ||
		email["value"] != "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com" || email["type"] != "work" || email["primary"] != true {
		t.Fatalf("created user: %v", u)
	}
	wantMeta(t, u, "User", t0, t0)
	if h.Get("Etag") != obj(u, "meta")["version"] || h.Get("Location") != obj(u, "meta")["location"] {
		t.Fatalf("ETag %q and Location %q, meta %v", h.Get("Etag"), h.Get("Location"), obj(u, "meta"))
	}

	// Get User, and one that does not exist (only the status matters).
	u = w.scim("GET", "/Users/"+uid, "", 200)
	if u["id"] != uid || u["externalId"] != "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef" || obj(u, "name")["familyName"] != "familyName" {
		t.Fatalf("GET user: %v", u)
	}
	wantMeta(t, u, "User", t0, t0)
	w.scimErr("GET", "/Users/5171a35d-8207-4e06-8ce2-4c077cdd1a59", "", 404, "")

	// Get User by query, with meta on the list's entries; and zero results.
	m = w.scim("GET", "/Users?filter="+q(`userName eq "`+upn+`"`), "", 200)
	if rs := resources(m); m["totalResults"] != 1.0 || len(rs) != 1 || rs[0]["id"] != uid || m["startIndex"] != 1.0 {
		t.Fatalf("by query: %v", m)
	} else {
		wantMeta(t, rs[0], "User", t0, t0)
	}
	m = w.scim("GET", "/Users?filter="+q(`userName eq "non-existent user"`), "", 200)
	if m["totalResults"] != 0.0 || m["Resources"] == nil || len(resources(m)) != 0 {
		t.Fatalf("zero results: %v", m)
	}

	// Update User [Multi-valued properties]: 200 with the user.
	t1 := clk.tick()
	u = w.scim("PATCH", "/Users/"+uid, `{
		"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [
			{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
			{"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}]}`, 200)
	name = obj(u, "name")
	if first(u, "emails")["value"] != "updatedEmail@microsoft.com" || name["familyName"] != "updatedFamilyName" ||
		name["formatted"] != "givenName updatedFamilyName" || name["givenName"] != "givenName" {
		t.Fatalf("after the multi-valued update: %v", u)
	}
	wantMeta(t, u, "User", t0, t1)
	if au, _ := w.db.User(w.admin, uid); au.Mail != "updatedEmail@microsoft.com" || au.Profile.Surname != "updatedFamilyName" || au.Profile.GivenName != "givenName" {
		t.Fatalf("Allot user: %+v", au)
	}

	// Update User [Single-valued properties].
	u = w.scim("PATCH", "/Users/"+uid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [{"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}]}`, 200)
	if u["userName"] != "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com" {
		t.Fatalf("after the single-valued update: %v", u)
	}
	wantMeta(t, u, "User", t0, t1)
	// Not the tutorial's: a new externalId, which is kept beside the user,
	// is a new version though the user's last change stays.
	v1 := obj(u, "meta")["version"]
	u = w.scim("PATCH", "/Users/"+uid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [{"op": "Replace", "path": "externalId", "value": "6c75de36-30fa-4d2d-a196-6bdcdb6b6539"}]}`, 200)
	if wantMeta(t, u, "User", t0, t1); obj(u, "meta")["version"] == v1 {
		t.Fatalf("the same version after a new externalId: %v", obj(u, "meta"))
	}

	// Example 2: the manager-to-be, provisioned with nulls for what is
	// unmapped and the tutorial's misspelt extension URI in schemas.
	mgr := w.scim("POST", "/Users", `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
		"externalId": "jyoung", "userName": "jyoung@testuser.com", "active": true, "addresses": null,
		"displayName": "Joy Young", "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": true}],
		"meta": {"resourceType": "User"}, "name": {"familyName": "Young", "givenName": "Joy"},
		"phoneNumbers": null, "preferredLanguage": null, "title": null, "department": null, "manager": null}`, 201)
	mid := mgr["id"].(string)
	if mgr["displayName"] != "Joy Young" || obj(mgr, "name")["givenName"] != "Joy" || mgr["title"] != nil {
		t.Fatalf("example 2: %v", mgr)
	}
	// Example 4: is mid the user's manager? Allot keeps no manager, so
	// no. (The tutorial shows the query's parts; its filter combines them
	// with "and", and quotes the values as RFC 7644 requires.)
	m = w.scim("GET", "/Users?filter="+q(`id eq "`+uid+`" and manager eq "`+mid+`"`)+"&attributes=id", "", 200)
	if m["totalResults"] != 0.0 {
		t.Fatalf("example 4: %v", m)
	}
	// Example 5: the manager is set with the path "manager" and a list.
	before := w.lastAudit()
	w.scim("PATCH", "/Users/"+uid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [{"op": "Add", "path": "manager",
			"value": [{"$ref": "`+w.srv.URL+`/scim/v2/Users/`+mid+`", "value": "`+mid+`"}]}]}`, 200)
	if w.lastAudit() != before {
		t.Fatal("a manager, which Allot does not keep, changed the user")
	}

	// Disable User.
	u = w.scim("PATCH", "/Users/"+uid, `{"Operations": [{"op": "Replace", "path": "active", "value": false}],
		"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`, 200)
	if au, _ := w.db.User(w.admin, uid); u["active"] != false || au.AccountEnabled {
		t.Fatalf("disabled: %v", u)
	}

	// Create Group: an empty member list; the extra schema URI is Entra's.
	t2 := clk.tick()
	g, h := w.scimH("POST", "/Groups", `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
		"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName", "meta": {"resourceType": "Group"}}`, 201)
	gid, _ := g["id"].(string)
	if members, ok := g["members"].([]any); gid == "" || !ok || len(members) != 0 || g["externalId"] != "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159" || g["displayName"] != "displayName" {
		t.Fatalf("created group: %v", g)
	}
	wantMeta(t, g, "Group", t2, t2)
	if h.Get("Etag") != obj(g, "meta")["version"] {
		t.Fatalf("ETag %q, meta %v", h.Get("Etag"), obj(g, "meta"))
	}

	// Get Group, and Get Group by displayName, without members.
	g = w.scim("GET", "/Groups/"+gid+"?excludedAttributes=members", "", 200)
	if _, has := g["members"]; has || g["displayName"] != "displayName" {
		t.Fatalf("GET group: %v", g)
	}
	wantMeta(t, g, "Group", t2, t2)
	m = w.scim("GET", "/Groups?excludedAttributes=members&filter="+q(`displayName eq "displayName"`), "", 200)
	if rs := resources(m); len(rs) != 1 || rs[0]["id"] != gid || rs[0]["members"] != nil {
		t.Fatalf("group by displayName: %v", m)
	} else {
		wantMeta(t, rs[0], "Group", t2, t2)
	}

	// Update Group [Non-member attributes]. The tutorial answers 204; Allot
	// answers 200 with the group but not its members, which RFC 7644
	// §3.5.2 allows as well and the tutorial's advice (no member list in
	// a PATCH's answer) keeps.
	t3 := clk.tick()
	g = w.scim("PATCH", "/Groups/"+gid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [{"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]}`, 200)
	if _, has := g["members"]; has || g["displayName"] != "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName" {
		t.Fatalf("after the rename: %v", g)
	}
	wantMeta(t, g, "Group", t2, t3)

	// Update Group [Add Members]: a member's arrival is a change of the
	// group (meta.lastModified).
	t4 := clk.tick()
	g = w.scim("PATCH", "/Groups/"+gid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "`+uid+`"}, {"$ref": null, "value": "`+mid+`"}]}]}`, 200)
	if _, has := g["members"]; has {
		t.Fatalf("member list in a PATCH's answer: %v", g)
	}
	wantMeta(t, g, "Group", t2, t4)
	if got := w.members(gid); fmt.Sprint(got) != fmt.Sprint(sorted(uid, mid)) {
		t.Fatalf("members %v", got)
	}
	// The members when asked for.
	g = w.scim("GET", "/Groups/"+gid, "", 200)
	if ms, _ := g["members"].([]any); len(ms) != 2 {
		t.Fatalf("GET group with members: %v", g)
	}

	// Update Group [Remove Members].
	t5 := clk.tick()
	g = w.scim("PATCH", "/Groups/"+gid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "`+uid+`"}]}]}`, 200)
	wantMeta(t, g, "Group", t2, t5)
	if got := w.members(gid); fmt.Sprint(got) != fmt.Sprint([]string{mid}) {
		t.Fatalf("members after the removal: %v", got)
	}

	// Delete Group, Delete User.
	w.scim("DELETE", "/Groups/"+gid, "", 204)
	w.scimErr("GET", "/Groups/"+gid, "", 404, "")
	w.scim("DELETE", "/Users/"+uid, "", 204)
	w.scimErr("GET", "/Users/"+uid, "", 404, "")
}

// TestOktaGuide replays the requests of Okta's SCIM 2.0 reference, "Okta
// and SCIM Version 2.0",
// https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20
// (in okta/okta-developer-docs, docs/reference/scim/scim-20), in its order:
// user existence check, create, list, get, PUT, deactivation by PATCH,
// then Group Push: create, list, get, rename, membership changes, delete.
func TestOktaGuide(t *testing.T) {
	clk := newClock()
	w := newWorldAt(t, clk.now)
	t0 := clk.now()

	m := w.scim("GET", "/Users?filter="+q(`userName eq "test.user@okta.local"`)+"&startIndex=1&count=100", "", 200)
	if m["totalResults"] != 0.0 || m["startIndex"] != 1.0 || len(resources(m)) != 0 {
		t.Fatalf("user exists? %v", m)
	}
	u := w.scim("POST", "/Users", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
		"userName": "test.user@okta.local", "name": {"givenName": "Test", "familyName": "User"},
		"emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
		"displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
		"groups": [], "password": "1mz050nq", "active": true}`, 201)
	uid, _ := u["id"].(string)
	if uid == "" || u["userName"] != "test.user@okta.local" || u["displayName"] != "Test User" || u["externalId"] != "00ujl29u0le5T6Aj10h7" ||
		u["active"] != true || obj(u, "name")["givenName"] != "Test" || u["password"] != nil {
		t.Fatalf("created user: %v", u)
	}
	wantMeta(t, u, "User", t0, t0)
	// A second user, to be a member Okta removes.
	other := w.scim("POST", "/Users", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "other.user@okta.local",
		"name": {"givenName": "Other", "familyName": "User"}, "active": true}`, 201)["id"].(string)

	// Import: pages of count=100 with integer paging fields.
	m = w.scim("GET", "/Users?startIndex=1&count=100", "", 200)
	if _, isNumber := m["itemsPerPage"].(float64); m["totalResults"] != 2.0 || !isNumber || m["startIndex"] != 1.0 || len(resources(m)) != 2 {
		t.Fatalf("users page: %v", m)
	}
	for _, r := range resources(m) {
		wantMeta(t, r, "User", t0, t0)
	}
	u = w.scim("GET", "/Users/"+uid, "", 200)
	if u["userName"] != "test.user@okta.local" || first(u, "emails")["value"] != "test.user@okta.local" {
		t.Fatalf("GET user: %v", u)
	}

	// Update a specific User (PUT): the whole profile as Okta has it;
	// without a displayName, the name makes one (docs/SCIM.md).
	t1 := clk.tick()
	u = w.scim("PUT", "/Users/"+uid, `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
		"id": "`+uid+`", "userName": "test.user@okta.local",
		"name": {"givenName": "Another", "middleName": "Excited", "familyName": "User"},
		"emails": [{"primary": true, "value": "test.user@okta.local", "type": "work", "display": "test.user@okta.local"}],
		"active": true, "groups": [], "meta": {"resourceType": "User"}}`, 200)
	if obj(u, "name")["givenName"] != "Another" || obj(u, "name")["familyName"] != "User" || u["active"] != true {
		t.Fatalf("after PUT: %v", u)
	}
	wantMeta(t, u, "User", t0, t1)
	if au, _ := w.db.User(w.admin, uid); au.Profile.GivenName != "Another" || au.DisplayName != "Another User" {
		t.Fatalf("Allot user after PUT: %+v", au)
	}

	// Deactivation: PATCH without a path; 200 with the user.
	u = w.scim("PATCH", "/Users/"+uid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [{"op": "replace", "value": {"active": false}}]}`, 200)
	if u["active"] != false || u["userName"] != "test.user@okta.local" {
		t.Fatalf("deactivated: %v", u)
	}
	w.scim("PATCH", "/Users/"+uid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [{"op": "replace", "value": {"active": true}}]}`, 200)

	// Create Groups (Group Push): answered as a GET would be.
	t2 := clk.tick()
	g := w.scim("POST", "/Groups", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Test SCIMv2", "members": []}`, 201)
	gid, _ := g["id"].(string)
	if ms, ok := g["members"].([]any); gid == "" || g["displayName"] != "Test SCIMv2" || !ok || len(ms) != 0 {
		t.Fatalf("created group: %v", g)
	}
	wantMeta(t, g, "Group", t2, t2)
	m = w.scim("GET", "/Groups?startIndex=1&count=100", "", 200)
	if rs := resources(m); m["totalResults"] != 1.0 || len(rs) != 1 || rs[0]["id"] != gid {
		t.Fatalf("groups page: %v", m)
	} else {
		wantMeta(t, rs[0], "Group", t2, t2)
	}
	w.scim("GET", "/Groups/"+gid, "", 200)

	// Update a specific Group name: the id comes in the value.
	t3 := clk.tick()
	g = w.scim("PATCH", "/Groups/"+gid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [{"op": "replace", "value": {"id": "`+gid+`", "displayName": "Test SCIMv20"}}]}`, 200)
	if g["id"] != gid || g["displayName"] != "Test SCIMv20" {
		t.Fatalf("renamed group: %v", g)
	}
	wantMeta(t, g, "Group", t2, t3)

	// Update specific Group membership: a remove of one not a member, and
	// an add, in one request; then the whole list replaced.
	g = w.scim("PATCH", "/Groups/"+gid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [
			{"op": "remove", "path": "members[value eq \"`+other+`\"]"},
			{"op": "add", "path": "members", "value": [{"value": "`+uid+`", "display": "test.user@okta.local"}]}]}`, 200)
	if g["displayName"] != "Test SCIMv20" {
		t.Fatalf("after the membership update: %v", g)
	}
	if got := w.members(gid); fmt.Sprint(got) != fmt.Sprint([]string{uid}) {
		t.Fatalf("members %v", got)
	}
	w.scim("PATCH", "/Groups/"+gid, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [{"op": "replace", "path": "members", "value": [
			{"value": "`+uid+`", "display": "test.user@okta.local"}, {"value": "`+other+`", "display": "test.user@okta.local"}]}]}`, 200)
	if got := w.members(gid); fmt.Sprint(got) != fmt.Sprint(sorted(uid, other)) {
		t.Fatalf("members after the replace: %v", got)
	}

	// Delete a specific Group.
	w.scim("DELETE", "/Groups/"+gid, "", 204)
	w.scimErr("GET", "/Groups/"+gid, "", 404, "")
}
