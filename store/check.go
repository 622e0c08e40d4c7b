package store

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/allot-dev/allot"
)

// Check verifies the invariants of docs/RULES.md §2.3.8 in every tenant. They hold
// whenever the queue is empty, so a non-empty queue is reported too.
func (s *DB) Check(ctx context.Context) ([]allot.Violation, error) {
	var out []allot.Violation
	var ts []allot.Tenant
	err := s.readTx(ctx, func(tx *txn) error {
		var queued int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM work`).Scan(&queued); err != nil {
			return err
		}
		if queued > 0 {
			out = append(out, allot.Violation{Rule: "queue", Detail: fmt.Sprintf("%d work items are still queued; the invariants hold only when the queue is empty", queued)})
		}
		var err error
		ts, err = tenants(ctx, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		v, err := s.checkTenant(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, v...)
	}
	return out, nil
}

// checkTenant checks the tenant's seats and states in SQL, then evaluates
// its users again 500 at a time, each part in a read transaction of its
// own so that none holds a snapshot for the whole tenant.
func (s *DB) checkTenant(ctx context.Context, tenantID string) ([]allot.Violation, error) {
	v := &violations{tenantID: tenantID}
	var ids []string
	err := s.readTx(ctx, func(tx *txn) error {
		if err := checkSeats(ctx, tx, v); err != nil {
			return err
		}
		if err := checkStateRows(ctx, tx, v); err != nil {
			return err
		}
		if err := checkLifecycle(ctx, tx, v); err != nil {
			return err
		}
		if err := checkAuditIndex(ctx, tx, v); err != nil {
			return err
		}
		var err error
		ids, err = tx.queryIDs(ctx, `SELECT id FROM users WHERE tenant_id = ? ORDER BY id`, tenantID)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, part := range chunks(ids, 500) {
		if err := s.readTx(ctx, func(tx *txn) error { return s.checkUsers(ctx, tx, v, part) }); err != nil {
			return nil, err
		}
	}
	return v.list, nil
}

// inheritedSQL defines, for the tenant given as its one parameter, every
// (user, SKU, group) a group assignment gives a user: the group's SKUs to
// its direct members, and its SKUs assigned with includeNestedGroups to the
// users of groups nested in it up to MaxNestingDepth levels. Written
// independently of the evaluation's walk (store/nested.go), so check tests it.
//
// Its rows carry their tenant, so that a lookup of license_states by an
// inherited row names every column of the primary key: compared with the
// CTE t instead, PostgreSQL once planned the coverage check's NOT EXISTS
// as a scan of the whole index per inherited row (100,000 of them after
// the bench's assignment): the check was stopped after seven minutes.
var inheritedSQL = fmt.Sprintf(`WITH RECURSIVE t(id) AS (SELECT CAST(? AS TEXT)),
	up(tenant_id, user_id, group_id, depth) AS (
		SELECT m.tenant_id, m.member_id, m.group_id, 0 FROM memberships m JOIN t ON m.tenant_id = t.id WHERE m.member_kind = 'user'
		UNION
		SELECT m.tenant_id, up.user_id, m.group_id, up.depth + 1 FROM up JOIN memberships m ON m.tenant_id = up.tenant_id
		AND m.member_id = up.group_id AND m.member_kind = 'group' WHERE up.depth < %d),
	inherited(tenant_id, user_id, sku_id, group_id) AS (
		SELECT up.tenant_id, up.user_id, a.sku_id, up.group_id FROM up JOIN assignments a ON a.tenant_id = up.tenant_id AND a.target_id = up.group_id
		WHERE up.depth = 0 OR a.include_nested = 1)
	`, MaxNestingDepth)

// planViolations checks one user's active states against the plan rules:
// no conflicting plans of different SKUs, dependencies met, and no owned
// address shared with another owner.
func planViolations(cat *allot.Catalog, b *batch, uid string) []string {
	var out []string
	enabled := map[string][]string{} // plan -> SKUs enabling it
	mailbox := false
	for _, st := range b.states[uid] {
		if st.State != allot.StateActive {
			continue
		}
		for _, p := range cat.EnabledPlans(st.SkuID, st.DisabledPlans) {
			// A SKU held through two units is one SKU: plans that conflict
			// inside one SKU are allowed (docs/RULES.md §2.2, check 3).
			if !slices.Contains(enabled[p], st.SkuID) {
				enabled[p] = append(enabled[p], st.SkuID)
			}
			if sp := cat.Plans[p]; sp != nil && sp.ProvisionsMailbox {
				mailbox = true
			}
		}
	}
	for p, skusP := range enabled {
		for q, skusQ := range enabled {
			if p < q && cat.Conflicts(p, q) && !(len(skusP) == 1 && len(skusQ) == 1 && skusP[0] == skusQ[0]) {
				out = append(out, fmt.Sprintf("plans %s and %s conflict", p, q))
			}
		}
		if sp := cat.Plans[p]; sp != nil {
			for _, group := range sp.DependsOn {
				if !slices.ContainsFunc(group, func(q string) bool { return len(enabled[q]) > 0 }) {
					out = append(out, fmt.Sprintf("plan %s lacks a dependency of %v", p, group))
				}
			}
		}
	}
	if mailbox {
		for _, a := range b.users[uid].proxy {
			n := allot.NormalizeAddress(a)
			for owner := range b.owners[n] {
				if owner != uid {
					out = append(out, fmt.Sprintf("address %s is also owned by %s", n, owner))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// CountStates counts the tenant's license states (for the bench report).
func (s *DB) CountStates(ctx context.Context) (int, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return 0, err
	}
	return read(ctx, s, func(tx *txn) (int, error) {
		var n int
		err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM license_states WHERE tenant_id = ?`, a.TenantID).Scan(&n)
		return n, err
	})
}

// violations collects one tenant's violations.
type violations struct {
	tenantID string
	list     []allot.Violation
}

func (v *violations) add(rule, format string, args ...any) {
	v.list = append(v.list, allot.Violation{TenantID: v.tenantID, Rule: rule, Detail: fmt.Sprintf(format, args...)})
}

// checkSeats checks that every subscription's consumedUnits is the number
// of its holders.
func checkSeats(ctx context.Context, tx *txn, v *violations) error {
	rows, err := tx.Query(ctx, `SELECT s.sku_id, s.consumed, (SELECT COUNT(DISTINCT l.user_id) FROM license_states l
		WHERE l.tenant_id = s.tenant_id AND l.sku_id = s.sku_id AND l.state = 'Active') FROM subscriptions s WHERE s.tenant_id = ?`, v.tenantID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var sku string
		var consumed, holders int
		if err := rows.Scan(&sku, &consumed, &holders); err != nil {
			return err
		}
		if consumed != holders {
			v.add("seats", "SKU %s: consumedUnits %d but %d users hold it", sku, consumed, holders)
		}
	}
	return rows.Err()
}

// stateChecks are the invariants checked in SQL: each query, given the
// tenant as its one parameter, lists what breaks the rule.
var stateChecks = []struct{ rule, query string }{
	{"source", `SELECT l.user_id || ' ' || l.sku_id || ' ' || l.source FROM license_states l WHERE l.tenant_id = ? AND l.source = ''
			AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.tenant_id = l.tenant_id AND a.target_id = l.user_id AND a.sku_id = l.sku_id)`},
	{"source", inheritedSQL + `SELECT l.user_id || ' ' || l.sku_id || ' ' || l.source FROM license_states l JOIN t ON l.tenant_id = t.id WHERE l.source <> ''
			AND NOT EXISTS (SELECT 1 FROM inherited i WHERE i.tenant_id = l.tenant_id AND i.user_id = l.user_id AND i.sku_id = l.sku_id AND i.group_id = l.source)`},
	{"coverage", inheritedSQL + `SELECT DISTINCT i.user_id || ' ' || i.sku_id || ' ' || i.group_id FROM inherited i WHERE NOT EXISTS (SELECT 1 FROM license_states l
			WHERE l.tenant_id = i.tenant_id AND l.user_id = i.user_id AND l.sku_id = i.sku_id AND l.source = i.group_id)`},
	{"coverage", `SELECT a.target_id || ' ' || a.sku_id FROM assignments a WHERE a.tenant_id = ? AND a.target_kind = 'user' AND NOT EXISTS
			(SELECT 1 FROM license_states l WHERE l.tenant_id = a.tenant_id AND l.user_id = a.target_id AND l.sku_id = a.sku_id AND l.source = '')`},
	{"waiting", `SELECT l.user_id || ' ' || l.sku_id FROM license_states l JOIN subscriptions s ON s.tenant_id = l.tenant_id AND s.sku_id = l.sku_id
			WHERE l.tenant_id = ? AND l.error = 'CountViolation' AND s.enabled > s.consumed`},
	// A deleted user or group (deleted_items) holds no state, and so no
	// seat; owns and lists no address; and is in no group, has no member
	// or assignment, and has no live row (docs/RULES.md §2.3.6).
	{"deleted", `SELECT d.kind || ' ' || d.id || ' holds a license state' FROM deleted_items d WHERE d.tenant_id = ?
			AND EXISTS (SELECT 1 FROM license_states l WHERE l.tenant_id = d.tenant_id AND (l.user_id = d.id OR l.source = d.id))`},
	{"deleted", `SELECT d.kind || ' ' || d.id || ' owns or lists an address' FROM deleted_items d WHERE d.tenant_id = ?
			AND EXISTS (SELECT 1 FROM addresses x WHERE x.tenant_id = d.tenant_id AND x.owner_id = d.id)`},
	{"deleted", `SELECT d.kind || ' ' || d.id || ' is still live' FROM deleted_items d WHERE d.tenant_id = ?
			AND (EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = d.tenant_id AND (m.group_id = d.id OR m.member_id = d.id))
			OR EXISTS (SELECT 1 FROM assignments a WHERE a.tenant_id = d.tenant_id AND a.target_id = d.id)
			OR EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = d.tenant_id AND u.id = d.id)
			OR EXISTS (SELECT 1 FROM dir_groups g WHERE g.tenant_id = d.tenant_id AND g.id = d.id))`},
}

// checkStateRows runs stateChecks.
func checkStateRows(ctx context.Context, tx *txn, v *violations) error {
	for _, c := range stateChecks {
		if err := v.addFound(ctx, tx, c.rule, c.query); err != nil {
			return err
		}
	}
	return nil
}

// addFound runs query, given the tenant as its one parameter, and adds a
// violation of rule for each line it returns.
func (v *violations) addFound(ctx context.Context, tx *txn, rule, query string) error {
	found, err := tx.queryIDs(ctx, query, v.tenantID)
	for _, what := range found {
		v.add(rule, "%s", what)
	}
	return err
}

// checkAuditIndex checks the audit log's own index (migration 21): each
// entry of a batch row has its user's audit_users row at the row's time,
// each audit_users row names a batch row at its time, and a batch row is
// named by as many rows as it has users. Without it "the audit of this
// user" and the delta queries miss changes that the log holds. Every
// query is linear in the log: the rows of one batch share its time, by
// which audit_users_time finds them.
func checkAuditIndex(ctx context.Context, tx *txn, v *violations) error {
	each, target := `json_each(a.entries) e`, `json_extract(e.value, '$.target')`
	if tx.postgres() {
		each, target = `jsonb_array_elements(CAST(a.entries AS jsonb)) e`, `(e.value ->> 'target')`
	}
	for _, q := range []string{
		`SELECT 'batch row ' || CAST(a.id AS TEXT) || ' has an entry of ' || ` + target + ` || ' but no audit_users row' FROM audit a, ` + each + `
			WHERE a.tenant_id = ? AND a.entries IS NOT NULL AND NOT EXISTS (SELECT 1 FROM audit_users u
			WHERE u.tenant_id = a.tenant_id AND u.user_id = ` + target + ` AND u.audit_id = a.id AND u.at = a.at)`,
		`SELECT 'audit_users row of ' || u.user_id || ' names ' || CAST(u.audit_id AS TEXT) || ', not a batch row at its time' FROM audit_users u
			WHERE u.tenant_id = ? AND NOT EXISTS (SELECT 1 FROM audit a WHERE a.id = u.audit_id AND a.tenant_id = u.tenant_id AND a.at = u.at AND a.entries IS NOT NULL)`,
		`SELECT 'batch row ' || CAST(a.id AS TEXT) || ' is named by audit_users rows of users it has no entry of' FROM audit a
			WHERE a.tenant_id = ? AND a.entries IS NOT NULL AND (SELECT COUNT(*) FROM audit_users u WHERE u.tenant_id = a.tenant_id AND u.at = a.at AND u.audit_id = a.id)
			<> (SELECT COUNT(DISTINCT ` + target + `) FROM ` + each + `)`,
	} {
		if err := v.addFound(ctx, tx, "audit", q); err != nil {
			return err
		}
	}
	return nil
}

// checkUsers checks the plan rules over the users' active states, and
// that evaluating them again changes nothing (the fixed point).
func (s *DB) checkUsers(ctx context.Context, tx *txn, v *violations, ids []string) error {
	cat := s.catalogIn(ctx, tx)
	b, err := s.loadBatch(ctx, tx, v.tenantID, ids)
	if err != nil {
		return err
	}
	for _, uid := range b.order {
		for _, p := range planViolations(cat, b, uid) {
			v.add("plans", "user %s: %s", uid, p)
		}
		in := b.input(uid, cat, s.now())
		o := b.evaluate(uid, cat, s.now())
		if o.out.Changed || slices.ContainsFunc(slices.Collect(maps.Values(o.out.SeatDelta)), func(d int) bool { return d != 0 }) {
			v.add("fixpoint", "user %s: evaluating again changes its states %s -> %s", uid, toJSON(in.Before), toJSON(o.out.States))
		}
		if o.mailboxChanged {
			v.add("fixpoint", "user %s: mailbox ownership is stale", uid)
		}
	}
	return nil
}

// checkLifecycle checks the commercial subscriptions (docs/RULES.md §2.6):
// each SKU's pool equals the sums of its subscriptions' quantities by
// status, with the capabilityStatus they give; every subscription has a
// pool, a known status, a quantity in range, and the schedule its status,
// term and the tenant's periods give.
func checkLifecycle(ctx context.Context, tx *txn, v *violations) error {
	st, err := lifecycleSettings(ctx, tx, v.tenantID)
	if err != nil {
		return err
	}
	subs, err := companySubs(ctx, tx, v.tenantID, "")
	if err != nil {
		return err
	}
	units, counts := map[string]map[string]int{}, map[string]map[string]int{}
	for _, c := range subs {
		if units[c.SkuID] == nil {
			units[c.SkuID], counts[c.SkuID] = map[string]int{}, map[string]int{}
		}
		units[c.SkuID][c.Status] += c.Quantity
		counts[c.SkuID][c.Status]++
		if !slices.Contains([]string{allot.SubEnabled, allot.SubWarning, allot.SubSuspended, allot.SubLockedOut, allot.SubDeleted}, c.Status) {
			v.add("lifecycle", "subscription %s: unknown status %q", c.ID, c.Status)
		}
		if c.Quantity < 0 || c.Quantity > MaxSeats {
			v.add("lifecycle", "subscription %s: quantity %d out of range", c.ID, c.Quantity)
		}
		want := nextLifecycle(c.Status, c.StatusSince, c.TermEnd, st)
		if fmtTime(derefTime(want)) != fmtTime(derefTime(c.NextLifecycleAt)) {
			v.add("lifecycle", "subscription %s (%s): next step at %q, its status and periods give %q", c.ID, c.Status, fmtTime(derefTime(c.NextLifecycleAt)), fmtTime(derefTime(want)))
		}
		if c.nextAlert != nil && c.Status != allot.SubEnabled {
			v.add("lifecycle", "subscription %s (%s): an alert is scheduled outside Enabled", c.ID, c.Status)
		}
	}
	rows, err := tx.Query(ctx, `SELECT sku_id, enabled, warning, suspended, locked_out, capability FROM subscriptions WHERE tenant_id = ?`, v.tenantID)
	if err != nil {
		return err
	}
	defer rows.Close()
	pools := map[string]bool{}
	for rows.Next() {
		var sku, capability string
		var e, w, su, lo int
		if err := rows.Scan(&sku, &e, &w, &su, &lo, &capability); err != nil {
			return err
		}
		pools[sku] = true
		u := units[sku]
		if e != u[allot.SubEnabled] || w != u[allot.SubWarning] || su != u[allot.SubSuspended] || lo != u[allot.SubLockedOut] {
			v.add("pool", "SKU %s: pool enabled %d warning %d suspended %d lockedOut %d, its subscriptions hold %d %d %d %d",
				sku, e, w, su, lo, u[allot.SubEnabled], u[allot.SubWarning], u[allot.SubSuspended], u[allot.SubLockedOut])
		}
		if want := capabilityOf(u, counts[sku]); capability != want {
			v.add("pool", "SKU %s: capabilityStatus %s, its subscriptions give %s", sku, capability, want)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, sku := range slices.Sorted(maps.Keys(units)) {
		if !pools[sku] {
			v.add("pool", "SKU %s has subscriptions but no pool", sku)
		}
	}
	return nil
}
