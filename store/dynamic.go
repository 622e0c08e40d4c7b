package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/dynrule"
)

// Dynamic membership (docs/DYNAMIC-GROUPS.md). A dynamic group's members
// are membership rows like any other, written here: for a user whose
// properties or plans changed, in the transaction of the change
// (refreshDynamic), and for every user of the tenant when a rule is new,
// changed or resumed, by a walk in the work queue (processRule). Licensing
// then reads them as it reads assigned members.

// maxCachedRules bounds the parsed rules kept by text.
const maxCachedRules = 4096

// parseRule parses a membership rule, kept by its text: a walk reads the
// rule once per batch and every user change reads all of the tenant's.
func (s *DB) parseRule(text string) (*dynrule.Rule, error) {
	if r, ok := s.rules.Load(text); ok {
		return r.(*dynrule.Rule), nil
	}
	r, err := dynrule.Parse(text)
	if err != nil {
		return nil, allot.Errorf(allot.EINVALID, "Invalid membershipRule: %s.", strings.TrimSuffix(err.Error(), "."))
	}
	if s.ruleCount.Add(1) > maxCachedRules {
		s.rules.Clear()
		s.ruleCount.Store(1)
	}
	s.rules.Store(text, r)
	return r, nil
}

// dynGroup is a dynamic group with its parsed rule.
type dynGroup struct {
	id   string
	rule *dynrule.Rule
}

// dynamicGroups lists the tenant's dynamic groups in state (RuleOn, or ""
// for all), by id.
func (s *DB) dynamicGroups(ctx context.Context, tx *txn, tenantID, state string) ([]dynGroup, error) {
	q := `SELECT id, membership_rule FROM dir_groups WHERE tenant_id = ? AND rule_state <> ''`
	args := []any{tenantID}
	if state != "" {
		q = `SELECT id, membership_rule FROM dir_groups WHERE tenant_id = ? AND rule_state = ?`
		args = append(args, state)
	}
	rows, err := tx.Query(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []dynGroup
	for rows.Next() {
		var g dynGroup
		var text string
		if err := rows.Scan(&g.id, &text); err != nil {
			return nil, err
		}
		if g.rule, err = s.parseRule(text); err != nil {
			// Saved rules were parsed when saved; one that no longer parses
			// (a parser made stricter) stops matching rather than stopping
			// every write of the tenant.
			s.log.Error("a saved membership rule does not parse", "tenant", tenantID, "group", g.id, "err", err)
			continue
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// hasPlanRules tells whether a rule of the tenant that is On reads
// assignedPlans, so that processing compares plans only then.
func (s *DB) hasPlanRules(ctx context.Context, tx *txn, tenantID string) (bool, error) {
	groups, err := s.dynamicGroups(ctx, tx, tenantID, allot.RuleOn)
	return slices.ContainsFunc(groups, func(g dynGroup) bool { return g.rule.ReadsPlans() }), err
}

// followPlans moves the users whose enabled plans the outcomes changed in
// or out of the dynamic groups whose rules read assignedPlans.
func (s *DB) followPlans(ctx context.Context, tx *txn, tenantID string, outs []outcome) error {
	if on, err := s.hasPlanRules(ctx, tx, tenantID); err != nil || !on {
		return err
	}
	cat := s.catalogIn(ctx, tx)
	var moved []string
	for _, o := range outs {
		if !samePlans(cat, o.before, o.out.States) {
			moved = append(moved, o.uid)
		}
	}
	return s.refreshDynamic(ctx, tx, tenantID, moved, true)
}

// loadUsers reads users by id.
func (s *DB) loadUsers(ctx context.Context, tx *txn, tenantID string, ids []string) ([]*allot.User, error) {
	var users []*allot.User
	err := tx.each(ctx, `SELECT `+userCols+` FROM users u WHERE u.tenant_id = ? AND u.id IN (%s)`, ids, []any{tenantID}, func(r *sql.Rows) error {
		u, err := scanUser(r)
		users = append(users, u)
		return err
	})
	return users, err
}

// userPlans reads the plans users hold, as assignedPlans shows them: the
// enabled plans of their active licenses, each once.
func (s *DB) userPlans(ctx context.Context, tx *txn, tenantID string, ids []string) (map[string][]dynrule.AssignedPlan, error) {
	states := map[string][]allot.LicenseState{}
	err := tx.each(ctx, `SELECT user_id, sku_id, disabled_plans, updated_at FROM license_states WHERE tenant_id = ? AND state = 'Active' AND user_id IN (%s)`,
		ids, []any{tenantID}, func(r *sql.Rows) error {
			var uid, sku, disabled, updated string
			if err := r.Scan(&uid, &sku, &disabled, &updated); err != nil {
				return err
			}
			states[uid] = append(states[uid], allot.LicenseState{SkuID: sku, DisabledPlans: strList(disabled), State: allot.StateActive, LastUpdated: parseTime(updated)})
			return nil
		})
	if err != nil {
		return nil, err
	}
	cat := s.catalogIn(ctx, tx)
	out := map[string][]dynrule.AssignedPlan{}
	for uid, st := range states {
		out[uid] = plansOf(cat, st)
	}
	return out, nil
}

// plansOf is the assignedPlans of a user with states.
func plansOf(cat *allot.Catalog, states []allot.LicenseState) []dynrule.AssignedPlan {
	var out []dynrule.AssignedPlan
	seen := map[string]bool{}
	for _, st := range states {
		if st.State != allot.StateActive {
			continue
		}
		for _, p := range cat.EnabledPlans(st.SkuID, st.DisabledPlans) {
			if seen[p] {
				continue
			}
			seen[p] = true
			ap := dynrule.AssignedPlan{ServicePlanID: p, CapabilityStatus: allot.CapabilityEnabled, AssignedDateTime: st.LastUpdated}
			if sp := cat.Plans[p]; sp != nil {
				ap.Service = sp.Service
			}
			out = append(out, ap)
		}
	}
	return out
}

// samePlans tells whether two sets of states give the same plans.
func samePlans(cat *allot.Catalog, a, b []allot.LicenseState) bool {
	ids := func(states []allot.LicenseState) []string {
		var out []string
		for _, p := range plansOf(cat, states) {
			out = append(out, p.ServicePlanID)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(ids(a), ids(b))
}

// subjects reads users and, when a rule reads them, their plans.
func (s *DB) subjects(ctx context.Context, tx *txn, tenantID string, ids []string, plans bool) ([]dynrule.Subject, error) {
	users, err := s.loadUsers(ctx, tx, tenantID, ids)
	if err != nil {
		return nil, err
	}
	var held map[string][]dynrule.AssignedPlan
	if plans {
		if held, err = s.userPlans(ctx, tx, tenantID, ids); err != nil {
			return nil, err
		}
	}
	out := make([]dynrule.Subject, len(users))
	for i, u := range users {
		out[i] = dynrule.Subject{User: u, Plans: held[u.ID]}
	}
	slices.SortFunc(out, func(a, b dynrule.Subject) int { return strings.Compare(a.User.ID, b.User.ID) })
	return out, nil
}

// refreshDynamic brings the memberships users have in the tenant's dynamic
// groups (those whose rules read plans, with plansOnly) in line with the
// rules, in tx: the same transaction as the change that may move them.
func (s *DB) refreshDynamic(ctx context.Context, tx *txn, tenantID string, ids []string, plansOnly bool) error {
	if len(ids) == 0 {
		return nil
	}
	groups, err := s.dynamicGroups(ctx, tx, tenantID, allot.RuleOn)
	if err != nil {
		return err
	}
	readsPlans := false
	groups = slices.DeleteFunc(groups, func(g dynGroup) bool {
		readsPlans = readsPlans || g.rule.ReadsPlans()
		return plansOnly && !g.rule.ReadsPlans()
	})
	if len(groups) == 0 {
		return nil
	}
	subjects, err := s.subjects(ctx, tx, tenantID, dedupe(ids), readsPlans)
	if err != nil {
		return err
	}
	uids := make([]string, len(subjects))
	for i, su := range subjects {
		uids[i] = su.User.ID
	}
	member := map[[2]string]bool{}
	err = tx.each(ctx, `SELECT group_id, member_id FROM memberships WHERE tenant_id = ? AND member_id IN (%s)`, uids, []any{tenantID}, func(r *sql.Rows) error {
		var g, m string
		err := r.Scan(&g, &m)
		member[[2]string{g, m}] = true
		return err
	})
	if err != nil {
		return err
	}
	for _, g := range groups {
		var adds, removes []string
		for _, su := range subjects {
			want, have := g.rule.Match(su), member[[2]string{g.id, su.User.ID}]
			switch {
			case want && !have:
				adds = append(adds, su.User.ID)
			case !want && have:
				removes = append(removes, su.User.ID)
			}
		}
		follow, err := s.applyDynamic(ctx, tx, tenantID, g.id, adds, removes)
		if err != nil {
			return err
		}
		if err := s.enqueueUsers(ctx, tx, tenantID, follow, g.id); err != nil {
			return err
		}
	}
	return nil
}

// applyDynamic writes the members a rule added to and removed from a
// group, audited as Graph audits membership changes (delta rounds read
// these lines), and returns the users whose licensing must follow: those
// who joined or left a licensed group, and those who left holding
// something from it. Users licensed through groups the group is nested
// in are queued here.
func (s *DB) applyDynamic(ctx context.Context, tx *txn, tenantID, groupID string, adds, removes []string) ([]string, error) {
	if len(adds)+len(removes) == 0 {
		return nil, nil
	}
	now := fmtTime(s.now())
	changes := make([]memberChange, len(adds))
	var audit [][]any
	for i, u := range adds {
		changes[i] = memberChange{groupID, u, allot.MemberUser}
		audit = append(audit, auditRow(ctx, tenantID, now, "Add member to group", "Group", groupID, "", toJSON(map[string]string{"memberId": u, "memberType": allot.MemberUser}), "success"))
	}
	if err := insertMemberships(ctx, tx, tenantID, now, changes); err != nil {
		return nil, err
	}
	for _, part := range chunks(removes, 500) {
		frag, args := tx.in(part)
		if _, err := tx.Exec(ctx, `DELETE FROM memberships WHERE tenant_id = ? AND group_id = ? AND member_id `+frag, append([]any{tenantID, groupID}, args...)...); err != nil {
			return nil, err
		}
	}
	for _, u := range removes {
		audit = append(audit, auditRow(ctx, tenantID, now, "Remove member from group", "Group", groupID, toJSON(map[string]string{"memberId": u, "memberType": allot.MemberUser}), "", "success"))
	}
	if err := tx.insertRows(ctx, auditCols, audit); err != nil {
		return nil, err
	}
	if err := touchGroups(ctx, tx, tenantID, now, []string{groupID}); err != nil {
		return nil, err
	}
	var licensed int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM assignments WHERE tenant_id = ? AND target_id = ?`, tenantID, groupID).Scan(&licensed); err != nil {
		return nil, err
	}
	follow := append(slices.Clone(adds), removes...)
	if licensed == 0 {
		held, err := tx.idSet(ctx, `SELECT DISTINCT user_id FROM license_states WHERE tenant_id = ? AND source = ? AND user_id IN (%s)`, removes, tenantID, groupID)
		if err != nil {
			return nil, err
		}
		follow = slices.DeleteFunc(slices.Clone(removes), func(u string) bool { return !held[u] })
	}
	if on, err := s.tenantHasNested(ctx, tx, tenantID); err != nil || !on {
		return follow, err
	}
	for _, u := range append(slices.Clone(adds), removes...) {
		if err := s.requeueNested(ctx, tx, tenantID, groupID, u, allot.MemberUser); err != nil {
			return nil, err
		}
	}
	return follow, nil
}

// enqueueRuleWalk queues a walk of every user of the tenant against the
// group's rule, in place of one not finished: a new rule applies to all.
func (s *DB) enqueueRuleWalk(ctx context.Context, tx *txn, tenantID, groupID string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM work WHERE tenant_id = ? AND kind = 'rule' AND target_id = ?`, tenantID, groupID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO work (tenant_id, kind, target_id, group_id, enqueued_at) VALUES (?, 'rule', ?, ?, ?)`, tenantID, groupID, groupID, fmtTime(s.now()))
	return err
}

// processRule walks the next n users of the tenant, by id, against the
// group's rule, and records the cursor and progress in the work item as a
// group walk does (a crash resumes after the last committed batch). Its
// licensed and failed counters count the members added and removed. The
// users who join or leave a licensed group are evaluated in the batch
// that moves them.
func (s *DB) processRule(ctx context.Context, tx *txn, w workItem, n int) (int, error) {
	ctx = allot.NewContextWithActor(ctx, allot.Actor{Name: "Allot dynamic membership"})
	var text, state string
	err := tx.QueryRow(ctx, `SELECT membership_rule, rule_state FROM dir_groups WHERE tenant_id = ? AND id = ?`, w.tenantID, w.target).Scan(&text, &state)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	if state != allot.RuleOn {
		// Paused, made static or deleted since it was queued.
		_, err := tx.Exec(ctx, `DELETE FROM work WHERE id = ?`, w.id)
		return 1, err
	}
	rule, err := s.parseRule(text)
	if err != nil {
		return 0, fmt.Errorf("group %s: %w", w.target, err)
	}
	if !w.started {
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE tenant_id = ?`, w.tenantID).Scan(&w.total); err != nil {
			return 0, err
		}
		if err := s.audit(ctx, tx, w.tenantID, "Start applying membership rule", "Group", w.target, "", toJSON(map[string]any{"membershipRule": text, "users": w.total}), "success"); err != nil {
			return 0, err
		}
	}
	ids, err := tx.queryIDs(ctx, `SELECT id FROM users WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, w.tenantID, w.cursor, n)
	if err != nil {
		return 0, err
	}
	subjects, err := s.subjects(ctx, tx, w.tenantID, ids, rule.ReadsPlans())
	if err != nil {
		return 0, err
	}
	have, err := tx.idSet(ctx, `SELECT member_id FROM memberships WHERE tenant_id = ? AND group_id = ? AND member_id IN (%s)`, ids, w.tenantID, w.target)
	if err != nil {
		return 0, err
	}
	var adds, removes []string
	for _, su := range subjects {
		switch want := rule.Match(su); {
		case want && !have[su.User.ID]:
			adds = append(adds, su.User.ID)
		case !want && have[su.User.ID]:
			removes = append(removes, su.User.ID)
		}
	}
	follow, err := s.applyDynamic(ctx, tx, w.tenantID, w.target, adds, removes)
	if err != nil {
		return 0, err
	}
	// Licensing follows in the same batch, as a group walk would license
	// these users next (in id order, which is their membership order:
	// a batch's users join at one time), without queueing each one.
	if len(follow) > 0 {
		slices.Sort(follow)
		if _, err := s.evaluateUsers(ctx, tx, w.tenantID, follow, false); err != nil {
			return 0, err
		}
	}
	w.done += len(ids)
	w.licensed += len(adds)
	w.failed += len(removes)
	if len(ids) > 0 {
		w.cursor = ids[len(ids)-1]
	}
	if len(ids) < n {
		if _, err := tx.Exec(ctx, `DELETE FROM work WHERE id = ?`, w.id); err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, `UPDATE dir_groups SET rule_applied_at = ? WHERE tenant_id = ? AND id = ?`, fmtTime(s.now()), w.tenantID, w.target); err != nil {
			return 0, err
		}
		return max(len(ids), 1), s.audit(ctx, tx, w.tenantID, "Finish applying membership rule", "Group", w.target, "",
			toJSON(map[string]int{"users": w.done, "added": w.licensed, "removed": w.failed}), "success")
	}
	_, err = tx.Exec(ctx, `UPDATE work SET started = 1, cursor = ?, done = ?, total = ?, licensed = ?, failed = ? WHERE id = ?`,
		w.cursor, w.done, max(w.total, w.done), w.licensed, w.failed, w.id)
	return len(ids), err
}

// setDynamic makes the group's membership what in (a dynamic group's
// type, rule and state, or none of them) says, in tx, after checking the
// rule: a new or changed rule, or one resumed, queues a walk; a group
// becoming dynamic loses its group members (a dynamic group's members are
// users the rule picks); a group becoming static keeps the members the
// rule gave it. It reports whether anything changed.
func (s *DB) setDynamic(ctx context.Context, tx *txn, tenantID string, g *allot.Group, rule, state string) (bool, error) {
	if rule != "" {
		if _, err := s.parseRule(rule); err != nil {
			return false, err
		}
	}
	if rule == g.MembershipRule && state == g.MembershipRuleProcessingState {
		return false, nil
	}
	wasDynamic := g.MembershipRuleProcessingState != ""
	walk := state == allot.RuleOn && (rule != g.MembershipRule || g.MembershipRuleProcessingState != allot.RuleOn)
	g.MembershipRule, g.MembershipRuleProcessingState = rule, state
	if _, err := tx.Exec(ctx, `UPDATE dir_groups SET membership_rule = ?, rule_state = ? WHERE tenant_id = ? AND id = ?`, rule, state, tenantID, g.ID); err != nil {
		return false, err
	}
	if state == "" {
		_, err := tx.Exec(ctx, `DELETE FROM work WHERE tenant_id = ? AND kind = 'rule' AND target_id = ?`, tenantID, g.ID)
		return true, err
	}
	if !wasDynamic {
		nested, err := tx.queryIDs(ctx, `SELECT member_id FROM memberships WHERE tenant_id = ? AND group_id = ? AND member_kind = 'group' ORDER BY member_id`, tenantID, g.ID)
		if err != nil {
			return false, err
		}
		for _, m := range nested {
			if err := s.removeMembership(ctx, tx, tenantID, g.ID, m, allot.MemberGroup); err != nil {
				return false, err
			}
		}
	}
	if err := s.checkRuleLoops(ctx, tx, tenantID, s.catalogIn(ctx, tx)); err != nil {
		return false, err
	}
	if walk {
		return true, s.enqueueRuleWalk(ctx, tx, tenantID, g.ID)
	}
	return true, nil
}

// checkRuleLoops refuses a state in which a dynamic group's membership
// depends on itself through licenses: a rule that reads assignedPlans
// reads plans a dynamic group grants, whose members another rule picks by
// plans another grants, … back to the first (docs/RULES.md §5). Paused
// rules count: resuming one must not start a loop.
func (s *DB) checkRuleLoops(ctx context.Context, tx *txn, tenantID string, cat *allot.Catalog) error {
	groups, err := s.dynamicGroups(ctx, tx, tenantID, "")
	if err != nil {
		return err
	}
	reads := map[string]*dynrule.Rule{}
	var ids []string
	for _, g := range groups {
		ids = append(ids, g.id)
		if g.rule.ReadsPlans() {
			reads[g.id] = g.rule
		}
	}
	if len(reads) == 0 {
		return nil
	}
	grants, err := s.dynamicGrants(ctx, tx, tenantID, ids, cat)
	if err != nil {
		return err
	}
	// feeds[h] are the groups whose rules read a plan h grants.
	feeds := map[string][]string{}
	for _, h := range slices.Sorted(maps.Keys(grants)) {
		for _, g := range slices.Sorted(maps.Keys(reads)) {
			pins, anyPlan := reads[g].PlanIDs()
			hit := anyPlan && len(grants[h]) > 0
			for _, p := range pins {
				hit = hit || grants[h][strings.ToLower(p)]
			}
			if hit {
				feeds[h] = append(feeds[h], g)
			}
		}
	}
	// A depth-first search for a cycle, reporting the first found.
	const (
		unseen = iota
		open
		closed
	)
	mark := map[string]int{}
	var path []string
	var visit func(string) []string
	visit = func(h string) []string {
		mark[h] = open
		path = append(path, h)
		for _, g := range feeds[h] {
			switch mark[g] {
			case open:
				return append(slices.Clone(path[slices.Index(path, g):]), g)
			case unseen:
				if c := visit(g); c != nil {
					return c
				}
			}
		}
		mark[h] = closed
		path = path[:len(path)-1]
		return nil
	}
	for _, h := range slices.Sorted(maps.Keys(feeds)) {
		if mark[h] != unseen {
			continue
		}
		if c := visit(h); c != nil {
			names, err := s.groupNames(ctx, tx, tenantID, c)
			if err != nil {
				return err
			}
			if len(c) == 2 {
				return allot.Errorf(allot.EINVALID, "The membership rule of group '%s' reads service plans that the group's own licenses grant: its members would decide its members. Remove those plans from the rule or the group's licenses (docs/RULES.md, dynamic groups).", names[0])
			}
			return allot.Errorf(allot.EINVALID, "Membership rules and group licenses would form a loop (%s): each group's licenses grant plans the next group's rule reads. Break the loop by changing a rule or a group's licenses (docs/RULES.md, dynamic groups).", strings.Join(names, " → "))
		}
	}
	return nil
}

// dynamicGrants is, for each of the dynamic groups ids, the plans its
// members get because they are its members: the group's own licenses, and
// those of groups it is nested in, up to MaxNestingDepth, that include
// nested groups (docs/NESTED-GROUPS.md).
func (s *DB) dynamicGrants(ctx context.Context, tx *txn, tenantID string, ids []string, cat *allot.Catalog) (map[string]map[string]bool, error) {
	grants := map[string]map[string]bool{}
	add := func(dyn, sku, disabled string) {
		if grants[dyn] == nil {
			grants[dyn] = map[string]bool{}
		}
		for _, p := range cat.EnabledPlans(sku, strList(disabled)) {
			grants[dyn][p] = true
		}
	}
	err := tx.each(ctx, `SELECT target_id, sku_id, disabled_plans FROM assignments WHERE tenant_id = ? AND target_kind = 'group' AND target_id IN (%s)`, ids, []any{tenantID}, func(r *sql.Rows) error {
		var gid, sku, disabled string
		err := r.Scan(&gid, &sku, &disabled)
		add(gid, sku, disabled)
		return err
	})
	if err != nil {
		return nil, err
	}
	if on, err := s.tenantHasNested(ctx, tx, tenantID); err != nil || !on {
		return grants, err
	}
	for _, dyn := range ids {
		_, above, err := s.groupEdges(ctx, tx, tenantID, []string{dyn}, true)
		if err != nil {
			return nil, err
		}
		err = tx.each(ctx, `SELECT sku_id, disabled_plans FROM assignments WHERE tenant_id = ? AND include_nested = 1 AND target_id IN (%s)`, above, []any{tenantID}, func(r *sql.Rows) error {
			var sku, disabled string
			err := r.Scan(&sku, &disabled)
			add(dyn, sku, disabled)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return grants, nil
}

// catalogChanged re-applies, in every tenant, the rules that read
// assignedPlans after the catalog changed which plans SKUs hold: the
// states did not change, but the plans they give did. A catalog that would
// make rules and group licenses loop is refused.
func (s *DB) catalogChanged(ctx context.Context, tx *txn, cat *allot.Catalog) error {
	tenants, err := tx.queryIDs(ctx, `SELECT DISTINCT tenant_id FROM dir_groups WHERE rule_state <> '' ORDER BY tenant_id`)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if err := s.checkRuleLoops(ctx, tx, t, cat); err != nil {
			return err
		}
		groups, err := s.dynamicGroups(ctx, tx, t, allot.RuleOn)
		if err != nil {
			return err
		}
		for _, g := range groups {
			if g.rule.ReadsPlans() {
				if err := s.enqueueRuleWalk(ctx, tx, t, g.id); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// groupNames are the display names of groups, in the order given.
func (s *DB) groupNames(ctx context.Context, tx *txn, tenantID string, ids []string) ([]string, error) {
	byID := map[string]string{}
	err := tx.each(ctx, `SELECT id, display_name FROM dir_groups WHERE tenant_id = ? AND id IN (%s)`, ids, []any{tenantID}, func(r *sql.Rows) error {
		var id, name string
		err := r.Scan(&id, &name)
		byID[id] = name
		return err
	})
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = byID[id]
	}
	return out, err
}

// EvaluateMembershipRule evaluates a rule, or a dynamic group's own, for
// each of users, clause by clause.
func (s *DB) EvaluateMembershipRule(ctx context.Context, groupID, text string, users []string) ([]allot.RuleEvaluation, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	if len(users) > allot.MaxBatch {
		return nil, allot.Errorf(allot.EINVALID, "A rule can be evaluated for at most %d users at a time; got %d.", allot.MaxBatch, len(users))
	}
	return read(ctx, s, func(tx *txn) ([]allot.RuleEvaluation, error) {
		if groupID != "" {
			g, err := s.findGroup(ctx, tx, a.TenantID, groupID)
			if err != nil {
				return nil, err
			}
			if text == "" && g.MembershipRule == "" {
				return nil, allot.Errorf(allot.EINVALID, "The group has no membershipRule: its membership is assigned.")
			}
			if text == "" {
				text = g.MembershipRule
			}
		}
		if text == "" {
			return nil, allot.Errorf(allot.EINVALID, "membershipRule is required.")
		}
		if len(strings.TrimSpace(text)) > allot.MaxMembershipRule {
			return nil, allot.Errorf(allot.EINVALID, "The membershipRule is %d characters long; at most %d are allowed.", len(text), allot.MaxMembershipRule)
		}
		rule, err := s.parseRule(strings.TrimSpace(text))
		if err != nil {
			return nil, err
		}
		out := []allot.RuleEvaluation{}
		for _, id := range users {
			u, err := s.findUser(ctx, tx, a.TenantID, id)
			if err != nil {
				return nil, err
			}
			su := dynrule.Subject{User: u}
			if rule.ReadsPlans() {
				plans, err := s.userPlans(ctx, tx, a.TenantID, []string{u.ID})
				if err != nil {
					return nil, err
				}
				su.Plans = plans[u.ID]
			}
			d := rule.Explain(su)
			out = append(out, allot.RuleEvaluation{UserID: u.ID, Result: d.Result, Details: ruleDetail(d)})
		}
		return out, nil
	})
}

func ruleDetail(d dynrule.Detail) allot.RuleDetail {
	out := allot.RuleDetail{Expression: d.Expression, Result: d.Result}
	for _, c := range d.Children {
		out.Children = append(out.Children, ruleDetail(c))
	}
	return out
}

// ruleStatus fills a dynamic group's rule status from its queued work
// item of kind 'rule'; without one fillGroups leaves it Succeeded.
func ruleStatus(g *allot.Group, started bool, done, total int) {
	g.RuleStatus = allot.RuleNotStarted
	if started {
		g.RuleStatus, g.RuleDone, g.RuleTotal = allot.RuleRunning, done, total
	}
}
