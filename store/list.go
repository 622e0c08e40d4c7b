package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

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
	// times are the properties stored as timeLayout text, which sorts as
	// time does.
	times map[string]bool
	// nulls is the condition "is null" of a column that is not '' when
	// empty.
	nulls map[string]string
	// collections are what any() ranges over: an EXISTS whose "%s" is the
	// condition on an element, with the element's own spec; on PostgreSQL
	// existsPG when the SQL differs.
	collections map[string]collection
	// cat and pg are the catalog and dialect of the query (see on).
	cat *allot.Catalog
	pg  bool
}

type collection struct {
	exists, existsPG string
	elem             *listSpec
}

// on returns the spec for a query in tx: assignedPlans/any() reads the
// catalog, and JSON lists are read with each database's functions.
func (spec listSpec) on(s *DB, ctx context.Context, tx *txn) listSpec {
	spec.cat, spec.pg = s.catalogIn(ctx, tx), tx.postgres()
	return spec
}

// jsonElements is the EXISTS over the elements of a JSON list column.
func jsonElements(col string) collection {
	return collection{
		exists:   `EXISTS (SELECT 1 FROM json_each(` + col + `) e WHERE %s)`,
		existsPG: `EXISTS (SELECT 1 FROM jsonb_array_elements_text(CAST(` + col + ` AS jsonb)) AS e(value) WHERE %s)`,
		elem:     &listSpec{columns: map[string]string{}},
	}
}

var userList = func() listSpec {
	spec := listSpec{
		alias: "u",
		columns: map[string]string{
			"id": "u.id", "userPrincipalName": "u.upn", "displayName": "u.display_name", "mail": "u.mail",
			"usageLocation": "u.usage_location", "accountEnabled": "u.account_enabled",
			"createdDateTime": "u.created_at", "onPremisesSyncEnabled": "u.on_prem_sync",
			"signInActivity/lastSignInDateTime": "u.last_sign_in", "signInActivity/lastSuccessfulSignInDateTime": "u.last_sign_in",
			"signInActivity/lastNonInteractiveSignInDateTime": "u.last_non_interactive_sign_in",
		},
		bools:   map[string]bool{"accountEnabled": true, "onPremisesSyncEnabled": true},
		license: `EXISTS (SELECT 1 FROM license_states x WHERE x.tenant_id = u.tenant_id AND x.user_id = u.id AND x.state = 'Active' %s)`,
		keys:    map[string]string{"userPrincipalName": "u.upn_key"},
		times: map[string]bool{"createdDateTime": true, "signInActivity/lastSignInDateTime": true,
			"signInActivity/lastSuccessfulSignInDateTime": true, "signInActivity/lastNonInteractiveSignInDateTime": true},
		nulls: map[string]string{"onPremisesSyncEnabled": "u.on_prem_sync = -1"},
		collections: map[string]collection{
			"proxyAddresses": jsonElements("u.proxy_addresses"),
			"businessPhones": jsonElements("u.business_phones"),
			"otherMails":     jsonElements("u.other_mails"),
		},
	}
	for name, c := range spec.collections {
		c.elem.columns[name] = "e.value"
	}
	for prop, col := range profileColumns {
		if strings.HasPrefix(prop, "extensionAttribute") {
			prop = "onPremisesExtensionAttributes/" + prop
		}
		spec.columns[prop] = "u." + col
	}
	return spec
}()

var groupList = func() listSpec {
	spec := listSpec{
		alias: "g",
		columns: map[string]string{
			"id": "g.id", "displayName": "g.display_name", "mailNickname": "g.mail_nickname", "description": "g.description",
			"mailEnabled": "g.mail_enabled", "securityEnabled": "g.security_enabled",
			"membershipRule": "g.membership_rule", "membershipRuleProcessingState": "g.rule_state",
		},
		bools:   map[string]bool{"mailEnabled": true, "securityEnabled": true},
		license: `EXISTS (SELECT 1 FROM assignments x WHERE x.tenant_id = g.tenant_id AND x.target_id = g.id %s)`,
		computed: map[string]string{
			"hasMembersWithLicenseErrors": `EXISTS (SELECT 1 FROM license_states x WHERE x.tenant_id = g.tenant_id AND x.source = g.id AND x.state = 'Error')`,
		},
		collections: map[string]collection{"groupTypes": jsonElements("g.group_types")},
	}
	spec.collections["groupTypes"].elem.columns["groupTypes"] = "e.value"
	return spec
}()

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
	case *allot.Any:
		return spec.anyOf(e)
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
		if n, ok := spec.nulls[c.Property]; ok {
			cond = n
		}
	case time.Time:
		if !spec.times[c.Property] {
			return "", nil, allot.Errorf(allot.EINVALID, "Property '%s' is not a time.", c.Property)
		}
		op := map[string]string{"eq": "=", "ne": "=", "ge": ">=", "gt": ">", "le": "<=", "lt": "<"}[c.Op]
		if op == "" {
			return "", nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Operator '%s' is not supported on '%s'.", c.Op, c.Property)
		}
		// An unknown time ('') is null, which no order comparison matches.
		cond, args = col+" <> '' AND "+col+" "+op+" ?", []any{fmtTime(v)}
	case []any:
		var ph []string
		for _, x := range v {
			str, ok := x.(string)
			if !ok || strings.ContainsRune(str, 0) || spec.bools[c.Property] || spec.times[c.Property] {
				return "", nil, allot.Errorf(allot.EINVALID, "Unsupported value in filter on '%s'.", c.Property)
			}
			ph, args = append(ph, "?"), append(args, strings.ToLower(str))
		}
		cond = "lower(" + col + ") IN (" + strings.Join(ph, ", ") + ")"
	case bool:
		if !spec.bools[c.Property] {
			return "", nil, allot.Errorf(allot.EINVALID, "Property '%s' is not a boolean.", c.Property)
		}
		cond, args = col+" = ?", []any{b2i(v)}
	case string:
		if strings.ContainsRune(v, 0) {
			return "", nil, allot.Errorf(allot.EINVALID, "Invalid character in filter value.")
		}
		if spec.bools[c.Property] || spec.times[c.Property] {
			return "", nil, allot.Errorf(allot.EINVALID, "Property '%s' cannot be compared with a string.", c.Property)
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

// anyOf translates Collection/any(v: cond).
func (spec listSpec) anyOf(e *allot.Any) (string, []any, error) {
	if e.Collection == "assignedPlans" && spec.alias == "u" {
		return spec.planCondition(e.Cond)
	}
	c, ok := spec.collections[e.Collection]
	if !ok {
		return "", nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Filtering with any() on '%s' is not supported.", e.Collection)
	}
	cond, args, err := c.elem.where(e.Cond)
	if err != nil {
		return "", nil, err
	}
	tmpl := c.exists
	if spec.pg && c.existsPG != "" {
		tmpl = c.existsPG
	}
	return fmt.Sprintf(tmpl, cond), args, nil
}

// maxPlanTerms bounds the SQL an assignedPlans/any() filter becomes.
const maxPlanTerms = 1000

// planCondition translates assignedPlans/any(p: cond). A user's assigned
// plans are the plans of its active licenses that no source disables
// (store/licenses.go AssignedPlans), each Enabled. The plans cond matches
// are found in the catalog; the user then needs an active state of a SKU
// holding one of them without disabling it. Plan ids are GUIDs, so a
// LIKE on the JSON list of disabled plans is exact.
func (spec listSpec) planCondition(cond allot.Expr) (string, []any, error) {
	if spec.cat == nil {
		return "", nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Filtering on assignedPlans is not supported here.")
	}
	skus := slices.Sorted(maps.Keys(spec.cat.SKUs))
	var terms []string
	var args []any
	for _, id := range skus {
		var enabled []string
		for _, pid := range spec.cat.SKUs[id].Plans {
			p := spec.cat.Plans[pid]
			service := ""
			if p != nil {
				service = p.Service
			}
			ok, err := matchElement(cond, map[string]string{"assignedPlans/servicePlanId": strings.ToLower(pid),
				"assignedPlans/capabilityStatus": allot.CapabilityEnabled, "assignedPlans/service": service})
			if err != nil {
				return "", nil, err
			}
			if ok {
				enabled = append(enabled, "x.disabled_plans NOT LIKE ?")
				args = append(args, "%"+strings.ToLower(pid)+"%")
			}
		}
		if len(enabled) == 0 {
			continue
		}
		terms = append(terms, "(x.sku_id = ? AND ("+strings.Join(enabled, " OR ")+"))")
		// The SKU's id goes before its plans' patterns.
		args = slices.Insert(args, len(args)-len(enabled), any(strings.ToLower(id)))
		if len(args) > maxPlanTerms {
			return "", nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "The assignedPlans filter matches too many service plans; name the servicePlanId.")
		}
	}
	if len(terms) == 0 {
		return "1 = 0", nil, nil
	}
	return `EXISTS (SELECT 1 FROM license_states x WHERE x.tenant_id = u.tenant_id AND x.user_id = u.id AND x.state = 'Active' AND (` +
		strings.Join(terms, " OR ") + `))`, args, nil
}

// matchElement evaluates a condition inside any() on an element whose
// properties are known in Go; strings compare case-insensitively, as the
// database's lower() does.
func matchElement(e allot.Expr, props map[string]string) (bool, error) {
	switch e := e.(type) {
	case *allot.And:
		l, err := matchElement(e.Left, props)
		if err != nil || !l {
			return false, err
		}
		return matchElement(e.Right, props)
	case *allot.Or:
		l, err := matchElement(e.Left, props)
		if err != nil || l {
			return l, err
		}
		return matchElement(e.Right, props)
	case *allot.Not:
		x, err := matchElement(e.X, props)
		return !x, err
	case *allot.Compare:
		have, ok := props[e.Property]
		if !ok {
			return false, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Filtering on '%s' is not supported.", e.Property)
		}
		have = strings.ToLower(have)
		switch v := e.Value.(type) {
		case nil:
			return (have == "") == (e.Op == "eq"), nil
		case string:
			v = strings.ToLower(v)
			switch e.Op {
			case "eq":
				return have == v, nil
			case "ne":
				return have != v, nil
			case "startswith":
				return strings.HasPrefix(have, v), nil
			}
		case []any:
			return slices.ContainsFunc(v, func(x any) bool { s, _ := x.(string); return strings.ToLower(s) == have }), nil
		}
	}
	return false, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Unsupported filter inside any().")
}

func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// sortColumns are the columns $orderby may name, by alias and property.
var sortColumns = map[string]map[string]string{
	"u": {"displayName": "u.display_name", "userPrincipalName": "u.upn"},
	"g": {"displayName": "g.display_name"},
}

// pageClause returns the keyset condition and order for a page. A cursor
// of a sorted list is the last item's id (fixed length) then its sort
// value; ties sort by id, in the same direction.
func pageClause(alias string, opt allot.ListOptions) (string, []any, string, error) {
	id := alias + ".id"
	if strings.ContainsRune(opt.After, 0) {
		return "", nil, "", allot.Errorf(allot.EINVALID, "The $skiptoken is invalid.")
	}
	if opt.OrderBy != "" {
		col, ok := sortColumns[alias][opt.OrderBy]
		if !ok {
			return "", nil, "", allot.Errorf(allot.EUNSUPPORTEDQUERY, "Sorting by '%s' is not supported.", opt.OrderBy)
		}
		dir, cmp := "", ">"
		if opt.Descending {
			dir, cmp = " DESC", "<"
		}
		order := " ORDER BY " + col + dir + ", " + id + dir
		if opt.After == "" {
			return "", nil, order, nil
		}
		if len(opt.After) < 36 {
			return "", nil, "", allot.Errorf(allot.EINVALID, "The $skiptoken is invalid.")
		}
		i, v := opt.After[:36], opt.After[36:]
		return " AND (" + col + " " + cmp + " ? OR (" + col + " = ? AND " + id + " " + cmp + " ?))", []any{v, v, i}, order, nil
	}
	order := " ORDER BY " + id
	if opt.After == "" {
		return "", nil, order, nil
	}
	return " AND " + id + " > ?", []any{opt.After}, order, nil
}

// cursorOf is the cursor after an item with id whose sort values are
// values (property → value).
func cursorOf(opt allot.ListOptions, id string, values map[string]string) string {
	if opt.OrderBy != "" {
		return id + values[opt.OrderBy]
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
