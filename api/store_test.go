package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/allot-dev/allot/catalog"
	"github.com/allot-dev/allot/internal/testdb"
	"github.com/allot-dev/allot/store"
)

// Demo catalog SKUs.
const (
	skuE3 = "6fd2c87f-b296-42f0-b197-1e91e994b900" // ENTERPRISEPACK
	skuE1 = "18181a46-0d4e-45cd-891e-60aabd171b4e" // STANDARDPACK
)

// world is a server on a real store with one tenant and its Global
// Administrator token.
type world struct {
	*client
	db *store.DB
	ga string // the Global Administrator's secret
}

func newWorld(t *testing.T) *world {
	t.Helper()
	var mu sync.Mutex
	now := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		// Every reading is a second later, so that membership times, and
		// with them the order users get seats in, are distinct.
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	db, err := store.Open(context.Background(), store.Config{
		DSN:     testdb.DSN(t, false),
		Catalog: catalog.Demo(),
		Now:     clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := &world{client: newClient(t, db), db: db}
	w.ga = w.newTenant("Contoso", "US")
	return w
}

// newTenant creates a tenant through the operator endpoint and returns its
// first Global Administrator secret.
func (w *world) newTenant(name, loc string) string {
	w.t.Helper()
	m := w.do("POST", "/allot/v1/tenants", opSecret, map[string]any{"displayName": name, "defaultUsageLocation": loc}).
		expect(http.StatusCreated, "")
	tok := m["token"].(map[string]any)
	if tok["role"] != "GlobalAdministrator" || tok["secret"] == "" || m["tenant"].(map[string]any)["id"] == "" {
		w.t.Fatalf("tenant response %v", m)
	}
	return tok["secret"].(string)
}

func (w *world) drain() {
	w.t.Helper()
	for i := 0; ; i++ {
		n, err := w.db.ProcessBatch(context.Background(), 50)
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

func (w *world) createUser(tok, upn, loc string) string {
	w.t.Helper()
	body := map[string]any{"displayName": strings.Split(upn, "@")[0], "userPrincipalName": upn, "accountEnabled": true}
	if loc != "" {
		body["usageLocation"] = loc
	}
	return w.do("POST", "/v1.0/users", tok, body).expect(http.StatusCreated, "")["id"].(string)
}

func (w *world) createGroup(tok, name string) string {
	w.t.Helper()
	return w.do("POST", "/v1.0/groups", tok, map[string]any{
		"displayName": name, "mailNickname": strings.ReplaceAll(name, " ", ""), "mailEnabled": false, "securityEnabled": true,
	}).expect(http.StatusCreated, "")["id"].(string)
}

func (w *world) addMember(tok, group, member string) {
	w.t.Helper()
	w.do("POST", "/v1.0/groups/"+group+"/members/$ref", tok,
		map[string]string{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + member}).
		expect(http.StatusNoContent, "")
}

// follow reads every page of a collection through @odata.nextLink.
func (w *world) follow(tok, target string) (pages []map[string]any, items []map[string]any) {
	w.t.Helper()
	for target != "" {
		m := w.do("GET", target, tok, nil).expect(http.StatusOK, "")
		pages = append(pages, m)
		for _, v := range m["value"].([]any) {
			items = append(items, v.(map[string]any))
		}
		target = ""
		if next, ok := m["@odata.nextLink"].(string); ok {
			u, err := url.Parse(next)
			if err != nil || !u.IsAbs() {
				w.t.Fatalf("nextLink %q is not absolute", next)
			}
			target = u.RequestURI()
		}
		if len(pages) > 100 {
			w.t.Fatal("paging does not end")
		}
	}
	return pages, items
}

func states(m map[string]any) []map[string]any {
	var out []map[string]any
	for _, s := range m["licenseAssignmentStates"].([]any) {
		out = append(out, s.(map[string]any))
	}
	return out
}

func TestGroupLicensingEndToEnd(t *testing.T) {
	w := newWorld(t)
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE3, "seats": 2}).expect(http.StatusCreated, "")

	var users []string
	for i := range 3 {
		users = append(users, w.createUser(w.ga, fmt.Sprintf("user%d@contoso.com", i), "US"))
	}
	group := w.createGroup(w.ga, "Sales Team")
	for _, u := range users {
		w.addMember(w.ga, group, u)
	}

	res := w.do("POST", "/v1.0/groups/"+group+"/assignLicense", w.ga,
		`{"addLicenses":[{"skuId":"`+skuE3+`","disabledPlans":[]}],"removeLicenses":[]}`)
	g := res.expect(http.StatusAccepted, "")
	if g["id"] != group || !strings.HasSuffix(res.Header().Get("Location"), "/v1.0/groups/"+group) {
		t.Fatalf("202 body %v, Location %q", g, res.Header().Get("Location"))
	}
	w.drain()

	t.Run("StatesViaSelect", func(t *testing.T) {
		active, failed := 0, 0
		for _, u := range users {
			m := w.do("GET", "/v1.0/users/"+u+"?$select=id,licenseAssignmentStates,assignedLicenses", w.ga, nil).expect(http.StatusOK, "")
			if len(m) != 4 { // the two selected, id and @odata.context
				t.Errorf("selected %v", m)
			}
			st := states(m)
			if len(st) != 1 || st[0]["assignedByGroup"] != group || st[0]["skuId"] != skuE3 {
				t.Fatalf("states %v", st)
			}
			switch st[0]["state"] {
			case "Active":
				active++
				if st[0]["error"] != "None" || len(m["assignedLicenses"].([]any)) != 1 {
					t.Errorf("active user %v", m)
				}
			case "Error":
				failed++
				if st[0]["error"] != "CountViolation" || len(m["assignedLicenses"].([]any)) != 0 {
					t.Errorf("failed user %v", m)
				}
			}
		}
		if active != 2 || failed != 1 {
			t.Fatalf("%d active, %d failed; want 2 and 1", active, failed)
		}
	})

	t.Run("MembersWithLicenseErrors", func(t *testing.T) {
		m := w.do("GET", "/v1.0/groups/"+group+"/membersWithLicenseErrors", w.ga, nil).expect(http.StatusOK, "")
		v := m["value"].([]any)
		if len(v) != 1 || v[0].(map[string]any)["@odata.type"] != "#microsoft.graph.user" {
			t.Fatalf("members with errors %v", m)
		}
		m = w.do("GET", "/v1.0/groups?$filter=hasMembersWithLicenseErrors%20eq%20true&$select=id,displayName,licenseProcessingState", w.ga, nil).
			expect(http.StatusOK, "")
		v = m["value"].([]any)
		if len(v) != 1 || v[0].(map[string]any)["id"] != group {
			t.Fatalf("groups with errors %v", m)
		}
		if st := v[0].(map[string]any)["licenseProcessingState"].(map[string]any)["state"]; st != "ProcessingComplete" {
			t.Errorf("processing state %v", st)
		}
		if _, ok := v[0].(map[string]any)["hasMembersWithLicenseErrors"]; ok {
			t.Error("hasMembersWithLicenseErrors returned")
		}
	})

	t.Run("FilterAssignedLicensesAny", func(t *testing.T) {
		q := url.Values{"$filter": {"assignedLicenses/any(x:x/skuId eq " + skuE3 + ")"}, "$count": {"true"}}
		m := w.do("GET", "/v1.0/users?"+q.Encode(), w.ga, nil, "ConsistencyLevel", "eventual").expect(http.StatusOK, "")
		if len(m["value"].([]any)) != 2 || m["@odata.count"] != float64(2) {
			t.Fatalf("filtered %v", m)
		}
		m = w.do("GET", "/v1.0/groups?"+q.Encode(), w.ga, nil).expect(http.StatusOK, "")
		if len(m["value"].([]any)) != 1 {
			t.Fatalf("filtered groups %v", m)
		}
	})

	t.Run("LicenseDetails", func(t *testing.T) {
		var holder string
		for _, u := range users {
			m := w.do("GET", "/v1.0/users/"+u+"/licenseDetails", w.ga, nil).expect(http.StatusOK, "")
			if !strings.HasSuffix(m["@odata.context"].(string), "#users('"+u+"')/licenseDetails") {
				t.Errorf("context %v", m["@odata.context"])
			}
			if v := m["value"].([]any); len(v) == 1 {
				holder = u
				d := v[0].(map[string]any)
				if d["skuId"] != skuE3 || d["skuPartNumber"] != "ENTERPRISEPACK" || d["id"] == "" {
					t.Errorf("detail %v", d)
				}
				plans := d["servicePlans"].([]any)
				if len(plans) == 0 || plans[0].(map[string]any)["provisioningStatus"] != "Success" || plans[0].(map[string]any)["appliesTo"] != "User" {
					t.Errorf("plans %v", plans)
				}
			}
		}
		if holder == "" {
			t.Fatal("no user has licenseDetails")
		}
		m := w.do("GET", "/v1.0/users/"+holder+"?$select=assignedPlans", w.ga, nil).expect(http.StatusOK, "")
		if p := m["assignedPlans"].([]any); len(p) == 0 || p[0].(map[string]any)["capabilityStatus"] != "Enabled" {
			t.Errorf("assignedPlans %v", m)
		}
	})

	t.Run("SubscribedSkus", func(t *testing.T) {
		m := w.do("GET", "/v1.0/subscribedSkus", w.ga, nil).expect(http.StatusOK, "")
		v := m["value"].([]any)
		if len(v) != 1 {
			t.Fatalf("skus %v", m)
		}
		sku := v[0].(map[string]any)
		if sku["consumedUnits"] != float64(2) || sku["skuPartNumber"] != "ENTERPRISEPACK" ||
			sku["prepaidUnits"].(map[string]any)["enabled"] != float64(2) || sku["accountName"] != "Contoso" {
			t.Errorf("sku %v", sku)
		}
		id := sku["id"].(string)
		w.do("GET", "/v1.0/subscribedSkus/"+id, w.ga, nil).expect(http.StatusOK, "")
		w.do("GET", "/v1.0/subscribedSkus/"+skuE3+"?$select=consumedUnits", w.ga, nil).expect(http.StatusOK, "")
	})

	t.Run("DirectAssignmentWithoutSeatsIsRefused", func(t *testing.T) {
		u := w.createUser(w.ga, "direct@contoso.com", "US")
		m := w.do("POST", "/v1.0/users/"+u+"/assignLicense", w.ga,
			`{"addLicenses":[{"skuId":"`+skuE3+`","disabledPlans":[]}],"removeLicenses":[]}`).
			expect(http.StatusBadRequest, "Request_BadRequest")
		if want := "Subscription with SKU " + skuE3 + " does not have any available licenses."; errMessage(m) != want {
			t.Errorf("message %q, want %q", errMessage(m), want)
		}
		m = w.do("GET", "/v1.0/users/"+u+"?$select=assignedLicenses", w.ga, nil).expect(http.StatusOK, "")
		if len(m["assignedLicenses"].([]any)) != 0 {
			t.Errorf("a refused assignment changed the user: %v", m)
		}
	})

	t.Run("PurchaseForWaitingUser", func(t *testing.T) {
		m := w.do("GET", "/v1.0/groups/"+group+"/membersWithLicenseErrors", w.ga, nil).expect(http.StatusOK, "")
		waiting := m["value"].([]any)[0].(map[string]any)["id"].(string)
		ls := w.do("GET", "/allot/v1/users/"+waiting+"/licenseStates", w.ga, nil).expect(http.StatusOK, "")
		st := ls["value"].([]any)[0].(map[string]any)
		if st["error"] != "CountViolation" || st["detail"] == "" || st["waitingSince"] == nil || st["skuPartNumber"] != "ENTERPRISEPACK" {
			t.Errorf("licenseStates %v", ls)
		}
		sub := w.do("POST", "/allot/v1/subscriptions/"+skuE3+"/purchase", w.ga,
			map[string]any{"quantity": 1, "userIds": []string{waiting}}).expect(http.StatusOK, "")
		if sub["seats"] != float64(3) {
			t.Errorf("subscription %v", sub)
		}
		w.drain()
		m = w.do("GET", "/v1.0/groups/"+group+"/membersWithLicenseErrors", w.ga, nil).expect(http.StatusOK, "")
		if len(m["value"].([]any)) != 0 {
			t.Errorf("still in error after purchase: %v", m)
		}
		st2 := w.do("GET", "/allot/v1/status", w.ga, nil).expect(http.StatusOK, "")
		if st2["idle"] != true || st2["queueDepth"] != float64(0) {
			t.Errorf("status %v", st2)
		}
	})

	t.Run("DeleteLicensedGroupRefused", func(t *testing.T) {
		w.do("DELETE", "/v1.0/groups/"+group, w.ga, nil).expect(http.StatusBadRequest, "Request_BadRequest")
	})

	t.Run("MembersAndCasts", func(t *testing.T) {
		nested := w.createGroup(w.ga, "Nested")
		w.addMember(w.ga, group, nested)
		m := w.do("GET", "/v1.0/groups/"+group+"/members", w.ga, nil).expect(http.StatusOK, "")
		types := map[string]int{}
		for _, v := range m["value"].([]any) {
			types[v.(map[string]any)["@odata.type"].(string)]++
		}
		if types["#microsoft.graph.user"] != 3 || types["#microsoft.graph.group"] != 1 {
			t.Errorf("members %v", types)
		}
		m = w.do("GET", "/v1.0/groups/"+group+"/members/microsoft.graph.group", w.ga, nil).expect(http.StatusOK, "")
		if len(m["value"].([]any)) != 1 {
			t.Errorf("group cast %v", m)
		}
		w.do("GET", "/v1.0/groups/"+group+"/members/microsoft.graph.device", w.ga, nil).expect(http.StatusBadRequest, "Request_UnsupportedQuery")
		m = w.do("GET", "/v1.0/users/"+users[0]+"/memberOf", w.ga, nil).expect(http.StatusOK, "")
		if v := m["value"].([]any); len(v) != 1 || v[0].(map[string]any)["@odata.type"] != "#microsoft.graph.group" {
			t.Errorf("memberOf %v", m)
		}
		w.do("DELETE", "/v1.0/groups/"+group+"/members/"+nested+"/$ref", w.ga, nil).expect(http.StatusNoContent, "")
	})

	t.Run("Audit", func(t *testing.T) {
		m := w.do("GET", "/allot/v1/audit?targetId="+group+"&$top=1", w.ga, nil).expect(http.StatusOK, "")
		if len(m["value"].([]any)) != 1 || m["@odata.nextLink"] == nil {
			t.Errorf("audit %v", m)
		}
	})
}

func TestPagingAndCount(t *testing.T) {
	w := newWorld(t)
	want := map[string]bool{}
	for i := range 7 {
		want[w.createUser(w.ga, fmt.Sprintf("p%02d@contoso.com", i), "")] = true
	}
	for _, order := range []string{"", "&$orderby=displayName"} {
		pages, items := w.follow(w.ga, "/v1.0/users?$top=3&$count=true&$select=id,displayName"+order)
		if len(pages) != 3 {
			t.Fatalf("%d pages, want 3", len(pages))
		}
		if pages[0]["@odata.count"] != float64(7) {
			t.Errorf("first page count %v", pages[0]["@odata.count"])
		}
		for _, p := range pages[1:] {
			if _, ok := p["@odata.count"]; ok {
				t.Error("@odata.count on a later page")
			}
		}
		got := map[string]bool{}
		var names []string
		for _, it := range items {
			got[it["id"].(string)] = true
			names = append(names, it["displayName"].(string))
		}
		if len(got) != 7 || len(items) != 7 {
			t.Fatalf("paged %d distinct of %d items", len(got), len(items))
		}
		if order != "" && !sort.StringsAreSorted(names) {
			t.Errorf("not ordered by displayName: %v", names)
		}
	}
	res := w.do("GET", "/v1.0/users/$count", w.ga, nil, "ConsistencyLevel", "eventual")
	if res.Code != 200 || res.Body.String() != "7" || !strings.HasPrefix(res.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("$count: %d %q %q", res.Code, res.Body.String(), res.Header().Get("Content-Type"))
	}
	res = w.do("GET", "/v1.0/users/$count?$filter=startswith(displayName,'p0')", w.ga, nil)
	if res.Body.String() != "7" {
		t.Errorf("filtered $count %q", res.Body.String())
	}
	q := url.Values{"$search": {`"displayName:p03"`}}
	if m := w.do("GET", "/v1.0/users?"+q.Encode(), w.ga, nil).expect(http.StatusOK, ""); len(m["value"].([]any)) != 1 {
		t.Errorf("$search %v", m)
	}
	m := w.do("GET", "/v1.0/users/p03@CONTOSO.com", w.ga, nil).expect(http.StatusOK, "")
	if m["userPrincipalName"] != "p03@contoso.com" {
		t.Errorf("by UPN %v", m)
	}
}

func TestTenantIsolationAndRoles(t *testing.T) {
	w := newWorld(t)
	u := w.createUser(w.ga, "alice@contoso.com", "US")
	g := w.createGroup(w.ga, "Engineering")
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE1, "seats": 5}).expect(http.StatusCreated, "")

	other := w.newTenant("Fabrikam", "GB")
	t.Run("AnotherTenantsObjectIsNotFound", func(t *testing.T) {
		w.do("GET", "/v1.0/users/"+u, other, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")
		w.do("GET", "/v1.0/groups/"+g, other, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")
		w.do("GET", "/v1.0/groups/"+g+"/members", other, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")
		w.do("PATCH", "/v1.0/users/"+u, other, `{"displayName":"x"}`).expect(http.StatusNotFound, "Request_ResourceNotFound")
		w.do("POST", "/v1.0/groups/"+g+"/assignLicense", other, `{"addLicenses":[],"removeLicenses":[]}`).
			expect(http.StatusNotFound, "Request_ResourceNotFound")
		if m := w.do("GET", "/v1.0/users", other, nil).expect(http.StatusOK, ""); len(m["value"].([]any)) != 0 {
			t.Errorf("other tenant sees %v", m)
		}
	})

	t.Run("GroupAdministrator", func(t *testing.T) {
		tok := w.do("POST", "/allot/v1/tokens", w.ga, map[string]any{"name": "groups bot", "role": "GroupAdministrator", "expiresInDays": 30}).
			expect(http.StatusCreated, "")
		secret := tok["secret"].(string)
		w.addMember(secret, g, u) // managing memberships is allowed
		m := w.do("POST", "/v1.0/groups/"+g+"/assignLicense", secret,
			`{"addLicenses":[{"skuId":"`+skuE1+`","disabledPlans":[]}],"removeLicenses":[]}`).
			expect(http.StatusForbidden, "Authorization_RequestDenied")
		if errMessage(m) != "Insufficient privileges to complete the operation." {
			t.Errorf("message %q", errMessage(m))
		}
		w.do("GET", "/v1.0/groups/"+g+"?$select=assignedLicenses", w.ga, nil).expect(http.StatusOK, "")

		// Once revoked, the token no longer authenticates.
		w.do("DELETE", "/allot/v1/tokens/"+tok["id"].(string), w.ga, nil).expect(http.StatusNoContent, "")
		w.do("GET", "/v1.0/users", secret, nil).expect(http.StatusUnauthorized, "InvalidAuthenticationToken")
	})

	t.Run("LicenseAdministrator", func(t *testing.T) {
		secret := w.do("POST", "/allot/v1/tokens", w.ga, map[string]any{"name": "lic", "role": "LicenseAdministrator"}).
			expect(http.StatusCreated, "")["secret"].(string)
		w.do("PATCH", "/v1.0/users/"+u, secret, `{"usageLocation":"fr"}`).expect(http.StatusNoContent, "")
		w.do("PATCH", "/v1.0/users/"+u, secret, `{"displayName":"Mallory"}`).expect(http.StatusForbidden, "Authorization_RequestDenied")
		m := w.do("POST", "/v1.0/users/"+u+"/assignLicense", secret,
			`{"addLicenses":[{"skuId":"`+skuE1+`","disabledPlans":[]}],"removeLicenses":[]}`).expect(http.StatusOK, "")
		if m["id"] != u || !strings.HasSuffix(m["@odata.context"].(string), "#users/$entity") {
			t.Errorf("assignLicense response %v", m)
		}
		m = w.do("GET", "/v1.0/users/"+u+"?$select=usageLocation,licenseAssignmentStates", w.ga, nil).expect(http.StatusOK, "")
		if m["usageLocation"] != "FR" || len(states(m)) != 1 || states(m)[0]["assignedByGroup"] != nil || states(m)[0]["state"] != "Active" {
			t.Errorf("user %v", m)
		}
		w.do("POST", "/v1.0/users/"+u+"/reprocessLicenseAssignment", secret, nil).expect(http.StatusOK, "")
		w.do("POST", "/allot/v1/users/reprocess", secret, map[string]any{"userIds": []string{u}}).expect(http.StatusAccepted, "")
	})

	t.Run("TenantSettings", func(t *testing.T) {
		m := w.do("PATCH", "/allot/v1/tenant", w.ga, `{"defaultUsageLocation":"de"}`).expect(http.StatusOK, "")
		if m["defaultUsageLocation"] != "DE" || m["displayName"] != "Contoso" {
			t.Errorf("tenant %v", m)
		}
		if m := w.do("GET", "/allot/v1/catalog", w.ga, nil).expect(http.StatusOK, ""); m["skus"] == nil {
			t.Errorf("catalog %v", m)
		}
		if m := w.do("GET", "/allot/v1/subscriptions", w.ga, nil).expect(http.StatusOK, ""); len(m["value"].([]any)) != 1 {
			t.Errorf("subscriptions %v", m)
		}
	})
}

func TestCatalogRoundTrip(t *testing.T) {
	w := newWorld(t)
	res := w.do("GET", "/allot/v1/catalog", opSecret, nil)
	res.expect(http.StatusOK, "")
	body := res.Body.String()
	m := w.do("PUT", "/allot/v1/catalog", opSecret, body).expect(http.StatusOK, "")
	if m["skus"] == float64(0) {
		t.Errorf("replace %v", m)
	}
	w.do("PUT", "/allot/v1/catalog", w.ga, body).expect(http.StatusForbidden, "Authorization_RequestDenied")
	w.do("PUT", "/allot/v1/catalog", opSecret, `{"plans":[],"skus":[{"id":"nope"}]}`).expect(http.StatusBadRequest, "Request_BadRequest")
	w.do("PUT", "/allot/v1/catalog", opSecret, ``).expect(http.StatusBadRequest, "Request_BadRequest")
}

// A catalog under which one group's SKUs would conflict is refused through
// the API as assignLicense refuses such a group request, naming the group,
// and changes nothing (docs/RULES.md §2.4).
func TestCatalogRefusedWhenAGroupWouldConflict(t *testing.T) {
	w := newWorld(t)
	const audio, calling = "0c266dff-15dd-4b49-8397-2bb16070ed52", "0dab259f-bf13-4952-b7f8-7db8f131b28d"
	for _, sku := range []string{audio, calling} {
		w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": sku, "seats": 5}).expect(http.StatusCreated, "")
	}
	g := w.createGroup(w.ga, "Phones")
	w.addMember(w.ga, g, w.createUser(w.ga, "ann@contoso.com", "US"))
	w.do("POST", "/v1.0/groups/"+g+"/assignLicense", w.ga, `{"addLicenses":[{"skuId":"`+audio+`","disabledPlans":[]},{"skuId":"`+calling+`","disabledPlans":[]}],"removeLicenses":[]}`).
		expect(http.StatusAccepted, "")
	w.drain()
	before := w.do("GET", "/allot/v1/catalog", opSecret, nil).Body.String()
	conflicting := strings.Replace(before, `"name": "MCOMEETADV",`, `"name": "MCOMEETADV", "conflictsWith": ["MCOPSTN1"],`, 1)
	if conflicting == before {
		t.Fatal("the demo catalog's MCOMEETADV entry is not where the test expects it")
	}
	res := w.do("PUT", "/allot/v1/catalog", opSecret, conflicting)
	m := res.expect(http.StatusBadRequest, "Request_BadRequest")
	msg := m["error"].(map[string]any)["message"].(string)
	for _, want := range []string{`"Phones"`, g, "MCOMEETADV", "MCOPSTN1"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not name %s", msg, want)
		}
	}
	if after := w.do("GET", "/allot/v1/catalog", opSecret, nil).Body.String(); after != before {
		t.Error("the refused catalog was installed")
	}
}
