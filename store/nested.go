package store

import (
	"context"
	"database/sql"
	"maps"
	"slices"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/rules"
)

// MaxNestingDepth is how many levels of nested groups an assignment with
// includeNestedGroups reaches: a user in a group nested 5 groups below the
// licensed group inherits, one 6 below does not. It bounds every walk, so
// evaluation and re-queueing stay cheap and terminate on cycles too.
const MaxNestingDepth = 5

// nestedPrefix marks the cursor of a group walk over transitive members.
const nestedPrefix = "nested|"

// tenantHasNested tells whether any group assignment of the tenant reaches
// nested groups; without one every nested walk is skipped, so a tenant that
// never opts in pays one cheap query per batch.
func (s *DB) tenantHasNested(ctx context.Context, tx *txn, tenantID string) (bool, error) {
	rows, err := tx.Query(ctx, `SELECT 1 FROM assignments WHERE tenant_id = ? AND include_nested = 1 LIMIT 1`, tenantID)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	found := rows.Next()
	return found, rows.Err()
}

// groupEdges walks memberships between groups level by level, up (to the
// groups containing each) or down (to the groups each contains), from
// start, at most MaxNestingDepth levels. It returns every group reached
// with its edges; cycles end the walk as the visited set stops growing.
func (s *DB) groupEdges(ctx context.Context, tx *txn, tenantID string, start []string, up bool) (edges map[string][]string, reached []string, err error) {
	query := `SELECT member_id, group_id FROM memberships WHERE tenant_id = ? AND member_kind = 'group' AND member_id IN (%s)`
	if !up {
		query = `SELECT group_id, member_id FROM memberships WHERE tenant_id = ? AND member_kind = 'group' AND group_id IN (%s)`
	}
	edges = map[string][]string{}
	seen := map[string]bool{}
	for _, g := range start {
		seen[g] = true
	}
	frontier := slices.Compact(slices.Sorted(slices.Values(start)))
	for depth := 0; depth < MaxNestingDepth && len(frontier) > 0; depth++ {
		var next []string
		err := tx.each(ctx, query, frontier, []any{tenantID}, func(r *sql.Rows) error {
			var from, to string
			if err := r.Scan(&from, &to); err != nil {
				return err
			}
			edges[from] = append(edges[from], to)
			if !seen[to] {
				seen[to] = true
				next = append(next, to)
				reached = append(reached, to)
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		slices.Sort(next)
		frontier = next
	}
	return edges, reached, nil
}

// loadNested adds to groupSet the groups that contain, up to the depth
// limit, a group a batch user is a direct member of, and keeps the edges
// for nestedUnits. Only done when the tenant has a nested assignment.
func (s *DB) loadNested(ctx context.Context, tx *txn, b *batch, groupSet map[string]bool) error {
	if len(groupSet) == 0 {
		return nil
	}
	on, err := s.tenantHasNested(ctx, tx, b.tenantID)
	if err != nil || !on {
		return err
	}
	parents, reached, err := s.groupEdges(ctx, tx, b.tenantID, slices.Sorted(maps.Keys(groupSet)), true)
	if err != nil {
		return err
	}
	b.parents = parents
	for _, g := range reached {
		groupSet[g] = true
	}
	return nil
}

// nestedUnits are the user's units from groups it belongs to only through
// nested groups: each such group with an assignment that includes nested
// groups gives one unit of those assignments, sourced from that group.
// A group the user is also a direct member of gives its whole unit
// instead (units), so each user counts once per group.
func (b *batch) nestedUnits(uid string) []rules.Unit {
	if b.parents == nil {
		return nil
	}
	seen := map[string]bool{}
	frontier := slices.Clone(b.groupsOf[uid])
	for _, g := range frontier {
		seen[g] = true
	}
	var inherited []string
	for depth := 0; depth < MaxNestingDepth && len(frontier) > 0; depth++ {
		var next []string
		for _, g := range frontier {
			for _, p := range b.parents[g] {
				if !seen[p] {
					seen[p] = true
					next = append(next, p)
				}
			}
		}
		inherited = append(inherited, next...)
		frontier = next
	}
	slices.Sort(inherited)
	var out []rules.Unit
	for _, g := range inherited {
		var u rules.Unit
		for _, a := range b.groupAssign[g] {
			if !a.nested {
				continue
			}
			if u.SKUs == nil || a.created.Before(u.Created) {
				u.Created = a.created
			}
			u.SKUs = append(u.SKUs, allot.AssignedLicense{SkuID: a.sku, DisabledPlans: a.disabled})
		}
		if u.SKUs != nil {
			u.Source = g
			out = append(out, u)
		}
	}
	return out
}

// nestedSKUs returns the SKUs of a group's assignments that include nested groups.
func (s *DB) nestedSKUs(ctx context.Context, tx *txn, tenantID, groupID string) (map[string]bool, error) {
	out := map[string]bool{}
	rows, err := tx.Query(ctx, `SELECT sku_id FROM assignments WHERE tenant_id = ? AND target_id = ? AND include_nested = 1`, tenantID, groupID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var sku string
		if err := rows.Scan(&sku); err != nil {
			return nil, err
		}
		out[sku] = true
	}
	return out, rows.Err()
}

// setNested stores the includeNestedGroups setting of a group's
// assignments after they were rewritten: a SKU in add with the setting
// takes it, any other keeps what it had (before), so a Graph client that
// knows nothing of the setting never changes it. A change is audited.
func (s *DB) setNested(ctx context.Context, tx *txn, tenantID, groupID string, before map[string]bool, after []assignmentRow, add []allot.AssignedLicense) error {
	var on []string
	for _, a := range after {
		want := before[a.sku]
		if i := slices.IndexFunc(add, func(l allot.AssignedLicense) bool { return l.SkuID == a.sku }); i >= 0 && add[i].IncludeNestedGroups != nil {
			want = *add[i].IncludeNestedGroups
		}
		if want {
			on = append(on, a.sku)
		}
	}
	slices.Sort(on)
	if len(on) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE assignments SET include_nested = 1 WHERE tenant_id = ? AND target_id = ? AND sku_id IN (`+placeholders(len(on))+`)`,
			append([]any{tenantID, groupID}, anys(on)...)...); err != nil {
			return err
		}
	}
	if was := slices.Sorted(maps.Keys(before)); !slices.Equal(was, on) {
		// Listed in the audit, where no SKU is [], not null.
		if was == nil {
			was = []string{}
		}
		if on == nil {
			on = []string{}
		}
		return s.audit(ctx, tx, tenantID, "Set group license nested groups", "Group", groupID, toJSON(map[string]any{"includeNestedGroups": was}), toJSON(map[string]any{"includeNestedGroups": on}), "success")
	}
	return nil
}

// fillNested marks the groups' assignments that include nested groups.
func (s *DB) fillNested(ctx context.Context, tx *txn, tenantID string, byID map[string]*allot.Group) error {
	on := true
	return tx.each(ctx, `SELECT target_id, sku_id FROM assignments WHERE tenant_id = ? AND target_kind = 'group' AND include_nested = 1 AND target_id IN (%s)`,
		slices.Sorted(maps.Keys(byID)), []any{tenantID}, func(r *sql.Rows) error {
			var gid, sku string
			if err := r.Scan(&gid, &sku); err != nil {
				return err
			}
			for i, l := range byID[gid].AssignedLicenses {
				if l.SkuID == sku {
					byID[gid].AssignedLicenses[i].IncludeNestedGroups = &on
				}
			}
			return nil
		})
}

// walkNested decides, when a group walk starts, whether it must cover the
// group's transitive members: when an assignment of the group includes
// nested groups, or a user who is not a direct member still has a state
// from the group (nesting was switched off or an edge removed, and the
// inherited licenses must go).
func (s *DB) walkNested(ctx context.Context, tx *txn, tenantID, groupID string) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM assignments WHERE tenant_id = ? AND target_id = ? AND include_nested = 1)
		+ (SELECT COUNT(*) FROM license_states l WHERE l.tenant_id = ? AND l.source = ? AND NOT EXISTS
			(SELECT 1 FROM memberships m WHERE m.tenant_id = l.tenant_id AND m.group_id = l.source AND m.member_id = l.user_id))`,
		tenantID, groupID, tenantID, groupID).Scan(&n)
	return n > 0, err
}

// nestedWalkFrom is the query over a nested walk's users: every user
// member of the group or of a group nested in it (first by the earliest
// time it joined one of them), then the users left with a state from the
// group ('~' sorts after every time), each once.
func (s *DB) nestedWalkFrom(ctx context.Context, tx *txn, tenantID, groupID string) (string, []any, error) {
	_, under, err := s.groupEdges(ctx, tx, tenantID, []string{groupID}, false)
	if err != nil {
		return "", nil, err
	}
	groups := append([]string{groupID}, under...)
	from := ` FROM (SELECT member_id AS uid, added_at AS t FROM memberships WHERE tenant_id = ? AND member_kind = 'user' AND group_id IN (` + placeholders(len(groups)) + `)
		UNION ALL SELECT user_id AS uid, '~' AS t FROM license_states WHERE tenant_id = ? AND source = ?) x`
	args := append(append([]any{tenantID}, anys(groups)...), tenantID, groupID)
	return from, args, nil
}

// groupWalkTotal counts the users a group walk will evaluate, and picks
// the walk's kind (kept in its cursor) as it starts.
func (s *DB) groupWalkTotal(ctx context.Context, tx *txn, w *workItem) error {
	nested, err := s.walkNested(ctx, tx, w.tenantID, w.target)
	if err != nil {
		return err
	}
	if !nested {
		return tx.QueryRow(ctx, `SELECT COUNT(*) FROM memberships WHERE tenant_id = ? AND group_id = ? AND member_kind = 'user'`, w.tenantID, w.target).Scan(&w.total)
	}
	w.cursor = nestedPrefix
	from, args, err := s.nestedWalkFrom(ctx, tx, w.tenantID, w.target)
	if err != nil {
		return err
	}
	return tx.QueryRow(ctx, `SELECT COUNT(DISTINCT uid)`+from, args...).Scan(&w.total)
}

// walkPageSQL is a walk's next page of direct user members after the
// cursor. The row-value comparison lets both databases seek the index to
// the cursor instead of rescanning the group from its start each batch, and
// memberships_order holds every column it reads (migration 25).
const walkPageSQL = `SELECT member_id, added_at FROM memberships WHERE tenant_id = ? AND group_id = ?
		AND (added_at, member_id) > (?, ?) AND member_kind = 'user' ORDER BY added_at, member_id LIMIT ?`

// groupWalkNext returns the next n users of a group walk after its cursor
// and moves the cursor past them.
func (s *DB) groupWalkNext(ctx context.Context, tx *txn, w *workItem, n int) ([]string, error) {
	var rows *sql.Rows
	var err error
	if rest, ok := strings.CutPrefix(w.cursor, nestedPrefix); ok {
		afterTime, afterID, _ := strings.Cut(rest, "|")
		from, args, ferr := s.nestedWalkFrom(ctx, tx, w.tenantID, w.target)
		if ferr != nil {
			return nil, ferr
		}
		rows, err = tx.Query(ctx, `SELECT uid, MIN(t)`+from+` GROUP BY uid HAVING (MIN(t), uid) > (?, ?) ORDER BY MIN(t), uid LIMIT ?`,
			append(args, afterTime, afterID, n)...)
	} else {
		afterTime, afterID, _ := strings.Cut(w.cursor, "|")
		rows, err = tx.Query(ctx, walkPageSQL, w.tenantID, w.target, afterTime, afterID, n)
	}
	if err != nil {
		return nil, err
	}
	prefix := ""
	if strings.HasPrefix(w.cursor, nestedPrefix) {
		prefix = nestedPrefix
	}
	var users []string
	for rows.Next() {
		var uid, added string
		if err := rows.Scan(&uid, &added); err != nil {
			rows.Close()
			return nil, err
		}
		users = append(users, uid)
		w.cursor = prefix + added + "|" + uid
	}
	rows.Close()
	return users, rows.Err()
}

// requeueNested queues the users a membership change at top inherits
// through nesting: when top, or a group containing it within the depth
// limit, has an assignment that includes nested groups, every user at or
// under member (a user, or a group and the groups nested in it) is queued
// for each such group. Called before the change is undone (a removal), so
// the walk still sees the edges being removed.
func (s *DB) requeueNested(ctx context.Context, tx *txn, tenantID, top, member, kind string) error {
	on, err := s.tenantHasNested(ctx, tx, tenantID)
	if err != nil || !on {
		return err
	}
	_, above, err := s.groupEdges(ctx, tx, tenantID, []string{top}, true)
	if err != nil {
		return err
	}
	var licensed []string
	err = tx.each(ctx, `SELECT DISTINCT target_id FROM assignments WHERE tenant_id = ? AND include_nested = 1 AND target_id IN (%s)`,
		append([]string{top}, above...), []any{tenantID}, func(r *sql.Rows) error {
			var g string
			err := r.Scan(&g)
			licensed = append(licensed, g)
			return err
		})
	if err != nil || len(licensed) == 0 {
		return err
	}
	users := []string{member}
	if kind == allot.MemberGroup {
		_, under, err := s.groupEdges(ctx, tx, tenantID, []string{member}, false)
		if err != nil {
			return err
		}
		users = nil
		err = tx.each(ctx, `SELECT DISTINCT member_id FROM memberships WHERE tenant_id = ? AND member_kind = 'user' AND group_id IN (%s)`,
			append([]string{member}, under...), []any{tenantID}, func(r *sql.Rows) error {
				var u string
				err := r.Scan(&u)
				users = append(users, u)
				return err
			})
		if err != nil {
			return err
		}
	}
	slices.Sort(users)
	slices.Sort(licensed)
	for _, g := range licensed {
		if err := s.enqueueUsers(ctx, tx, tenantID, users, g); err != nil {
			return err
		}
	}
	return nil
}

// nestedMemberGroups is the group and, when one of its assignments
// includes nested groups, the groups nested in it: the groups whose user
// members the group's error and success lists cover.
func (s *DB) nestedMemberGroups(ctx context.Context, tx *txn, tenantID, groupID string) ([]string, error) {
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM assignments WHERE tenant_id = ? AND target_id = ? AND include_nested = 1`, tenantID, groupID).Scan(&n); err != nil {
		return nil, err
	}
	if n == 0 {
		return []string{groupID}, nil
	}
	_, under, err := s.groupEdges(ctx, tx, tenantID, []string{groupID}, false)
	if err != nil {
		return nil, err
	}
	return append([]string{groupID}, under...), nil
}
