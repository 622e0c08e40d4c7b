package scim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/api"
	"github.com/allot-dev/allot/catalog"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/scim"
	"github.com/allot-dev/allot/store"
)

// E3 (ENTERPRISEPACK) of the demo catalog: it has a mailbox plan, so the
// addresses SCIM maps from emails take part in licensing.
const e3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"

const operator = "scim-test-operator"

// world is a real store (SQLite, or PostgreSQL with ALLOT_TEST_POSTGRES)
// behind the full API handler with SCIM mounted, served over real HTTP,
// with one tenant whose default usage location is empty, so that a user's
// location comes from SCIM's addresses.country.
type world struct {
	t     *testing.T
	db    *store.DB
	srv   *httptest.Server
	admin context.Context // the tenant's Global Administrator, for the store
	ga    string
	token string // the identity provider's token: a User Administrator's
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldAt(t, nil)
}

// newWorldAt is newWorld with the store's clock (nil: the real one).
func newWorldAt(t *testing.T, now func() time.Time) *world {
	t.Helper()
	db, err := store.Open(context.Background(), store.Config{DSN: testdb.DSN(t, true), Catalog: catalog.Demo(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.DiscardHandler)
	h := api.New(api.Config{Services: db.Services(), OperatorToken: operator, Logger: log,
		SCIM: scim.New(scim.Config{Services: db.Services(), Store: db, Logger: log})})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	w := &world{t: t, db: db, srv: srv}
	_, out := w.call(operator, "POST", "/allot/v1/tenants", `{"displayName":"Contoso"}`, 201)
	w.ga = out["token"].(map[string]any)["secret"].(string)
	a, err := db.Authenticate(context.Background(), w.ga)
	if err != nil {
		t.Fatal(err)
	}
	w.admin = allot.NewContextWithActor(context.Background(), a)
	_, out = w.call(w.ga, "POST", "/allot/v1/tokens", `{"name":"Entra provisioning","role":"UserAdministrator"}`, 201)
	w.token = out["secret"].(string)
	return w
}

// do sends a request and returns the status and the decoded JSON body.
func (w *world) do(token, method, path, body string) (int, map[string]any, http.Header) {
	w.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, w.srv.URL+path, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := w.srv.Client().Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			w.t.Fatalf("%s %s: %d with a body that is not a JSON object: %q", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, m, resp.Header
}

func (w *world) call(token, method, path, body string, want int) (http.Header, map[string]any) {
	w.t.Helper()
	st, m, h := w.do(token, method, path, body)
	if st != want {
		w.t.Fatalf("%s %s: %d, want %d: %v", method, path, st, want, m)
	}
	return h, m
}

// scim sends a SCIM request with the identity provider's token.
func (w *world) scim(method, path, body string, want int) map[string]any {
	w.t.Helper()
	_, m := w.call(w.token, method, "/scim/v2"+path, body, want)
	return m
}

// scimErr sends a request that must fail with SCIM's error schema.
func (w *world) scimErr(method, path, body string, status int, scimType string) map[string]any {
	w.t.Helper()
	st, m, h := w.do(w.token, method, "/scim/v2"+path, body)
	checkError(w.t, st, m, h, status, scimType)
	return m
}

func checkError(t *testing.T, st int, m map[string]any, h http.Header, status int, scimType string) {
	t.Helper()
	if st != status {
		t.Fatalf("status %d, want %d: %v", st, status, m)
	}
	if ct := h.Get("Content-Type"); ct != "application/scim+json" {
		t.Fatalf("error with Content-Type %q: %v", ct, m)
	}
	schemas, _ := m["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" || m["status"] != fmt.Sprint(status) {
		t.Fatalf("not SCIM's error schema: %v", m)
	}
	if got, _ := m["scimType"].(string); got != scimType {
		t.Fatalf("scimType %q, want %q: %v", got, scimType, m)
	}
}

// drain processes the queue until it is empty, as the worker would.
func (w *world) drain() {
	w.t.Helper()
	for i := 0; ; i++ {
		n, err := w.db.ProcessBatch(context.Background(), 100)
		if err != nil {
			w.t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if i > 1000 {
			w.t.Fatal("the queue does not drain")
		}
	}
}

// license returns the state of the user's E3 license from group g ("" if
// it has none), and its error.
func (w *world) license(userID, g string) (string, string) {
	w.t.Helper()
	u, err := w.db.User(w.admin, userID)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, s := range u.States {
		if s.SkuID == e3 && s.Source == g {
			return s.State, string(s.Error)
		}
	}
	return "", ""
}

func (w *world) wantLicense(userID, g, state string, code allot.LicenseError) {
	w.t.Helper()
	if st, e := w.license(userID, g); st != state || e != string(code) {
		w.t.Fatalf("user %s: E3 from %s is %q/%q, want %q/%q", userID, g, st, e, state, code)
	}
}

func (w *world) consumed() int {
	w.t.Helper()
	sub, err := w.db.Subscription(w.admin, e3)
	if err != nil {
		w.t.Fatal(err)
	}
	return sub.ConsumedUnits
}

func (w *world) wantConsumed(n int) {
	w.t.Helper()
	if c := w.consumed(); c != n {
		w.t.Fatalf("E3 consumed %d, want %d", c, n)
	}
}

// assign gives the group E3 with seats, as an admin does once the identity
// provider has pushed the group.
func (w *world) assign(groupID string, seats int) {
	w.t.Helper()
	if _, err := w.db.AddSubscription(w.admin, e3, seats); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.db.AssignGroupLicense(w.admin, groupID, []allot.AssignedLicense{{SkuID: e3}}, nil); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) lastAudit() int64 {
	w.t.Helper()
	p, err := w.db.Audit(w.admin, allot.AuditFilter{Top: 1})
	if err != nil {
		w.t.Fatal(err)
	}
	if len(p.Items) == 0 {
		return 0
	}
	return p.Items[0].ID
}

func (w *world) members(groupID string) []string {
	w.t.Helper()
	p, err := w.db.Members(w.admin, groupID, false, allot.ListOptions{Top: 999})
	if err != nil {
		w.t.Fatal(err)
	}
	var ids []string
	for _, o := range p.Items {
		if o.User != nil {
			ids = append(ids, o.User.ID)
		} else {
			ids = append(ids, o.Group.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

func sorted(xs ...string) []string {
	sort.Strings(xs)
	return xs
}

func q(filter string) string { return url.QueryEscape(filter) }

func resources(m map[string]any) []map[string]any {
	var out []map[string]any
	list, _ := m["Resources"].([]any)
	for _, r := range list {
		out = append(out, r.(map[string]any))
	}
	return out
}

// entraUser is the body Microsoft Entra ID's provisioning service posts.
func entraUser(upn, externalID, given, family, country string) string {
	return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"externalId":"` + externalID + `","userName":"` + upn + `","active":true,
		"emails":[{"primary":true,"type":"work","value":"` + upn + `"}],
		"meta":{"resourceType":"User"},
		"name":{"formatted":"` + given + ` ` + family + `","familyName":"` + family + `","givenName":"` + given + `"},
		"addresses":[{"type":"work","country":"` + country + `","primary":true}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"},
		"roles":[]}`
}

const patchOp = `"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]`

// TestEntraSequence plays what Microsoft Entra ID's provisioning service
// sends for an application with SCIM provisioning, step by step, and
// checks the licenses that follow once the pushed group has a product.
func TestEntraSequence(t *testing.T) {
	w := newWorld(t)

	// Entra looks each user up by userName (then by its matching
	// attribute) before creating it.
	ids := map[string]string{}
	for _, p := range []struct{ name, ext, country string }{
		{"alice", "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4e1", "US"},
		{"bob", "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4e2", "GB"},
		{"carol", "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4e3", "DE"},
		{"dave", "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4e4", "FR"},
	} {
		upn := p.name + "@contoso.example"
		if m := w.scim("GET", "/Users?filter="+q(`userName eq "`+upn+`"`), "", 200); m["totalResults"] != 0.0 || len(resources(m)) != 0 {
			t.Fatalf("lookup before create: %v", m)
		}
		u := w.scim("POST", "/Users", entraUser(upn, p.ext, strings.ToUpper(p.name[:1])+p.name[1:], "Contoso", p.country), 201)
		ids[p.name] = u["id"].(string)
		if u["userName"] != upn || u["externalId"] != p.ext || u["active"] != true {
			t.Fatalf("created user: %v", u)
		}
		au, err := w.db.User(w.admin, ids[p.name])
		if err != nil {
			t.Fatal(err)
		}
		if au.UserPrincipalName != upn || au.Mail != upn || au.UsageLocation != p.country || !au.AccountEnabled ||
			len(au.ProxyAddresses) != 1 || au.ProxyAddresses[0] != "SMTP:"+upn || au.DisplayName != strings.ToUpper(p.name[:1])+p.name[1:]+" Contoso" {
			t.Fatalf("Allot user: %+v", au)
		}
	}
	// Entra's matching by externalId, and the user's GET.
	m := w.scim("GET", "/Users?filter="+q(`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4e2"`), "", 200)
	if rs := resources(m); len(rs) != 1 || rs[0]["id"] != ids["bob"] || m["totalResults"] != 1.0 {
		t.Fatalf("externalId filter: %v", m)
	}
	u := w.scim("GET", "/Users/"+ids["alice"], "", 200)
	if u["externalId"] != "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4e1" || u["addresses"].([]any)[0].(map[string]any)["country"] != "US" {
		t.Fatalf("GET user: %v", u)
	}

	// The group: looked up by displayName without members, created, read.
	if m := w.scim("GET", "/Groups?excludedAttributes=members&filter="+q(`displayName eq "Sales"`), "", 200); m["totalResults"] != 0.0 {
		t.Fatalf("group lookup: %v", m)
	}
	g := w.scim("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"Sales","meta":{"resourceType":"Group"}}`, 201)
	gid := g["id"].(string)
	if g["displayName"] != "Sales" || g["externalId"] != "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159" {
		t.Fatalf("created group: %v", g)
	}
	if m := w.scim("GET", "/Groups?excludedAttributes=members&filter="+q(`displayName eq "Sales"`), "", 200); len(resources(m)) != 1 || resources(m)[0]["members"] != nil {
		t.Fatalf("group lookup after create: %v", m)
	}

	// Members arrive in batches, with capitalised op names.
	w.scim("PATCH", "/Groups/"+gid, `{`+patchOp+`,"Operations":[{"op":"Add","path":"members","value":[{"value":"`+ids["alice"]+`"},{"value":"`+ids["bob"]+`"}]}]}`, 200)
	w.scim("PATCH", "/Groups/"+gid, `{`+patchOp+`,"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"`+ids["carol"]+`"}]}]}`, 200)
	if got := w.members(gid); fmt.Sprint(got) != fmt.Sprint(sorted(ids["alice"], ids["bob"], ids["carol"])) {
		t.Fatalf("members %v", got)
	}
	// Entra's membership check.
	if m := w.scim("GET", "/Groups?filter="+q(`id eq "`+gid+`" and members[value eq "`+ids["bob"]+`"]`), "", 200); len(resources(m)) != 1 {
		t.Fatalf("membership filter: %v", m)
	}
	if m := w.scim("GET", "/Groups?filter="+q(`id eq "`+gid+`" and members[value eq "`+ids["dave"]+`"]`), "", 200); len(resources(m)) != 0 {
		t.Fatalf("membership filter for a non-member: %v", m)
	}

	// An admin assigns E3 to the pushed group: 3 seats for 3 members.
	w.assign(gid, 3)
	w.drain()
	for _, n := range []string{"alice", "bob", "carol"} {
		w.wantLicense(ids[n], gid, allot.StateActive, allot.NoLicenseError)
	}
	w.wantConsumed(3)

	// A fourth member waits for a seat.
	w.scim("PATCH", "/Groups/"+gid, `{`+patchOp+`,"Operations":[{"op":"Add","path":"members","value":[{"value":"`+ids["dave"]+`"}]}]}`, 200)
	w.drain()
	w.wantLicense(ids["dave"], gid, allot.StateError, allot.CountViolation)

	// Deactivation (Entra's PATCH without a path, and its old string
	// boolean): the account is disabled, and like a disabled account in
	// Entra ID it keeps its license.
	u = w.scim("PATCH", "/Users/"+ids["alice"], `{`+patchOp+`,"Operations":[{"op":"Replace","value":{"active":false}}]}`, 200)
	if u["active"] != false {
		t.Fatalf("deactivated: %v", u)
	}
	w.scim("PATCH", "/Users/"+ids["carol"], `{`+patchOp+`,"Operations":[{"op":"Replace","path":"active","value":"False"}]}`, 200)
	for _, n := range []string{"alice", "carol"} {
		if au, _ := w.db.User(w.admin, ids[n]); au.AccountEnabled {
			t.Fatalf("%s still enabled", n)
		}
	}
	w.drain()
	w.wantLicense(ids["alice"], gid, allot.StateActive, allot.NoLicenseError)
	w.wantConsumed(3)

	// Removing a member frees its seat, which the waiting member gets.
	w.scim("PATCH", "/Groups/"+gid, `{`+patchOp+`,"Operations":[{"op":"Remove","path":"members[value eq \"`+ids["bob"]+`\"]"}]}`, 200)
	w.drain()
	w.wantLicense(ids["bob"], gid, "", "")
	w.wantLicense(ids["dave"], gid, allot.StateActive, allot.NoLicenseError)
	w.wantConsumed(3)

	// Entra's other removal form, a value list; and a rename.
	w.scim("PATCH", "/Groups/"+gid, `{`+patchOp+`,"Operations":[{"op":"Replace","path":"displayName","value":"Sales EMEA"},{"op":"Remove","path":"members","value":[{"value":"`+ids["dave"]+`"}]}]}`, 200)
	w.drain()
	w.wantLicense(ids["dave"], gid, "", "")
	w.wantConsumed(2)
	if g, _ := w.db.Group(w.admin, gid); g.DisplayName != "Sales EMEA" {
		t.Fatalf("group name %q", g.DisplayName)
	}

	// Attribute updates: the work email, the usage location, the name.
	w.scim("PATCH", "/Users/"+ids["carol"], `{`+patchOp+`,"Operations":[
		{"op":"Replace","path":"emails[type eq \"work\"].value","value":"carol.new@contoso.example"},
		{"op":"Replace","path":"addresses[type eq \"work\"].country","value":"NL"},
		{"op":"Replace","path":"name.familyName","value":"Fabrikam"},
		{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Marketing"}]}`, 200)
	au, _ := w.db.User(w.admin, ids["carol"])
	if au.Mail != "carol.new@contoso.example" || au.UsageLocation != "NL" || fmt.Sprint(au.ProxyAddresses) != "[SMTP:carol.new@contoso.example]" {
		t.Fatalf("after PATCH: %+v", au)
	}
	w.drain()
	w.wantLicense(ids["carol"], gid, allot.StateActive, allot.NoLicenseError)

	// Entra deletes a user: its seat is freed at once.
	w.scim("DELETE", "/Users/"+ids["alice"], "", 204)
	w.scimErr("GET", "/Users/"+ids["alice"], "", 404, "")
	w.wantConsumed(1)
	if m := w.scim("GET", "/Users?filter="+q(`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4e1"`), "", 200); m["totalResults"] != 0.0 {
		t.Fatalf("deleted user still found by externalId: %v", m)
	}
	w.drain()
	w.wantConsumed(1)

	// A licensed group cannot be deleted; without its license it can.
	before := w.lastAudit()
	w.scimErr("DELETE", "/Groups/"+gid, "", 400, "mutability")
	if w.lastAudit() != before {
		t.Fatal("a refused delete changed something")
	}
	if _, err := w.db.AssignGroupLicense(w.admin, gid, nil, []string{e3}); err != nil {
		t.Fatal(err)
	}
	w.drain()
	w.wantConsumed(0)
	w.scim("DELETE", "/Groups/"+gid, "", 204)
	w.scimErr("GET", "/Groups/"+gid, "", 404, "")
	if issues, err := w.db.Check(context.Background()); err != nil || len(issues) > 0 {
		t.Fatalf("invariants: %v %v", issues, err)
	}
}

// TestOktaSequence plays Okta's SCIM 2.0 provisioning: users are updated
// with PUT, groups with PATCH (Group Push), deactivation is a PATCH of
// active, and members leave by a members[value eq …] path.
func TestOktaSequence(t *testing.T) {
	w := newWorld(t)
	oktaUser := func(upn, ext, given string, extra string) string {
		return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + upn + `",
			"name":{"givenName":"` + given + `","familyName":"User"},
			"emails":[{"primary":true,"value":"` + upn + `","type":"work"}],
			"displayName":"` + given + ` User","locale":"en-US","externalId":"` + ext + `","groups":[],"password":"1mz050nq","active":true` + extra + `}`
	}
	var ids []string
	for i, name := range []string{"test.user", "other.user"} {
		upn := name + "@okta.example"
		if m := w.scim("GET", "/Users?filter="+q(`userName eq "`+upn+`"`)+"&startIndex=1&count=100", "", 200); m["totalResults"] != 0.0 {
			t.Fatalf("user exists: %v", m)
		}
		u := w.scim("POST", "/Users", oktaUser(upn, fmt.Sprintf("00ujl29u0le5T6Aj10h%d", i), "Test", `,"addresses":[{"type":"work","country":"GB","primary":true}]`), 201)
		ids = append(ids, u["id"].(string))
		if u["password"] != nil {
			t.Fatalf("password returned: %v", u)
		}
	}
	u := w.scim("GET", "/Users/"+ids[0], "", 200)
	if u["displayName"] != "Test User" || u["userName"] != "test.user@okta.example" {
		t.Fatalf("GET: %v", u)
	}

	// PUT with the whole profile: new name, and no addresses (the usage
	// location is not asserted, so it stays).
	put := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"` + ids[0] + `","userName":"test.user@okta.example",
		"name":{"givenName":"Another","middleName":"Excited","familyName":"User"},"displayName":"Another User",
		"emails":[{"primary":true,"value":"test.user@okta.example","type":"work","display":"test.user@okta.example"},{"value":"tu@okta.example","type":"home"}],
		"active":true,"groups":[],"meta":{"resourceType":"User"}}`
	u = w.scim("PUT", "/Users/"+ids[0], put, 200)
	au, _ := w.db.User(w.admin, ids[0])
	if au.DisplayName != "Another User" || au.UsageLocation != "GB" || fmt.Sprint(au.ProxyAddresses) != "[SMTP:test.user@okta.example smtp:tu@okta.example]" {
		t.Fatalf("after PUT: %+v (%v)", au, u)
	}
	if emails := u["emails"].([]any); len(emails) != 2 || emails[0].(map[string]any)["primary"] != true {
		t.Fatalf("emails after PUT: %v", u)
	}

	// Group Push: create empty, add, rename (Okta sends the id in the value).
	g := w.scim("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Test SCIMv2","members":[]}`, 201)
	gid := g["id"].(string)
	w.scim("PATCH", "/Groups/"+gid, `{`+patchOp+`,"Operations":[{"op":"add","path":"members","value":[{"value":"`+ids[0]+`","display":"test.user@okta.example"},{"value":"`+ids[1]+`","display":"other.user@okta.example"}]}]}`, 200)
	w.scim("PATCH", "/Groups/"+gid, `{`+patchOp+`,"Operations":[{"op":"replace","value":{"id":"`+gid+`","displayName":"Engineering"}}]}`, 200)
	g = w.scim("GET", "/Groups/"+gid, "", 200)
	if g["displayName"] != "Engineering" || len(g["members"].([]any)) != 2 {
		t.Fatalf("pushed group: %v", g)
	}

	w.assign(gid, 5)
	w.drain()
	w.wantLicense(ids[0], gid, allot.StateActive, allot.NoLicenseError)
	w.wantLicense(ids[1], gid, allot.StateActive, allot.NoLicenseError)
	w.wantConsumed(2)

	// Deactivation when the app is unassigned in Okta.
	u = w.scim("PATCH", "/Users/"+ids[1], `{`+patchOp+`,"Operations":[{"op":"replace","value":{"active":false}}]}`, 200)
	if u["active"] != false {
		t.Fatalf("deactivate: %v", u)
	}
	w.drain()
	w.wantConsumed(2)

	// Okta's membership update: one remove by filter, then a replace of
	// the whole list (which re-adds the member).
	w.scim("PATCH", "/Groups/"+gid, `{`+patchOp+`,"Operations":[{"op":"remove","path":"members[value eq \"`+ids[1]+`\"]"}]}`, 200)
	w.drain()
	w.wantLicense(ids[1], gid, "", "")
	w.wantConsumed(1)
	w.scim("PATCH", "/Groups/"+gid, `{`+patchOp+`,"Operations":[{"op":"replace","path":"members","value":[{"value":"`+ids[1]+`"}]}]}`, 200)
	if got := w.members(gid); fmt.Sprint(got) != fmt.Sprint([]string{ids[1]}) {
		t.Fatalf("members after replace: %v", got)
	}
	w.drain()
	w.wantLicense(ids[0], gid, "", "")
	w.wantLicense(ids[1], gid, allot.StateActive, allot.NoLicenseError)
	w.wantConsumed(1)

	// Deprovisioning: the user is deleted, its seat freed.
	w.scim("DELETE", "/Users/"+ids[1], "", 204)
	w.wantConsumed(0)
	w.drain()
	w.wantConsumed(0)
	if issues, err := w.db.Check(context.Background()); err != nil || len(issues) > 0 {
		t.Fatalf("invariants: %v %v", issues, err)
	}
}

// TestPagination pages users with startIndex and count (1-based), with a
// total that counts every match.
func TestPagination(t *testing.T) {
	w := newWorld(t)
	var ids []string
	for i := range 7 {
		u := w.scim("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"p`+fmt.Sprint(i)+`@contoso.example"}`, 201)
		ids = append(ids, u["id"].(string))
	}
	sort.Strings(ids) // the list's order
	page := func(query string) ([]string, map[string]any) {
		m := w.scim("GET", "/Users?"+query, "", 200)
		var got []string
		for _, r := range resources(m) {
			got = append(got, r["id"].(string))
		}
		return got, m
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"startIndex=1&count=3", ids[0:3]},
		{"startIndex=3&count=2", ids[2:4]},
		{"startIndex=6&count=10", ids[5:7]},
		{"startIndex=8&count=2", nil},
		{"startIndex=0&count=1", ids[0:1]}, // below 1 means 1
		{"count=0", nil},
		{"", ids},
	} {
		got, m := page(c.query)
		if fmt.Sprint(got) != fmt.Sprint(c.want) || m["totalResults"] != 7.0 {
			t.Errorf("%s: %v (total %v), want %v", c.query, got, m["totalResults"], c.want)
		}
	}
	got, m := page("startIndex=2&count=2&filter=" + q(`userName sw "p1" or userName sw "p2" or userName sw "p3"`))
	if len(got) != 2 || m["totalResults"] != 3.0 || m["startIndex"] != 2.0 {
		t.Errorf("filtered page: %v", m)
	}
	w.scimErr("GET", "/Users?count=x", "", 400, "")
}

// TestBadInputChangesNothing sends what an identity provider must be told
// is wrong; each answer is SCIM's error, and nothing changes.
func TestBadInputChangesNothing(t *testing.T) {
	w := newWorld(t)
	u := w.scim("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"taken@contoso.example","externalId":"e1"}`, 201)
	uid := u["id"].(string)
	g := w.scim("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G","members":[{"value":"`+uid+`"}]}`, 201)
	gid := g["id"].(string)
	if len(g["members"].([]any)) != 1 {
		t.Fatalf("group created with members: %v", g)
	}
	ghost := "7d7f2b5c-2a6e-4f43-9d4e-3a2b1c0d9e8f"
	before := w.lastAudit()
	for _, c := range []struct {
		method, path, body string
		status             int
		scimType           string
	}{
		{"POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":`, 400, "invalidSyntax"},
		{"POST", "/Users", `[]`, 400, "invalidSyntax"},
		{"POST", "/Users", `{"userName":"noschema@contoso.example"}`, 400, "invalidSyntax"},
		{"POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"TAKEN@contoso.example"}`, 409, "uniqueness"},
		{"POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"no-at-sign"}`, 400, "invalidValue"},
		{"POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x@contoso.example","addresses":[{"country":"USA"}]}`, 400, "invalidValue"},
		{"POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"y@contoso.example","externalId":"a\u0000b"}`, 400, "invalidValue"},
		{"POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"z@contoso.example","active":"maybe"}`, 400, "invalidValue"},
		{"PATCH", "/Users/" + uid, `{` + patchOp + `,"Operations":[{"op":"replace","path":"nickNamez","value":"x"}]}`, 400, "invalidPath"},
		{"PATCH", "/Users/" + uid, `{` + patchOp + `,"Operations":[{"op":"replace","path":"userName","value":"other@contoso.example"},{"op":"replace","path":"bogus.attr","value":"x"}]}`, 400, "invalidPath"},
		{"PATCH", "/Users/" + uid, `{` + patchOp + `,"Operations":[{"op":"replace","value":{"displayName":"New","unknownAttr":1}}]}`, 400, "invalidValue"},
		{"PATCH", "/Users/" + uid, `{` + patchOp + `,"Operations":[{"op":"jump","path":"displayName","value":"x"}]}`, 400, "invalidValue"},
		{"PATCH", "/Users/" + uid, `{"Operations":[{"op":"replace","path":"displayName","value":"x"}]}`, 400, "invalidValue"},
		{"PATCH", "/Users/" + uid, `{` + patchOp + `,"Operations":[{"op":"remove","path":"userName"}]}`, 400, "invalidValue"},
		{"PATCH", "/Users/" + uid, `{` + patchOp + `,"Operations":[{"op":"replace","path":"addresses[type eq \"work\"].country","value":"Narnia"}]}`, 400, "invalidValue"},
		{"PUT", "/Users/" + uid, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"taken@contoso.example","displayName":"` + strings.Repeat("x", 300) + `"}`, 400, "invalidValue"},
		{"PATCH", "/Users/" + ghost, `{` + patchOp + `,"Operations":[{"op":"replace","path":"displayName","value":"x"}]}`, 404, ""},
		{"DELETE", "/Users/" + ghost, ``, 404, ""},
		{"DELETE", "/Users/taken@contoso.example", ``, 404, ""},
		{"GET", "/Users/taken@contoso.example", ``, 404, ""},
		{"GET", "/Users?filter=" + q(`userName eq`), ``, 400, "invalidFilter"},
		{"GET", "/Users?filter=" + q(`nickName eq "x"`), ``, 400, "invalidFilter"},
		{"GET", "/Users?filter=" + q(`userName gt "a"`), ``, 400, "invalidFilter"},
		{"PATCH", "/Groups/" + gid, `{` + patchOp + `,"Operations":[{"op":"add","path":"members","value":[{"value":"` + ghost + `"}]}]}`, 400, "invalidValue"},
		{"PATCH", "/Groups/" + gid, `{` + patchOp + `,"Operations":[{"op":"remove","path":"members"},{"op":"add","path":"members","value":[{"value":"not-an-id"}]}]}`, 400, "invalidValue"},
		{"PATCH", "/Groups/" + gid, `{` + patchOp + `,"Operations":[{"op":"add","path":"members","value":[{"value":"` + gid + `"}]}]}`, 400, "invalidValue"},
		{"PATCH", "/Groups/" + gid, `{` + patchOp + `,"Operations":[{"op":"replace","path":"displayName","value":""}]}`, 400, "invalidValue"},
		{"PATCH", "/Groups/" + gid, `{` + patchOp + `,"Operations":[{"op":"remove","path":"members[display eq \"x\"]"}]}`, 400, "invalidPath"},
		{"POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"H","members":[{"value":"` + uid + `"},{"value":"` + ghost + `"}]}`, 400, "invalidValue"},
		{"POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"]}`, 400, "invalidValue"},
	} {
		st, m, h := w.do(w.token, c.method, "/scim/v2"+c.path, c.body)
		after := w.lastAudit()
		t.Run(c.method+" "+c.path+" "+c.body, func(t *testing.T) {
			checkError(t, st, m, h, c.status, c.scimType)
			if after != before {
				t.Fatalf("the refused request changed something: audit %d → %d", before, after)
			}
		})
		before = after
	}
	if got := w.members(gid); fmt.Sprint(got) != fmt.Sprint([]string{uid}) {
		t.Fatalf("members changed: %v", got)
	}
	u = w.scim("GET", "/Users/"+uid, "", 200)
	if u["userName"] != "taken@contoso.example" || u["externalId"] != "e1" || u["displayName"] != "taken@contoso.example" {
		t.Fatalf("user changed: %v", u)
	}
}

// TestAccess checks that SCIM shares the API's authentication and answers
// refusals in SCIM's error schema: no token or a bad one is 401, a role
// that may not manage both users and groups is 403, and another tenant's
// objects do not exist.
func TestAccess(t *testing.T) {
	w := newWorld(t)
	u := w.scim("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@contoso.example"}`, 201)
	st, m, h := w.do("", "GET", "/scim/v2/Users", "")
	checkError(t, st, m, h, 401, "")
	if h.Get("WWW-Authenticate") == "" || h.Get("request-id") == "" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("headers of a refusal: %v", h)
	}
	st, m, h = w.do("allot_wrong", "GET", "/scim/v2/Users", "")
	checkError(t, st, m, h, 401, "")
	for _, role := range []string{"GlobalReader", "LicenseAdministrator", "GroupAdministrator", "BillingAdministrator"} {
		_, out := w.call(w.ga, "POST", "/allot/v1/tokens", `{"name":"`+role+`","role":"`+role+`"}`, 201)
		st, m, h = w.do(out["secret"].(string), "GET", "/scim/v2/Users", "")
		checkError(t, st, m, h, 403, "")
	}
	st, m, h = w.do(operator, "GET", "/scim/v2/Users", "")
	checkError(t, st, m, h, 403, "")
	// The Global Administrator may provision too.
	w.call(w.ga, "GET", "/scim/v2/Users/"+u["id"].(string), "", 200)

	// Another tenant's provisioning token sees nothing of this one.
	_, out := w.call(operator, "POST", "/allot/v1/tenants", `{"displayName":"Fabrikam"}`, 201)
	other := out["token"].(map[string]any)["secret"].(string)
	st, m, h = w.do(other, "GET", "/scim/v2/Users/"+u["id"].(string), "")
	checkError(t, st, m, h, 404, "")
	_, list := w.call(other, "GET", "/scim/v2/Users", "", 200)
	if list["totalResults"] != 0.0 {
		t.Fatalf("another tenant lists: %v", list)
	}
	// A body over the API's limit is refused in SCIM's format.
	big := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + strings.Repeat("x", api.DefaultMaxBodyBytes) + `"}`
	st, m, h = w.do(w.token, "POST", "/scim/v2/Users", big)
	checkError(t, st, m, h, 413, "")
}

// TestDiscovery reads the documents a provider reads to learn what the
// service supports.
func TestDiscovery(t *testing.T) {
	w := newWorld(t)
	spc := w.scim("GET", "/ServiceProviderConfig", "", 200)
	if spc["patch"].(map[string]any)["supported"] != true || spc["filter"].(map[string]any)["supported"] != true ||
		spc["authenticationSchemes"].([]any)[0].(map[string]any)["type"] != "oauthbearertoken" {
		t.Fatalf("ServiceProviderConfig: %v", spc)
	}
	rt := w.scim("GET", "/ResourceTypes", "", 200)
	var names []string
	for _, r := range resources(rt) {
		names = append(names, r["name"].(string)+" "+r["endpoint"].(string))
	}
	if fmt.Sprint(names) != "[User /Users Group /Groups]" {
		t.Fatalf("ResourceTypes: %v", names)
	}
	sc := w.scim("GET", "/Schemas", "", 200)
	have := map[string]bool{}
	for _, r := range resources(sc) {
		have[r["id"].(string)] = true
	}
	for _, id := range []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:core:2.0:Group",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"} {
		if !have[id] {
			t.Fatalf("Schemas lacks %s: %v", id, have)
		}
	}
	w.scim("GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "", 200)
	// Locations are absolute, on the URL the client used.
	_, m, h := w.do(w.token, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"loc@contoso.example"}`)
	if loc := h.Get("Location"); loc != w.srv.URL+"/scim/v2/Users/"+m["id"].(string) || m["meta"].(map[string]any)["location"] != loc {
		t.Fatalf("Location %q, meta %v", loc, m["meta"])
	}
}
