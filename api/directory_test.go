package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestOrganizationAndDirectorySubscriptions: the tenant as Graph's
// organization and its subscriptions as companySubscription, with the
// fields expiry and inventory scripts read; another tenant's ids are 404.
func TestOrganizationAndDirectorySubscriptions(t *testing.T) {
	w := newWorld(t)
	w.do("POST", "/allot/v1/subscriptions", w.ga, map[string]any{"skuId": skuE3, "seats": 7}).expect(http.StatusCreated, "")

	orgs := w.do("GET", "/v1.0/organization", w.ga, nil).expect(http.StatusOK, "")["value"].([]any)
	if len(orgs) != 1 {
		t.Fatalf("organization: %v", orgs)
	}
	org := orgs[0].(map[string]any)
	tenant := w.do("GET", "/allot/v1/tenant", w.ga, nil).expect(http.StatusOK, "")
	if org["id"] != tenant["id"] || org["displayName"] != "Contoso" || org["countryLetterCode"] != "US" || org["verifiedDomains"] == nil {
		t.Fatalf("organization %v (tenant %v)", org, tenant)
	}
	plans := org["assignedPlans"].([]any)
	if len(plans) == 0 || plans[0].(map[string]any)["capabilityStatus"] != "Enabled" || plans[0].(map[string]any)["servicePlanId"] == "" {
		t.Fatalf("assignedPlans %v", plans)
	}
	one := w.do("GET", "/v1.0/organization/"+strings.ToUpper(org["id"].(string))+"?$select=id,displayName", w.ga, nil).expect(http.StatusOK, "")
	if one["id"] != org["id"] || one["assignedPlans"] != nil || !strings.HasSuffix(one["@odata.context"].(string), "$metadata#organization(id,displayName)/$entity") {
		t.Fatalf("organization by id %v", one)
	}

	subs := w.do("GET", "/v1.0/directory/subscriptions", w.ga, nil).expect(http.StatusOK, "")["value"].([]any)
	if len(subs) != 1 {
		t.Fatalf("subscriptions %v", subs)
	}
	sub := subs[0].(map[string]any)
	if sub["skuId"] != skuE3 || sub["skuPartNumber"] != "ENTERPRISEPACK" || sub["status"] != "Enabled" || sub["totalLicenses"] != float64(7) ||
		sub["isTrial"] != false || sub["commerceSubscriptionId"] != sub["id"] || len(sub["serviceStatus"].([]any)) == 0 {
		t.Fatalf("companySubscription %v", sub)
	}
	if _, ok := sub["nextLifecycleDateTime"]; !ok {
		t.Fatalf("nextLifecycleDateTime missing: %v", sub)
	}
	got := w.do("GET", "/v1.0/directory/subscriptions/"+sub["id"].(string), w.ga, nil).expect(http.StatusOK, "")
	if got["id"] != sub["id"] || got["totalLicenses"] != float64(7) {
		t.Fatalf("subscription by id %v", got)
	}

	other := w.newTenant("Fabrikam", "DE")
	w.do("GET", "/v1.0/organization/"+org["id"].(string), other, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")
	w.do("GET", "/v1.0/directory/subscriptions/"+sub["id"].(string), other, nil).expect(http.StatusNotFound, "Request_ResourceNotFound")
	w.do("GET", "/v1.0/directory/subscriptions/not-an-id", w.ga, nil).expect(http.StatusBadRequest, "")
	w.do("GET", "/v1.0/organization?$filter=id%20eq%20'x'", w.ga, nil).expect(http.StatusBadRequest, "")
}
