package api_test

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/api"
)

const (
	ga     = string(allot.RoleGlobalAdministrator)
	reader = string(allot.RoleGlobalReader)
	licAdm = string(allot.RoleLicenseAdministrator)
	grpAdm = string(allot.RoleGroupAdministrator)
	bilAdm = string(allot.RoleBillingAdministrator)

	userID  = "22222222-2222-4222-8222-222222222222"
	groupID = "33333333-3333-4333-8333-333333333333"
	skuID   = "6fd2c87f-b296-42f0-b197-1e91e994b900"
)

func TestErrorEnvelope(t *testing.T) {
	c := newClient(t, &fake{})
	res := c.do("GET", "/v1.0/nowhere", ga, nil, "client-request-id", "abc-123")
	m := res.expect(http.StatusNotFound, "Request_ResourceNotFound")

	if len(m) != 1 {
		t.Fatalf("envelope has extra members: %v", m)
	}
	e := m["error"].(map[string]any)
	inner, ok := e["innerError"].(map[string]any)
	if !ok || e["message"] == "" {
		t.Fatalf("bad envelope %v", m)
	}
	if inner["date"] != "2025-07-14T16:14:05" {
		t.Errorf("date %v", inner["date"])
	}
	reqID := res.Header().Get("request-id")
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(reqID) {
		t.Errorf("request-id header %q is not a GUID", reqID)
	}
	if inner["request-id"] != reqID {
		t.Errorf("innerError request-id %v, header %v", inner["request-id"], reqID)
	}
	if inner["client-request-id"] != "abc-123" || res.Header().Get("client-request-id") != "abc-123" {
		t.Errorf("client-request-id not echoed: %v / %v", inner["client-request-id"], res.Header().Get("client-request-id"))
	}
	lines := strings.Split(strings.TrimSpace(c.logs.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "request_id="+reqID) || !strings.Contains(lines[0], "status=404") {
		t.Errorf("want one request log line with the request id and status:\n%s", c.logs.String())
	}
}

func TestMethodNotAllowed(t *testing.T) {
	c := newClient(t, &fake{})
	res := c.do("PUT", "/v1.0/users", ga, "{}")
	res.expect(http.StatusMethodNotAllowed, "Request_BadRequest")
	if allow := res.Header().Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
		t.Errorf("Allow %q", allow)
	}
}

func TestHealthz(t *testing.T) {
	res := newClient(t, &fake{}).do("GET", "/healthz", "", nil)
	if res.Code != 200 || res.Body.String() != "ok" {
		t.Fatalf("%d %q", res.Code, res.Body.String())
	}
}

// A script that asks for JSON gets JSON from the probes; anything else keeps
// the plain text that load balancers match.
func TestHealthJSON(t *testing.T) {
	c := newClient(t, &fake{})
	for _, tc := range []struct{ path, accept, want string }{
		{"/healthz", "application/json", `{"status":"ok"}`},
		{"/readyz", "text/html, application/json;q=0.9", `{"status":"ready"}`},
		{"/readyz", "application/problem+json", `{"status":"ready"}`},
		{"/healthz", "application/json;q=0, text/plain", "ok"},
		{"/healthz", "*/*", "ok"},
	} {
		res := c.do("GET", tc.path, "", nil, "Accept", tc.accept)
		if res.Code != 200 || strings.TrimSpace(res.Body.String()) != tc.want {
			t.Errorf("%s with Accept %q: %d %q, want %q", tc.path, tc.accept, res.Code, res.Body.String(), tc.want)
		}
		if ct := res.Header().Get("Content-Type"); strings.HasPrefix(tc.want, "{") != strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s with Accept %q: Content-Type %q", tc.path, tc.accept, ct)
		}
	}
}

func TestAuthentication(t *testing.T) {
	c := newClient(t, &fake{})
	t.Run("NoToken", func(t *testing.T) {
		res := c.do("GET", "/v1.0/users", "", nil)
		res.expect(http.StatusUnauthorized, "InvalidAuthenticationToken")
		if res.Header().Get("WWW-Authenticate") == "" {
			t.Error("no WWW-Authenticate")
		}
	})
	t.Run("BadToken", func(t *testing.T) {
		c.do("GET", "/v1.0/users", "nope", nil).expect(http.StatusUnauthorized, "InvalidAuthenticationToken")
	})
	t.Run("NotBearer", func(t *testing.T) {
		c.do("GET", "/v1.0/users", "", nil, "Authorization", "Basic "+ga).expect(http.StatusUnauthorized, "InvalidAuthenticationToken")
	})
	t.Run("OperatorOnTenantEndpoint", func(t *testing.T) {
		c.do("GET", "/v1.0/users", opSecret, nil).expect(http.StatusForbidden, "Authorization_RequestDenied")
	})
	t.Run("TenantOnOperatorEndpoint", func(t *testing.T) {
		c.do("POST", "/allot/v1/tenants", ga, `{"displayName":"x"}`).expect(http.StatusForbidden, "Authorization_RequestDenied")
	})
	t.Run("EmptyOperatorTokenDisablesOperator", func(t *testing.T) {
		c := newClient(t, &fake{}, func(c *api.Config) { c.OperatorToken = "" })
		// With no operator token configured, the secret goes to the Service,
		// which does not know it.
		c.do("POST", "/allot/v1/tenants", opSecret, `{"displayName":"x"}`).
			expect(http.StatusUnauthorized, "InvalidAuthenticationToken")
	})
}

func TestRoles(t *testing.T) {
	f := &fake{
		updateUser: func(string, allot.UserUpdate) (*allot.User, error) { return &allot.User{ID: userID}, nil },
	}
	c := newClient(t, f)
	denied := func(t *testing.T, res response) {
		t.Helper()
		m := res.expect(http.StatusForbidden, "Authorization_RequestDenied")
		if got := errMessage(m); got != "Insufficient privileges to complete the operation." {
			t.Errorf("message %q", got)
		}
	}
	t.Run("GroupAdministratorCannotAssignLicenses", func(t *testing.T) {
		denied(t, c.do("POST", "/v1.0/groups/"+groupID+"/assignLicense", grpAdm, `{"addLicenses":[],"removeLicenses":[]}`))
		denied(t, c.do("POST", "/allot/v1/groups/assignLicense", grpAdm, `{"groupIds":["`+groupID+`"],"skuId":"`+skuID+`"}`))
	})
	t.Run("GlobalReaderChangesNothing", func(t *testing.T) {
		denied(t, c.do("POST", "/v1.0/users", reader, `{"displayName":"a","userPrincipalName":"a@x"}`))
		denied(t, c.do("PATCH", "/v1.0/users/"+userID, reader, `{"usageLocation":"US"}`))
		denied(t, c.do("DELETE", "/v1.0/groups/"+groupID, reader, nil))
		denied(t, c.do("POST", "/allot/v1/tokens", reader, `{"name":"x","role":"GlobalReader"}`))
	})
	t.Run("LicenseAdministratorEditsOnlyUsageLocation", func(t *testing.T) {
		c.do("PATCH", "/v1.0/users/"+userID, licAdm, `{"usageLocation":"fr"}`).expect(http.StatusNoContent, "")
		denied(t, c.do("PATCH", "/v1.0/users/"+userID, licAdm, `{"usageLocation":"FR","displayName":"x"}`))
	})
	t.Run("BillingAdministratorCannotAssign", func(t *testing.T) {
		denied(t, c.do("POST", "/v1.0/users/"+userID+"/assignLicense", bilAdm, `{"addLicenses":[],"removeLicenses":[]}`))
	})
	t.Run("GroupAdministratorCannotBuy", func(t *testing.T) {
		denied(t, c.do("POST", "/allot/v1/subscriptions/"+skuID+"/purchase", grpAdm, `{"quantity":1}`))
	})
}

func TestPatchUsageLocationNormalised(t *testing.T) {
	var got allot.UserUpdate
	f := &fake{updateUser: func(_ string, u allot.UserUpdate) (*allot.User, error) { got = u; return &allot.User{}, nil }}
	c := newClient(t, f)
	c.do("PATCH", "/v1.0/users/"+strings.ToUpper(userID), licAdm, `{"usageLocation":"gb","@odata.type":"#microsoft.graph.user"}`).
		expect(http.StatusNoContent, "")
	if got.UsageLocation == nil || *got.UsageLocation != "GB" || got.DisplayName != nil {
		t.Fatalf("update %+v", got)
	}
	c.do("PATCH", "/v1.0/users/"+userID, licAdm, `{"usageLocation":null}`).expect(http.StatusNoContent, "")
	if got.UsageLocation == nil || *got.UsageLocation != "" {
		t.Fatalf("null should clear, got %+v", got)
	}
	c.do("PATCH", "/v1.0/users/"+userID, ga, `{"usageLocation":"USA"}`).expect(http.StatusBadRequest, "Request_BadRequest")
	c.do("PATCH", "/v1.0/users/"+userID, ga, `{"usageLocation":"1A"}`).expect(http.StatusBadRequest, "Request_BadRequest")
	c.do("PATCH", "/v1.0/users/"+userID, ga, `{"usageLocation":"UK"}`).expect(http.StatusBadRequest, "Request_BadRequest") // GB is the code
	c.do("PATCH", "/v1.0/users/"+userID, ga, `{"displayName":null}`).expect(http.StatusBadRequest, "Request_BadRequest")
}

func TestStrictJSON(t *testing.T) {
	var created allot.UserCreate
	f := &fake{createUser: func(u allot.UserCreate) (*allot.User, error) {
		created = u
		return &allot.User{ID: userID, DisplayName: u.DisplayName, UserPrincipalName: u.UserPrincipalName}, nil
	}}
	c := newClient(t, f, func(c *api.Config) { c.MaxBodyBytes = 1024 })
	bad := func(name, body, wantInMessage string) {
		t.Run(name, func(t *testing.T) {
			m := c.do("POST", "/v1.0/users", ga, body).expect(http.StatusBadRequest, "Request_BadRequest")
			if !strings.Contains(errMessage(m), wantInMessage) {
				t.Errorf("message %q lacks %q", errMessage(m), wantInMessage)
			}
		})
	}
	bad("UnknownField", `{"displayName":"a","userPrincipalName":"a@x","favouriteColour":"red"}`, "favouriteColour")
	bad("CaseMatters", `{"DisplayName":"a","userPrincipalName":"a@x"}`, "DisplayName")
	bad("Malformed", `{"displayName":"a",`, "JSON")
	bad("Trailing", `{"displayName":"a","userPrincipalName":"a@x"} {}`, "unexpected data")
	bad("Empty", ``, "Empty Payload")
	bad("NotAnObject", `["a"]`, "object")
	bad("WrongType", `{"displayName":1,"userPrincipalName":"a@x"}`, "displayName")
	bad("MissingDisplayName", `{"userPrincipalName":"a@x"}`, "displayName")
	bad("MissingUPN", `{"displayName":"a"}`, "userPrincipalName")
	bad("BadUPN", `{"displayName":"a","userPrincipalName":"nobody"}`, "userPrincipalName")
	bad("BadID", `{"id":"123","displayName":"a","userPrincipalName":"a@x"}`, "Invalid object identifier '123'.")
	bad("ControlCharacter", `{"displayName":"a\u0000","userPrincipalName":"a@x"}`, "displayName")

	t.Run("TooLarge", func(t *testing.T) {
		body := `{"displayName":"` + strings.Repeat("a", 2000) + `","userPrincipalName":"a@x"}`
		c.do("POST", "/v1.0/users", ga, body).expect(http.StatusRequestEntityTooLarge, "Request_EntityTooLarge")
	})
	t.Run("GraphFieldsAccepted", func(t *testing.T) {
		body := `{"@odata.type":"#microsoft.graph.user","accountEnabled":false,"displayName":"Adele","mailNickname":"adele",
			"passwordProfile":{"forceChangePasswordNextSignIn":true,"password":"x"},"userPrincipalName":"adele@contoso.com",
			"usageLocation":"us","proxyAddresses":["SMTP:adele@contoso.com"],"id":"` + strings.ToUpper(userID) + `"}`
		m := c.do("POST", "/v1.0/users", ga, body).expect(http.StatusCreated, "")
		if created.UsageLocation != "US" || created.ID != userID || created.AccountEnabled || len(created.ProxyAddresses) != 1 {
			t.Errorf("create %+v", created)
		}
		if m["id"] != userID || !strings.HasSuffix(m["@odata.context"].(string), "/v1.0/$metadata#users/$entity") {
			t.Errorf("response %v", m)
		}
		if _, ok := m["businessPhones"].([]any); !ok || m["givenName"] != nil {
			t.Errorf("default properties missing: %v", m)
		}
		if _, ok := m["accountEnabled"]; ok {
			t.Errorf("non-default property returned: %v", m)
		}
	})
}

// TestProxyAddressesBound: the API's bound on a proxyAddresses list is the
// store's (allot.MaxAddresses), so a list the store would refuse is refused
// here, naming the property, and one it accepts passes.
func TestProxyAddressesBound(t *testing.T) {
	var calls int
	f := &fake{createUser: func(u allot.UserCreate) (*allot.User, error) {
		calls++
		return &allot.User{ID: userID, DisplayName: u.DisplayName, UserPrincipalName: u.UserPrincipalName}, nil
	}}
	c := newClient(t, f)
	body := func(n int) string {
		addrs := make([]string, n)
		for i := range addrs {
			addrs[i] = fmt.Sprintf(`"smtp:a%d@contoso.com"`, i)
		}
		return `{"displayName":"a","userPrincipalName":"a@contoso.com","proxyAddresses":[` + strings.Join(addrs, ",") + `]}`
	}
	m := c.do("POST", "/v1.0/users", ga, body(allot.MaxAddresses+1)).expect(http.StatusBadRequest, "Request_BadRequest")
	if want := fmt.Sprintf("Too many proxyAddresses: at most %d are allowed.", allot.MaxAddresses); errMessage(m) != want {
		t.Errorf("message %q, want %q", errMessage(m), want)
	}
	if calls != 0 {
		t.Fatalf("the store was called with %d addresses", allot.MaxAddresses+1)
	}
	c.do("POST", "/v1.0/users", ga, body(allot.MaxAddresses)).expect(http.StatusCreated, "")
	if calls != 1 {
		t.Errorf("the store was called %d times for a list at the bound", calls)
	}
}

func TestAssignLicenseValidation(t *testing.T) {
	c := newClient(t, &fake{})
	path := "/v1.0/users/" + userID + "/assignLicense"
	t.Run("MissingRemoveLicenses", func(t *testing.T) {
		m := c.do("POST", path, ga, `{"addLicenses":[]}`).expect(http.StatusBadRequest, "Request_BadRequest")
		want := "One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: removeLicenses."
		if errMessage(m) != want {
			t.Errorf("message %q", errMessage(m))
		}
	})
	t.Run("MissingAddLicenses", func(t *testing.T) {
		m := c.do("POST", "/v1.0/groups/"+groupID+"/assignLicense", ga, `{"removeLicenses":[]}`).expect(http.StatusBadRequest, "Request_BadRequest")
		want := "One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: addLicenses."
		if errMessage(m) != want {
			t.Errorf("message %q", errMessage(m))
		}
	})
	t.Run("NullIsMissing", func(t *testing.T) {
		m := c.do("POST", path, ga, `{"addLicenses":null,"removeLicenses":null}`).expect(http.StatusBadRequest, "Request_BadRequest")
		if !strings.Contains(errMessage(m), "addLicenses") || !strings.Contains(errMessage(m), "removeLicenses") {
			t.Errorf("message %q", errMessage(m))
		}
	})
	for name, body := range map[string]string{
		"BadSkuID":           `{"addLicenses":[{"skuId":"nope","disabledPlans":[]}],"removeLicenses":[]}`,
		"BadDisabledPlan":    `{"addLicenses":[{"skuId":"` + skuID + `","disabledPlans":["x"]}],"removeLicenses":[]}`,
		"BadRemove":          `{"addLicenses":[],"removeLicenses":["6fd2c87f-b296-42f0-b197-1e91e994b90"]}`,
		"NestedUnknown":      `{"addLicenses":[{"skuId":"` + skuID + `","planz":[]}],"removeLicenses":[]}`,
		"MissingSkuID":       `{"addLicenses":[{"disabledPlans":[]}],"removeLicenses":[]}`,
		"DuplicateSku":       `{"addLicenses":[{"skuId":"` + skuID + `"},{"skuId":"` + strings.ToUpper(skuID) + `"}],"removeLicenses":[]}`,
		"AddAndRemove":       `{"addLicenses":[{"skuId":"` + skuID + `"}],"removeLicenses":["` + skuID + `"]}`,
		"RemoveNotAnArray":   `{"addLicenses":[],"removeLicenses":"` + skuID + `"}`,
		"LicenseNotAnObject": `{"addLicenses":["` + skuID + `"],"removeLicenses":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			c.do("POST", path, ga, body).expect(http.StatusBadRequest, "Request_BadRequest")
		})
	}
}

func TestBadGUIDs(t *testing.T) {
	c := newClient(t, &fake{})
	for _, target := range []string{
		"/v1.0/groups/not-a-guid",
		"/v1.0/groups/" + groupID + "/members/xyz/$ref",
		"/v1.0/users/123/licenseDetails",
		"/v1.0/subscribedSkus/x_" + skuID,
		"/allot/v1/users/42/licenseStates",
	} {
		method := "GET"
		if strings.HasSuffix(target, "$ref") {
			method = "DELETE"
		}
		m := c.do(method, target, ga, nil).expect(http.StatusBadRequest, "Request_BadRequest")
		if !strings.HasPrefix(errMessage(m), "Invalid object identifier '") {
			t.Errorf("%s: message %q", target, errMessage(m))
		}
	}
	m := c.do("POST", "/v1.0/groups/"+groupID+"/members/$ref", ga, `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/zzz"}`).
		expect(http.StatusBadRequest, "Request_BadRequest")
	if errMessage(m) != "Invalid object identifier 'zzz'." {
		t.Errorf("message %q", errMessage(m))
	}
	c.do("POST", "/v1.0/groups/"+groupID+"/members/$ref", ga, `{"@odata.id":"https://graph.microsoft.com/v1.0/contacts/`+userID+`"}`).
		expect(http.StatusBadRequest, "Request_BadRequest")
	c.do("POST", "/v1.0/groups/"+groupID+"/members/$ref", ga, `{}`).expect(http.StatusBadRequest, "Request_BadRequest")
}

func TestQueryOptions(t *testing.T) {
	var got allot.ListOptions
	f := &fake{listUsers: func(o allot.ListOptions) (*allot.Page[allot.User], error) {
		got = o
		return &allot.Page[allot.User]{Items: []allot.User{{ID: userID, DisplayName: "A", UserPrincipalName: "a@x"}}, NextCursor: "c1", Count: 7}, nil
	}}
	c := newClient(t, f)
	t.Run("TopTooLarge", func(t *testing.T) {
		m := c.do("GET", "/v1.0/users?$top=1000", ga, nil).expect(http.StatusBadRequest, "Request_UnsupportedQuery")
		if errMessage(m) != "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive." {
			t.Errorf("message %q", errMessage(m))
		}
	})
	t.Run("TopZero", func(t *testing.T) {
		c.do("GET", "/v1.0/users?$top=0", ga, nil).expect(http.StatusBadRequest, "Request_UnsupportedQuery")
	})
	t.Run("UnknownOption", func(t *testing.T) {
		c.do("GET", "/v1.0/users?$frobnicate=1", ga, nil).expect(http.StatusBadRequest, "")
	})
	t.Run("UnsupportedOption", func(t *testing.T) {
		c.do("GET", "/v1.0/users?$expand=manager", ga, nil).expect(http.StatusBadRequest, "")
		c.do("POST", "/v1.0/users?$select=id", ga, `{}`).expect(http.StatusBadRequest, "Request_UnsupportedQuery")
	})
	t.Run("SubscribedSkusFilter", func(t *testing.T) {
		c.do("GET", "/v1.0/subscribedSkus?$filter=skuId%20eq%20'x'", ga, nil).expect(http.StatusBadRequest, "Request_UnsupportedQuery")
	})
	t.Run("UnknownSelect", func(t *testing.T) {
		c.do("GET", "/v1.0/users?$select=shoeSize", ga, nil).expect(http.StatusBadRequest, "Request_BadRequest")
	})
	t.Run("BadFilter", func(t *testing.T) {
		c.do("GET", "/v1.0/users?$filter=displayName%20eq", ga, nil).expect(http.StatusBadRequest, "Request_BadRequest")
	})
	t.Run("BadSkipToken", func(t *testing.T) {
		c.do("GET", "/v1.0/users?$skiptoken=garbage", ga, nil).expect(http.StatusBadRequest, "Request_BadRequest")
	})
	t.Run("ListShape", func(t *testing.T) {
		res := c.do("GET", "/v1.0/users?$select=displayName,usageLocation&$count=true&$top=5&$filter=accountEnabled%20eq%20true", ga, nil,
			"X-Forwarded-Proto", "https")
		m := res.expect(http.StatusOK, "")
		if got.Top != 5 || !got.Count || got.Filter == nil || got.WithLicensing {
			t.Errorf("options %+v", got)
		}
		if m["@odata.count"] != float64(7) {
			t.Errorf("count %v", m["@odata.count"])
		}
		// X-Forwarded-Proto from a client, with no trusted proxy configured, is ignored.
		if m["@odata.context"] != "http://example.com/v1.0/$metadata#users(displayName,usageLocation)" {
			t.Errorf("context %v", m["@odata.context"])
		}
		next, _ := m["@odata.nextLink"].(string)
		if !strings.HasPrefix(next, "http://example.com/v1.0/users?") || !strings.Contains(next, "$skiptoken=") || !strings.Contains(next, "$top=5") {
			t.Errorf("nextLink %q", next)
		}
		item := m["value"].([]any)[0].(map[string]any)
		if len(item) != 2 || item["displayName"] != "A" || item["usageLocation"] != nil {
			t.Errorf("item %v", item)
		}
	})
	t.Run("LicensingOnlyWhenSelected", func(t *testing.T) {
		c.do("GET", "/v1.0/users?$select=id,licenseAssignmentStates", ga, nil).expect(http.StatusOK, "")
		if !got.WithLicensing {
			t.Error("WithLicensing not set")
		}
	})
	t.Run("BaseURL", func(t *testing.T) {
		c := newClient(t, f, func(c *api.Config) { c.BaseURL = "https://allot.example.org/" })
		m := c.do("GET", "/v1.0/users", ga, nil).expect(http.StatusOK, "")
		if next := m["@odata.nextLink"].(string); !strings.HasPrefix(next, "https://allot.example.org/v1.0/users?$skiptoken=") {
			t.Errorf("nextLink %q", next)
		}
	})
}

func TestInternalErrorsDoNotLeak(t *testing.T) {
	f := &fake{user: func(string) (*allot.User, error) {
		return nil, fmt.Errorf("sql: connection refused to db-secret-host")
	}}
	c := newClient(t, f)
	res := c.do("GET", "/v1.0/users/"+userID, ga, nil)
	m := res.expect(http.StatusInternalServerError, "InternalServerError")
	if strings.Contains(res.Body.String(), "secret") {
		t.Errorf("leaked: %s", res.Body.String())
	}
	if !strings.Contains(c.logs.String(), "db-secret-host") || !strings.Contains(c.logs.String(), m["error"].(map[string]any)["innerError"].(map[string]any)["request-id"].(string)) {
		t.Errorf("error not logged with request id:\n%s", c.logs.String())
	}
}

func TestPanicRecovery(t *testing.T) {
	// The fake does not implement DeleteUser: the nil interface panics.
	c := newClient(t, &fake{})
	c.do("DELETE", "/v1.0/users/"+userID, ga, nil).expect(http.StatusInternalServerError, "InternalServerError")
	if !strings.Contains(c.logs.String(), "panic") {
		t.Error("panic not logged")
	}
}

func TestDomainErrorCodes(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{allot.Errorf(allot.EINVALID, "x"), 400, "Request_BadRequest"},
		{allot.Errorf(allot.ECONFLICT, "x"), 400, "Request_BadRequest"},
		{allot.Errorf(allot.EUNSUPPORTEDQUERY, "x"), 400, "Request_UnsupportedQuery"},
		{fmt.Errorf("wrapped: %w", allot.Errorf(allot.ENOTFOUND, "x")), 404, "Request_ResourceNotFound"},
		{allot.Errorf(allot.EFORBIDDEN, "x"), 403, "Authorization_RequestDenied"},
		{allot.Errorf(allot.EUNAUTHORIZED, "x"), 401, "InvalidAuthenticationToken"},
		{allot.Errorf(allot.ETOOMANY, "x"), 429, "TooManyRequests"},
		{errors.New("boom"), 500, "InternalServerError"},
	} {
		f := &fake{user: func(string) (*allot.User, error) { return nil, tc.err }}
		m := newClient(t, f).do("GET", "/v1.0/users/a@x.com", reader, nil).expect(tc.status, tc.code)
		if tc.status < 500 && errMessage(m) != "x" {
			t.Errorf("%v: message %q", tc.err, errMessage(m))
		}
	}
}

func TestGroupAssignLicenseAccepted(t *testing.T) {
	var gotAdd []allot.AssignedLicense
	f := &fake{assignGroup: func(id string, add []allot.AssignedLicense, rm []string) (*allot.Group, error) {
		gotAdd = add
		return &allot.Group{ID: id, DisplayName: "G", SecurityEnabled: true}, nil
	}}
	c := newClient(t, f)
	res := c.do("POST", "/v1.0/groups/"+groupID+"/assignLicense", licAdm,
		`{"addLicenses":[{"@odata.type":"#microsoft.graph.assignedLicense","skuId":"`+strings.ToUpper(skuID)+`"}],"removeLicenses":[]}`)
	m := res.expect(http.StatusAccepted, "")
	if m["id"] != groupID || res.Header().Get("Location") == "" {
		t.Errorf("response %v, Location %q", m, res.Header().Get("Location"))
	}
	if len(gotAdd) != 1 || gotAdd[0].SkuID != skuID || gotAdd[0].DisabledPlans == nil {
		t.Errorf("add %+v", gotAdd)
	}
}

func TestBatchLimits(t *testing.T) {
	c := newClient(t, &fake{})
	ids := make([]string, 21)
	for i := range ids {
		ids[i] = fmt.Sprintf(`"00000000-0000-4000-8000-%012d"`, i)
	}
	list := "[" + strings.Join(ids, ",") + "]"
	m := c.do("POST", "/allot/v1/users/reprocess", licAdm, `{"userIds":`+list+`}`).expect(http.StatusBadRequest, "Request_BadRequest")
	if !strings.Contains(errMessage(m), "20") {
		t.Errorf("message %q", errMessage(m))
	}
	c.do("POST", "/allot/v1/groups/assignLicense", licAdm, `{"groupIds":`+list+`,"skuId":"`+skuID+`"}`).expect(http.StatusBadRequest, "Request_BadRequest")
	c.do("POST", "/allot/v1/groups/assignLicense", licAdm, `{"groupIds":[],"skuId":"`+skuID+`"}`).expect(http.StatusBadRequest, "Request_BadRequest")
	c.do("POST", "/allot/v1/subscriptions/"+skuID+"/purchase", bilAdm, `{"quantity":30,"userIds":`+list+`}`).expect(http.StatusBadRequest, "Request_BadRequest")
	c.do("POST", "/allot/v1/subscriptions/"+skuID+"/purchase", bilAdm, `{"quantity":0}`).expect(http.StatusBadRequest, "Request_BadRequest")
	c.do("POST", "/allot/v1/subscriptions/"+skuID+"/purchase", bilAdm, `{"quantity":10001}`).expect(http.StatusBadRequest, "Request_BadRequest")
	c.do("GET", "/allot/v1/audit?sinse=2025-01-01T00:00:00Z", reader, nil).expect(http.StatusBadRequest, "Request_BadRequest")
	c.do("GET", "/allot/v1/audit?since=yesterday", reader, nil).expect(http.StatusBadRequest, "Request_BadRequest")
	c.do("POST", "/allot/v1/tokens", ga, `{"name":"x","role":"Emperor"}`).expect(http.StatusBadRequest, "Request_BadRequest")
}

func TestSubscribedSkuOtherTenant(t *testing.T) {
	f := &fake{tenant: func() (*allot.Tenant, error) { return &allot.Tenant{ID: testTenant}, nil }}
	c := newClient(t, f)
	c.do("GET", "/v1.0/subscribedSkus/44444444-4444-4444-8444-444444444444_"+skuID, reader, nil).
		expect(http.StatusNotFound, "Request_ResourceNotFound")
}

// A JSON endpoint refuses a body of another media type with 415, and reads
// a body sent without any Content-Type as JSON.
func TestUnsupportedMediaType(t *testing.T) {
	c := newClient(t, &fake{})
	body := `{"displayName":"x","mailNickname":"x","mailEnabled":false,"securityEnabled":true}`
	for _, ct := range []string{"application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", "nonsense"} {
		c.do("POST", "/v1.0/groups", ga, body, "Content-Type", ct).expect(http.StatusUnsupportedMediaType, "UnsupportedMediaType")
	}
	c.do("PUT", "/allot/v1/catalog", opSecret, `{"plans":[],"skus":[]}`, "Content-Type", "text/csv").expect(http.StatusUnsupportedMediaType, "UnsupportedMediaType")
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON"} {
		if res := c.do("POST", "/v1.0/groups", ga, body, "Content-Type", ct); res.Code == http.StatusUnsupportedMediaType {
			t.Errorf("Content-Type %q: 415", ct)
		}
	}
}
