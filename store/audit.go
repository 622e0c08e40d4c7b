package store

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

// auditCols are the columns of an audit row, in the order of auditRow.
const auditCols = `INSERT INTO audit (tenant_id, at, actor, actor_kind, actor_id, actor_role, activity, target_type, target_id, before_json, after_json, result) VALUES `

// auditRow is one row for auditCols. The actor's name alone is free text
// that anyone creating a token or account chooses, so the row also records
// what the name cannot fake: the kind of actor, its token's or account's
// id, and its role.
func auditRow(ctx context.Context, tenantID, at, activity, targetType, targetID, before, after, result string) []any {
	a, _ := allot.ActorFromContext(ctx)
	return []any{tenantID, at, actorName(ctx), a.Kind(), a.ID(), string(a.Role), activity, targetType, targetID, before, after, result}
}

func (s *DB) audit(ctx context.Context, tx *txn, tenantID, activity, targetType, targetID, before, after, result string) error {
	_, err := tx.Exec(ctx, auditCols+`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		auditRow(ctx, tenantID, fmtTime(s.now()), activity, targetType, targetID, before, after, result)...)
	return err
}

// Audit lists audit entries: by id, or with ByTime by time then id,
// newest first unless Ascending. Single rows are read as a page in SQL;
// batch rows (migration 21) are expanded and filtered entry by entry
// (batchAudit); the two are merged in the page's order.
func (s *DB) Audit(ctx context.Context, f allot.AuditFilter) (*allot.Page[allot.AuditEntry], error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := auditCursorOf(f)
	if err != nil {
		return nil, err
	}
	q := `SELECT a.id, a.at, a.actor, a.actor_kind, a.actor_id, a.actor_role, a.activity, a.target_type, a.target_id, a.before_json, a.after_json, a.result FROM audit a WHERE a.tenant_id = ? AND a.entries IS NULL`
	args := []any{a.TenantID}
	if f.TargetID != "" {
		q += ` AND a.target_id = ?`
		args = append(args, strings.ToLower(f.TargetID))
	}
	span, sargs := auditSpan(f)
	q += span
	args = append(args, sargs...)
	if f.Expr != nil {
		cond, cargs, err := auditWhere(f.Expr, a.TenantID)
		if err != nil {
			return nil, err
		}
		q += ` AND ` + cond
		args = append(args, cargs...)
	}
	top := topOf(allot.ListOptions{Top: f.Top})
	keyset, kargs, order := cur.keyset("a.id")
	q += keyset + order + ` LIMIT ?`
	args = append(append(args, kargs...), top+1)
	return read(ctx, s, func(tx *txn) (*allot.Page[allot.AuditEntry], error) {
		singles, err := auditRows(ctx, tx, q, args)
		if err != nil {
			return nil, err
		}
		batched, err := batchAudit(ctx, tx, a.TenantID, f, cur, top+1)
		if err != nil {
			return nil, err
		}
		all := append(singles, batched...)
		slices.SortFunc(all, cur.compare)
		page := &allot.Page[allot.AuditEntry]{Items: []allot.AuditEntry{}}
		for _, e := range all[:min(top, len(all))] {
			page.Items = append(page.Items, e.AuditEntry)
		}
		if len(all) > top {
			page.NextCursor = cur.after(all[top-1])
		}
		return page, nil
	})
}

// auditSpan is the condition of f's time range on audit a.
func auditSpan(f allot.AuditFilter) (string, []any) {
	var q string
	var args []any
	if !f.Since.IsZero() {
		q += ` AND a.at >= ?`
		args = append(args, fmtTime(f.Since))
	}
	if !f.Until.IsZero() {
		q += ` AND a.at < ?`
		args = append(args, fmtTime(f.Until))
	}
	return q, args
}

// auditCursor is a page's order and where it starts: after the entry at
// (at, id), when set. A cursor by time is the last entry's stored time, a
// space and its id; one by id, the id alone.
type auditCursor struct {
	byTime, asc, set bool
	at               string
	id               int64
}

func auditCursorOf(f allot.AuditFilter) (auditCursor, error) {
	c := auditCursor{byTime: f.ByTime, asc: f.Ascending}
	if f.After == "" {
		return c, nil
	}
	bad := allot.Errorf(allot.EINVALID, "The $skiptoken is invalid.")
	idText := f.After
	if f.ByTime {
		at, rest, ok := strings.Cut(f.After, " ")
		if t, err := time.Parse(timeLayout, at); !ok || err != nil || fmtTime(t) != at {
			return c, bad
		}
		c.at, idText = at, rest
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return c, bad
	}
	c.set, c.id = true, id
	return c, nil
}

// keyset is the condition after the cursor and the order of a page, on
// the id column idCol (for batch rows, the end of their range that comes
// first in the page's direction).
func (c auditCursor) keyset(idCol string) (string, []any, string) {
	op, dir := "<", " DESC"
	if c.asc {
		op, dir = ">", " ASC"
	}
	order := " ORDER BY " + idCol + dir
	if c.byTime {
		order = " ORDER BY a.at" + dir + ", " + idCol + dir
	}
	switch {
	case !c.set:
		return "", nil, order
	case !c.byTime:
		return " AND " + idCol + " " + op + " ?", []any{c.id}, order
	}
	// (at, id) after the cursor's, with a bound on at alone that an
	// index on (tenant_id, at, id) serves as a range.
	return " AND a.at " + op + "= ? AND (a.at " + op + " ? OR " + idCol + " " + op + " ?)", []any{c.at, c.at, c.id}, order
}

// compare orders two entries as the page does.
func (c auditCursor) compare(x, y auditLine) int {
	r := 0
	if c.byTime {
		r = strings.Compare(x.at, y.at)
	}
	if r == 0 {
		r = cmp.Compare(x.ID, y.ID)
	}
	if !c.asc {
		r = -r
	}
	return r
}

// past reports whether e comes after the cursor in the page's order.
func (c auditCursor) past(e auditLine) bool {
	return !c.set || c.compare(auditLine{at: c.at, AuditEntry: allot.AuditEntry{ID: c.id}}, e) < 0
}

// after is the cursor of the page that follows e.
func (c auditCursor) after(e auditLine) string {
	id := strconv.FormatInt(e.ID, 10)
	if c.byTime {
		return e.at + " " + id
	}
	return id
}

// auditLine is an entry with its time as stored, which orders a page.
type auditLine struct {
	allot.AuditEntry
	at string
}

func auditRows(ctx context.Context, tx *txn, q string, args []any) ([]auditLine, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auditLine
	for rows.Next() {
		var e auditLine
		var role string
		if err := rows.Scan(&e.ID, &e.at, &e.Actor, &e.ActorKind, &e.ActorID, &role, &e.Activity, &e.TargetType, &e.TargetID, &e.Before, &e.After, &e.Result); err != nil {
			return nil, err
		}
		e.Time, e.ActorRole = parseTime(e.at), allot.Role(role)
		if e.ActorKind == "" {
			// Written before migration 10: only the name is known, and a
			// name proves nothing.
			e.ActorKind = allot.ActorUnknown
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// auditField is a directoryAudit property (AuditFilter.Expr) as a column
// of the audit table.
type auditField struct {
	col string
	// exact compares the column as stored, which an index serves: with
	// the value as given (an activity name: the API gives known names
	// their stored spelling) or, with lowerValue, lower-cased as ids are
	// stored. Otherwise both sides are lower-cased.
	exact, lowerValue bool
	id, time          bool
	// kind is the actor kind the column describes: initiatedBy/user is an
	// account, initiatedBy/app a token; for any other actor the property
	// is null.
	kind string
}

var auditFields = map[string]auditField{
	"id":                                 {col: "a.id", id: true},
	"activityDisplayName":                {col: "a.activity", exact: true},
	"activityDateTime":                   {col: "a.at", time: true},
	"result":                             {col: "a.result"},
	"initiatedBy/user/id":                {col: "a.actor_id", exact: true, lowerValue: true, kind: allot.ActorAccount},
	"initiatedBy/user/displayName":       {col: "a.actor", kind: allot.ActorAccount},
	"initiatedBy/user/userPrincipalName": {col: "a.actor", kind: allot.ActorAccount},
	"initiatedBy/app/appId":              {col: "a.actor_id", exact: true, lowerValue: true, kind: allot.ActorToken},
}

// memberActivities record a member in their JSON rather than as target.
var memberActivities = []any{"Add member to group", "Remove member from group"}

// auditWhere translates AuditFilter.Expr into a condition on the entries
// of tenantID in audit a.
func auditWhere(e allot.Expr, tenantID string) (string, []any, error) {
	where := func(x allot.Expr) (string, []any, error) { return auditWhere(x, tenantID) }
	switch e := e.(type) {
	case *allot.And:
		return auditBoth(e.Left, e.Right, "AND", where)
	case *allot.Or:
		return auditBoth(e.Left, e.Right, "OR", where)
	case *allot.Not:
		x, args, err := where(e.X)
		return "NOT (" + x + ")", args, err
	case *allot.Any:
		if e.Collection != "targetResources" {
			break
		}
		// An element is the entry's target or, for a membership change,
		// the member as well. The entries are found by those two indexes
		// (audit_target, audit_activity) and then ordered, rather than
		// found while walking the whole log in order.
		t, targs, err := auditElement(e.Cond, false)
		if err != nil {
			return "", nil, err
		}
		m, margs, err := auditElement(e.Cond, true)
		if err != nil {
			return "", nil, err
		}
		args := append(append(append([]any{tenantID}, targs...), tenantID), memberActivities...)
		return "a.id IN (SELECT x.id FROM audit x WHERE x.tenant_id = ? AND " + t +
			" UNION ALL SELECT x.id FROM audit x WHERE x.tenant_id = ? AND x.activity IN (?, ?) AND " + m + ")", append(args, margs...), nil
	case *allot.Compare:
		f, ok := auditFields[e.Property]
		if !ok {
			return "", nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Filtering on property '%s' is not supported.", e.Property)
		}
		return f.compare(e)
	}
	return "", nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Unsupported filter expression.")
}

func auditBoth(l, r allot.Expr, op string, where func(allot.Expr) (string, []any, error)) (string, []any, error) {
	ls, la, err := where(l)
	if err != nil {
		return "", nil, err
	}
	rs, ra, err := where(r)
	if err != nil {
		return "", nil, err
	}
	return "(" + ls + " " + op + " " + rs + ")", append(la, ra...), nil
}

// auditElement translates the condition of targetResources/any(t: …) on
// the target of entry x or, with member, on the member of a membership
// change. A member's id is only in the entry's JSON, {"memberId":"…",…},
// which json.Marshal writes without spaces; ids are lower-case GUIDs, so
// a LIKE on that text is exact (if slow: it reads every membership
// change of the tenant).
func auditElement(e allot.Expr, member bool) (string, []any, error) {
	switch e := e.(type) {
	case *allot.And:
		return auditBoth(e.Left, e.Right, "AND", func(x allot.Expr) (string, []any, error) { return auditElement(x, member) })
	case *allot.Or:
		return auditBoth(e.Left, e.Right, "OR", func(x allot.Expr) (string, []any, error) { return auditElement(x, member) })
	case *allot.Not:
		x, args, err := auditElement(e.X, member)
		return "NOT (" + x + ")", args, err
	case *allot.Compare:
		if e.Property != "targetResources/id" {
			return "", nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Filtering targetResources on '%s' is not supported; use t/id.", strings.TrimPrefix(e.Property, "targetResources/"))
		}
		var ids []string
		switch v := e.Value.(type) {
		case nil:
			if e.Op != "eq" && e.Op != "ne" {
				break
			}
			cond := "x.target_id = ''"
			if member {
				cond = "1 = 0"
			}
			return negate(cond, e.Op), nil, nil
		case string:
			ids = []string{v}
		case []any:
			for _, x := range v {
				s, _ := x.(string)
				ids = append(ids, s)
			}
		}
		if len(ids) == 0 || (e.Op != "eq" && e.Op != "ne" && e.Op != "in") {
			return "", nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "targetResources/id can only be compared by eq, ne or in.")
		}
		var terms []string
		var args []any
		for _, id := range ids {
			if strings.ContainsRune(id, 0) {
				return "", nil, allot.Errorf(allot.EINVALID, "Invalid character in filter value.")
			}
			id = strings.ToLower(id)
			if member {
				pat := `%"memberId":"` + likeEscape(id) + `"%`
				terms = append(terms, `x.before_json LIKE ? ESCAPE '\' OR x.after_json LIKE ? ESCAPE '\'`)
				args = append(args, pat, pat)
			} else {
				terms = append(terms, "x.target_id = ?")
				args = append(args, id)
			}
		}
		return negate("("+strings.Join(terms, " OR ")+")", e.Op), args, nil
	}
	return "", nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Unsupported filter inside targetResources/any().")
}

func negate(cond, op string) string {
	if op == "ne" {
		return "NOT (" + cond + ")"
	}
	return cond
}

func (f auditField) compare(c *allot.Compare) (string, []any, error) {
	var cond string
	var args []any
	switch v := c.Value.(type) {
	case nil:
		if c.Op != "eq" && c.Op != "ne" {
			return "", nil, allot.Errorf(allot.EINVALID, "'%s' cannot be compared with null by %s.", c.Property, c.Op)
		}
		switch {
		case f.kind != "":
			// Null for every other kind of actor; an account or a token
			// always has its id and name.
			return negate("a.actor_kind <> '"+f.kind+"'", c.Op), nil, nil
		case f.id:
			return negate("1 = 0", c.Op), nil, nil
		}
		return negate(f.col+" = ''", c.Op), nil, nil
	case time.Time:
		op := map[string]string{"eq": "=", "ne": "=", "ge": ">=", "gt": ">", "le": "<=", "lt": "<"}[c.Op]
		if !f.time || op == "" {
			return "", nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Operator '%s' is not supported on '%s'.", c.Op, c.Property)
		}
		cond, args = f.col+" "+op+" ?", []any{fmtTime(v)}
	case string:
		if c.Op != "eq" && c.Op != "ne" && c.Op != "startswith" {
			return "", nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Operator '%s' is not supported on '%s'.", c.Op, c.Property)
		}
		if c.Op == "startswith" {
			if f.id || f.time || f.lowerValue {
				return "", nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "startswith is not supported on '%s'.", c.Property)
			}
			if strings.ContainsRune(v, 0) {
				return "", nil, allot.Errorf(allot.EINVALID, "Invalid character in filter value.")
			}
			cond, args = "lower("+f.col+") LIKE ? ESCAPE '\\'", []any{likeEscape(strings.ToLower(v)) + "%"}
			break
		}
		var err error
		if cond, args, err = f.in([]any{v}, c.Property); err != nil {
			return "", nil, err
		}
	case []any:
		if c.Op != "in" {
			return "", nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Operator '%s' is not supported on '%s'.", c.Op, c.Property)
		}
		var err error
		if cond, args, err = f.in(v, c.Property); err != nil {
			return "", nil, err
		}
	default:
		return "", nil, allot.Errorf(allot.EINVALID, "Unsupported value in filter on '%s'.", c.Property)
	}
	if f.kind != "" {
		cond = "(a.actor_kind = '" + f.kind + "' AND " + cond + ")"
	}
	return negate(cond, c.Op), args, nil
}

// in is the column equal to one of vals. An id that is not a number is no
// entry's: it drops out of the list.
func (f auditField) in(vals []any, prop string) (string, []any, error) {
	var args []any
	for _, x := range vals {
		s, ok := x.(string)
		if !ok || strings.ContainsRune(s, 0) {
			return "", nil, allot.Errorf(allot.EINVALID, "Unsupported value in filter on '%s'.", prop)
		}
		switch {
		case f.id:
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				args = append(args, n)
			}
		case f.exact && !f.lowerValue:
			args = append(args, s)
		default:
			args = append(args, strings.ToLower(s))
		}
	}
	col := f.col
	if !f.exact && !f.id {
		col = "lower(" + col + ")"
	}
	switch len(args) {
	case 0:
		return "1 = 0", nil, nil
	case 1:
		return col + " = ?", args, nil
	}
	return col + " IN (" + placeholders(len(args)) + ")", args, nil
}
