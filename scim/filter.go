package scim

import (
	"context"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/scim2/filter-parser/v2"
)

// A filter is translated to Allot's $filter AST, so that it runs in the
// database like a Graph $filter: identity providers look objects up by
// userName, externalId or displayName before every create.

// userProps maps a user attribute (lower case, "attr" or "attr.sub") to
// Allot's property. The enterprise extension's attributes are named
// without their schema URI, which may also be left out (names do not
// clash with the core schema's).
var userProps = map[string]string{
	"id":                      "id",
	"username":                "userPrincipalName",
	"displayname":             "displayName",
	"active":                  "accountEnabled",
	"emails":                  "mail",
	"emails.value":            "mail",
	"addresses.country":       "usageLocation",
	"name.givenname":          "givenName",
	"name.familyname":         "surname",
	"title":                   "jobTitle",
	"usertype":                "userType",
	"preferredlanguage":       "preferredLanguage",
	"addresses.streetaddress": "streetAddress",
	"addresses.locality":      "city",
	"addresses.region":        "state",
	"addresses.postalcode":    "postalCode",
	"addresses.formatted":     "officeLocation",
	"employeenumber":          "employeeId",
	"department":              "department",
	"organization":            "companyName",
}

var groupProps = map[string]string{
	"id":          "id",
	"displayname": "displayName",
}

// translate turns a SCIM filter on kind (allot.MemberUser or
// allot.MemberGroup) into Allot's filter AST.
func (h *handler) translate(ctx context.Context, kind string, e filter.Expression) (allot.Expr, error) {
	switch x := e.(type) {
	case *filter.LogicalExpression:
		l, err := h.translate(ctx, kind, x.Left)
		if err != nil {
			return nil, err
		}
		r, err := h.translate(ctx, kind, x.Right)
		if err != nil {
			return nil, err
		}
		if x.Operator == filter.AND {
			return &allot.And{Left: l, Right: r}, nil
		}
		return &allot.Or{Left: l, Right: r}, nil
	case *filter.NotExpression:
		inner, err := h.translate(ctx, kind, x.Expression)
		if err != nil {
			return nil, err
		}
		return &allot.Not{X: inner}, nil
	case *filter.ValuePath:
		// members[value eq "…"]: the groups a member belongs to.
		if kind == allot.MemberGroup && strings.EqualFold(x.AttributePath.AttributeName, "members") {
			if attr, v, ok := simpleEq(x.ValueFilter); ok && attr == "value" {
				if s, ok := v.(string); ok {
					return h.groupsWith(ctx, s)
				}
			}
		}
		return nil, badFilter("Filter '%s' is not supported.", x.String())
	case *filter.AttributeExpression:
		return h.compare(ctx, kind, x)
	}
	return nil, badFilter("Unsupported filter.")
}

func (h *handler) compare(ctx context.Context, kind string, x *filter.AttributeExpression) (allot.Expr, error) {
	name := strings.ToLower(x.AttributePath.AttributeName)
	if sub := x.AttributePath.SubAttributeName(); sub != "" {
		name += "." + strings.ToLower(sub)
	}
	core := userSchemaID
	if kind == allot.MemberGroup {
		core = groupSchemaID
	}
	if uri := strings.ToLower(x.AttributePath.URI()); uri != "" && uri != strings.ToLower(core) && (kind != allot.MemberUser || uri != entKey) {
		return nil, badFilter("Filtering on '%s' is not supported.", x.AttributePath.String())
	}
	switch name {
	case "manager", "manager.value":
		// Allot keeps no manager, so no user has one, and a comparison
		// with an attribute that has no value is false (RFC 7644
		// §3.4.2.2). Entra ID checks a user's manager so before it sets
		// it (its tutorial's "query the value of a reference attribute").
		if kind != allot.MemberUser || (x.Operator != filter.EQ && x.Operator != filter.PR) {
			return nil, badFilter("manager supports only 'eq' and 'pr'.")
		}
		return anyID(nil), nil
	case "externalid":
		s, ok := x.CompareValue.(string)
		if x.Operator != filter.EQ || !ok {
			return nil, badFilter("externalId supports only 'eq' with a string.")
		}
		ids, err := h.st.SCIMFindExternalID(ctx, kind, s)
		if err != nil {
			return nil, h.scimError(ctx, err)
		}
		return anyID(ids), nil
	case "members", "members.value":
		s, ok := x.CompareValue.(string)
		if kind != allot.MemberGroup || x.Operator != filter.EQ || !ok {
			return nil, badFilter("members supports only 'eq' with a member id.")
		}
		return h.groupsWith(ctx, s)
	}
	props := userProps
	if kind == allot.MemberGroup {
		props = groupProps
	}
	prop, ok := props[name]
	if !ok {
		return nil, badFilter("Filtering on '%s' is not supported.", x.AttributePath.String())
	}
	var v any
	switch c := x.CompareValue.(type) {
	case string:
		v = c
		if prop == "id" {
			v = strings.ToLower(c)
		}
	case bool:
		v = c
	case nil:
	default:
		return nil, badFilter("Unsupported value in the filter on '%s'.", x.AttributePath.String())
	}
	switch x.Operator {
	case filter.EQ, filter.NE:
		return &allot.Compare{Property: prop, Op: string(x.Operator), Value: v}, nil
	case filter.SW:
		if _, ok := v.(string); !ok {
			return nil, badFilter("'sw' needs a string.")
		}
		return &allot.Compare{Property: prop, Op: "startswith", Value: v}, nil
	case filter.PR:
		// Allot stores absent text as "", which a null comparison matches.
		return &allot.Not{X: &allot.Compare{Property: prop, Op: "eq", Value: nil}}, nil
	}
	return nil, badFilter("Operator '%s' is not supported on '%s'.", x.Operator, x.AttributePath.String())
}

func (h *handler) groupsWith(ctx context.Context, member string) (allot.Expr, error) {
	ids, err := h.st.SCIMGroupsWithMember(ctx, member)
	if err != nil {
		return nil, h.scimError(ctx, err)
	}
	return anyID(ids), nil
}

// anyID matches the objects with one of ids, and nothing when there is none.
func anyID(ids []string) allot.Expr {
	if len(ids) == 0 {
		// No object has an empty id.
		return &allot.Compare{Property: "id", Op: "eq", Value: nil}
	}
	if len(ids) == 1 {
		return &allot.Compare{Property: "id", Op: "eq", Value: ids[0]}
	}
	// A balanced tree keeps the store's recursion shallow for long lists.
	mid := len(ids) / 2
	return &allot.Or{Left: anyID(ids[:mid]), Right: anyID(ids[mid:])}
}
