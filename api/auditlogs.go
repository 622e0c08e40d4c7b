package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/odata"
)

// Allot's audit log as Graph's directoryAudit (GET /auditLogs/directoryAudits,
// docs/COMPATIBILITY.md), for the scripts that read Entra's audit log:
// Get-MgAuditLogDirectoryAudit, or a license report asking for the
// "Change user license" entries since a date. The log is the one
// /allot/v1/audit shows; this endpoint only presents and filters it
// Graph's way.

// auditActivity is the category and operation type of an activity.
type auditActivity struct{ category, operation string }

// auditActivities are the activities the store writes (every
// s.audit(…), addAudit(…) and auditRow(…) in store/*.go;
// TestDirectoryAuditKnowsEveryActivity keeps the list whole). Their
// names are Entra's where Entra has the activity ("Change user
// license"), and so are their categories; the Allot-only ones (prices,
// webhooks, the licensing policy) take the nearest category. Any other
// activity reads as category Other.
var auditActivities = map[string]auditActivity{
	"Add user":                        {"UserManagement", "Add"},
	"Update user":                     {"UserManagement", "Update"},
	"Delete user":                     {"UserManagement", "Delete"},
	"Change user license":             {"UserManagement", "Update"},
	"Add group":                       {"GroupManagement", "Add"},
	"Update group":                    {"GroupManagement", "Update"},
	"Delete group":                    {"GroupManagement", "Delete"},
	"Restore user":                    {"UserManagement", "Update"},
	"Hard delete user":                {"UserManagement", "Delete"},
	"Restore group":                   {"GroupManagement", "Update"},
	"Hard delete group":               {"GroupManagement", "Delete"},
	"Add member to group":             {"GroupManagement", "Assign"},
	"Remove member from group":        {"GroupManagement", "Unassign"},
	"Set group license":               {"GroupManagement", "Assign"},
	"Set group license nested groups": {"GroupManagement", "Update"},
	"Start applying group based license to users":  {"GroupManagement", "Update"},
	"Finish applying group based license to users": {"GroupManagement", "Update"},
	"Start applying membership rule":               {"GroupManagement", "Update"},
	"Finish applying membership rule":              {"GroupManagement", "Update"},
	// Admin center accounts and API tokens hold roles in the tenant.
	"Add role assignment":    {"RoleManagement", "Assign"},
	"Remove role assignment": {"RoleManagement", "Unassign"},
	"Enable account":         {"UserManagement", "Update"},
	"Disable account":        {"UserManagement", "Update"},
	"Reset password":         {"UserManagement", "Update"},
	"Revoke sessions":        {"UserManagement", "Update"},
	// Single sign-on is the tenant's policy for signing admins in.
	"Update single sign-on": {"Policy", "Update"},
	"Remove single sign-on": {"Policy", "Delete"},
	// The tenant and what it buys, as Entra's company and subscriptions.
	"Add tenant":                {"DirectoryManagement", "Add"},
	"Update company settings":   {"DirectoryManagement", "Update"},
	"Import directory":          {"DirectoryManagement", "Update"},
	"Add subscription":          {"DirectoryManagement", "Add"},
	"Update subscription":       {"DirectoryManagement", "Update"},
	"Purchase licenses":         {"DirectoryManagement", "Update"},
	"Update subscription price": {"DirectoryManagement", "Update"},
	"Update lifecycle settings": {"DirectoryManagement", "Update"},
	"Update licensing policy":   {"Policy", "Update"},
	"Add webhook":               {"Other", "Add"},
	"Update webhook":            {"Other", "Update"},
	"Delete webhook":            {"Other", "Delete"},
}

// auditActivityNames are the names of auditActivities, sorted, and by
// lower case, so that a filter may spell a name in any case and still
// reach the store's index, which compares names exactly.
var (
	auditActivityNames   = slices.Sorted(maps.Keys(auditActivities))
	auditActivityByLower = func() map[string]string {
		m := make(map[string]string, len(auditActivities))
		for n := range auditActivities {
			m[strings.ToLower(n)] = n
		}
		return m
	}()
)

// auditService is the loggedByService of every entry: Allot is the
// directory, Entra's Core Directory.
const auditService = "Core Directory"

var directoryAuditSelect = []string{"id", "category", "correlationId", "result", "resultReason", "activityDisplayName",
	"activityDateTime", "loggedByService", "operationType", "initiatedBy", "targetResources", "additionalDetails"}

// directoryAuditFilter is what $filter takes. The parser reads a path of
// one '/' (odata.ParseFilter), so initiatedBy/user/id is spelt here with a
// '.' for its second: auditPaths rewrites the client's filter to match.
var directoryAuditFilter = map[string]odata.FieldKind{
	"id": odata.String, "activityDisplayName": odata.String, "activityDateTime": odata.DateTime,
	"category": odata.String, "result": odata.String, "loggedByService": odata.String,
	"initiatedBy/user.id": odata.String, "initiatedBy/user.displayName": odata.String,
	"initiatedBy/user.userPrincipalName": odata.String, "initiatedBy/app.appId": odata.String,
	"targetResources": odata.Collection, "targetResources/id": odata.String,
}

var (
	directoryAuditsQuery = odata.QuerySpec{Select: directoryAuditSelect, Filter: directoryAuditFilter, Paging: true,
		OrderBy: []string{"activityDateTime"}, TypeName: "microsoft.graph.directoryAudit"}
	directoryAuditQuery = odata.QuerySpec{Select: directoryAuditSelect, TypeName: "microsoft.graph.directoryAudit"}
)

// listDirectoryAudits serves GET /auditLogs/directoryAudits: newest first
// unless $orderby=activityDateTime asc, paged by (time, id) so that a page
// costs the same however deep into a big log it is.
func (s *server) listDirectoryAudits(w http.ResponseWriter, r *http.Request) error {
	q, err := odata.ParseQuery(auditPaths(r.URL.Query()), directoryAuditsQuery)
	if err != nil {
		return graphPaths(err)
	}
	opt, err := q.ListOptions()
	if err != nil {
		return err
	}
	cond, err := auditCondition(q.Filter)
	if err != nil {
		return err
	}
	page := &allot.Page[allot.AuditEntry]{}
	if cond.x != nil || cond.all {
		page, err = s.svc.Audit.Audit(r.Context(), allot.AuditFilter{Expr: cond.x, ByTime: true,
			Ascending: q.OrderBy != "" && !q.Descending, Top: q.Top, After: opt.After})
		if err != nil {
			return err
		}
	}
	views, err := s.directoryAuditViews(r.Context(), page.Items, q.Select)
	if err != nil {
		return err
	}
	items := make([]any, 0, len(views))
	for _, v := range views {
		items = append(items, v)
	}
	s.writeCollection(w, r, s.metadata(r, auditFragment("", q.Select), nil), items, 0, q, page.NextCursor)
	return nil
}

// getDirectoryAudit serves GET /auditLogs/directoryAudits/{id}. Ids are
// the log's entry numbers; anything else names no entry, as an entry of
// another tenant does.
func (s *server) getDirectoryAudit(w http.ResponseWriter, r *http.Request) error {
	q, err := odata.ParseQuery(r.URL.Query(), directoryAuditQuery)
	if err != nil {
		return err
	}
	raw := r.PathValue("id")
	notFound := allot.Errorf(allot.ENOTFOUND, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", clip(raw))
	if n, err := strconv.ParseInt(raw, 10, 64); err != nil || n <= 0 || strconv.FormatInt(n, 10) != raw {
		return notFound
	}
	page, err := s.svc.Audit.Audit(r.Context(), allot.AuditFilter{Expr: &allot.Compare{Property: "id", Op: "eq", Value: raw}, ByTime: true, Top: 1})
	if err != nil {
		return err
	}
	if len(page.Items) == 0 {
		return notFound
	}
	views, err := s.directoryAuditViews(r.Context(), page.Items, q.Select)
	if err != nil {
		return err
	}
	v := views[0]
	v["@odata.context"] = s.metadata(r, auditFragment("/$entity", q.Select), nil)
	writeJSON(w, http.StatusOK, v)
	return nil
}

// auditFragment is the @odata.context fragment, with a $select list where
// Graph puts it: after the entity set, not after auditLogs.
func auditFragment(suffix string, sel []string) string {
	f := "auditLogs/directoryAudits"
	if len(sel) > 0 {
		f += "(" + strings.Join(sel, ",") + ")"
	}
	return f + suffix
}

// auditPaths rewrites initiatedBy/user/… and initiatedBy/app/… in the
// $filter to the one-'/' spelling of directoryAuditFilter, outside string
// literals. The rewrite keeps every character's place, so the parser's
// positions still point into what the client sent.
func auditPaths(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vals := range v {
		if lk := strings.ToLower(k); lk == "$filter" || lk == "filter" {
			vals = slices.Clone(vals)
			for i := range vals {
				vals[i] = auditPathText(vals[i])
			}
		}
		out[k] = vals
	}
	return out
}

func auditPathText(filter string) string {
	b := []byte(filter)
	quoted := false
	for i := 0; i < len(b); i++ {
		if b[i] == '\'' {
			// A doubled quote inside a literal toggles twice.
			quoted = !quoted
			continue
		}
		if quoted || i > 0 && !strings.ContainsRune(" \t\r\n(,", rune(b[i-1])) {
			continue
		}
		for _, p := range []string{"initiatedby/user/", "initiatedby/app/"} {
			if len(b)-i >= len(p) && strings.EqualFold(string(b[i:i+len(p)]), p) {
				b[i+len(p)-1] = '.'
				i += len(p) - 1
				break
			}
		}
	}
	return string(b)
}

var dottedPath = regexp.MustCompile(`(?i)(initiatedBy/(?:user|app))\.`)

// graphPaths spells the paths of a parse error as the client did.
func graphPaths(err error) error {
	var ae *allot.Error
	if errors.As(err, &ae) {
		ae.Message = dottedPath.ReplaceAllString(ae.Message, "$1/")
	}
	return err
}

// auditCond is a parsed $filter as the store takes it, or a constant when
// the filter holds for every entry or for none (a category no activity
// has, say).
type auditCond struct {
	x   allot.Expr
	all bool // x nil: every entry (true) or none
}

func (c auditCond) not() auditCond {
	if c.x == nil {
		return auditCond{all: !c.all}
	}
	return auditCond{x: &allot.Not{X: c.x}}
}

// auditCondition turns the parsed $filter into the store's Expr
// (allot.AuditFilter): category and loggedByService, which Allot derives
// from the activity, become conditions on activityDisplayName; a known
// activity name takes its stored spelling; the initiatedBy paths get
// their '/' back.
func auditCondition(e allot.Expr) (auditCond, error) {
	switch e := e.(type) {
	case nil:
		return auditCond{all: true}, nil
	case *allot.And, *allot.Or:
		var l, r allot.Expr
		and := false
		if a, ok := e.(*allot.And); ok {
			l, r, and = a.Left, a.Right, true
		} else {
			o := e.(*allot.Or)
			l, r = o.Left, o.Right
		}
		lc, err := auditCondition(l)
		if err != nil {
			return auditCond{}, err
		}
		rc, err := auditCondition(r)
		if err != nil {
			return auditCond{}, err
		}
		switch {
		case lc.x == nil && lc.all != and, rc.x == nil && rc.all != and:
			// false and …, true or …
			return auditCond{all: !and}, nil
		case lc.x == nil:
			return rc, nil
		case rc.x == nil:
			return lc, nil
		case and:
			return auditCond{x: &allot.And{Left: lc.x, Right: rc.x}}, nil
		}
		return auditCond{x: &allot.Or{Left: lc.x, Right: rc.x}}, nil
	case *allot.Not:
		c, err := auditCondition(e.X)
		return c.not(), err
	case *allot.Any:
		// targetResources/any(t: t/id …), whose property the store reads.
		return auditCond{x: e}, nil
	case *allot.Compare:
		return auditCompare(e)
	}
	return auditCond{}, unsupportedQuery("Unsupported filter expression.")
}

func auditCompare(c *allot.Compare) (auditCond, error) {
	switch c.Property {
	case "activityDisplayName":
		v := c.Value
		switch x := v.(type) {
		case string:
			if c.Op != "startswith" {
				v = auditActivityName(x)
			}
		case []any:
			names := make([]any, len(x))
			for i, n := range x {
				s, _ := n.(string)
				names[i] = auditActivityName(s)
			}
			v = names
		}
		return auditCond{x: &allot.Compare{Property: c.Property, Op: c.Op, Value: v}}, nil
	case "category", "loggedByService":
		vals, err := auditValues(c)
		if err != nil {
			return auditCond{}, err
		}
		var cond auditCond
		if c.Property == "loggedByService" {
			cond.all = slices.Contains(vals, strings.ToLower(auditService))
		} else {
			cond = auditCategories(vals)
		}
		if c.Op == "ne" {
			cond = cond.not()
		}
		return cond, nil
	case "result":
		vals, err := auditValues(c)
		if err != nil {
			return auditCond{}, err
		}
		for _, v := range vals {
			switch v {
			case "success", "failure", "timeout", "unknownfuturevalue":
			default:
				return auditCond{}, badRequest("Invalid value '%s' for property 'result': use success, failure, timeout or unknownFutureValue.", clip(v))
			}
		}
	case "initiatedBy/user.id", "initiatedBy/user.displayName", "initiatedBy/user.userPrincipalName", "initiatedBy/app.appId":
		return auditCond{x: &allot.Compare{Property: strings.Replace(c.Property, ".", "/", 1), Op: c.Op, Value: c.Value}}, nil
	}
	return auditCond{x: c}, nil
}

// auditActivityName is the stored spelling of a known activity, or name.
func auditActivityName(name string) string {
	if n, ok := auditActivityByLower[strings.ToLower(name)]; ok {
		return n
	}
	return name
}

// auditValues are the lower-cased values compared by eq, ne or in with a
// property that holds one of a few words, which startswith makes no
// sense on; null matches nothing, as no entry lacks the property.
func auditValues(c *allot.Compare) ([]string, error) {
	var out []string
	switch v := c.Value.(type) {
	case nil:
	case string:
		out = []string{strings.ToLower(v)}
	case []any:
		for _, x := range v {
			s, _ := x.(string)
			out = append(out, strings.ToLower(s))
		}
	}
	if c.Op != "eq" && c.Op != "ne" && c.Op != "in" {
		return nil, unsupportedQuery("Operator '%s' is not supported on '%s'; use eq, ne or in.", c.Op, c.Property)
	}
	return out, nil
}

// auditCategories is "category in vals": the known activities of those
// categories, and with Other every activity Allot does not know.
func auditCategories(vals []string) auditCond {
	var in, out []any
	for _, n := range auditActivityNames {
		if slices.Contains(vals, strings.ToLower(auditActivities[n].category)) {
			in = append(in, n)
		} else {
			out = append(out, n)
		}
	}
	switch {
	case slices.Contains(vals, "other") && len(out) == 0:
		return auditCond{all: true}
	case slices.Contains(vals, "other"):
		return auditCond{x: &allot.Not{X: &allot.Compare{Property: "activityDisplayName", Op: "in", Value: out}}}
	case len(in) == 0:
		return auditCond{}
	}
	return auditCond{x: &allot.Compare{Property: "activityDisplayName", Op: "in", Value: in}}
}

// auditName is what the directory knows of a target: its names, and a
// group's type.
type auditName struct {
	displayName, userPrincipalName, groupType string
}

// directoryAuditViews renders entries, looking up the names of the users
// and groups they target (only when targetResources is selected: two
// queries a page).
func (s *server) directoryAuditViews(ctx context.Context, es []allot.AuditEntry, sel []string) ([]object, error) {
	var names map[string]auditName
	if sel == nil || slices.Contains(sel, "targetResources") {
		var err error
		if names, err = s.auditNames(ctx, es); err != nil {
			return nil, err
		}
	}
	out := make([]object, 0, len(es))
	for i := range es {
		out = append(out, pick(directoryAuditView(&es[i], names), sel, directoryAuditSelect))
	}
	return out, nil
}

// auditNames looks up the users and groups that entries target, or add
// to or remove from a group, as they are now. A deleted one is not
// found: its entries show the names they recorded, if any.
func (s *server) auditNames(ctx context.Context, es []allot.AuditEntry) (map[string]auditName, error) {
	users, groups := map[string]bool{}, map[string]bool{}
	for i := range es {
		e := &es[i]
		switch e.TargetType {
		case "User":
			users[e.TargetID] = true
		case "Group":
			groups[e.TargetID] = true
		}
		if id, kind, ok := auditMember(e); ok {
			if kind == allot.MemberGroup {
				groups[id] = true
			} else {
				users[id] = true
			}
		}
	}
	names := map[string]auditName{}
	for _, ids := range slices.Collect(slices.Chunk(slices.Sorted(maps.Keys(users)), odata.MaxInValues)) {
		page, err := s.svc.Users.ListUsers(ctx, allot.ListOptions{Filter: idIn(ids), Top: len(ids)})
		if err != nil {
			return nil, err
		}
		for _, u := range page.Items {
			names[u.ID] = auditName{displayName: u.DisplayName, userPrincipalName: u.UserPrincipalName}
		}
	}
	for _, ids := range slices.Collect(slices.Chunk(slices.Sorted(maps.Keys(groups)), odata.MaxInValues)) {
		page, err := s.svc.Groups.ListGroups(ctx, allot.ListOptions{Filter: idIn(ids), Top: len(ids)})
		if err != nil {
			return nil, err
		}
		for _, g := range page.Items {
			kind := "azureAD"
			if slices.ContainsFunc(g.GroupTypes, func(t string) bool { return strings.EqualFold(t, "Unified") }) {
				kind = "unifiedGroups"
			}
			names[g.ID] = auditName{displayName: g.DisplayName, groupType: kind}
		}
	}
	return names, nil
}

func idIn(ids []string) allot.Expr {
	vals := make([]any, len(ids))
	for i, id := range ids {
		vals[i] = id
	}
	return &allot.Compare{Property: "id", Op: "in", Value: vals}
}

// auditMember is the member a membership change added or removed.
func auditMember(e *allot.AuditEntry) (id, kind string, ok bool) {
	if e.Activity != "Add member to group" && e.Activity != "Remove member from group" {
		return "", "", false
	}
	var m struct{ MemberID, MemberType string }
	raw := e.After
	if raw == "" {
		raw = e.Before
	}
	if json.Unmarshal([]byte(raw), &m) != nil || m.MemberID == "" {
		return "", "", false
	}
	return m.MemberID, m.MemberType, true
}

// auditTimeLayout is Graph's: seven digits of fractions, always.
const auditTimeLayout = "2006-01-02T15:04:05.0000000Z"

func directoryAuditView(e *allot.AuditEntry, names map[string]auditName) object {
	act, ok := auditActivities[e.Activity]
	if !ok {
		act = auditActivity{"Other", "Other"}
		if verb, _, _ := strings.Cut(e.Activity, " "); verb == "Add" || verb == "Update" || verb == "Delete" {
			act.operation = verb
		}
	}
	details := []object{{"key": "ActorKind", "value": e.ActorKind}}
	if e.ActorRole != "" {
		details = append(details, object{"key": "ActorRole", "value": string(e.ActorRole)})
	}
	return object{
		"id":                  strconv.FormatInt(e.ID, 10),
		"category":            act.category,
		"correlationId":       nil,
		"result":              e.Result,
		"resultReason":        auditResultReason(e),
		"activityDisplayName": e.Activity,
		"activityDateTime":    e.Time.UTC().Format(auditTimeLayout),
		"loggedByService":     auditService,
		"operationType":       act.operation,
		"initiatedBy":         auditInitiator(e),
		"targetResources":     auditTargets(e, names),
		"additionalDetails":   details,
	}
}

// auditInitiator is who acted: an admin center account as a user (its
// username is its sign-in name), an API token as an app (the token is
// the app's credential), and the operator and Allot's own processing as
// apps named so. An entry written before the log recorded kinds has only
// a name, which proves nothing: it is shown as an app without ids.
func auditInitiator(e *allot.AuditEntry) object {
	app := func(id, name, principal any) object {
		return object{"user": nil, "app": object{"appId": id, "displayName": name, "servicePrincipalId": id, "servicePrincipalName": principal}}
	}
	switch e.ActorKind {
	case allot.ActorAccount:
		return object{"app": nil, "user": object{"id": e.ActorID, "displayName": e.Actor, "userPrincipalName": e.Actor, "ipAddress": nil}}
	case allot.ActorToken:
		return app(e.ActorID, e.Actor, e.Actor)
	case allot.ActorOperator:
		return app(nil, "Allot server operator", nullable(e.Actor))
	case allot.ActorSystem:
		if e.Actor == "" {
			return app(nil, "Allot", nil)
		}
		return app(nil, e.Actor, nil)
	}
	return app(nil, nullable(e.Actor), nil)
}

// auditResultReason names a failed license change's errors, from the
// states it left.
func auditResultReason(e *allot.AuditEntry) string {
	if e.Result != "failure" {
		return ""
	}
	var states []struct{ Error string }
	_ = json.Unmarshal([]byte(e.After), &states)
	var errs []string
	for _, st := range states {
		if st.Error != "" && st.Error != string(allot.NoLicenseError) && !slices.Contains(errs, st.Error) {
			errs = append(errs, st.Error)
		}
	}
	return strings.Join(errs, ", ")
}

// auditTargets is what an entry changed. A membership change lists, as
// Entra does, the member first, with the group's id and name as its
// modified properties, then the group.
func auditTargets(e *allot.AuditEntry, names map[string]auditName) []object {
	target := auditTarget(e.TargetID, e.TargetType, auditRecordedName(e), names)
	mid, kind, ok := auditMember(e)
	if !ok {
		target["modifiedProperties"] = auditModified(e)
		return []object{target}
	}
	mtype := "User"
	if kind == allot.MemberGroup {
		mtype = "Group"
	}
	member := auditTarget(mid, mtype, auditName{}, names)
	groupName := any(nil)
	if n := names[e.TargetID].displayName; n != "" {
		groupName = jsonText(n)
	}
	id, name := []any{nil, jsonText(e.TargetID)}, []any{nil, groupName}
	if e.Activity == "Remove member from group" {
		id[0], id[1], name[0], name[1] = id[1], id[0], name[1], name[0]
	}
	member["modifiedProperties"] = []object{
		{"displayName": "Group.ObjectID", "oldValue": id[0], "newValue": id[1]},
		{"displayName": "Group.DisplayName", "oldValue": name[0], "newValue": name[1]},
	}
	target["modifiedProperties"] = []object{}
	return []object{member, target}
}

// auditTarget is one targetResource: its names as the entry recorded them,
// else as the directory has them now.
func auditTarget(id, typ string, recorded auditName, names map[string]auditName) object {
	now := names[id]
	if recorded.displayName == "" {
		recorded.displayName = now.displayName
	}
	if recorded.userPrincipalName == "" {
		recorded.userPrincipalName = now.userPrincipalName
	}
	t := object{"id": id, "displayName": nullable(recorded.displayName), "type": typ, "userPrincipalName": nil, "groupType": nil}
	switch typ {
	case "User":
		t["userPrincipalName"] = nullable(recorded.userPrincipalName)
	case "Group":
		t["groupType"] = nullable(now.groupType)
	}
	return t
}

// auditRecordedName is the target's names in the entry's own JSON (a
// user's, group's or tenant's properties as added, changed or deleted; a
// token's name, an account's username).
func auditRecordedName(e *allot.AuditEntry) auditName {
	var n auditName
	for _, raw := range []string{e.After, e.Before} {
		var props struct{ DisplayName, Name, Username, UserPrincipalName string }
		if json.Unmarshal([]byte(raw), &props) != nil {
			continue
		}
		for _, name := range []string{props.DisplayName, props.Name, props.Username} {
			if n.displayName == "" {
				n.displayName = name
			}
		}
		if n.userPrincipalName == "" {
			n.userPrincipalName = props.UserPrincipalName
		}
	}
	return n
}

// auditModified compares an entry's before and after. Each property of
// the objects whose value changed is one modifiedProperty, its values the
// JSON text Graph gives them ("\"US\"", null when absent); a list (the
// licenses or license states of a license change) is one property named
// for what it lists. An update also names the properties it changed, in
// Entra's "Included Updated Properties".
func auditModified(e *allot.AuditEntry) []object {
	out := []object{}
	before, after := jsonValue(e.Before), jsonValue(e.After)
	if isList(before) || isList(after) {
		if !bytes.Equal(before, after) {
			name := "assignedLicenses"
			if bytes.Contains(before, []byte(`"state":`)) || bytes.Contains(after, []byte(`"state":`)) {
				name = "licenseAssignmentStates"
			}
			out = append(out, object{"displayName": name, "oldValue": jsonOrNull(before), "newValue": jsonOrNull(after)})
		}
		return out
	}
	bm, am := jsonFields(before), jsonFields(after)
	if bm == nil && am == nil && !bytes.Equal(before, after) {
		// Not JSON objects: shown whole.
		return append(out, object{"displayName": "value", "oldValue": jsonOrNull(before), "newValue": jsonOrNull(after)})
	}
	keys := slices.Sorted(maps.Keys(bm))
	for k := range am {
		if _, ok := bm[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var changed []string
	for _, k := range keys {
		b, a := bm[k], am[k]
		if bytes.Equal(b, a) {
			continue
		}
		changed = append(changed, k)
		out = append(out, object{"displayName": k, "oldValue": jsonOrNull(b), "newValue": jsonOrNull(a)})
	}
	if len(changed) > 0 && (e.Activity == "Update user" || e.Activity == "Update group") {
		out = append(out, object{"displayName": "Included Updated Properties", "oldValue": nil, "newValue": jsonText(strings.Join(changed, ", "))})
	}
	return out
}

// jsonValue is s compacted, or nil when it is empty or not JSON (a
// string that is not JSON is kept as a JSON string).
func jsonValue(s string) []byte {
	if s == "" {
		return nil
	}
	var buf bytes.Buffer
	if json.Compact(&buf, []byte(s)) != nil {
		return []byte(jsonText(s))
	}
	return buf.Bytes()
}

func isList(b []byte) bool { return len(b) > 0 && b[0] == '[' }

// jsonFields are the members of a JSON object, each compacted, by Graph's
// property name; nil when b is not one. A group's entries hold the group
// as Go encodes it ("DisplayName"), a user's by Graph's names; both read
// as Graph's. What the store keeps for itself (the time of the last
// change, the progress of processing) is no property a caller set.
func jsonFields(b []byte) map[string][]byte {
	var m map[string]json.RawMessage
	if len(b) == 0 || json.Unmarshal(b, &m) != nil {
		return nil
	}
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		if k == strings.ToUpper(k) {
			k = strings.ToLower(k) // ID
		} else {
			r, n := utf8.DecodeRuneInString(k)
			k = string(unicode.ToLower(r)) + k[n:]
		}
		switch k {
		case "modifiedAt", "processingState", "membersDone", "membersTotal", "hasMembersWithLicenseErrors":
			continue
		}
		out[k] = jsonValue(string(v))
	}
	return out
}

func jsonOrNull(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// jsonText is s as a JSON string, '<', '>' and '&' as they are.
func jsonText(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(buf.String(), "\n")
}
