package api_test

import (
	"net/http"
	"testing"
)

// TestResentDirectAssignmentInError: sending a direct assignment again,
// unchanged, while its license is in error answers 400 with the rule and
// writes nothing; a 200 always means every SKU in addLicenses is Active.
func TestResentDirectAssignmentInError(t *testing.T) {
	w := newWorld(t)
	tok := w.newTenant("Fabrikam", "") // no default usage location
	w.do("POST", "/allot/v1/subscriptions", tok, map[string]any{"skuId": skuE1, "seats": 5}).expect(http.StatusCreated, "")
	u := w.createUser(tok, "anna@fabrikam.com", "DE")
	body := `{"addLicenses":[{"skuId":"` + skuE1 + `","disabledPlans":[]}],"removeLicenses":[]}`
	w.do("POST", "/v1.0/users/"+u+"/assignLicense", tok, body).expect(http.StatusOK, "")
	w.do("PATCH", "/v1.0/users/"+u, tok, map[string]any{"usageLocation": nil}).expect(http.StatusNoContent, "")
	w.drain()
	st := states(w.do("GET", "/v1.0/users/"+u+"?$select=licenseAssignmentStates", tok, nil).expect(http.StatusOK, ""))
	if len(st) != 1 || st[0]["error"] != "ProhibitedInUsageLocationViolation" {
		t.Fatalf("after clearing the location: %v", st)
	}
	audits := len(w.do("GET", "/allot/v1/audit", tok, nil).expect(http.StatusOK, "")["value"].([]any))

	w.do("POST", "/v1.0/users/"+u+"/assignLicense", tok, body).expect(http.StatusBadRequest, "Request_BadRequest")

	if n := len(w.do("GET", "/allot/v1/audit", tok, nil).expect(http.StatusOK, "")["value"].([]any)); n != audits {
		t.Errorf("the refused request wrote %d audit lines", n-audits)
	}
	st = states(w.do("GET", "/v1.0/users/"+u+"?$select=licenseAssignmentStates", tok, nil).expect(http.StatusOK, ""))
	if len(st) != 1 || st[0]["error"] != "ProhibitedInUsageLocationViolation" {
		t.Fatalf("the refused request changed the states: %v", st)
	}
	// With the location back, the same request is a 200 and the license Active.
	w.do("PATCH", "/v1.0/users/"+u, tok, map[string]any{"usageLocation": "DE"}).expect(http.StatusNoContent, "")
	w.drain()
	w.do("POST", "/v1.0/users/"+u+"/assignLicense", tok, body).expect(http.StatusOK, "")
	st = states(w.do("GET", "/v1.0/users/"+u+"?$select=licenseAssignmentStates", tok, nil).expect(http.StatusOK, ""))
	if len(st) != 1 || st[0]["state"] != "Active" {
		t.Fatalf("after the fix: %v", st)
	}
}
