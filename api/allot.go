package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/catalog"
	"github.com/allot-dev/allot/odata"
)

// The Allot extensions (api/openapi.json) are plain JSON: no @odata.context, and
// collections as {"value":[...]} so that Graph-minded scripts read them alike.

type tenantBody struct {
	DisplayName          *string `json:"displayName"`
	DefaultUsageLocation *string `json:"defaultUsageLocation"`
}

func tenantView(t *allot.Tenant) object {
	return object{
		"id":                   t.ID,
		"displayName":          t.DisplayName,
		"defaultUsageLocation": nullable(t.DefaultUsageLocation),
		"createdDateTime":      jsonTime(t.CreatedAt),
	}
}

func tokenView(t *allot.Token) object {
	return object{
		"id":              t.ID,
		"name":            t.Name,
		"role":            t.Role,
		"createdDateTime": jsonTime(t.CreatedAt),
		"expiresDateTime": jsonTime(t.ExpiresAt),
		"revoked":         t.Revoked,
	}
}

// createTenant makes a tenant and its first Global Administrator token, so
// that the operator can hand a customer everything it needs in one call.
func (s *server) createTenant(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b tenantBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	if b.DisplayName == nil {
		return required("displayName", "Tenant")
	}
	t := allot.Tenant{}
	var err error
	if t.DisplayName, err = text("displayName", "Tenant", *b.DisplayName, 256, true); err != nil {
		return err
	}
	if b.DefaultUsageLocation != nil {
		if t.DefaultUsageLocation, err = usageLocation(*b.DefaultUsageLocation); err != nil {
			return err
		}
	}
	created, err := s.svc.Tenants.CreateTenant(r.Context(), t)
	if err != nil {
		return err
	}
	secret, tok, err := s.svc.Tokens.CreateToken(r.Context(), created.ID, allot.RoleGlobalAdministrator, "Initial Global Administrator", 0)
	if err != nil {
		return err
	}
	tv := tokenView(tok)
	tv["secret"] = secret
	writeJSON(w, http.StatusCreated, object{"tenant": tenantView(created), "token": tv})
	return nil
}

func (s *server) getTenant(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	t, err := s.svc.Tenants.Tenant(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tenantView(t))
	return nil
}

// updateTenant: null or "" clears the default usage location.
func (s *server) updateTenant(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b tenantBody
	present, err := decodeJSON(r, &b)
	if err != nil {
		return err
	}
	var loc, name *string
	if present["defaultUsageLocation"] {
		v := ""
		if b.DefaultUsageLocation != nil {
			if v, err = usageLocation(*b.DefaultUsageLocation); err != nil {
				return err
			}
		}
		loc = &v
	}
	if present["displayName"] {
		if b.DisplayName == nil {
			return required("displayName", "Tenant")
		}
		v, err := text("displayName", "Tenant", *b.DisplayName, 256, true)
		if err != nil {
			return err
		}
		name = &v
	}
	t, err := s.svc.Tenants.UpdateTenant(r.Context(), loc, name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tenantView(t))
	return nil
}

func (s *server) listTokens(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	toks, err := s.svc.Tokens.ListTokens(r.Context())
	if err != nil {
		return err
	}
	items := make([]object, 0, len(toks))
	for i := range toks {
		items = append(items, tokenView(&toks[i]))
	}
	writeJSON(w, http.StatusOK, object{"value": items})
	return nil
}

type tokenBody struct {
	Name          *string `json:"name"`
	Role          *string `json:"role"`
	ExpiresInDays *int    `json:"expiresInDays"`
}

// maxTokenDays caps token lifetimes at ten years; longer is "never", which
// is spelled by leaving expiresInDays out.
const maxTokenDays = 3650

func (s *server) createToken(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b tokenBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	if b.Name == nil {
		return required("name", "Token")
	}
	name, err := text("name", "Token", *b.Name, 256, true)
	if err != nil {
		return err
	}
	if b.Role == nil {
		return required("role", "Token")
	}
	role := allot.Role(*b.Role)
	if !role.Valid() {
		names := make([]string, len(allot.Roles))
		for i, x := range allot.Roles {
			names[i] = string(x)
		}
		return badRequest("Invalid role '%s': expected one of %s.", clip(*b.Role), strings.Join(names, ", "))
	}
	var ttl time.Duration
	if b.ExpiresInDays != nil {
		if *b.ExpiresInDays < 1 || *b.ExpiresInDays > maxTokenDays {
			return badRequest("Property 'expiresInDays' must be from 1 to %d; leave it out for a token that does not expire.", maxTokenDays)
		}
		ttl = time.Duration(*b.ExpiresInDays) * 24 * time.Hour
	}
	a, _ := allot.ActorFromContext(r.Context())
	secret, tok, err := s.svc.Tokens.CreateToken(r.Context(), a.TenantID, role, name, ttl)
	if err != nil {
		return err
	}
	v := tokenView(tok)
	v["secret"] = secret
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	id, err := pathGUID(r, "id")
	if err != nil {
		return err
	}
	if err := s.svc.Tokens.RevokeToken(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) getCatalog(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	b, err := catalog.Marshal(s.svc.Subscriptions.Catalog())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
	return nil
}

func (s *server) replaceCatalog(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	// Read first so that an oversized file is a 413, not a parse error.
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if err := jsonContentType(r, body); err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("Empty Payload, JSON content expected.")
	}
	c, err := catalog.Parse(bytes.NewReader(body))
	if err != nil {
		if allot.ErrorCode(err) == allot.EINTERNAL {
			// catalog.Parse promises *allot.Error; anything else is still
			// the caller's bad file, not a server fault.
			return badRequest("Invalid catalog file.")
		}
		return err
	}
	if err := s.svc.Subscriptions.ReplaceCatalog(r.Context(), c); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, object{"skus": len(c.SKUs), "servicePlans": len(c.Plans)})
	return nil
}

func subscriptionView(cat *allot.Catalog, sub *allot.Subscription) object {
	part, name := "", ""
	if sku := cat.SKUs[sub.SkuID]; sku != nil {
		part, name = sku.PartNumber, sku.DisplayName
	}
	status := sub.CapabilityStatus
	if status == "" {
		status = allot.CapabilityEnabled
	}
	return object{
		"skuId":            sub.SkuID,
		"skuPartNumber":    part,
		"displayName":      name,
		"seats":            sub.Enabled,
		"consumed":         sub.ConsumedUnits,
		"available":        sub.Available(),
		"overAllocated":    sub.OverAllocated(),
		"capabilityStatus": status,
	}
}

func (s *server) listSubscriptions(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	subs, err := s.svc.Subscriptions.Subscriptions(r.Context())
	if err != nil {
		return err
	}
	cat := s.svc.Subscriptions.Catalog()
	items := make([]object, 0, len(subs))
	for i := range subs {
		items = append(items, subscriptionView(cat, &subs[i]))
	}
	writeJSON(w, http.StatusOK, object{"value": items})
	return nil
}

// maxSeats keeps seat counts inside Graph's Int32 licenseUnitsDetail.
const maxSeats = 1_000_000

func seats(prop string, n *int, min, max int) (int, error) {
	if n == nil {
		return 0, required(prop, "Subscription")
	}
	if *n < min || *n > max {
		return 0, badRequest("Property '%s' must be from %d to %d.", prop, min, max)
	}
	return *n, nil
}

type subscriptionBody struct {
	SkuID *string `json:"skuId"`
	Seats *int    `json:"seats"`
}

func (s *server) addSubscription(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b subscriptionBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	if b.SkuID == nil {
		return required("skuId", "Subscription")
	}
	sku, err := guid(*b.SkuID)
	if err != nil {
		return err
	}
	n, err := seats("seats", b.Seats, 0, maxSeats)
	if err != nil {
		return err
	}
	sub, err := s.svc.Subscriptions.AddSubscription(r.Context(), sku, n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, subscriptionView(s.svc.Subscriptions.Catalog(), sub))
	return nil
}

type seatsBody struct {
	Seats *int `json:"seats"`
}

func (s *server) setSeats(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	sku, err := pathGUID(r, "skuId")
	if err != nil {
		return err
	}
	var b seatsBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	n, err := seats("seats", b.Seats, 0, maxSeats)
	if err != nil {
		return err
	}
	sub, err := s.svc.Subscriptions.SetSeats(r.Context(), sku, n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, subscriptionView(s.svc.Subscriptions.Catalog(), sub))
	return nil
}

type purchaseBody struct {
	Quantity *int     `json:"quantity"`
	UserIDs  []string `json:"userIds"`
}

// maxPurchase is the most seats one purchase may add, as in the admin
// center's Buy dialog.
const maxPurchase = 10000

func (s *server) purchase(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	sku, err := pathGUID(r, "skuId")
	if err != nil {
		return err
	}
	var b purchaseBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	n, err := seats("quantity", b.Quantity, 1, maxPurchase)
	if err != nil {
		return err
	}
	ids, err := guids("userIds", b.UserIDs)
	if err != nil {
		return err
	}
	if err := maxBatch("userIds", len(ids), 0); err != nil {
		return err
	}
	if len(ids) > n {
		return badRequest("Cannot give %d purchased seats to %d users.", n, len(ids))
	}
	sub, err := s.svc.Subscriptions.Purchase(r.Context(), sku, n, ids)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, subscriptionView(s.svc.Subscriptions.Catalog(), sub))
	return nil
}

type groupsLicenseBody struct {
	GroupIDs      []string `json:"groupIds"`
	SkuID         *string  `json:"skuId"`
	DisabledPlans []string `json:"disabledPlans"`
	// IncludeNestedGroups: docs/NESTED-GROUPS.md; absent keeps the setting.
	IncludeNestedGroups *bool `json:"includeNestedGroups"`
}

// assignGroupsLicense is the admin center's Assign panel: one product to
// up to 20 groups, processed asynchronously like the Graph action.
func (s *server) assignGroupsLicense(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b groupsLicenseBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	ids, err := guids("groupIds", b.GroupIDs)
	if err != nil {
		return err
	}
	if err := maxBatch("groupIds", len(ids), 1); err != nil {
		return err
	}
	if b.SkuID == nil {
		return required("skuId", "AssignedLicense")
	}
	sku, err := guid(*b.SkuID)
	if err != nil {
		return err
	}
	disabled, err := guids("disabledPlans", b.DisabledPlans)
	if err != nil {
		return err
	}
	lic := allot.AssignedLicense{SkuID: sku, DisabledPlans: disabled, IncludeNestedGroups: b.IncludeNestedGroups}
	if err := s.svc.Licenses.AssignGroupsLicense(r.Context(), ids, lic); err != nil {
		return err
	}
	out := object{"groupIds": ids, "skuId": sku, "disabledPlans": disabled}
	if b.IncludeNestedGroups != nil {
		out[nestedField] = *b.IncludeNestedGroups
	}
	writeJSON(w, http.StatusAccepted, out)
	return nil
}

// reprocessGroup takes no body; one that is sent is ignored.
func (s *server) reprocessGroup(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	id, err := pathGUID(r, "id")
	if err != nil {
		return err
	}
	if err := s.svc.Licenses.ReprocessGroup(r.Context(), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, object{"groupId": id})
	return nil
}

type userIDsBody struct {
	UserIDs []string `json:"userIds"`
}

func (s *server) reprocessUsers(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b userIDsBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	ids, err := guids("userIds", b.UserIDs)
	if err != nil {
		return err
	}
	if err := maxBatch("userIds", len(ids), 1); err != nil {
		return err
	}
	if err := s.svc.Licenses.ReprocessUsers(r.Context(), ids); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, object{"userIds": ids})
	return nil
}

// licenseStates is "View error details": every state of the user with the
// human-readable detail Graph does not have.
func (s *server) licenseStates(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	k, err := userKey(r)
	if err != nil {
		return err
	}
	u, err := s.svc.Users.User(r.Context(), k)
	if err != nil {
		return err
	}
	cat := s.svc.Subscriptions.Catalog()
	states := append([]allot.LicenseState(nil), u.States...)
	sort.SliceStable(states, func(i, j int) bool {
		if states[i].SkuID != states[j].SkuID {
			return states[i].SkuID < states[j].SkuID
		}
		return states[i].Source < states[j].Source
	})
	items := make([]object, 0, len(states))
	for _, st := range states {
		part := ""
		if sku := cat.SKUs[st.SkuID]; sku != nil {
			part = sku.PartNumber
		}
		items = append(items, object{
			"skuId":               st.SkuID,
			"skuPartNumber":       part,
			"assignedByGroup":     nullable(st.Source),
			"state":               st.State,
			"error":               st.Error,
			"detail":              st.Detail,
			"disabledPlans":       list(st.DisabledPlans),
			"lastUpdatedDateTime": jsonTime(st.LastUpdated),
			"waitingSince":        jsonTime(st.WaitingSince),
		})
	}
	writeJSON(w, http.StatusOK, object{"value": items})
	return nil
}

func (s *server) status(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	st, err := s.svc.Licenses.Status(r.Context())
	if err != nil {
		return err
	}
	groups := make([]object, 0, len(st.Groups))
	for _, g := range st.Groups {
		groups = append(groups, object{
			"id": g.GroupID, "displayName": g.DisplayName, "state": g.State, "done": g.Done, "total": g.Total,
		})
	}
	writeJSON(w, http.StatusOK, object{
		"queueDepth":          st.QueueDepth,
		"oldestQueuedSeconds": int64(st.OldestQueuedAge / time.Second),
		"idle":                st.Idle,
		"groups":              groups,
	})
	return nil
}

// audit reads the log. Its parameters are checked strictly, since a
// misspelt "sinse" silently ignored would show the wrong history.
func (s *server) audit(w http.ResponseWriter, r *http.Request) error {
	f, err := auditFilter(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := s.svc.Audit.Audit(r.Context(), f)
	if err != nil {
		return err
	}
	items := make([]object, 0, len(page.Items))
	for _, e := range page.Items {
		items = append(items, object{
			"id":         e.ID,
			"time":       e.Time.UTC().Format(time.RFC3339Nano),
			"actor":      e.Actor,
			"actorKind":  e.ActorKind,
			"actorId":    nullable(e.ActorID),
			"actorRole":  nullable(string(e.ActorRole)),
			"activity":   e.Activity,
			"targetType": e.TargetType,
			"targetId":   e.TargetID,
			"before":     rawJSON(e.Before),
			"after":      rawJSON(e.After),
			"result":     e.Result,
		})
	}
	body := object{"value": items}
	if page.NextCursor != "" {
		body["@odata.nextLink"] = s.nextLink(r, page.NextCursor)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func auditFilter(v url.Values) (allot.AuditFilter, error) {
	f := allot.AuditFilter{Top: allot.DefaultPageSize}
	for k, vals := range v {
		if len(vals) != 1 {
			return f, badRequest("Query parameter '%s' was given more than once.", clip(k))
		}
		val := vals[0]
		var err error
		switch strings.ToLower(k) {
		case "targetid":
			if id, ok := parseGUID(val); ok {
				val = id
			} else if val == "" || len(val) > 128 || !printable(val) {
				return f, badRequest("Invalid targetId '%s'.", clip(val))
			}
			f.TargetID = val
		case "since":
			f.Since, err = auditTime("since", val)
		case "until":
			f.Until, err = auditTime("until", val)
		case "$top", "top":
			f.Top, err = odata.ParseTop(val)
		case "$skiptoken", "skiptoken":
			f.After, err = odata.DecodeSkipToken(val)
		default:
			return f, badRequest("Query parameter '%s' is not supported here; use targetId, since, until, $top or $skiptoken.", clip(k))
		}
		if err != nil {
			return f, err
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return f, badRequest("'until' is before 'since'.")
	}
	return f, nil
}

func auditTime(name, val string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, val)
	if err != nil {
		return time.Time{}, badRequest("Invalid '%s' '%s': expected an RFC 3339 time such as 2025-01-31T12:00:00Z.", name, clip(val))
	}
	return t.UTC(), nil
}

// rawJSON embeds a stored JSON document as is; anything unparsable is shown
// as a string rather than breaking the response.
func rawJSON(s string) any {
	if s == "" {
		return nil
	}
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	return s
}
