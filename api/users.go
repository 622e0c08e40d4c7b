package api

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/odata"
)

// userDefault is what Graph returns for a user without $select.
var userDefault = []string{
	"businessPhones", "displayName", "givenName", "id", "jobTitle", "mail", "mobilePhone",
	"officeLocation", "preferredLanguage", "surname", "userPrincipalName",
}

var userSelect = append(append(append([]string{}, userDefault...),
	"accountEnabled", "usageLocation", "proxyAddresses", "createdDateTime",
	"assignedLicenses", "assignedPlans", "licenseAssignmentStates"), profileSelect()...)

var userFilter = profileFilter(map[string]odata.FieldKind{
	"id": odata.GUID, "userPrincipalName": odata.String, "displayName": odata.String,
	"mail": odata.String, "usageLocation": odata.String, "accountEnabled": odata.Bool,
	"createdDateTime": odata.DateTime, "proxyAddresses": odata.Strings,
	odata.LicensesField: odata.GUID,
	"assignedPlans":     odata.Collection, "assignedPlans/servicePlanId": odata.GUID,
	"assignedPlans/capabilityStatus": odata.String, "assignedPlans/service": odata.String,
})

var (
	usersQuery = odata.QuerySpec{Select: userSelect, Filter: userFilter, Paging: true, OrderBy: []string{"displayName", "userPrincipalName"},
		Count: true, Search: true, Expand: userExpand, TypeName: "microsoft.graph.user"}
	userQuery  = odata.QuerySpec{Select: userSelect, Expand: userExpand, TypeName: "microsoft.graph.user"}
	userExpand = []string{"licenseDetails", "memberOf"}
)

// userLicensing reports whether sel needs the store's (costly) licensing view.
func userLicensing(sel []string) bool {
	return selected(sel, "assignedLicenses", "licenseAssignmentStates")
}

// userView renders u with Graph's property names, keeping only sel (or the
// default set). assignedPlans needs its own query, so it is fetched only
// when selected.
func (s *server) userView(ctx context.Context, u *allot.User, sel []string) (object, error) {
	full := object{
		"displayName":       u.DisplayName,
		"id":                u.ID,
		"mail":              nullable(u.Mail),
		"userPrincipalName": u.UserPrincipalName,
	}
	profileView(full, &u.Profile)
	if len(sel) > 0 {
		full["accountEnabled"] = u.AccountEnabled
		full["usageLocation"] = nullable(u.UsageLocation)
		full["proxyAddresses"] = list(u.ProxyAddresses)
		full["createdDateTime"] = jsonTime(u.CreatedAt)
		full["assignedLicenses"] = assignedLicenses(u.AssignedLicenses)
		states := make([]object, 0, len(u.States))
		for _, st := range u.States {
			states = append(states, object{
				"assignedByGroup":     nullable(st.Source),
				"disabledPlans":       list(st.DisabledPlans),
				"error":               st.Error,
				"lastUpdatedDateTime": jsonTime(st.LastUpdated),
				"skuId":               st.SkuID,
				"state":               st.State,
			})
		}
		full["licenseAssignmentStates"] = states
	}
	if selected(sel, "assignedPlans") {
		plans, err := s.svc.Licenses.AssignedPlans(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		capability, err := s.planCapability(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		out := make([]object, 0, len(plans))
		for _, p := range plans {
			if p.Status == "Disabled" {
				continue // Graph lists only the plans the user can use
			}
			out = append(out, object{
				"assignedDateTime": jsonTime(p.Assigned),
				"capabilityStatus": capability(p.PlanID),
				"service":          p.Service,
				"servicePlanId":    p.PlanID,
			})
		}
		full["assignedPlans"] = out
	}
	return pick(full, sel, userDefault), nil
}

func assignedLicenses(ls []allot.AssignedLicense) []object {
	out := make([]object, 0, len(ls))
	for _, l := range ls {
		out = append(out, object{"disabledPlans": list(l.DisabledPlans), "skuId": l.SkuID})
	}
	return out
}

// userKey validates a {id} path segment, which Graph lets be an id or a
// userPrincipalName.
func userKey(r *http.Request) (string, error) {
	k := r.PathValue("id")
	if strings.Contains(k, "@") {
		if _, err := address("userPrincipalName", "User", k); err != nil {
			return "", invalidID(clip(k))
		}
		return k, nil
	}
	return guid(k)
}

// pathUser reads the user the {id} path segment names.
func (s *server) pathUser(r *http.Request) (*allot.User, error) {
	k, err := userKey(r)
	if err != nil {
		return nil, err
	}
	return s.svc.Users.User(r.Context(), k)
}

// userID resolves the {id} path segment to a user id; a userPrincipalName
// costs one lookup, so the write methods need only accept ids.
func (s *server) userID(r *http.Request) (string, error) {
	k, err := userKey(r)
	if err != nil || !strings.Contains(k, "@") {
		return k, err
	}
	u, err := s.svc.Users.User(r.Context(), k)
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

func (s *server) writeUser(w http.ResponseWriter, r *http.Request, status int, u *allot.User, sel []string, expand ...string) error {
	v, err := s.userView(r.Context(), u, sel)
	if err != nil {
		return err
	}
	if err := s.expandUser(r, v, u.ID, expand); err != nil {
		return err
	}
	v["@odata.context"] = s.metadata(r, "users/$entity", sel)
	writeJSON(w, status, v)
	return nil
}

func (s *server) listUsers(w http.ResponseWriter, r *http.Request) error {
	q, opt, err := parseList(r, usersQuery)
	if err != nil {
		return err
	}
	opt.WithLicensing = userLicensing(q.Select)
	page, err := s.svc.Users.ListUsers(r.Context(), opt)
	if err != nil {
		return err
	}
	items := make([]any, 0, len(page.Items))
	for i := range page.Items {
		v, err := s.userView(r.Context(), &page.Items[i], q.Select)
		if err != nil {
			return err
		}
		if err := s.expandUser(r, v, page.Items[i].ID, q.Expand); err != nil {
			return err
		}
		items = append(items, v)
	}
	s.writeCollection(w, r, s.metadata(r, "users", q.Select), items, page.Count, q, page.NextCursor)
	return nil
}

// countUsers answers /users/$count in text/plain as Graph does. Unlike
// Graph it does not insist on the ConsistencyLevel: eventual header, since
// Allot's counts are always exact.
func (s *server) countUsers(w http.ResponseWriter, r *http.Request) error {
	q, err := odata.ParseQuery(r.URL.Query(), odata.QuerySpec{Filter: userFilter, Search: true, TypeName: "microsoft.graph.user"})
	if err != nil {
		return err
	}
	search, err := graphSearch(q.Search)
	if err != nil {
		return err
	}
	page, err := s.svc.Users.ListUsers(r.Context(), allot.ListOptions{Filter: q.Filter, Search: search, Count: true, Top: 1})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(strconv.Itoa(page.Count)))
	return nil
}

func (s *server) getUser(w http.ResponseWriter, r *http.Request) error {
	q, err := odata.ParseQuery(r.URL.Query(), userQuery)
	if err != nil {
		return err
	}
	u, err := s.pathUser(r)
	if err != nil {
		return err
	}
	return s.writeUser(w, r, http.StatusOK, u, q.Select, q.Expand...)
}

// expandUser adds $expand=licenseDetails (all of them) and memberOf (the
// first groups, with their default properties).
func (s *server) expandUser(r *http.Request, v object, id string, expand []string) error {
	if slices.Contains(expand, "licenseDetails") {
		details, err := s.licenseDetailViews(r, id, nil)
		if err != nil {
			return err
		}
		v["licenseDetails"] = details
	}
	if slices.Contains(expand, "memberOf") {
		page, err := s.svc.Users.MemberOf(r.Context(), id, false, allot.ListOptions{Top: maxExpanded})
		if err != nil {
			return err
		}
		groups := make([]any, 0, len(page.Items))
		for i := range page.Items {
			g := groupView(&page.Items[i], nil)
			g["@odata.type"] = "#microsoft.graph.group"
			groups = append(groups, g)
		}
		v["memberOf"] = groups
	}
	return nil
}

// userCreateBody is the Graph user a client may POST. mailNickname and
// passwordProfile are accepted for compatibility with Graph scripts and SDKs
// (Graph requires them) and ignored: Allot keeps no mailboxes' aliases and
// no passwords, since users sign in through their own identity provider.
type userCreateBody struct {
	ID                *string         `json:"id"`
	AccountEnabled    *bool           `json:"accountEnabled"`
	DisplayName       *string         `json:"displayName"`
	MailNickname      *string         `json:"mailNickname"`
	PasswordProfile   json.RawMessage `json:"passwordProfile"`
	UserPrincipalName *string         `json:"userPrincipalName"`
	Mail              *string         `json:"mail"`
	UsageLocation     *string         `json:"usageLocation"`
	ProxyAddresses    []string        `json:"proxyAddresses"`
	profileBody
}

func (userCreateBody) graphType() string { return "microsoft.graph.user" }

func (s *server) createUser(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b userCreateBody
	present, err := decodeJSON(r, &b)
	if err != nil {
		return err
	}
	c := allot.UserCreate{AccountEnabled: true}
	if c.Profile, _, err = b.profile(present); err != nil {
		return err
	}
	if b.DisplayName == nil {
		return required("displayName", "User")
	}
	if c.DisplayName, err = text("displayName", "User", *b.DisplayName, 256, true); err != nil {
		return err
	}
	if b.UserPrincipalName == nil {
		return required("userPrincipalName", "User")
	}
	if c.UserPrincipalName, err = address("userPrincipalName", "User", *b.UserPrincipalName); err != nil {
		return err
	}
	if b.ID != nil {
		if c.ID, err = guid(*b.ID); err != nil {
			return err
		}
	}
	if b.AccountEnabled != nil {
		c.AccountEnabled = *b.AccountEnabled
	}
	if b.Mail != nil && *b.Mail != "" {
		if c.Mail, err = address("mail", "User", *b.Mail); err != nil {
			return err
		}
	}
	if b.UsageLocation != nil {
		if c.UsageLocation, err = usageLocation(*b.UsageLocation); err != nil {
			return err
		}
	}
	if c.ProxyAddresses, err = proxyAddresses("User", b.ProxyAddresses); err != nil {
		return err
	}
	u, err := s.svc.Users.CreateUser(r.Context(), c)
	if err != nil {
		return err
	}
	return s.writeUser(w, r, http.StatusCreated, u, nil)
}

func required(prop, resource string) error {
	return badRequest("A value is required for property '%s' of resource '%s'.", prop, resource)
}

type userUpdateBody struct {
	AccountEnabled    *bool     `json:"accountEnabled"`
	DisplayName       *string   `json:"displayName"`
	UserPrincipalName *string   `json:"userPrincipalName"`
	Mail              *string   `json:"mail"`
	UsageLocation     *string   `json:"usageLocation"`
	ProxyAddresses    *[]string `json:"proxyAddresses"`
	profileBody
}

func (userUpdateBody) graphType() string { return "microsoft.graph.user" }

// updateUser needs the body to know the permission: a License Administrator
// may change only usageLocation (docs/RULES.md §3).
func (s *server) updateUser(w http.ResponseWriter, r *http.Request) error {
	if can(r, allot.PermEditLocation) != nil && can(r, allot.PermManageUsers) != nil {
		return errDenied
	}
	if err := noQuery(r); err != nil {
		return err
	}
	id, err := s.userID(r)
	if err != nil {
		return err
	}
	var b userUpdateBody
	present, err := decodeJSON(r, &b)
	if err != nil {
		return err
	}
	perm := allot.PermEditLocation
	for k := range present {
		if k != "usageLocation" && !strings.HasPrefix(k, "@odata.") {
			perm = allot.PermManageUsers
		}
	}
	if err := can(r, perm); err != nil {
		return err
	}
	u, err := userUpdate(b, present)
	if err != nil {
		return err
	}
	if _, err := s.svc.Users.UpdateUser(r.Context(), id, u); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// userUpdate validates a PATCH body. null clears the optional strings and
// lists, as in Graph; it is refused for the properties a user must have.
func userUpdate(b userUpdateBody, present map[string]bool) (allot.UserUpdate, error) {
	var u allot.UserUpdate
	notNull := func(prop string, isNil bool) error {
		if present[prop] && isNil {
			return required(prop, "User")
		}
		return nil
	}
	for _, c := range []struct {
		prop  string
		isNil bool
	}{{"displayName", b.DisplayName == nil}, {"userPrincipalName", b.UserPrincipalName == nil}, {"accountEnabled", b.AccountEnabled == nil}} {
		if err := notNull(c.prop, c.isNil); err != nil {
			return u, err
		}
	}
	if b.DisplayName != nil {
		v, err := text("displayName", "User", *b.DisplayName, 256, true)
		if err != nil {
			return u, err
		}
		u.DisplayName = &v
	}
	if b.UserPrincipalName != nil {
		v, err := address("userPrincipalName", "User", *b.UserPrincipalName)
		if err != nil {
			return u, err
		}
		u.UserPrincipalName = &v
	}
	u.AccountEnabled = b.AccountEnabled
	if present["mail"] {
		v := ""
		if b.Mail != nil && *b.Mail != "" {
			var err error
			if v, err = address("mail", "User", *b.Mail); err != nil {
				return u, err
			}
		}
		u.Mail = &v
	}
	if present["usageLocation"] {
		v := ""
		if b.UsageLocation != nil {
			var err error
			if v, err = usageLocation(*b.UsageLocation); err != nil {
				return u, err
			}
		}
		u.UsageLocation = &v
	}
	if present["proxyAddresses"] {
		var xs []string
		if b.ProxyAddresses != nil {
			xs = *b.ProxyAddresses
		}
		v, err := proxyAddresses("User", xs)
		if err != nil {
			return u, err
		}
		u.ProxyAddresses = &v
	}
	var err error
	u.Profile, u.ProfileFields, err = b.profile(present)
	return u, err
}

func (s *server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	id, err := s.userID(r)
	if err != nil {
		return err
	}
	if err := s.svc.Users.DeleteUser(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// assignLicenseBody is Graph's assignLicense payload, as a user's takes it
// (a group's is groupAssignLicenseBody). Pointers tell a missing array (an
// error in Graph) from an empty one.
type assignLicenseBody struct {
	AddLicenses    *[]assignedLicenseBody `json:"addLicenses"`
	RemoveLicenses *[]string              `json:"removeLicenses"`
}

type assignedLicenseBody struct {
	DisabledPlans []string `json:"disabledPlans"`
	SkuID         *string  `json:"skuId"`
}

func (assignedLicenseBody) graphType() string { return "microsoft.graph.assignedLicense" }

// maxLicensesPerRequest bounds the work one assignLicense can ask for; no
// tenant holds more products than this.
const maxLicensesPerRequest = 100

// parseAssignLicense reads and validates an assignLicense body completely
// before anything reaches the Service.
func parseAssignLicense(r *http.Request) (add []allot.AssignedLicense, remove []string, err error) {
	var b assignLicenseBody
	if _, err := decodeJSON(r, &b); err != nil {
		return nil, nil, err
	}
	if err := assignLicenseArrays(b.AddLicenses != nil, b.RemoveLicenses != nil); err != nil {
		return nil, nil, err
	}
	return licensesFromBody(*b.AddLicenses, *b.RemoveLicenses)
}

// assignLicenseArrays answers Graph's error for an assignLicense body that
// lacks one of its two arrays, which Graph requires even when empty.
func assignLicenseArrays(hasAdd, hasRemove bool) error {
	var missing []string
	if !hasAdd {
		missing = append(missing, "addLicenses")
	}
	if !hasRemove {
		missing = append(missing, "removeLicenses")
	}
	if len(missing) > 0 {
		return badRequest("One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: %s.", strings.Join(missing, ","))
	}
	return nil
}

// licensesFromBody validates the arrays of an assignLicense body, which a
// group's assignLicense and a what-if preview (api/preview.go) also carry.
// The licenses it returns are in the order of addLicenses, one an entry.
func licensesFromBody(addLicenses []assignedLicenseBody, removeLicenses []string) (add []allot.AssignedLicense, remove []string, err error) {
	if len(addLicenses)+len(removeLicenses) > maxLicensesPerRequest {
		return nil, nil, badRequest("Too many licenses in one request: at most %d may be added or removed.", maxLicensesPerRequest)
	}
	seen := make(map[string]bool)
	for _, l := range addLicenses {
		if l.SkuID == nil {
			return nil, nil, required("skuId", "AssignedLicense")
		}
		sku, ok := allot.ParseID(*l.SkuID)
		if !ok {
			return nil, nil, badRequest("Invalid value specified for property 'skuId' of resource 'AssignedLicense': '%s' is not a GUID.", clip(*l.SkuID))
		}
		if seen[sku] {
			return nil, nil, badRequest("License %s is listed more than once in addLicenses.", sku)
		}
		seen[sku] = true
		disabled, err := guids("disabledPlans", l.DisabledPlans)
		if err != nil {
			return nil, nil, err
		}
		add = append(add, allot.AssignedLicense{SkuID: sku, DisabledPlans: disabled})
	}
	remove, err = guids("removeLicenses", removeLicenses)
	if err != nil {
		return nil, nil, err
	}
	for _, sku := range remove {
		if seen[sku] {
			return nil, nil, badRequest("License %s cannot be both added and removed in one request.", sku)
		}
	}
	return list(add), remove, nil
}

func (s *server) assignUserLicense(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	id, err := s.userID(r)
	if err != nil {
		return err
	}
	add, remove, err := parseAssignLicense(r)
	if err != nil {
		return err
	}
	u, err := s.svc.Licenses.AssignUserLicense(r.Context(), id, add, remove)
	if err != nil {
		return err
	}
	return s.writeUser(w, r, http.StatusOK, u, nil)
}

// reprocessUser takes no body, as in Graph; one that is sent is ignored.
func (s *server) reprocessUser(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	id, err := s.userID(r)
	if err != nil {
		return err
	}
	if err := s.svc.Licenses.ReprocessUsers(r.Context(), []string{id}); err != nil {
		return err
	}
	u, err := s.svc.Users.User(r.Context(), id)
	if err != nil {
		return err
	}
	return s.writeUser(w, r, http.StatusOK, u, nil)
}

var licenseDetailSelect = []string{"id", "skuId", "skuPartNumber", "servicePlans"}

func (s *server) licenseDetails(w http.ResponseWriter, r *http.Request) error {
	q, err := odata.ParseQuery(r.URL.Query(), odata.QuerySpec{Select: licenseDetailSelect, TypeName: "microsoft.graph.licenseDetails"})
	if err != nil {
		return err
	}
	id, err := s.userID(r)
	if err != nil {
		return err
	}
	items, err := s.licenseDetailViews(r, id, q.Select)
	if err != nil {
		return err
	}
	ctx := strings.TrimRight(s.base(r).String(), "/") + version(r) + "/$metadata#users('" + id + "')/licenseDetails"
	writeJSON(w, http.StatusOK, object{"@odata.context": ctx, "value": items})
	return nil
}

// licenseDetailViews are a user's licenseDetails in Graph's shape.
func (s *server) licenseDetailViews(r *http.Request, id string, sel []string) ([]any, error) {
	details, err := s.svc.Licenses.LicenseDetails(r.Context(), id)
	if err != nil {
		return nil, err
	}
	stopped, err := s.stoppedSKUs(r.Context())
	if err != nil {
		return nil, err
	}
	items := make([]any, 0, len(details))
	for _, d := range details {
		plans := make([]object, 0, len(d.Plans))
		for _, p := range d.Plans {
			status := p.Status
			if stopped[d.SkuID] != "" {
				status = "Disabled"
			}
			plans = append(plans, object{
				"servicePlanId":      p.PlanID,
				"servicePlanName":    p.PlanName,
				"provisioningStatus": status,
				"appliesTo":          "User",
			})
		}
		items = append(items, pick(object{
			"id":            licenseDetailID(id, d.SkuID),
			"skuId":         d.SkuID,
			"skuPartNumber": d.PartNumber,
			"servicePlans":  plans,
		}, sel, licenseDetailSelect))
	}
	return items, nil
}

// licenseDetailID is opaque like Graph's: the user's and the SKU's GUID
// bytes, base64url-encoded.
func licenseDetailID(userID, skuID string) string {
	b, _ := hex.DecodeString(strings.ReplaceAll(userID+skuID, "-", ""))
	return base64.RawURLEncoding.EncodeToString(b)
}

// memberOf lists a user's groups: memberOf or transitiveMemberOf.
func (s *server) memberOf(transitive bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q, opt, err := parseList(r, odata.QuerySpec{Select: groupSelect, Filter: groupFilter, Paging: true,
			OrderBy: []string{"displayName"}, Count: true, TypeName: "microsoft.graph.group"})
		if err != nil {
			return err
		}
		opt.WithLicensing = groupLicensing(q.Select)
		id, err := s.userID(r)
		if err != nil {
			return err
		}
		page, err := s.svc.Users.MemberOf(r.Context(), id, transitive, opt)
		if err != nil {
			return err
		}
		items := make([]any, 0, len(page.Items))
		for i := range page.Items {
			v := groupView(&page.Items[i], q.Select)
			v["@odata.type"] = "#microsoft.graph.group"
			items = append(items, v)
		}
		s.writeCollection(w, r, s.metadata(r, "directoryObjects", q.Select), items, page.Count, q, page.NextCursor)
		return nil
	}
}
