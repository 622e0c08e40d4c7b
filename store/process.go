package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/allot-dev/allot"
)

type workItem struct {
	id                          int64
	tenantID, kind, target, grp string
	started                     bool
	cursor                      string
	done, total                 int
	licensed, failed            int
}

const workCols = `id, tenant_id, kind, target_id, group_id, started, cursor, done, total, licensed, failed`

func scanWork(r interface{ Scan(...any) error }) (workItem, error) {
	var w workItem
	var started int
	err := r.Scan(&w.id, &w.tenantID, &w.kind, &w.target, &w.grp, &started, &w.cursor, &w.done, &w.total, &w.licensed, &w.failed)
	w.started = started == 1
	return w, err
}

// ProcessBatch evaluates up to n queued users in one transaction: either a
// run of queued single users of one tenant, or the next n members of the
// oldest group walk. With the queue empty it looks for free seats that
// users wait for and queues them; it returns 0 only when there is nothing
// left to do.
func (s *DB) ProcessBatch(ctx context.Context, n int) (int, error) {
	if n <= 0 {
		n = 500
	}
	n = min(n, 5000) // one statement lists a batch's ids
	ctx = allot.NewContextWithActor(ctx, allot.Actor{Name: "Allot group-based licensing"})
	var did int
	err := s.tx(ctx, func(tx *txn) error {
		tenantID, err := s.claimTenant(ctx, tx)
		if err != nil {
			return err
		}
		tx.tenant = tenantID
		if s.batchHook != nil {
			s.batchHook(tenantID)
		}
		if tenantID == "" {
			did, err = s.wakeAll(ctx, tx)
			return err
		}
		w, err := scanWork(tx.QueryRow(ctx, firstWorkSQL+tx.skipLocked(), tenantID))
		if errors.Is(err, sql.ErrNoRows) {
			did = 1 // drained by another replica meanwhile: look again
			return nil
		} else if err != nil {
			return err
		}
		switch w.kind {
		case "group":
			did, err = s.processGroup(ctx, tx, w, n, s.ahead.on)
		case "rule":
			did, err = s.processRule(ctx, tx, w, n)
		default:
			did, err = s.processUsers(ctx, tx, w.tenantID, n)
		}
		return err
	})
	if err == nil {
		// Scheduled steps (subscription lifecycles, docs/RULES.md §2.6, and
		// purges of deleted items, §2.3.6) run here too, outside the batch's
		// transaction: whenever the queue is empty, and every few seconds
		// while it is not, so a long walk does not hold them back.
		var moved int
		if moved, err = s.maybeRunScheduled(ctx, did == 0); moved > 0 && did == 0 {
			did = moved
		}
	}
	if err == nil && did > 0 {
		s.notify()
		s.askCheckpoint()
	}
	return did, err
}

// claimTenant picks the tenant whose work to do and takes its lock, held
// until the transaction ends: if this replica dies, its connection drops,
// the transaction rolls back and the lock passes to another replica, which
// redoes the uncommitted batch. Tenants take turns, one batch each, in
// order of id after the tenant served last (round-robin), so that a
// one-user change of one tenant waits for at most one batch of another
// tenant's long walk, not for the whole walk. Tenants locked by other
// replicas are skipped, so replicas share the work of different tenants;
// when all are taken it waits for the first.
func (s *DB) claimTenant(ctx context.Context, tx *txn) (string, error) {
	s.tenantMu.Lock()
	last := s.lastTenant
	s.tenantMu.Unlock()
	tenants, err := s.tenantsWithWork(ctx, tx, last, "")
	if err != nil {
		return "", err
	}
	if len(tenants) < claimCandidates && last != "" {
		more, err := s.tenantsWithWork(ctx, tx, "", last)
		if err != nil {
			return "", err
		}
		tenants = append(tenants, more...)
	}
	if len(tenants) == 0 {
		return "", nil
	}
	claim := func(t string) (string, error) {
		s.tenantMu.Lock()
		s.lastTenant = t
		s.tenantMu.Unlock()
		return t, nil
	}
	for _, t := range tenants {
		if ok, err := tx.tryLockTenant(ctx, t); err != nil {
			return "", err
		} else if ok {
			return claim(t)
		}
	}
	if err := tx.lockTenant(ctx, tenants[0]); err != nil {
		return "", err
	}
	return claim(tenants[0])
}

// claimCandidates is how many tenants with work claimTenant considers.
const claimCandidates = 16

// A tenant's work in queue order, from the index work_order (migration
// 27; TestIndexQueryPlans): its first item, and its first users.
const (
	firstWorkSQL = `SELECT ` + workCols + ` FROM work WHERE tenant_id = ? ORDER BY id LIMIT 1`
	usersWorkSQL = `SELECT id, target_id FROM work WHERE tenant_id = ? AND kind = 'user' ORDER BY id LIMIT ?`
)

// tenantsWithWork lists up to claimCandidates tenants with work, in order,
// after after and up to upTo (when not empty). It steps from one tenant
// to the next through the index rather than reading every item: while
// 30,000 users wait to take their seats, SELECT DISTINCT read all their
// items for each batch (4 ms on PostgreSQL).
func (s *DB) tenantsWithWork(ctx context.Context, tx *txn, after, upTo string) ([]string, error) {
	args := []any{after, claimCandidates}
	if upTo != "" {
		args = []any{upTo, after, upTo, claimCandidates}
	}
	rows, err := tx.Query(ctx, tenantsWithWorkSQL(upTo != ""), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// tenantsWithWorkSQL is tenantsWithWork's query, bounded above or not:
// each step seeks the next tenant id past the one before.
func tenantsWithWorkSQL(bounded bool) string {
	next := `SELECT MIN(tenant_id) FROM work WHERE tenant_id > `
	if bounded {
		next = `SELECT MIN(tenant_id) FROM work WHERE tenant_id <= ? AND tenant_id > `
	}
	// Within a SELECT, so that noteWrite knows it for a read.
	return `SELECT id FROM (WITH RECURSIVE t(id) AS (
		SELECT (` + next + `?)
		UNION ALL
		SELECT (` + next + `t.id) FROM t WHERE t.id IS NOT NULL
	) SELECT id FROM t WHERE id IS NOT NULL LIMIT ?) AS tenants`
}

func (s *DB) processUsers(ctx context.Context, tx *txn, tenantID string, n int) (int, error) {
	rows, err := tx.Query(ctx, usersWorkSQL+tx.skipLocked(), tenantID, n)
	if err != nil {
		return 0, err
	}
	var ids []any
	var users []string
	for rows.Next() {
		var id int64
		var uid string
		if err := rows.Scan(&id, &uid); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
		users = append(users, uid)
	}
	rows.Close()
	// Dequeue before evaluating, in the same transaction: work the
	// evaluation causes for these users must be queued anew, not merged
	// into the items being consumed.
	if _, err := tx.Exec(ctx, `DELETE FROM work WHERE id IN (`+placeholders(len(ids))+`)`, ids...); err != nil { // at most 5,000 ids
		return 0, err
	}
	if _, err := s.evaluateUsers(ctx, tx, tenantID, users, false); err != nil {
		return 0, err
	}
	return len(ids), nil
}

// analyzeDue says whether a walk that has done before members and now
// after should have PostgreSQL's statistics of license_states refreshed.
// A large walk grows the table from nothing: the planner is given its
// shape after the first batch, and again each time the walk passes a power
// of ten from 1,000 on. Once was not enough: a walk's first batch is 100
// users when the worker starts it (worker.Sizer), and plans made for a
// table of 600 rows made a 100,000-user assignment take 79 s instead of 6
// (docs/PERFORMANCE.md, "Eleventh round").
func analyzeDue(before, after int) bool {
	if before == 0 {
		return true
	}
	for t := 1000; t <= after; t *= 10 {
		if before < t {
			return true
		}
	}
	return false
}

// processGroup walks the next n direct user members of a group, in order
// of membership time then user id (with nested groups: its transitive
// members, store/nested.go), and records the cursor and progress so
// that a crash resumes after the last committed batch. It has the commit
// give PostgreSQL's planner the states' new shape when the walk is due
// (analyzeDue). With ahead, the batch after this one is read while this one is evaluated
// (ahead.go): only a batch that will commit may, not a preview's.
func (s *DB) processGroup(ctx context.Context, tx *txn, w workItem, n int, ahead bool) (int, error) {
	if !w.started {
		if err := s.groupWalkTotal(ctx, tx, &w); err != nil {
			return 0, err
		}
		if err := s.audit(ctx, tx, w.tenantID, "Start applying group based license to users", "Group", w.target, "", toJSON(map[string]int{"members": w.total}), "success"); err != nil {
			return 0, err
		}
	}
	users, b, err := s.walkNext(ctx, tx, &w, n, ahead)
	if err != nil {
		return 0, err
	}
	if b == nil {
		b, err = s.loadInputs(ctx, tx, w.tenantID, users)
		if err != nil {
			return 0, err
		}
	}
	if err := b.loadRest(ctx, s, tx); err != nil {
		return 0, err
	}
	outs, err := s.evaluateBatch(ctx, tx, b, users, false)
	if err != nil {
		return 0, err
	}
	for _, o := range outs {
		from, failed := 0, false
		for _, st := range o.out.States {
			if st.Source == w.target {
				from++
				failed = failed || st.State != allot.StateActive
			}
		}
		switch {
		case failed:
			w.failed++
		case from > 0:
			w.licensed++
		}
	}
	before := w.done
	w.done += len(users)
	if w.total >= 2000 && analyzeDue(before, w.done) {
		tx.analyzeAfterCommit("license_states")
	}
	if len(users) < n {
		if _, err := tx.Exec(ctx, `DELETE FROM work WHERE id = ?`, w.id); err != nil {
			return 0, err
		}
		// The walk is over: the group may now show Errors & issues.
		if err := s.alertGroups(ctx, tx, w.tenantID, []string{w.target}); err != nil {
			return 0, err
		}
		result := fmt.Sprintf("[Users successfully assigned licenses: %d, Users for whom license assignment failed: %d.]", w.licensed, w.failed)
		return max(len(users), 1), s.audit(ctx, tx, w.tenantID, "Finish applying group based license to users", "Group", w.target, "", toJSON(map[string]any{"licensed": w.licensed, "failed": w.failed, "result": result}), "success")
	}
	_, err = tx.Exec(ctx, `UPDATE work SET started = 1, cursor = ?, done = ?, total = ?, licensed = ?, failed = ? WHERE id = ?`,
		w.cursor, w.done, max(w.total, w.done), w.licensed, w.failed, w.id)
	return len(users), err
}

// walkNext returns the walk's next n members, with their inputs when they
// were read ahead (else nil), and with ahead starts reading the batch after
// them unless the tenant is being written to.
func (s *DB) walkNext(ctx context.Context, tx *txn, w *workItem, n int, ahead bool) ([]string, *batch, error) {
	if !ahead {
		users, err := s.groupWalkNext(ctx, tx, w, n)
		return users, nil, err
	}
	gens, states, err := readInputGens(ctx, tx, w.tenantID)
	if err != nil {
		return nil, nil, err
	}
	users, b, steady := s.takeAhead(ctx, w, n, gens, states)
	if b == nil {
		if users, err = s.groupWalkNext(ctx, tx, w, n); err != nil {
			return nil, nil, err
		}
	}
	switch {
	case len(users) < n:
		s.ahead.put(w.id, nil) // the walk ends with this batch
	case steady:
		s.readAhead(ctx, *w, n, gens)
	}
	return users, b, nil
}

// wakeAll queues waiting users of every SKU that has free seats, in every
// tenant. It is the safety net behind the targeted wake-ups, so the queue
// never drains while a seat and a user waiting for it are both there.
func (s *DB) wakeAll(ctx context.Context, tx *txn) (int, error) {
	rows, err := tx.Query(ctx, `SELECT DISTINCT s.tenant_id FROM subscriptions s WHERE s.enabled > s.consumed
		AND EXISTS (SELECT 1 FROM license_states l WHERE l.tenant_id = s.tenant_id AND l.sku_id = s.sku_id AND l.error = 'CountViolation')`)
	if err != nil {
		return 0, err
	}
	var tenants []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return 0, err
		}
		tenants = append(tenants, t)
	}
	rows.Close()
	var woken []string
	for _, t := range tenants {
		if ok, err := tx.tryLockTenant(ctx, t); err != nil {
			return 0, err
		} else if !ok {
			continue // another replica is writing there and will wake its own waiters
		}
		if err := s.wakeTenant(ctx, tx, t); err != nil {
			return 0, err
		}
		woken = append(woken, t)
	}
	if len(woken) == 0 {
		return 0, nil
	}
	// Only the woken tenants' work, which their locks keep as this
	// transaction made it: on PostgreSQL a count of all work would also see
	// work that requests committed since claimTenant found none, and the
	// worker would take that for a batch done (and pause after it).
	var n int
	err = tx.QueryRow(ctx, `SELECT COUNT(*) FROM work WHERE tenant_id IN (`+placeholders(len(woken))+`)`, anys(woken)...).Scan(&n)
	return n, err
}
