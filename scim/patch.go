package scim

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	scimerr "github.com/elimity-com/scim/errors"
	"github.com/scim2/filter-parser/v2"
)

// A doc is a SCIM resource as a JSON object whose keys are lower-cased at
// every level, since SCIM attribute names are case-insensitive and clients
// spell them as they like ("Active", "emails[Type eq …]").
type doc = map[string]any

// lowerKeys returns v with the keys of every object lower-cased.
func lowerKeys(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[strings.ToLower(k)] = lowerKeys(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = lowerKeys(e)
		}
		return out
	}
	return v
}

// applyPatch applies one validated PATCH operation (RFC 7644 §3.5.2) to d.
// The library has checked that paths name attributes of the schema and that
// values have their types; this applies them.
func applyPatch(d doc, op string, path *filter.Path, value any) error {
	value = lowerKeys(value)
	if path == nil {
		m, ok := value.(map[string]any)
		if !ok {
			return badValue("An operation without a path needs an object of attributes as its value.")
		}
		for k, v := range m {
			if k == entKey {
				// The enterprise extension as one object: each of its
				// attributes is set as if named by its own path.
				attrs, ok := v.(map[string]any)
				if !ok {
					return badValue("The value of '%s' must be an object.", enterpriseSchemaID)
				}
				for name, x := range attrs {
					if err := applyWhole(extDoc(d), op, name, "", x); err != nil {
						return err
					}
				}
				continue
			}
			if strings.HasPrefix(k, "urn:") && !strings.HasPrefix(k, strings.ToLower(userSchemaID)+":") && !strings.HasPrefix(k, entKey+":") {
				continue // another extension's attributes: accepted, not kept (docs/SCIM.md)
			}
			p, err := filter.ParsePath([]byte(k))
			if err != nil {
				return badPath("Invalid attribute path '%s'.", k)
			}
			if err := applyPath(d, op, p, v); err != nil {
				return err
			}
		}
		return nil
	}
	return applyPath(d, op, *path, value)
}

func applyPath(d doc, op string, p filter.Path, value any) error {
	switch uri := strings.ToLower(p.AttributePath.URI()); {
	case uri == entKey:
		// The enterprise extension's attributes are single-valued, so its
		// paths have no value filter.
		d = extDoc(d)
	case uri != "" && uri != strings.ToLower(userSchemaID) && uri != strings.ToLower(groupSchemaID):
		return nil // another extension's attribute: accepted, not kept
	}
	name := strings.ToLower(p.AttributePath.AttributeName)
	sub := strings.ToLower(p.AttributePath.SubAttributeName())
	if s := p.SubAttributeName(); s != "" {
		sub = strings.ToLower(s)
	}
	if p.ValueExpression == nil {
		return applyWhole(d, op, name, sub, value)
	}
	list, _ := d[name].([]any)
	var hits []int
	for i, e := range list {
		if m, ok := e.(map[string]any); ok && matches(m, p.ValueExpression) {
			hits = append(hits, i)
		}
	}
	switch op {
	case "remove":
		keep := list[:0:0]
		for i, e := range list {
			if !slices.Contains(hits, i) {
				keep = append(keep, e)
			} else if sub != "" {
				m := e.(map[string]any)
				delete(m, sub)
				keep = append(keep, m)
			}
		}
		d[name] = keep
		return nil
	case "add", "replace":
		if len(hits) == 0 {
			// Entra ID replaces emails[type eq "work"].value on a user with no
			// work address yet: the filter's equality names the new element.
			attr, v, ok := simpleEq(p.ValueExpression)
			if !ok {
				return scimError400(scimerr.ScimTypeNoTarget, "The path '%s' matches no value.", p.String())
			}
			e := map[string]any{attr: v}
			if sub != "" {
				e[sub] = value
			} else if m, ok := value.(map[string]any); ok {
				for k, x := range m {
					e[k] = x
				}
			} else {
				return badValue("The value of '%s' must be an object.", p.String())
			}
			d[name] = append(list, e)
			return nil
		}
		for _, i := range hits {
			m := list[i].(map[string]any)
			if sub != "" {
				m[sub] = value
				continue
			}
			v, ok := value.(map[string]any)
			if !ok {
				return badValue("The value of '%s' must be an object.", p.String())
			}
			if op == "replace" {
				m = map[string]any{}
			}
			for k, x := range v {
				m[k] = x
			}
			list[i] = m
		}
		d[name] = list
		return nil
	}
	return badValue("Unknown operation '%s'.", op)
}

// extDoc is the enterprise extension's object in d, made if d has none.
func extDoc(d doc) doc {
	e, ok := d[entKey].(map[string]any)
	if !ok {
		e = map[string]any{}
		d[entKey] = e
	}
	return e
}

// applyWhole applies an operation whose path has no value filter.
func applyWhole(d doc, op, name, sub string, value any) error {
	cur := d[name]
	if sub != "" {
		switch c := cur.(type) {
		case map[string]any:
			if op == "remove" {
				delete(c, sub)
			} else {
				c[sub] = value
			}
		case []any:
			for _, e := range c {
				if m, ok := e.(map[string]any); ok {
					if op == "remove" {
						delete(m, sub)
					} else {
						m[sub] = value
					}
				}
			}
		default:
			if op != "remove" {
				d[name] = map[string]any{sub: value}
			}
		}
		return nil
	}
	switch op {
	case "remove":
		list, isList := cur.([]any)
		vals, hasVals := value.([]any)
		if !isList || !hasVals {
			delete(d, name)
			return nil
		}
		// Entra ID removes members by listing them in the value.
		keep := list[:0:0]
		for _, e := range list {
			if !listHas(vals, e) {
				keep = append(keep, e)
			}
		}
		d[name] = keep
	case "add", "replace":
		if list, ok := cur.([]any); ok && op == "add" {
			if vals, ok := value.([]any); ok {
				for _, v := range vals {
					if !listHas(list, v) {
						list = append(list, v)
					}
				}
				d[name] = list
				return nil
			}
		}
		if m, ok := cur.(map[string]any); ok {
			// A complex attribute's sub-attributes not in the value stay.
			if v, ok := value.(map[string]any); ok {
				maps.Copy(m, v)
				return nil
			}
		}
		d[name] = value
	default:
		return badValue("Unknown operation '%s'.", op)
	}
	return nil
}

// listHas reports whether list holds v, comparing objects by their "value"
// sub-attribute when both have one.
func listHas(list []any, v any) bool {
	key := func(x any) string {
		if m, ok := x.(map[string]any); ok {
			if s, ok := m["value"]; ok {
				return strings.ToLower(fmt.Sprint(s))
			}
		}
		return fmt.Sprintf("%v", x)
	}
	k := key(v)
	for _, e := range list {
		if key(e) == k {
			return true
		}
	}
	return false
}

// simpleEq returns attr and value of a filter "attr eq value".
func simpleEq(e filter.Expression) (string, any, bool) {
	a, ok := e.(*filter.AttributeExpression)
	if !ok || a.Operator != filter.EQ || a.AttributePath.SubAttribute != nil {
		return "", nil, false
	}
	return strings.ToLower(a.AttributePath.AttributeName), a.CompareValue, true
}

// matches evaluates a value filter on one element of a multi-valued
// attribute. Strings compare case-insensitively: the sub-attributes it is
// used on (type, value of emails, members and addresses) are not caseExact.
func matches(m map[string]any, e filter.Expression) bool {
	switch x := e.(type) {
	case *filter.LogicalExpression:
		if x.Operator == filter.AND {
			return matches(m, x.Left) && matches(m, x.Right)
		}
		return matches(m, x.Left) || matches(m, x.Right)
	case *filter.NotExpression:
		return !matches(m, x.Expression)
	case *filter.AttributeExpression:
		v, present := m[strings.ToLower(x.AttributePath.AttributeName)]
		if x.Operator == filter.PR {
			return present && v != nil && v != ""
		}
		if b, ok := x.CompareValue.(bool); ok {
			vb, _ := v.(bool)
			return (x.Operator == filter.EQ) == (vb == b)
		}
		have, want := strings.ToLower(fmt.Sprint(v)), strings.ToLower(fmt.Sprint(x.CompareValue))
		if !present || v == nil {
			have = ""
		}
		switch x.Operator {
		case filter.EQ:
			return have == want
		case filter.NE:
			return have != want
		case filter.CO:
			return strings.Contains(have, want)
		case filter.SW:
			return strings.HasPrefix(have, want)
		case filter.EW:
			return strings.HasSuffix(have, want)
		}
	}
	return false
}
