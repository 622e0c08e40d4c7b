package store

import (
	"context"
	"database/sql"
	"maps"
	"slices"
	"sort"

	"github.com/allot-dev/allot"
)

// Status reports the tenant's queue and the groups being processed.
func (s *DB) Status(ctx context.Context) (*allot.Status, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx *txn) (*allot.Status, error) { return s.status(ctx, tx, a.TenantID) })
}

func (s *DB) status(ctx context.Context, tx *txn, tenantID string) (*allot.Status, error) {
	st := &allot.Status{Groups: []allot.GroupProgress{}}
	var oldest sql.NullString
	if err := tx.QueryRow(ctx, `SELECT COUNT(*), MIN(enqueued_at) FROM work WHERE tenant_id = ?`, tenantID).Scan(&st.QueueDepth, &oldest); err != nil {
		return nil, err
	}
	if oldest.Valid && oldest.String != "" {
		st.OldestQueuedAge = s.now().Sub(parseTime(oldest.String))
	}
	// Waiting users with a free seat are work too, though not yet queued.
	var waiting int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM subscriptions s WHERE s.tenant_id = ? AND s.enabled > s.consumed
		AND EXISTS (SELECT 1 FROM license_states l WHERE l.tenant_id = s.tenant_id AND l.sku_id = s.sku_id AND l.error = 'CountViolation')`, tenantID).Scan(&waiting); err != nil {
		return nil, err
	}
	// So are subscription steps that have come due (docs/RULES.md §2.6),
	// which the next poll applies.
	var due int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM company_subscriptions WHERE tenant_id = ? AND next_lifecycle_at <= ? LIMIT 1) d`,
		tenantID, fmtTime(s.now())).Scan(&due); err != nil {
		return nil, err
	}
	st.Idle = st.QueueDepth == 0 && waiting == 0 && due == 0
	rows, err := tx.Query(ctx, `SELECT w.group_id, COALESCE(g.display_name, ''), MAX(w.started), MAX(w.done), MAX(w.total) FROM work w
		LEFT JOIN dir_groups g ON g.tenant_id = w.tenant_id AND g.id = w.group_id
		WHERE w.tenant_id = ? AND w.group_id <> '' GROUP BY w.group_id, g.display_name ORDER BY MIN(w.id)`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var p allot.GroupProgress
		var started int
		if err := rows.Scan(&p.GroupID, &p.DisplayName, &started, &p.Done, &p.Total); err != nil {
			return nil, err
		}
		p.State = allot.ProcessingQueued
		if started == 1 {
			p.State = allot.ProcessingInProgress
		}
		st.Groups = append(st.Groups, p)
	}
	return st, rows.Err()
}

// enqueueUsers queues user items in the given order, skipping users that
// already have one queued for the same group.
func (s *DB) enqueueUsers(ctx context.Context, tx *txn, tenantID string, ids []string, groupID string) error {
	ids = dedupe(ids)
	if len(ids) == 0 {
		return nil
	}
	queued := map[string]bool{}
	err := tx.each(ctx, `SELECT target_id FROM work WHERE tenant_id = ? AND kind = 'user' AND group_id = ? AND target_id IN (%s)`, ids, []any{tenantID, groupID}, func(r *sql.Rows) error {
		var id string
		err := r.Scan(&id)
		queued[id] = true
		return err
	})
	if err != nil {
		return err
	}
	now := fmtTime(s.now())
	var rows [][]any
	for _, id := range ids {
		if !queued[id] {
			rows = append(rows, []any{tenantID, "user", id, groupID, now})
		}
	}
	if len(rows) >= bulkQueue {
		// The queue's statistics are usually those of an empty queue, and
		// PostgreSQL then reads all of it for each batch's first users (a
		// purchase woke 30,000 waiting users: 23 ms per batch).
		tx.analyzeAfterCommit("work")
	}
	return tx.insertRows(ctx, `INSERT INTO work (tenant_id, kind, target_id, group_id, enqueued_at) VALUES `, rows)
}

// enqueueGroup queues a walk over the group's members unless one is
// already waiting to start.
func (s *DB) enqueueGroup(ctx context.Context, tx *txn, tenantID, groupID string) error {
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM work WHERE tenant_id = ? AND kind = 'group' AND target_id = ? AND started = 0`, tenantID, groupID).Scan(&n); err != nil || n > 0 {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO work (tenant_id, kind, target_id, group_id, enqueued_at) VALUES (?, 'group', ?, ?, ?)`, tenantID, groupID, groupID, fmtTime(s.now()))
	return err
}

// enqueueIfLicensed queues a user whose membership of g changed when g has
// assignments or the user has states from g.
func (s *DB) enqueueIfLicensed(ctx context.Context, tx *txn, tenantID, groupID, userID string) error {
	var n int
	if err := tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM assignments WHERE tenant_id = ? AND target_id = ?)
		+ (SELECT COUNT(*) FROM license_states WHERE tenant_id = ? AND user_id = ? AND source = ?)`, tenantID, groupID, tenantID, userID, groupID).Scan(&n); err != nil || n == 0 {
		return err
	}
	return s.enqueueUsers(ctx, tx, tenantID, []string{userID}, groupID)
}

// enqueueAddressListers queues every user that lists one of addrs.
func (s *DB) enqueueAddressListers(ctx context.Context, tx *txn, tenantID string, addrs []string, except string) error {
	var ids []string
	err := tx.each(ctx, `SELECT DISTINCT owner_id FROM addresses WHERE tenant_id = ? AND owner_kind = 'user' AND address IN (%s)`, normalizeAll(addrs), []any{tenantID}, func(r *sql.Rows) error {
		var id string
		err := r.Scan(&id)
		if id != except {
			ids = append(ids, id)
		}
		return err
	})
	if err != nil {
		return err
	}
	sort.Strings(ids)
	return s.enqueueUsers(ctx, tx, tenantID, ids, "")
}

// wake queues, for each of skus with free seats, the users waiting for it
// in the order they started waiting, then user id, as many as there are
// seats (docs/RULES.md §2.3.4).
func (s *DB) wake(ctx context.Context, tx *txn, tenantID string, skus []string) error {
	if len(skus) == 0 {
		return nil
	}
	return s.wakeWhere(ctx, tx, tenantID, ` AND sku_id IN (`+placeholders(len(skus))+`)`, anys(skus))
}

// wakeTenant is wake for every SKU of the tenant.
func (s *DB) wakeTenant(ctx context.Context, tx *txn, tenantID string) error {
	return s.wakeWhere(ctx, tx, tenantID, "", nil)
}

func (s *DB) wakeWhere(ctx context.Context, tx *txn, tenantID, cond string, condArgs []any) error {
	query := `SELECT sku_id, enabled - consumed FROM subscriptions WHERE tenant_id = ? AND enabled > consumed` + cond
	args := append([]any{tenantID}, condArgs...)
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	free := map[string]int{}
	for rows.Next() {
		var sku string
		var n int
		if err := rows.Scan(&sku, &n); err != nil {
			rows.Close()
			return err
		}
		free[sku] = n
	}
	rows.Close()
	for _, sku := range slices.Sorted(maps.Keys(free)) {
		ids, err := tx.queryIDs(ctx, waitingUsersSQL, tenantID, sku, free[sku], 0)
		if err != nil {
			return err
		}
		if err := s.enqueueUsers(ctx, tx, tenantID, ids, ""); err != nil {
			return err
		}
	}
	return nil
}
