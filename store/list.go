package store

import (
	"fmt"
	"strings"

	"github.com/allot-dev/allot"
)

// listSpec maps a collection's filterable properties to SQL.
type listSpec struct {
	alias   string
	columns map[string]string // property -> column
	bools   map[string]bool   // properties stored as 0/1
	// license is the EXISTS subquery for assignedLicenses/any(); "%s" is
	// replaced by the SKU condition ("AND x.sku_id = ?" or nothing).
	license string
	// computed holds boolean properties backed by a subquery.
	computed map[string]string
	// keys maps a name property to its normalised key column
	// (allot.IdentifierKey), which eq compares, so that any spelling of a
	// name finds it.
	keys map[string]string
}

var userList = listSpec{
	alias: "u",
	columns: map[string]string{
		"id": "u.id", "userPrincipalName": "u.upn", "displayName": "u.display_name", "mail": "u.mail",
		"usageLocation": "u.usage_location", "accountEnabled": "u.account_enabled",
	},
	bools:   map[string]bool{"accountEnabled": true},
	license: `EXISTS (SELECT 1 FROM license_states x WHERE x.tenant_id = u.tenant_id AND x.user_id = u.id AND x.state = 'Active' %s)`,
	keys:    map[string]string{"userPrincipalName": "u.upn_key"},
}

var groupList = listSpec{
	alias: "g",
	columns: map[string]string{
		"id": "g.id", "displayName": "g.display_name", "mailNickname": "g.mail_nickname", "description": "g.description",
		"mailEnabled": "g.mail_enabled", "securityEnabled": "g.security_enabled",
	},
	bools:   map[string]bool{"mailEnabled": true, "securityEnabled": true},
	license: `EXISTS (SELECT 1 FROM assignments x WHERE x.tenant_id = g.tenant_id AND x.target_id = g.id %s)`,
	computed: map[string]string{
		"hasMembersWithLicenseErrors": `EXISTS (SELECT 1 FROM license_states x WHERE x.tenant_id = g.tenant_id AND x.source = g.id AND x.state = 'Error')`,
	},
}

// where translates a parsed $filter into a SQL condition.
func (spec listSpec) where(e allot.Expr) (string, []any, error) {
	switch e := e.(type) {
	case nil:
		return "1 = 1", nil, nil
	case *allot.And, *allot.Or:
		var l, r allot.Expr
		op := "AND"
		if a, ok := e.(*allot.And); ok {
			l, r = a.Left, a.Right
		} else {
			o := e.(*allot.Or)
			l, r, op = o.Left, o.Right, "OR"
		}
		ls, la, err := spec.where(l)
		if err != nil {
			return "", nil, err
		}
		rs, ra, err := spec.where(r)
		if err != nil {
			return "", nil, err
		}
		return "(" + ls + " " + op + " " + rs + ")", append(la, ra...), nil
	case *allot.Not:
		x, a, err := spec.where(e.X)
		return "NOT (" + x + ")", a, err
	case *allot.AnyLicense:
		return fmt.Sprintf(spec.license, "AND x.sku_id = ?"), []any{strings.ToLower(e.SkuID)}, nil
	case *allot.LicenseCount:
		cond := fmt.Sprintf(spec.license, "")
		if (e.Op == "eq") == (e.N == 0) {
			cond = "NOT " + cond
		}
		return cond, nil, nil
	case *allot.Compare:
		return spec.compare(e)
	}
	return "", nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Unsupported filter expression.")
}

func (spec listSpec) compare(c *allot.Compare) (string, []any, error) {
	if sub, ok := spec.computed[c.Property]; ok {
		v, isBool := c.Value.(bool)
		if !isBool || c.Op == "startswith" {
			return "", nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Property '%s' can only be compared with true or false.", c.Property)
		}
		if (c.Op == "eq") != v {
			sub = "NOT " + sub
		}
		return sub, nil, nil
	}
	col, ok := spec.columns[c.Property]
	if !ok {
		return "", nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Filtering on property '%s' is not supported.", c.Property)
	}
	neg := c.Op == "ne"
	var cond string
	var args []any
	switch v := c.Value.(type) {
	case nil:
		cond = col + " = ''"
	case bool:
		if !spec.bools[c.Property] {
			return "", nil, allot.Errorf(allot.EINVALID, "Property '%s' is not a boolean.", c.Property)
		}
		cond, args = col+" = ?", []any{b2i(v)}
	case string:
		if strings.ContainsRune(v, 0) {
			return "", nil, allot.Errorf(allot.EINVALID, "Invalid character in filter value.")
		}
		if spec.bools[c.Property] {
			return "", nil, allot.Errorf(allot.EINVALID, "Property '%s' is a boolean.", c.Property)
		}
		if c.Op == "startswith" {
			cond, args = "lower("+col+") LIKE ? ESCAPE '\\'", []any{likeEscape(strings.ToLower(v)) + "%"}
		} else if key, ok := spec.keys[c.Property]; ok {
			// lower() also finds a name stored before keys were normalised.
			cond, args = "("+key+" = ? OR lower("+col+") = ?)", []any{allot.IdentifierKey(v), strings.ToLower(v)}
		} else {
			cond, args = "lower("+col+") = ?", []any{strings.ToLower(v)}
		}
	default:
		return "", nil, allot.Errorf(allot.EINVALID, "Unsupported value in filter on '%s'.", c.Property)
	}
	if neg {
		cond = "NOT (" + cond + ")"
	}
	return cond, args, nil
}

func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// pageClause returns the keyset condition and order for a page. A cursor
// ordered by name is the last item's id (fixed length) then its name.
func pageClause(alias string, opt allot.ListOptions) (string, []any, string, error) {
	id, name := alias+".id", alias+".display_name"
	if strings.ContainsRune(opt.After, 0) {
		return "", nil, "", allot.Errorf(allot.EINVALID, "The $skiptoken is invalid.")
	}
	if opt.OrderByName {
		order := " ORDER BY " + name + ", " + id
		if opt.After == "" {
			return "", nil, order, nil
		}
		if len(opt.After) < 36 {
			return "", nil, "", allot.Errorf(allot.EINVALID, "The $skiptoken is invalid.")
		}
		i, n := opt.After[:36], opt.After[36:]
		return " AND (" + name + " > ? OR (" + name + " = ? AND " + id + " > ?))", []any{n, n, i}, order, nil
	}
	order := " ORDER BY " + id
	if opt.After == "" {
		return "", nil, order, nil
	}
	return " AND " + id + " > ?", []any{opt.After}, order, nil
}

func cursorOf(opt allot.ListOptions, name, id string) string {
	if opt.OrderByName {
		return id + name
	}
	return id
}

func searchClause(alias string, opt allot.ListOptions, cols ...string) (string, []any) {
	if strings.TrimSpace(opt.Search) == "" || strings.ContainsRune(opt.Search, 0) {
		return "", nil
	}
	pat := "%" + likeEscape(strings.ToLower(strings.TrimSpace(opt.Search))) + "%"
	var parts []string
	var args []any
	for _, c := range cols {
		parts = append(parts, "lower("+alias+"."+c+") LIKE ? ESCAPE '\\'")
		args = append(args, pat)
	}
	return " AND (" + strings.Join(parts, " OR ") + ")", args
}

func topOf(opt allot.ListOptions) int {
	if opt.Top <= 0 {
		return allot.DefaultPageSize
	}
	return min(opt.Top, allot.MaxPageSize)
}
