package scim

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/allot-dev/allot"
	scimlib "github.com/elimity-com/scim"
	scimerr "github.com/elimity-com/scim/errors"
	"github.com/scim2/filter-parser/v2"
)

// groups serves /Groups: displayName ↔ displayName, members ↔ the group's
// direct members (users, or groups, which licensing does not expand), and
// externalId kept beside the group. A group pushed by SCIM is a security
// group. Every membership change goes through the service's AddMember and
// RemoveMember, so a member of a licensed group is queued for processing.
type groups struct{ *handler }

func (h *handler) groupResource(r *http.Request, g *allot.Group, ext string, members []any) scimlib.Resource {
	attrs := scimlib.ResourceAttributes{"displayName": g.DisplayName}
	if members != nil {
		attrs["members"] = members
	}
	return resource(g.ID, project(r, attrs), ext, g.CreatedAt, g.ModifiedAt)
}

// members lists a group's direct members as SCIM members.
func (h *handler) members(r *http.Request, groupID string) ([]any, error) {
	ctx := r.Context()
	out := []any{}
	base := h.base(r)
	after := ""
	for {
		p, err := h.svc.Groups.Members(ctx, groupID, false, allot.ListOptions{Top: allot.MaxPageSize, After: after})
		if err != nil {
			return nil, h.scimError(ctx, err)
		}
		for _, o := range p.Items {
			switch {
			case o.User != nil:
				out = append(out, map[string]any{"value": o.User.ID, "type": "User", "display": o.User.DisplayName, "$ref": base + "/Users/" + o.User.ID})
			case o.Group != nil:
				out = append(out, map[string]any{"value": o.Group.ID, "type": "Group", "display": o.Group.DisplayName, "$ref": base + "/Groups/" + o.Group.ID})
			}
		}
		if p.NextCursor == "" {
			return out, nil
		}
		after = p.NextCursor
	}
}

// memberIDs are the member ids of a SCIM members value.
func memberIDs(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		if v == nil {
			return nil, nil
		}
		list = []any{v}
	}
	var ids []string
	for _, e := range list {
		m, _ := e.(map[string]any)
		v, _ := m["value"].(string)
		id, ok := allot.ParseID(v)
		if !ok {
			return nil, badValue("'%s' is not the id of a user or group.", v)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (h *handler) group(ctx context.Context, id string) (*allot.Group, string, error) {
	if err := validID(id); err != nil {
		return nil, "", err
	}
	g, err := h.svc.Groups.Group(ctx, id)
	if err != nil {
		return nil, "", h.scimError(ctx, err)
	}
	ext, err := h.externalID(ctx, g.ID)
	return g, ext, err
}

// checkNewMembers refuses ids that name no user or group of the tenant, or
// the group itself, before anything changes.
//
// An unknown member is 400 invalidValue (RFC 7644 §3.12: "the value
// specified was not compatible with the operation"), not 404: RFC 7644
// and Entra's tutorial use 404 for the resource of the URL, so a 404 on
// PATCH or PUT /Groups/{id} would tell the identity provider that the
// group is gone, and it is there. The detail names the id.
func (h *handler) checkNewMembers(ctx context.Context, groupID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	kinds, err := h.st.SCIMObjectKinds(ctx, ids)
	if err != nil {
		return h.scimError(ctx, err)
	}
	for _, id := range ids {
		if kinds[id] == "" {
			return badValue("Member '%s' is not a user or group of this tenant.", id)
		}
		if strings.EqualFold(id, groupID) {
			return badValue("A group cannot be a member of itself.")
		}
	}
	return nil
}

// mailNickname makes a group's mail nickname of its display name, as the
// Entra admin center suggests one: the characters a nickname may hold.
func mailNickname(name string) string {
	var b strings.Builder
	for _, c := range name {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteRune(c)
		}
		if b.Len() == 64 {
			break
		}
	}
	if b.Len() == 0 {
		return "group"
	}
	return b.String()
}

func (x *groups) Create(r *http.Request, attrs scimlib.ResourceAttributes) (scimlib.Resource, error) {
	ctx := r.Context()
	d := lowerKeys(map[string]any(attrs)).(map[string]any)
	name, _ := d["displayname"].(string)
	ext, _ := d["externalid"].(string)
	if err := validExternalID(ext); err != nil {
		return scimlib.Resource{}, err
	}
	ids, err := memberIDs(d["members"])
	if err != nil {
		return scimlib.Resource{}, err
	}
	ids = dedupe(ids)
	if err := x.checkNewMembers(ctx, "", ids); err != nil {
		return scimlib.Resource{}, err
	}
	g, err := x.svc.Groups.CreateGroup(ctx, allot.GroupCreate{DisplayName: name, MailNickname: mailNickname(name), SecurityEnabled: true})
	if err != nil {
		return scimlib.Resource{}, x.scimError(ctx, err)
	}
	undo := func(cause error) (scimlib.Resource, error) {
		// A refused or failed request leaves nothing behind; the group has
		// no license yet, so it can be deleted.
		// Purged too: an undone create is not a deletion to restore.
		if derr := x.svc.Groups.DeleteGroup(ctx, g.ID); derr != nil {
			x.log.ErrorContext(ctx, "scim: undo group create", "group", g.ID, "error", derr)
		} else if derr := x.svc.Deleted.PurgeDeletedItem(ctx, g.ID); derr != nil {
			x.log.ErrorContext(ctx, "scim: undo group create", "group", g.ID, "error", derr)
		}
		return scimlib.Resource{}, x.scimError(ctx, cause)
	}
	if ext != "" {
		if err := x.st.SetSCIMExternalID(ctx, allot.MemberGroup, g.ID, ext); err != nil {
			return undo(err)
		}
	}
	for _, id := range ids {
		if err := x.svc.Groups.AddMember(ctx, g.ID, id); err != nil {
			return undo(x.memberError(ctx, id, err))
		}
	}
	var members []any
	if wants(r, "members", true) {
		// Entra's and Okta's guides answer a new group with its members,
		// an empty list when it has none.
		members = []any{}
		if len(ids) > 0 {
			if members, err = x.members(r, g.ID); err != nil {
				return scimlib.Resource{}, err
			}
		}
	}
	return x.groupResource(r, g, ext, members), nil
}

func (x *groups) Get(r *http.Request, id string) (scimlib.Resource, error) {
	g, ext, err := x.group(r.Context(), id)
	if err != nil {
		return scimlib.Resource{}, err
	}
	var members []any
	if wants(r, "members", true) {
		if members, err = x.members(r, g.ID); err != nil {
			return scimlib.Resource{}, err
		}
	}
	return x.groupResource(r, g, ext, members), nil
}

// GetAll lists groups without their members unless attributes asks for
// them: a list of large groups would otherwise carry every membership.
func (x *groups) GetAll(r *http.Request, params scimlib.ListRequestParams) (scimlib.Page, error) {
	items, total, exts, err := listPage(x.handler, r.Context(), allot.MemberGroup, params, x.svc.Groups.ListGroups, func(g *allot.Group) string { return g.ID })
	if err != nil {
		return scimlib.Page{}, err
	}
	page := scimlib.Page{TotalResults: total, Resources: []scimlib.Resource{}}
	withMembers := wants(r, "members", false)
	for i := range items {
		var members []any
		if withMembers {
			if members, err = x.members(r, items[i].ID); err != nil {
				return scimlib.Page{}, err
			}
		}
		page.Resources = append(page.Resources, x.groupResource(r, &items[i], exts[items[i].ID], members))
	}
	return page, nil
}

// memberStep is one membership operation of a request, in order.
type memberStep struct {
	op  string // "add", "remove", "removeAll", "replaceAll"
	ids []string
}

// groupChange is what a PATCH or PUT asks of a group.
type groupChange struct {
	name, ext *string
	steps     []memberStep
}

func (c *groupChange) set(attr string, op string, value any) error {
	switch attr {
	case "displayname":
		s, _ := value.(string)
		if op == "remove" || strings.TrimSpace(s) == "" {
			return badValue("displayName is required.")
		}
		c.name = &s
	case "externalid":
		s, _ := value.(string)
		if op == "remove" {
			s = ""
		}
		c.ext = &s
	case "members":
		ids, err := memberIDs(value)
		if err != nil {
			return err
		}
		switch {
		case op == "add":
			c.steps = append(c.steps, memberStep{"add", ids})
		case op == "remove" && value == nil:
			c.steps = append(c.steps, memberStep{"removeAll", nil})
		case op == "remove":
			c.steps = append(c.steps, memberStep{"remove", ids})
		default:
			c.steps = append(c.steps, memberStep{"replaceAll", ids})
		}
	}
	return nil
}

func (x *groups) Patch(r *http.Request, id string, ops []scimlib.PatchOperation) (scimlib.Resource, error) {
	var c groupChange
	for _, op := range ops {
		value := lowerKeys(op.Value)
		if op.Path == nil {
			m, ok := value.(map[string]any)
			if !ok {
				return scimlib.Resource{}, badValue("An operation without a path needs an object of attributes as its value.")
			}
			for k, v := range m {
				if err := c.set(k, op.Op, v); err != nil {
					return scimlib.Resource{}, err
				}
			}
			continue
		}
		attr := strings.ToLower(op.Path.AttributePath.AttributeName)
		if op.Path.ValueExpression == nil {
			if op.Path.AttributePath.SubAttribute != nil || op.Path.SubAttribute != nil {
				return scimlib.Resource{}, badPath("Path '%s' is not supported.", op.Path.String())
			}
			if err := c.set(attr, op.Op, value); err != nil {
				return scimlib.Resource{}, err
			}
			continue
		}
		// members[value eq "…"] (or several joined by "or"): only removal
		// makes sense, since a member has nothing else to change.
		ids, ok := valueIDs(op.Path.ValueExpression)
		if attr != "members" || op.Op != "remove" || op.Path.SubAttribute != nil || !ok {
			return scimlib.Resource{}, badPath("Path '%s' is not supported; remove members with members[value eq \"id\"].", op.Path.String())
		}
		c.steps = append(c.steps, memberStep{"remove", ids})
	}
	if err := x.apply(r, id, c); err != nil {
		return scimlib.Resource{}, err
	}
	// 200 with the group (RFC 7644 §3.5.2), so that the identity provider
	// sees its meta, but its members only when attributes asks for them:
	// identity providers send members in batches, and a large group's
	// list after every batch is what Entra's tutorial advises against;
	// Okta's guide shows members null in its answer.
	g, ext, err := x.group(r.Context(), id)
	if err != nil {
		return scimlib.Resource{}, err
	}
	var members []any
	if wants(r, "members", false) {
		if members, err = x.members(r, g.ID); err != nil {
			return scimlib.Resource{}, err
		}
	}
	return x.groupResource(r, g, ext, members), nil
}

// valueIDs reads the ids of a filter "value eq id [or value eq id …]".
func valueIDs(e filter.Expression) ([]string, bool) {
	if l, ok := e.(*filter.LogicalExpression); ok && l.Operator == filter.OR {
		a, okA := valueIDs(l.Left)
		b, okB := valueIDs(l.Right)
		return append(a, b...), okA && okB
	}
	attr, v, ok := simpleEq(e)
	s, _ := v.(string)
	id, isID := allot.ParseID(s)
	if !ok || attr != "value" || !isID {
		return nil, false
	}
	return []string{id}, true
}

// Replace is PUT: displayName and externalId as given; members, when
// present, become exactly those listed.
func (x *groups) Replace(r *http.Request, id string, attrs scimlib.ResourceAttributes) (scimlib.Resource, error) {
	d := lowerKeys(map[string]any(attrs)).(map[string]any)
	var c groupChange
	for _, k := range []string{"displayname", "externalid", "members"} {
		if v, ok := d[k]; ok {
			if err := c.set(k, "replace", v); err != nil {
				return scimlib.Resource{}, err
			}
		}
	}
	if err := x.apply(r, id, c); err != nil {
		return scimlib.Resource{}, err
	}
	return x.Get(r, id)
}

// apply makes the changes of c: everything is checked first (the group,
// every member to add), then the group is renamed, members leave, and
// members join. Members leave first so that a batch that swaps members
// frees its seats before the newcomers are processed.
func (x *groups) apply(r *http.Request, id string, c groupChange) error {
	ctx := r.Context()
	g, ext, err := x.group(ctx, id)
	if err != nil {
		return err
	}
	if c.ext != nil {
		if err := validExternalID(*c.ext); err != nil {
			return err
		}
	}
	current, err := x.currentMembers(r, g.ID, c.steps)
	if err != nil {
		return err
	}
	add, remove := memberChanges(current, c.steps)
	if err := x.checkNewMembers(ctx, g.ID, add); err != nil {
		return err
	}
	if c.name != nil && *c.name != g.DisplayName {
		if _, err := x.svc.Groups.UpdateGroup(ctx, g.ID, allot.GroupUpdate{DisplayName: c.name}); err != nil {
			return x.scimError(ctx, err)
		}
	}
	if c.ext != nil && *c.ext != ext {
		if err := x.st.SetSCIMExternalID(ctx, allot.MemberGroup, g.ID, *c.ext); err != nil {
			return x.scimError(ctx, err)
		}
	}
	for _, id := range remove {
		if err := x.svc.Groups.RemoveMember(ctx, g.ID, id); err != nil && allot.ErrorCode(err) != allot.ENOTFOUND {
			return x.scimError(ctx, err)
		}
	}
	for _, id := range add {
		if err := x.svc.Groups.AddMember(ctx, g.ID, id); err != nil {
			return x.memberError(ctx, id, err)
		}
	}
	return nil
}

// memberError maps an error of AddMember: a member deleted since
// checkNewMembers is the same invalidValue as one that never was.
func (h *handler) memberError(ctx context.Context, id string, err error) error {
	if allot.ErrorCode(err) == allot.ENOTFOUND {
		return badValue("Member '%s' is not a user or group of this tenant.", id)
	}
	return h.scimError(ctx, err)
}

// currentMembers reads the group's members that steps can change: all of
// them when a step replaces or clears the list, else only those named, so
// that adding one member to a large group does not read the whole group.
func (x *groups) currentMembers(r *http.Request, groupID string, steps []memberStep) (map[string]bool, error) {
	var named []string
	full := false
	for _, s := range steps {
		named = append(named, s.ids...)
		full = full || s.op == "removeAll" || s.op == "replaceAll"
	}
	current := map[string]bool{}
	if full {
		ms, err := x.members(r, groupID)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			current[strings.ToLower(m.(map[string]any)["value"].(string))] = true
		}
	} else if len(named) > 0 {
		ctx := r.Context()
		var err error
		if current, err = x.st.SCIMMembersAmong(ctx, groupID, named); err != nil {
			return nil, x.scimError(ctx, err)
		}
	}
	return current, nil
}

// memberChanges plays steps, in order, on the current members: who joins,
// in the order first named, and who leaves, sorted, so that a request
// always makes its changes in the same order.
func memberChanges(current map[string]bool, steps []memberStep) (add, remove []string) {
	final := make(map[string]bool, len(current))
	maps.Copy(final, current)
	var named []string
	for _, s := range steps {
		named = append(named, s.ids...)
		switch s.op {
		case "add":
			for _, id := range s.ids {
				final[id] = true
			}
		case "remove":
			for _, id := range s.ids {
				delete(final, id)
			}
		case "removeAll", "replaceAll":
			final = map[string]bool{}
			for _, id := range s.ids {
				final[id] = true
			}
		}
	}
	for _, id := range dedupe(named) {
		if final[id] && !current[id] {
			add = append(add, id)
		}
	}
	for id := range current {
		if !final[id] {
			remove = append(remove, id)
		}
	}
	slices.Sort(remove)
	return add, remove
}

// Delete deletes a group. Allot refuses to delete a group that still has
// licenses (docs/RULES.md §2.3.6): that is a 400 "mutability" error naming the
// reason, and the identity provider retries once an admin has removed the
// group's licenses.
func (x *groups) Delete(r *http.Request, id string) error {
	ctx := r.Context()
	if err := validID(id); err != nil {
		return err
	}
	if err := x.svc.Groups.DeleteGroup(ctx, id); err != nil {
		if allot.ErrorCode(err) == allot.EINVALID {
			return scimerr.ScimError{Status: http.StatusBadRequest, ScimType: scimerr.ScimTypeMutability, Detail: allot.ErrorMessage(err)}
		}
		return x.scimError(ctx, err)
	}
	if err := x.st.SetSCIMExternalID(ctx, allot.MemberGroup, id, ""); err != nil {
		x.log.ErrorContext(ctx, "scim: drop externalId of a deleted group", "group", id, "error", err)
	}
	return nil
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	out := xs[:0:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
