package api

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/odata"
)

// groupDefault is what Graph returns for a group without $select (the
// licensing subset of it).
var groupDefault = []string{
	"id", "createdDateTime", "description", "displayName", "groupTypes", "mail",
	"mailEnabled", "mailNickname", "membershipRule", "membershipRuleProcessingState",
	"proxyAddresses", "securityEnabled",
}

// hasMembersWithLicenseErrors may be selected but, as in Graph, is never
// returned: it exists for $filter only.
var groupSelect = append(append([]string{}, groupDefault...),
	"assignedLicenses", "licenseProcessingState", "hasMembersWithLicenseErrors", "membershipRuleProcessingStatus")

var groupFilter = map[string]odata.FieldKind{
	"id": odata.GUID, "displayName": odata.String, "mailNickname": odata.String,
	"description": odata.String, "mailEnabled": odata.Bool, "securityEnabled": odata.Bool,
	"hasMembersWithLicenseErrors": odata.Bool, odata.LicensesField: odata.GUID,
	"groupTypes": odata.Strings, "membershipRule": odata.String, "membershipRuleProcessingState": odata.String,
}

var (
	groupsQuery = odata.QuerySpec{Select: groupSelect, Filter: groupFilter, Paging: true, OrderBy: []string{"displayName"},
		Count: true, Search: true, Expand: groupExpand, TypeName: "microsoft.graph.group"}
	groupQuery  = odata.QuerySpec{Select: groupSelect, Expand: groupExpand, TypeName: "microsoft.graph.group"}
	groupExpand = []string{"members"}
)

func groupLicensing(sel []string) bool {
	return selected(sel, "assignedLicenses", "licenseProcessingState")
}

func groupView(g *allot.Group, sel []string) object {
	full := object{
		"id":              g.ID,
		"createdDateTime": jsonTime(g.CreatedAt),
		"description":     nullable(g.Description),
		"displayName":     g.DisplayName,
		"groupTypes":      list(g.GroupTypes),
		"mail":            nullable(groupMail(g)),
		"mailEnabled":     g.MailEnabled,
		"mailNickname":    g.MailNickname,
		"proxyAddresses":  list(g.ProxyAddresses),
		"securityEnabled": g.SecurityEnabled,

		"membershipRule":                 nullable(g.MembershipRule),
		"membershipRuleProcessingState":  nullable(g.MembershipRuleProcessingState),
		"membershipRuleProcessingStatus": ruleStatusView(g),
	}
	if len(sel) > 0 {
		full["assignedLicenses"] = nestedView(assignedLicenses(g.AssignedLicenses), g.AssignedLicenses)
		state := g.ProcessingState
		if state == "" {
			state = allot.ProcessingComplete
		}
		full["licenseProcessingState"] = object{"state": state}
	}
	return pick(full, sel, groupDefault)
}

// ruleStatusView is Graph's membershipRuleProcessingStatus (beta), null
// for a group with assigned membership. Allot adds the progress of a walk
// that is running: usersProcessed of usersTotal.
func ruleStatusView(g *allot.Group) any {
	if g.RuleStatus == "" {
		return nil
	}
	v := object{"status": g.RuleStatus, "lastMembershipUpdated": nil, "errorMessage": nil}
	if !g.RuleApplied.IsZero() {
		v["lastMembershipUpdated"] = jsonTime(g.RuleApplied)
	}
	if g.RuleStatus == allot.RuleRunning {
		v["usersProcessed"], v["usersTotal"] = g.RuleDone, g.RuleTotal
	}
	return v
}

// groupMail is the primary SMTP address of a mail-enabled group, as
// Exchange derives it; Allot has no verified domain to invent one from.
func groupMail(g *allot.Group) string {
	if !g.MailEnabled {
		return ""
	}
	for _, a := range g.ProxyAddresses {
		if strings.HasPrefix(a, "SMTP:") {
			return a[len("SMTP:"):]
		}
	}
	return ""
}

func (s *server) writeGroup(w http.ResponseWriter, r *http.Request, status int, g *allot.Group, sel []string) {
	v := groupView(g, sel)
	v["@odata.context"] = s.metadata(r, "groups/$entity", sel)
	writeJSON(w, status, v)
}

func (s *server) listGroups(w http.ResponseWriter, r *http.Request) error {
	q, opt, err := parseList(r, groupsQuery)
	if err != nil {
		return err
	}
	opt.WithLicensing = groupLicensing(q.Select)
	page, err := s.svc.Groups.ListGroups(r.Context(), opt)
	if err != nil {
		return err
	}
	items := make([]any, 0, len(page.Items))
	for i := range page.Items {
		v := groupView(&page.Items[i], q.Select)
		if err := s.expandGroup(r, v, page.Items[i].ID, q.Expand); err != nil {
			return err
		}
		items = append(items, v)
	}
	s.writeCollection(w, r, s.metadata(r, "groups", q.Select), items, page.Count, q, page.NextCursor)
	return nil
}

func (s *server) getGroup(w http.ResponseWriter, r *http.Request) error {
	q, err := odata.ParseQuery(r.URL.Query(), groupQuery)
	if err != nil {
		return err
	}
	id, err := pathGUID(r, "id")
	if err != nil {
		return err
	}
	g, err := s.svc.Groups.Group(r.Context(), id)
	if err != nil {
		return err
	}
	v := groupView(g, q.Select)
	if err := s.expandGroup(r, v, g.ID, q.Expand); err != nil {
		return err
	}
	v["@odata.context"] = s.metadata(r, "groups/$entity", q.Select)
	writeJSON(w, http.StatusOK, v)
	return nil
}

// maxExpanded is how many objects an expanded collection holds, as in
// Graph (which documents 20 for members and memberOf).
const maxExpanded = 20

// expandGroup adds $expand=members: the first direct members, with their
// default properties.
func (s *server) expandGroup(r *http.Request, v object, id string, expand []string) error {
	if !slices.Contains(expand, "members") {
		return nil
	}
	page, err := s.svc.Groups.Members(r.Context(), id, false, allot.ListOptions{Top: maxExpanded})
	if err != nil {
		return err
	}
	members := make([]any, 0, len(page.Items))
	for _, m := range page.Items {
		mv, err := s.memberView(r, m, nil, "")
		if err != nil {
			return err
		}
		members = append(members, mv)
	}
	v["members"] = members
	return nil
}

type groupCreateBody struct {
	ID              *string  `json:"id"`
	DisplayName     *string  `json:"displayName"`
	Description     *string  `json:"description"`
	MailNickname    *string  `json:"mailNickname"`
	GroupTypes      []string `json:"groupTypes"`
	MailEnabled     *bool    `json:"mailEnabled"`
	SecurityEnabled *bool    `json:"securityEnabled"`
	ProxyAddresses  []string `json:"proxyAddresses"`

	MembershipRule                *string `json:"membershipRule"`
	MembershipRuleProcessingState *string `json:"membershipRuleProcessingState"`
}

func (groupCreateBody) graphType() string { return "microsoft.graph.group" }

func (s *server) createGroup(w http.ResponseWriter, r *http.Request) error {
	if err := noQuery(r); err != nil {
		return err
	}
	var b groupCreateBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	var c allot.GroupCreate
	var err error
	switch {
	case b.DisplayName == nil:
		return required("displayName", "Group")
	case b.MailNickname == nil:
		return required("mailNickname", "Group")
	case b.MailEnabled == nil:
		return required("mailEnabled", "Group")
	case b.SecurityEnabled == nil:
		return required("securityEnabled", "Group")
	}
	if c.DisplayName, err = text("displayName", "Group", *b.DisplayName, 256, true); err != nil {
		return err
	}
	if c.MailNickname, err = mailNickname(*b.MailNickname); err != nil {
		return err
	}
	if b.Description != nil {
		if c.Description, err = text("description", "Group", *b.Description, 1024, false); err != nil {
			return err
		}
	}
	if b.ID != nil {
		if c.ID, err = guid(*b.ID); err != nil {
			return err
		}
	}
	if c.GroupTypes, err = groupTypes(b.GroupTypes); err != nil {
		return err
	}
	c.MailEnabled, c.SecurityEnabled = *b.MailEnabled, *b.SecurityEnabled
	if c.ProxyAddresses, err = proxyAddresses("Group", b.ProxyAddresses); err != nil {
		return err
	}
	c.MembershipRule, c.MembershipRuleProcessingState = *orEmpty(b.MembershipRule), *orEmpty(b.MembershipRuleProcessingState)
	g, err := s.svc.Groups.CreateGroup(r.Context(), c)
	if err != nil {
		return err
	}
	s.writeGroup(w, r, http.StatusCreated, g, nil)
	return nil
}

// mailNickname follows Graph's rule: 1–64 ASCII characters without spaces
// and without @ ( ) \ [ ] " ; : < > ,
func mailNickname(s string) (string, error) {
	ok := len(s) >= 1 && len(s) <= 64
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c > 0x20 && c < 0x7f && !strings.ContainsRune(`@()\[]";:<>,`, rune(c))
	}
	if !ok {
		return "", badRequest("Invalid value specified for property 'mailNickname' of resource 'Group'.")
	}
	return s, nil
}

// orEmpty is p, or a pointer to "" for a null.
func orEmpty(p *string) *string {
	if p == nil {
		return new(string)
	}
	return p
}

// groupTypes accepts Graph's Unified and DynamicMembership, in its
// spelling whatever the case sent.
func groupTypes(xs []string) ([]string, error) {
	out, err := allot.CheckGroupTypes(xs)
	if err != nil {
		return nil, badRequest("Invalid value '%s' specified for property 'groupTypes' of resource 'Group'.", clip(strings.Join(xs, ",")))
	}
	return out, nil
}

type groupUpdateBody struct {
	DisplayName     *string   `json:"displayName"`
	Description     *string   `json:"description"`
	MailNickname    *string   `json:"mailNickname"`
	MailEnabled     *bool     `json:"mailEnabled"`
	SecurityEnabled *bool     `json:"securityEnabled"`
	ProxyAddresses  *[]string `json:"proxyAddresses"`
	GroupTypes      *[]string `json:"groupTypes"`

	MembershipRule                *string `json:"membershipRule"`
	MembershipRuleProcessingState *string `json:"membershipRuleProcessingState"`
}

func (groupUpdateBody) graphType() string { return "microsoft.graph.group" }

func (s *server) updateGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := noQueryID(r, "id")
	if err != nil {
		return err
	}
	var b groupUpdateBody
	present, err := decodeJSON(r, &b)
	if err != nil {
		return err
	}
	var u allot.GroupUpdate
	if present["groupTypes"] {
		var xs []string
		if b.GroupTypes != nil {
			xs = *b.GroupTypes
		}
		types, err := groupTypes(xs)
		if err != nil {
			return err
		}
		u.GroupTypes = &types
	}
	// null clears the rule or the state, as for a group made static.
	if present["membershipRule"] {
		u.MembershipRule = orEmpty(b.MembershipRule)
	}
	if present["membershipRuleProcessingState"] {
		u.MembershipRuleProcessingState = orEmpty(b.MembershipRuleProcessingState)
	}
	for prop, isNil := range map[string]bool{"displayName": b.DisplayName == nil, "mailNickname": b.MailNickname == nil,
		"mailEnabled": b.MailEnabled == nil, "securityEnabled": b.SecurityEnabled == nil} {
		if present[prop] && isNil {
			return required(prop, "Group")
		}
	}
	if b.DisplayName != nil {
		v, err := text("displayName", "Group", *b.DisplayName, 256, true)
		if err != nil {
			return err
		}
		u.DisplayName = &v
	}
	if b.MailNickname != nil {
		v, err := mailNickname(*b.MailNickname)
		if err != nil {
			return err
		}
		u.MailNickname = &v
	}
	if present["description"] {
		v := ""
		if b.Description != nil {
			if v, err = text("description", "Group", *b.Description, 1024, false); err != nil {
				return err
			}
		}
		u.Description = &v
	}
	u.MailEnabled, u.SecurityEnabled = b.MailEnabled, b.SecurityEnabled
	if present["proxyAddresses"] {
		var xs []string
		if b.ProxyAddresses != nil {
			xs = *b.ProxyAddresses
		}
		v, err := proxyAddresses("Group", xs)
		if err != nil {
			return err
		}
		u.ProxyAddresses = &v
	}
	if _, err := s.svc.Groups.UpdateGroup(r.Context(), id, u); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	id, err := noQueryID(r, "id")
	if err != nil {
		return err
	}
	if err := s.svc.Groups.DeleteGroup(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// memberSelect is every property of either member type: Graph accepts both
// on a directoryObject collection and gives each item those of its type.
var memberSelect = func() []string {
	out := append([]string{}, userSelect...)
	for _, p := range groupSelect {
		if !selected(out, p) {
			out = append(out, p)
		}
	}
	return out
}()

// memberFilter filters member lists on user properties: the Service
// filters members as users, so a $filter leaves groups out of the result.
var memberFilter = userFilter

// members serves /members and /transitiveMembers with their OData casts.
// A cast is applied to each page as it comes from the Service, so a page
// may hold fewer items than $top (Graph allows short and empty pages).
func (s *server) members(transitive bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		cast := r.PathValue("cast")
		if cast == "$count" {
			return s.countMembers(w, r, transitive, false)
		}
		if memberID, ok := allot.ParseID(cast); ok {
			return s.member(w, r, transitive, memberID)
		}
		sel, set, filter := memberSelect, "directoryObjects", memberFilter
		switch cast {
		case "":
		case "microsoft.graph.user":
			sel, set = userSelect, "users"
		case "microsoft.graph.group":
			sel, set, filter = groupSelect, "groups", nil
		default:
			return unsupportedQuery("The type cast '%s' is not supported; use microsoft.graph.user or microsoft.graph.group.", clip(cast))
		}
		q, opt, err := parseList(r, odata.QuerySpec{Select: sel, Filter: filter, Paging: true, Count: true,
			Search: true, TypeName: "microsoft.graph.directoryObject"})
		if err != nil {
			return err
		}
		opt.WithLicensing = userLicensing(q.Select) || groupLicensing(q.Select)
		id, err := pathGUID(r, "id")
		if err != nil {
			return err
		}
		page, err := s.svc.Groups.Members(r.Context(), id, transitive, opt)
		if err != nil {
			return err
		}
		items := make([]any, 0, len(page.Items))
		for _, m := range page.Items {
			v, err := s.memberView(r, m, q.Select, cast)
			if err != nil {
				return err
			}
			if v != nil {
				items = append(items, v)
			}
		}
		s.writeCollection(w, r, s.metadata(r, set, q.Select), items, page.Count, q, page.NextCursor)
		return nil
	}
}

// memberView renders one member with its @odata.type, or nil when cast
// excludes it.
func (s *server) memberView(r *http.Request, m allot.DirectoryObject, sel []string, cast string) (object, error) {
	switch {
	case m.User != nil && cast != "microsoft.graph.group":
		v, err := s.userView(r.Context(), m.User, intersect(sel, userSelect))
		if err != nil {
			return nil, err
		}
		v["@odata.type"] = "#microsoft.graph.user"
		return v, nil
	case m.Group != nil && cast != "microsoft.graph.user":
		v := groupView(m.Group, intersect(sel, groupSelect))
		v["@odata.type"] = "#microsoft.graph.group"
		return v, nil
	}
	return nil, nil
}

// intersect keeps the selected names that exist on a type. It returns a
// non-nil empty list when a $select names none of them, so that the item
// carries only its @odata.type rather than the type's defaults.
func intersect(sel, allowed []string) []string {
	if sel == nil {
		return nil
	}
	out := []string{}
	for _, s := range sel {
		if selected(allowed, s) {
			out = append(out, s)
		}
	}
	return out
}

type refBody struct {
	ODataID *string `json:"@odata.id"`
}

func (s *server) addMember(w http.ResponseWriter, r *http.Request) error {
	id, err := noQueryID(r, "id")
	if err != nil {
		return err
	}
	var b refBody
	if _, err := decodeJSON(r, &b); err != nil {
		return err
	}
	if b.ODataID == nil {
		return badRequest("A value is required for property '@odata.id' of the reference.")
	}
	member, err := refID(*b.ODataID)
	if err != nil {
		return err
	}
	if err := s.svc.Groups.AddMember(r.Context(), id, member); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// refID takes the member id from an @odata.id such as
// https://graph.microsoft.com/v1.0/directoryObjects/{id}; the host is not
// checked, since SDKs build it from their own base URL.
func refID(ref string) (string, error) {
	bad := badRequest("Invalid @odata.id '%s': expected a URL ending in /directoryObjects/{id}, /users/{id} or /groups/{id}.", clip(ref))
	u, err := url.Parse(ref)
	if err != nil {
		return "", bad
	}
	segs := strings.Split(strings.TrimRight(u.Path, "/"), "/")
	if len(segs) < 2 {
		return "", bad
	}
	switch segs[len(segs)-2] {
	case "directoryObjects", "users", "groups":
	default:
		return "", bad
	}
	id, ok := allot.ParseID(segs[len(segs)-1])
	if !ok {
		return "", invalidID(clip(segs[len(segs)-1]))
	}
	return id, nil
}

func (s *server) removeMember(w http.ResponseWriter, r *http.Request) error {
	id, err := noQueryID(r, "id")
	if err != nil {
		return err
	}
	member, err := pathGUID(r, "memberId")
	if err != nil {
		return err
	}
	if err := s.svc.Groups.RemoveMember(r.Context(), id, member); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// assignGroupLicense answers 202 with the group: members are licensed by
// the worker. The Location header points at the group itself rather than
// Graph's internal /v2/{tenant}/directoryObjects/... URL, which nothing can GET.
func (s *server) assignGroupLicense(w http.ResponseWriter, r *http.Request) error {
	id, err := noQueryID(r, "id")
	if err != nil {
		return err
	}
	add, remove, err := parseGroupAssignLicense(r)
	if err != nil {
		return err
	}
	g, err := s.svc.Licenses.AssignGroupLicense(r.Context(), id, add, remove)
	if err != nil {
		return err
	}
	w.Header().Set("Location", withBasePath(s.base(r), version(r)+"/groups/"+g.ID))
	s.writeGroup(w, r, http.StatusAccepted, g, nil)
	return nil
}

func (s *server) membersWithLicenseErrors(w http.ResponseWriter, r *http.Request) error {
	q, opt, err := parseList(r, odata.QuerySpec{Select: userSelect, Filter: memberFilter, Paging: true, Count: true,
		TypeName: "microsoft.graph.user"})
	if err != nil {
		return err
	}
	opt.ErrorsOnly = true
	opt.WithLicensing = userLicensing(q.Select)
	id, err := pathGUID(r, "id")
	if err != nil {
		return err
	}
	page, err := s.svc.Groups.Members(r.Context(), id, false, opt)
	if err != nil {
		return err
	}
	items := make([]any, 0, len(page.Items))
	for _, m := range page.Items {
		v, err := s.memberView(r, m, q.Select, "microsoft.graph.user")
		if err != nil {
			return err
		}
		if v != nil {
			items = append(items, v)
		}
	}
	s.writeCollection(w, r, s.metadata(r, "directoryObjects", q.Select), items, page.Count, q, page.NextCursor)
	return nil
}

// countMembers serves members/$count, transitiveMembers/$count and
// membersWithLicenseErrors/$count: the number as plain text, with the
// same $filter as the list, as Graph answers it.
func (s *server) countMembers(w http.ResponseWriter, r *http.Request, transitive, errorsOnly bool) error {
	q, err := odata.ParseQuery(r.URL.Query(), odata.QuerySpec{Filter: memberFilter, TypeName: "microsoft.graph.directoryObject"})
	if err != nil {
		return err
	}
	id, err := pathGUID(r, "id")
	if err != nil {
		return err
	}
	page, err := s.svc.Groups.Members(r.Context(), id, transitive, allot.ListOptions{Filter: q.Filter, Count: true, Top: 1, ErrorsOnly: errorsOnly})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(strconv.Itoa(page.Count)))
	return nil
}

// member serves members/{id} and transitiveMembers/{id}: the member as a
// directoryObject, or 404 when it is not one.
func (s *server) member(w http.ResponseWriter, r *http.Request, transitive bool, memberID string) error {
	q, err := odata.ParseQuery(r.URL.Query(), odata.QuerySpec{Select: memberSelect, TypeName: "microsoft.graph.directoryObject"})
	if err != nil {
		return err
	}
	id, err := pathGUID(r, "id")
	if err != nil {
		return err
	}
	page, err := s.svc.Groups.Members(r.Context(), id, transitive, allot.ListOptions{MemberID: memberID, Top: 1,
		WithLicensing: userLicensing(q.Select) || groupLicensing(q.Select)})
	if err != nil {
		return err
	}
	if len(page.Items) == 0 {
		return allot.Errorf(allot.ENOTFOUND, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", memberID)
	}
	v, err := s.memberView(r, page.Items[0], q.Select, "")
	if err != nil {
		return err
	}
	v["@odata.context"] = s.metadata(r, "directoryObjects/$entity", q.Select)
	writeJSON(w, http.StatusOK, v)
	return nil
}

// membersWithLicenseErrorsCount serves membersWithLicenseErrors/$count.
func (s *server) membersWithLicenseErrorsCount(w http.ResponseWriter, r *http.Request) error {
	return s.countMembers(w, r, false, true)
}
