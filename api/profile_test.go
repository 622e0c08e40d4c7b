package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// TestUserProfile: the user properties license reports select and filter
// on, written by POST and PATCH and read back through $select and $filter.
func TestUserProfile(t *testing.T) {
	const (
		planSharePoint = "5dbe027f-2339-4123-9542-606e4d348a72" // SHAREPOINTENTERPRISE, in E3
		planExchange   = "efb87545-963c-4e0d-99df-69c6916d9eb0" // EXCHANGE_S_ENTERPRISE, in E3
	)
	w := newWorld(t)
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE3, "seats": 5}).expect(http.StatusCreated, "")
	ann := w.do("POST", "/v1.0/users", w.ga, map[string]any{
		"displayName": "Ann", "userPrincipalName": "ann@contoso.example", "accountEnabled": true, "usageLocation": "US",
		"givenName": "Ann", "surname": "Lee", "jobTitle": "Account Manager", "department": "Sales", "city": "Berlin",
		"employeeId": "E-17", "otherMails": []string{"ann.private@example.com"}, "businessPhones": []string{"+49 30 1"},
		"onPremisesExtensionAttributes": map[string]any{"extensionAttribute1": "cost-17"},
		"signInActivity":                map[string]any{"lastSignInDateTime": "2024-03-01T08:00:00Z"},
		"onPremisesSyncEnabled":         true,
	}).expect(http.StatusCreated, "")
	if ann["jobTitle"] != "Account Manager" || ann["givenName"] != "Ann" || ann["businessPhones"].([]any)[0] != "+49 30 1" {
		t.Fatalf("created user's default view %v", ann)
	}
	annID := ann["id"].(string)
	benID := w.do("POST", "/v1.0/users", w.ga, map[string]any{
		"displayName": "Ben", "userPrincipalName": "ben@contoso.example", "accountEnabled": true, "usageLocation": "US",
		"userType": "guest", "department": "Engineering", "proxyAddresses": []string{"SMTP:ben@contoso.example"},
	}).expect(http.StatusCreated, "")["id"].(string)
	cyID := w.createUser(w.ga, "cy@contoso.example", "US")
	w.do("POST", "/v1.0/users/"+annID+"/assignLicense", w.ga,
		`{"addLicenses":[{"skuId":"`+skuE3+`","disabledPlans":["`+planSharePoint+`","e95bec33-7c88-4a70-8e19-b10bd9d0c014"]}],"removeLicenses":[]}`).expect(http.StatusOK, "")
	w.do("POST", "/v1.0/users/"+benID+"/assignLicense", w.ga,
		`{"addLicenses":[{"skuId":"`+skuE3+`","disabledPlans":[]}],"removeLicenses":[]}`).expect(http.StatusOK, "")
	w.drain()

	m := w.do("GET", "/v1.0/users/"+annID+"?$select=DEPARTMENT,userType,signInActivity,onPremisesExtensionAttributes,employeeId,onPremisesSyncEnabled", w.ga, nil).expect(http.StatusOK, "")
	if m["department"] != "Sales" || m["userType"] != "Member" || m["employeeId"] != "E-17" || m["onPremisesSyncEnabled"] != true ||
		m["signInActivity"].(map[string]any)["lastSignInDateTime"] != "2024-03-01T08:00:00Z" ||
		m["onPremisesExtensionAttributes"].(map[string]any)["extensionAttribute1"] != "cost-17" ||
		m["onPremisesExtensionAttributes"].(map[string]any)["extensionAttribute2"] != nil {
		t.Fatalf("selected profile %v", m)
	}
	if _, ok := m["jobTitle"]; ok {
		t.Fatalf("unselected jobTitle returned: %v", m)
	}
	if g := w.do("GET", "/v1.0/users/"+benID+"?$select=userType,onPremisesSyncEnabled", w.ga, nil).expect(http.StatusOK, ""); g["userType"] != "Guest" || g["onPremisesSyncEnabled"] != nil {
		t.Fatalf("guest %v", g)
	}

	names := map[string]string{annID: "ann", benID: "ben", cyID: "cy"}
	for filter, want := range map[string][]string{
		"assignedLicenses/$count ne 0 and userType eq 'Member'":     {"ann"},
		"department in ('sales', 'Engineering')":                    {"ann", "ben"},
		"startswith(jobTitle,'account')":                            {"ann"},
		"jobTitle eq null":                                          {"ben", "cy"},
		"signInActivity/lastSignInDateTime le 2024-06-01T00:00:00Z": {"ann"},
		"signInActivity/lastSignInDateTime ge 2024-06-01T00:00:00Z": {},
		"signInActivity/lastSignInDateTime eq null":                 {"ben", "cy"},
		"createdDateTime ge 2025-01-01T00:00:00Z":                   {"ann", "ben", "cy"},
		"createdDateTime lt 2025-01-01":                             {},
		"assignedPlans/any(p:p/servicePlanId eq " + planSharePoint + " and p/capabilityStatus eq 'Enabled')": {"ben"},
		"assignedPlans/any(p:p/servicePlanId eq " + planExchange + ")":                                       {"ann", "ben"},
		"assignedPlans/any(p:p/service eq 'SharePoint')":                                                     {"ben"},
		"otherMails/any(m:m eq 'ANN.private@example.com')":                                                   {"ann"},
		"proxyAddresses/any(x:startswith(x,'smtp:ben'))":                                                     {"ben"},
		"onPremisesSyncEnabled ne true":                                                                      {"ben", "cy"},
		"onPremisesSyncEnabled eq null":                                                                      {"ben", "cy"},
		"onPremisesExtensionAttributes/extensionAttribute1 eq 'cost-17'":                                     {"ann"},
		"not (userType eq 'Guest') and accountEnabled eq true":                                               {"ann", "cy"},
		"businessPhones/any(p:startswith(p,'+49'))":                                                          {"ann"},
	} {
		_, items := w.follow(w.ga, "/v1.0/users?$select=id&$filter="+url.QueryEscape(filter))
		got := []string{}
		for _, it := range items {
			got = append(got, names[it["id"].(string)])
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("$filter=%s: %v, want %v", filter, got, want)
		}
	}
	if r := w.do("GET", "/v1.0/users/$count?$filter="+url.QueryEscape("userType eq 'Guest'"), w.ga, nil); r.Body.String() != "1" {
		t.Errorf("guests counted %q", r.Body.String())
	}
	for _, bad := range []string{"favouriteColour eq 'x'", "createdDateTime ge '2024-01-01'", "department gt 'a'", "assignedPlans/any(p:p/foo eq 'x')"} {
		w.do("GET", "/v1.0/users?$filter="+url.QueryEscape(bad), w.ga, nil).expect(http.StatusBadRequest, "")
	}

	// PATCH changes what it names: null clears, an extension attribute
	// given leaves the others.
	w.do("PATCH", "/v1.0/users/"+annID, w.ga, map[string]any{"department": nil, "city": "Munich",
		"onPremisesExtensionAttributes": map[string]any{"extensionAttribute2": "x"}}).expect(http.StatusNoContent, "")
	m = w.do("GET", "/v1.0/users/"+annID+"?$select=department,city,jobTitle,onPremisesExtensionAttributes", w.ga, nil).expect(http.StatusOK, "")
	ext := m["onPremisesExtensionAttributes"].(map[string]any)
	if m["department"] != nil || m["city"] != "Munich" || m["jobTitle"] != "Account Manager" || ext["extensionAttribute1"] != "cost-17" || ext["extensionAttribute2"] != "x" {
		t.Fatalf("after PATCH %v", m)
	}
	w.do("PATCH", "/v1.0/users/"+annID, w.ga, map[string]any{"userType": " guest "}).expect(http.StatusNoContent, "")
	if m := w.do("GET", "/v1.0/users/"+annID+"?$select=userType", w.ga, nil).expect(http.StatusOK, ""); m["userType"] != "Guest" {
		t.Fatalf("userType is stored in its canonical case: %v", m)
	}
	// Bad input changes nothing.
	for _, body := range []map[string]any{
		{"city": "Hamburg", "userType": "Alien"},
		{"city": "Hamburg", "favouriteColour": "blue"},
		{"city": "Hamburg", "onPremisesExtensionAttributes": map[string]any{"extensionAttribute16": "x"}},
		{"city": "Hamburg", "signInActivity": map[string]any{"lastSignInDateTime": "yesterday"}},
		{"city": "Hamburg", "businessPhones": []string{"1", "2"}},
	} {
		w.do("PATCH", "/v1.0/users/"+annID, w.ga, body).expect(http.StatusBadRequest, "")
	}
	if m := w.do("GET", "/v1.0/users/"+annID+"?$select=city", w.ga, nil).expect(http.StatusOK, ""); m["city"] != "Munich" {
		t.Fatalf("a refused PATCH changed the user: %v", m)
	}
}
