package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestPolicyAPI: a blocked SKU cannot be added to a user directly (Graph's
// 400, nothing changes), an existing direct assignment stays and can be
// removed, and group assignment is unaffected.
func TestPolicyAPI(t *testing.T) {
	w := newWorld(t)
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE3, "seats": 5}).expect(http.StatusCreated, "")
	early, late := w.createUser(w.ga, "early@contoso.example", "US"), w.createUser(w.ga, "late@contoso.example", "US")
	add := `{"addLicenses":[{"skuId":"` + skuE3 + `","disabledPlans":[]}],"removeLicenses":[]}`
	w.do("POST", "/v1.0/users/"+early+"/assignLicense", w.ga, add).expect(http.StatusOK, "")

	if m := w.do("GET", "/allot/v1/policy", w.ga, nil).expect(http.StatusOK, ""); len(m["blockedDirectAssignmentSkuIds"].([]any)) != 0 {
		t.Fatalf("initial policy %v", m)
	}
	m := w.do("PATCH", "/allot/v1/policy", w.ga, `{"blockedDirectAssignmentSkuIds":["`+strings.ToUpper(skuE3)+`"]}`).expect(http.StatusOK, "")
	if v := m["blockedDirectAssignmentSkuIds"].([]any); len(v) != 1 || v[0] != skuE3 {
		t.Fatalf("policy %v", m)
	}

	r := w.do("POST", "/v1.0/users/"+late+"/assignLicense", w.ga, add)
	e := r.expect(http.StatusBadRequest, "Request_BadRequest")
	if msg := e["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "ENTERPRISEPACK") || !strings.Contains(msg, "group") {
		t.Errorf("message %q does not say which SKU and what to do", msg)
	}
	if u := w.do("GET", "/v1.0/users/"+late+"?$select=assignedLicenses,licenseAssignmentStates", w.ga, nil).expect(http.StatusOK, ""); len(u["assignedLicenses"].([]any)) != 0 || len(states(u)) != 0 {
		t.Fatalf("refused assignment changed the user: %v", u)
	}
	if u := w.do("GET", "/v1.0/users/"+early+"?$select=assignedLicenses", w.ga, nil).expect(http.StatusOK, ""); len(u["assignedLicenses"].([]any)) != 1 {
		t.Fatalf("existing direct assignment lost: %v", u)
	}

	g := w.createGroup(w.ga, "Licensed")
	w.addMember(w.ga, g, late)
	w.do("POST", "/v1.0/groups/"+g+"/assignLicense", w.ga, add).expect(http.StatusAccepted, "")
	w.drain()
	if u := w.do("GET", "/v1.0/users/"+late+"?$select=assignedLicenses", w.ga, nil).expect(http.StatusOK, ""); len(u["assignedLicenses"].([]any)) != 1 {
		t.Fatalf("group assignment blocked: %v", u)
	}
	w.do("POST", "/v1.0/users/"+early+"/assignLicense", w.ga, `{"addLicenses":[],"removeLicenses":["`+skuE3+`"]}`).expect(http.StatusOK, "")

	t.Run("BadRequestsChangeNothing", func(t *testing.T) {
		for _, body := range []string{`{}`, `{"blockedDirectAssignmentSkuIds":null}`, `{"blockedDirectAssignmentSkuIds":["x"]}`,
			`{"blockedDirectAssignmentSkuIds":["00000000-0000-0000-0000-0000000000ff"]}`, `{"blockedDirectAssignmentSkuIds":[],"extra":1}`, `[`} {
			w.do("PATCH", "/allot/v1/policy", w.ga, body).expect(http.StatusBadRequest, "Request_BadRequest")
		}
		if v := w.do("GET", "/allot/v1/policy", w.ga, nil).expect(http.StatusOK, "")["blockedDirectAssignmentSkuIds"].([]any); len(v) != 1 {
			t.Fatalf("policy changed: %v", v)
		}
	})
}
