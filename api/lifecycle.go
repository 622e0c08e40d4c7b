package api

// Commercial subscriptions and their lifecycle (docs/RULES.md §2.6,
// docs/SUBSCRIPTIONS.md): Graph's companySubscription under
// /v1.0/directory/subscriptions, and Allot's changes to them under
// /allot/v1/companySubscriptions, which the reference makes in the
// Microsoft 365 admin center and Partner Center rather than over Graph.

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/odata"
)

// lifecycle is the service, or a 501 on a server built without one
// (allot.Services.Lifecycle is optional, for fakes of the other services).
func (s *server) lifecycle() (allot.LifecycleService, error) {
	if s.svc.Lifecycle == nil {
		return nil, &statusError{http.StatusNotImplemented, "NotImplemented", "Subscription lifecycles are not enabled on this server."}
	}
	return s.svc.Lifecycle, nil
}

// served reports whether units of this status still give their plans to
// their holders: Enabled, and Warning while the grace period runs.
func served(status string) bool {
	return status == "" || status == allot.SubEnabled || status == allot.SubWarning
}

// servicePlans is a SKU's plans as servicePlanInfo, provisioned only while
// the status still serves them.
func servicePlans(cat *allot.Catalog, skuID, status string) []object {
	plans := skuPlans(cat, skuID)
	if !served(status) {
		for _, p := range plans {
			p["provisioningStatus"] = "Disabled"
		}
	}
	return plans
}

func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return jsonTime(*t)
}

// companySubView is one commercial subscription as Graph's
// companySubscription. Allot has no partner or reseller that owns a
// subscription, so the owner properties are null.
func companySubView(cat *allot.Catalog, c *allot.CompanySubscription, sel []string) object {
	part := ""
	if sku := cat.SKUs[c.SkuID]; sku != nil {
		part = sku.PartNumber
	}
	return pick(object{
		"id":                     c.ID,
		"commerceSubscriptionId": c.ID,
		"createdDateTime":        jsonTime(c.CreatedAt),
		"isTrial":                c.IsTrial,
		"nextLifecycleDateTime":  optTime(c.NextLifecycleAt),
		"ownerId":                nil,
		"ownerTenantId":          nil,
		"ownerType":              nil,
		"serviceStatus":          servicePlans(cat, c.SkuID, c.Status),
		"skuId":                  c.SkuID,
		"skuPartNumber":          part,
		"status":                 c.Status,
		"totalLicenses":          c.Quantity,
	}, sel, companySubSelect)
}

// allotSubView is companySubView with the term Graph does not show.
func allotSubView(cat *allot.Catalog, c *allot.CompanySubscription) object {
	v := companySubView(cat, c, nil)
	v["termStartDateTime"] = jsonTime(c.TermStart)
	v["termEndDateTime"] = optTime(c.TermEnd)
	v["statusDateTime"] = jsonTime(c.StatusSince)
	return v
}

// directorySubscriptions serves GET /v1.0/directory/subscriptions and
// GET /v1.0/directory/subscriptions/{id}.
func (s *server) directorySubscriptions(w http.ResponseWriter, r *http.Request) error {
	q, err := odata.ParseQuery(r.URL.Query(), companySubQuery)
	if err != nil {
		return err
	}
	lc, err := s.lifecycle()
	if err != nil {
		return err
	}
	cat := s.svc.Subscriptions.Catalog()
	raw := r.PathValue("id")
	if raw == "" {
		subs, err := lc.CompanySubscriptions(r.Context())
		if err != nil {
			return err
		}
		items := make([]any, 0, len(subs))
		for i := range subs {
			items = append(items, companySubView(cat, &subs[i], q.Select))
		}
		writeJSON(w, http.StatusOK, object{"@odata.context": s.metadata(r, directorySubsFragment(q.Select, ""), nil), "value": items})
		return nil
	}
	id, ok := allot.ParseID(raw)
	if !ok {
		return invalidID(clip(raw))
	}
	c, err := lc.CompanySubscription(r.Context(), id)
	if err != nil {
		return err
	}
	v := companySubView(cat, c, q.Select)
	v["@odata.context"] = s.metadata(r, directorySubsFragment(q.Select, "/$entity"), nil)
	writeJSON(w, http.StatusOK, v)
	return nil
}

// directorySubsFragment is the @odata.context fragment of
// directory/subscriptions, whose $select list follows the set's two
// segments, as Graph writes it.
func directorySubsFragment(sel []string, rest string) string {
	f := "directory/subscriptions"
	if len(sel) > 0 {
		f += "(" + strings.Join(sel, ",") + ")"
	}
	return f + rest
}

func (s *server) listCompanySubscriptions(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	lc, err := s.lifecycle()
	if err != nil {
		return err
	}
	subs, err := lc.CompanySubscriptions(r.Context())
	if err != nil {
		return err
	}
	cat := s.svc.Subscriptions.Catalog()
	writeJSON(w, http.StatusOK, valueList(subs, func(c *allot.CompanySubscription) object { return allotSubView(cat, c) }))
	return nil
}

func (s *server) getCompanySubscription(w http.ResponseWriter, r *http.Request) error {
	id, err := noQueryID(r, "id")
	if err != nil {
		return err
	}
	lc, err := s.lifecycle()
	if err != nil {
		return err
	}
	c, err := lc.CompanySubscription(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, allotSubView(s.svc.Subscriptions.Catalog(), c))
	return nil
}

// termEnd reads an optional termEndDateTime; the service refuses one in
// the past, since only it knows the time.
func termEnd(v *string) (*time.Time, error) {
	if v == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, *v)
	if err != nil {
		return nil, badRequest("Invalid value '%s' for property 'termEndDateTime': give an RFC 3339 time such as 2026-12-31T00:00:00Z.", clip(*v))
	}
	t = t.UTC()
	return &t, nil
}

type companySubBody struct {
	SkuID           *string `json:"skuId"`
	Quantity        *int    `json:"quantity"`
	IsTrial         *bool   `json:"isTrial"`
	TermEndDateTime *string `json:"termEndDateTime"`
}

func (s *server) createCompanySubscription(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b companySubBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	if b.SkuID == nil {
		return required("skuId", "CompanySubscription")
	}
	sku, err := guid(*b.SkuID)
	if err != nil {
		return err
	}
	n, err := seats("quantity", b.Quantity, 1, maxSeats)
	if err != nil {
		return err
	}
	end, err := termEnd(b.TermEndDateTime)
	if err != nil {
		return err
	}
	lc, err := s.lifecycle()
	if err != nil {
		return err
	}
	in := allot.CompanySubscriptionCreate{SkuID: sku, Quantity: n, IsTrial: b.IsTrial != nil && *b.IsTrial, TermEnd: end}
	c, err := lc.CreateCompanySubscription(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, allotSubView(s.svc.Subscriptions.Catalog(), c))
	return nil
}

type renewBody struct {
	TermEndDateTime *string `json:"termEndDateTime"`
}

// subscriptionAction serves the POST actions on one subscription: renew
// (with an optional body), cancel, reactivate and convertTrial (none).
func (s *server) subscriptionAction(action string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := noQueryID(r, "id")
		if err != nil {
			return err
		}
		var end *time.Time
		if action == "renew" {
			// The body is optional: no end renews for a year.
			var b renewBody
			body, err := readBody(r)
			if err != nil {
				return err
			}
			if len(body) > 0 {
				if err := jsonContentType(r, body); err != nil {
					return err
				}
				if _, err := decodeJSONBytes(body, &b); err != nil {
					return err
				}
			}
			if end, err = termEnd(b.TermEndDateTime); err != nil {
				return err
			}
		} else if err := emptyBody(r); err != nil {
			return err
		}
		lc, err := s.lifecycle()
		if err != nil {
			return err
		}
		var c *allot.CompanySubscription
		ctx := r.Context()
		switch action {
		case "renew":
			c, err = lc.RenewSubscription(ctx, id, end)
		case "cancel":
			c, err = lc.CancelSubscription(ctx, id)
		case "reactivate":
			c, err = lc.ReactivateSubscription(ctx, id)
		case "convertTrial":
			c, err = lc.ConvertTrial(ctx, id)
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, allotSubView(s.svc.Subscriptions.Catalog(), c))
		return nil
	}
}

type quantityBody struct {
	Quantity *int `json:"quantity"`
}

func (s *server) setCompanySubscriptionQuantity(w http.ResponseWriter, r *http.Request) error {
	id, err := noQueryID(r, "id")
	if err != nil {
		return err
	}
	var b quantityBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	n, err := seats("quantity", b.Quantity, 1, maxSeats)
	if err != nil {
		return err
	}
	lc, err := s.lifecycle()
	if err != nil {
		return err
	}
	c, err := lc.SetSubscriptionQuantity(r.Context(), id, n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, allotSubView(s.svc.Subscriptions.Catalog(), c))
	return nil
}

func settingsView(st allot.LifecycleSettings) object {
	return object{"graceDays": st.GraceDays, "suspendedDays": st.SuspendedDays, "retentionDays": st.RetentionDays, "alertDays": list(st.AlertDays)}
}

func (s *server) getLifecycleSettings(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	lc, err := s.lifecycle()
	if err != nil {
		return err
	}
	st, err := lc.LifecycleSettings(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, settingsView(st))
	return nil
}

type settingsBody struct {
	GraceDays     *int  `json:"graceDays"`
	SuspendedDays *int  `json:"suspendedDays"`
	RetentionDays *int  `json:"retentionDays"`
	AlertDays     []int `json:"alertDays"`
}

// setLifecycleSettings changes the periods given and keeps the others; the
// service checks the ranges.
func (s *server) setLifecycleSettings(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b settingsBody
	present, err := decodeJSON(r, &b)
	if err != nil {
		return err
	}
	if present["alertDays"] && b.AlertDays == nil {
		return badRequest("Property 'alertDays' cannot be null: send [] for no alerts.")
	}
	lc, err := s.lifecycle()
	if err != nil {
		return err
	}
	// Merged in the store's transaction: two admins changing different
	// fields at once both keep their change.
	out, err := lc.PatchLifecycleSettings(r.Context(), allot.LifecycleSettingsPatch{GraceDays: b.GraceDays, SuspendedDays: b.SuspendedDays,
		RetentionDays: b.RetentionDays, AlertDays: b.AlertDays, SetAlertDays: present["alertDays"]})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, settingsView(out))
	return nil
}

// stoppedSKUs maps each SKU whose units no longer serve their plans
// (Suspended, LockedOut or Deleted) to that status: its holders keep the
// license, but Graph shows its plans as not provisioned.
// A list of users reads it once, not once per user.
func (s *server) stoppedSKUs(ctx context.Context) (map[string]string, error) {
	info := infoFrom(ctx)
	if info.stopped != nil {
		return info.stopped, nil
	}
	subs, err := s.svc.Subscriptions.Subscriptions(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, sub := range subs {
		if !sub.PlansServed() {
			out[sub.SkuID] = sub.CapabilityStatus
		}
	}
	info.stopped = out
	return out, nil
}

// planCapability returns the capabilityStatus of each of the user's
// assignedPlans: Enabled while a SKU that gives the plan is served,
// otherwise the status of the SKU that gives it. The SKUs are read only
// when one of the tenant's is stopped.
func (s *server) planCapability(ctx context.Context, userID string) (func(planID string) string, error) {
	enabled := func(string) string { return allot.SubEnabled }
	stopped, err := s.stoppedSKUs(ctx)
	if err != nil || len(stopped) == 0 {
		return enabled, err
	}
	details, err := s.svc.Licenses.LicenseDetails(ctx, userID)
	if err != nil {
		return nil, err
	}
	status := map[string]string{} // plan → its best status among the SKUs giving it
	for _, d := range details {
		for _, p := range d.Plans {
			if p.Status == "Disabled" {
				continue
			}
			st, ok := stopped[d.SkuID]
			if !ok {
				st = allot.SubEnabled
			}
			if cur, seen := status[p.PlanID]; !seen || cur != allot.SubEnabled {
				status[p.PlanID] = st
			}
		}
	}
	return func(planID string) string {
		if st, ok := status[planID]; ok {
			return st
		}
		return allot.SubEnabled
	}, nil
}
