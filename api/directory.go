package api

import (
	"net/http"
	"slices"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/odata"
)

// The tenant as Graph's organization and its subscriptions as Graph's
// companySubscription (docs/COMPATIBILITY.md), for the scripts that report
// on them: Get-MgOrganization, Get-MgDirectorySubscription.

var orgSelect = []string{"id", "displayName", "createdDateTime", "countryLetterCode", "preferredLanguage",
	"verifiedDomains", "assignedPlans", "tenantType"}

var orgQuery = odata.QuerySpec{Select: orgSelect, TypeName: "microsoft.graph.organization"}

var companySubSelect = []string{"id", "commerceSubscriptionId", "createdDateTime", "isTrial", "nextLifecycleDateTime",
	"ownerId", "ownerTenantId", "ownerType", "serviceStatus", "skuId", "skuPartNumber", "status", "totalLicenses"}

var companySubQuery = odata.QuerySpec{Select: companySubSelect, TypeName: "microsoft.graph.companySubscription"}

// orgView is the tenant as an organization. Allot holds no domains, so
// verifiedDomains is empty; assignedPlans are the plans of its
// subscriptions, each once, as Graph lists them.
func orgView(t *allot.Tenant, cat *allot.Catalog, subs []allot.Subscription, sel []string) object {
	plans := []object{}
	var seen []string
	for _, sub := range subs {
		sku := cat.SKUs[sub.SkuID]
		if sku == nil {
			continue
		}
		for _, pid := range sku.Plans {
			if slices.Contains(seen, pid) {
				continue
			}
			seen = append(seen, pid)
			service := ""
			if p := cat.Plans[pid]; p != nil {
				service = p.Service
			}
			plans = append(plans, object{"assignedDateTime": jsonTime(sub.CreatedAt), "capabilityStatus": capability(&sub),
				"service": service, "servicePlanId": pid})
		}
	}
	var country any
	if t.DefaultUsageLocation != "" {
		country = t.DefaultUsageLocation
	}
	return pick(object{
		"id":                t.ID,
		"displayName":       t.DisplayName,
		"createdDateTime":   jsonTime(t.CreatedAt),
		"countryLetterCode": country,
		"preferredLanguage": nil,
		"verifiedDomains":   []object{},
		"assignedPlans":     plans,
		"tenantType":        "AAD",
	}, sel, orgSelect)
}

func capability(sub *allot.Subscription) string {
	if sub.CapabilityStatus == "" {
		return allot.CapabilityEnabled
	}
	return sub.CapabilityStatus
}

// organization serves GET /v1.0/organization (a collection of one) and
// GET /v1.0/organization/{id}.
func (s *server) organization(w http.ResponseWriter, r *http.Request) error {
	q, err := odata.ParseQuery(r.URL.Query(), orgQuery)
	if err != nil {
		return err
	}
	t, err := s.svc.Tenants.Tenant(r.Context())
	if err != nil {
		return err
	}
	if raw := r.PathValue("id"); raw != "" {
		if id, ok := allot.ParseID(raw); !ok || id != t.ID {
			return allot.Errorf(allot.ENOTFOUND, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", clip(raw))
		}
	}
	subs, err := s.svc.Subscriptions.Subscriptions(r.Context())
	if err != nil {
		return err
	}
	v := orgView(t, s.svc.Subscriptions.Catalog(), subs, q.Select)
	if r.PathValue("id") != "" {
		v["@odata.context"] = s.metadata(r, "organization/$entity", q.Select)
		writeJSON(w, http.StatusOK, v)
		return nil
	}
	writeJSON(w, http.StatusOK, object{"@odata.context": s.metadata(r, "organization", q.Select), "value": []any{v}})
	return nil
}
