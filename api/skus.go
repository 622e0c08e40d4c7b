package api

import (
	"net/http"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/odata"
)

var skuSelect = []string{
	"accountName", "accountId", "appliesTo", "capabilityStatus", "consumedUnits", "id",
	"prepaidUnits", "servicePlans", "skuId", "skuPartNumber", "subscriptionIds",
}

// skuQuery allows only $select: Graph does not support $filter on
// subscribedSkus, and ParseQuery answers it with Request_UnsupportedQuery.
var skuQuery = odata.QuerySpec{Select: skuSelect, TypeName: "microsoft.graph.subscribedSku"}

func skuView(t *allot.Tenant, cat *allot.Catalog, sub *allot.Subscription, subIDs []string, sel []string) object {
	appliesTo, part := "User", ""
	if sku := cat.SKUs[sub.SkuID]; sku != nil {
		part = sku.PartNumber
		if sku.AppliesTo != "" {
			appliesTo = sku.AppliesTo
		}
	}
	plans, status := skuPlans(cat, sub.SkuID), capability(sub)
	return pick(object{
		"accountName":      t.DisplayName,
		"accountId":        t.ID,
		"appliesTo":        appliesTo,
		"capabilityStatus": status,
		"consumedUnits":    sub.ConsumedUnits,
		"id":               t.ID + "_" + sub.SkuID,
		"prepaidUnits": object{
			"enabled":   sub.Enabled,
			"lockedOut": sub.LockedOut,
			"suspended": sub.Suspended,
			"warning":   sub.Warning,
		},
		"servicePlans":    plans,
		"skuId":           sub.SkuID,
		"skuPartNumber":   part,
		"subscriptionIds": list(subIDs),
	}, sel, skuSelect)
}

func (s *server) listSkus(w http.ResponseWriter, r *http.Request) error {
	q, err := odata.ParseQuery(r.URL.Query(), skuQuery)
	if err != nil {
		return err
	}
	t, err := s.svc.Tenants.Tenant(r.Context())
	if err != nil {
		return err
	}
	subs, err := s.svc.Subscriptions.Subscriptions(r.Context())
	if err != nil {
		return err
	}
	ids, err := s.subscriptionIDs(r)
	if err != nil {
		return err
	}
	cat := s.svc.Subscriptions.Catalog()
	items := make([]any, 0, len(subs))
	for i := range subs {
		items = append(items, skuView(t, cat, &subs[i], ids[subs[i].SkuID], q.Select))
	}
	writeJSON(w, http.StatusOK, object{"@odata.context": s.metadata(r, "subscribedSkus", q.Select), "value": items})
	return nil
}

// getSku accepts Graph's "{tenantId}_{skuId}" and, for convenience, a bare
// skuId. Another tenant's id is simply not found.
func (s *server) getSku(w http.ResponseWriter, r *http.Request) error {
	q, err := odata.ParseQuery(r.URL.Query(), skuQuery)
	if err != nil {
		return err
	}
	raw := r.PathValue("id")
	tenantPart, skuPart, composite := strings.Cut(raw, "_")
	if !composite {
		skuPart = raw
	}
	sku, ok := allot.ParseID(skuPart)
	if !ok {
		return invalidID(clip(raw))
	}
	var tenantID string
	if composite {
		if tenantID, ok = allot.ParseID(tenantPart); !ok {
			return invalidID(clip(raw))
		}
	}
	t, err := s.svc.Tenants.Tenant(r.Context())
	if err != nil {
		return err
	}
	if composite && tenantID != strings.ToLower(t.ID) {
		return allot.Errorf(allot.ENOTFOUND, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", clip(raw))
	}
	sub, err := s.svc.Subscriptions.Subscription(r.Context(), sku)
	if err != nil {
		return err
	}
	ids, err := s.subscriptionIDs(r)
	if err != nil {
		return err
	}
	v := skuView(t, s.svc.Subscriptions.Catalog(), sub, ids[sub.SkuID], q.Select)
	v["@odata.context"] = s.metadata(r, "subscribedSkus/$entity", q.Select)
	writeJSON(w, http.StatusOK, v)
	return nil
}

// skuPlans is a SKU's plans as Graph's servicePlanInfo list, the shape of
// subscribedSku.servicePlans and companySubscription.serviceStatus.
func skuPlans(cat *allot.Catalog, skuID string) []object {
	plans := []object{}
	sku := cat.SKUs[skuID]
	if sku == nil {
		return plans
	}
	for _, pid := range sku.Plans {
		name := ""
		if p := cat.Plans[pid]; p != nil {
			name = p.Name
		}
		plans = append(plans, object{"servicePlanId": pid, "servicePlanName": name, "provisioningStatus": "Success", "appliesTo": "User"})
	}
	return plans
}

// subscriptionIDs are the ids of each SKU's commercial subscriptions, as
// Graph lists them on the subscribedSku, Deleted ones included until
// they are purged.
func (s *server) subscriptionIDs(r *http.Request) (map[string][]string, error) {
	out := map[string][]string{}
	lc, err := s.lifecycle()
	if err != nil {
		return out, nil // a server without lifecycles has no commercial subscriptions to list
	}
	subs, err := lc.CompanySubscriptions(r.Context())
	if err != nil {
		return nil, err
	}
	for _, c := range subs {
		out[c.SkuID] = append(out[c.SkuID], c.ID)
	}
	return out, nil
}
