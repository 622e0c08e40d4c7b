package store

import "context"

// SetPreviewMaxUsers lowers the preview's limit for a test and returns the
// function that restores it.
func SetPreviewMaxUsers(n int) func() {
	old := previewMaxUsers
	previewMaxUsers = n
	return func() { previewMaxUsers = old }
}

// WriteSingleAudit makes s audit processing's license changes one row per
// user, as before migration 21.
func (s *DB) WriteSingleAudit() { s.singleAudit = true }

// AuditRows counts the audit's single rows and batch rows.
func (s *DB) AuditRows(ctx context.Context) (single, batch int, err error) {
	err = s.readTx(ctx, func(tx *txn) error {
		return tx.QueryRow(ctx, `SELECT COUNT(*) - COUNT(entries), COUNT(entries) FROM audit`).Scan(&single, &batch)
	})
	return single, batch, err
}

// WaitingStates lists, in one query, every CountViolation state of the
// actor's tenant as (user, SKU, waitingSince): the property test observes
// the waiting room after every operation, and ListUsers is too slow for it.
func (s *DB) WaitingStates(ctx context.Context) ([][3]string, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx *txn) ([][3]string, error) {
		rows, err := tx.Query(ctx, `SELECT user_id, sku_id, waiting_since FROM license_states WHERE tenant_id = ? AND error = 'CountViolation'`, a.TenantID)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out [][3]string
		for rows.Next() {
			var r [3]string
			if err := rows.Scan(&r[0], &r[1], &r[2]); err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, rows.Err()
	})
}

// SetBatchHook makes every processing batch call hook inside its
// transaction, holding the write lock, with the tenant it claimed ("" when
// no tenant had work).
func (s *DB) SetBatchHook(hook func(tenantID string)) { s.batchHook = hook }

// SetReadAheadHook makes every read ahead call hook with its reading.
func (s *DB) SetReadAheadHook(hook func(read func())) { s.aheadHook = hook }

// WritersWaiting is the number of writers waiting for their turn: in this
// process's queue on SQLite, for the tenant's lock on PostgreSQL (whose
// server other tests share: only this tenant's lock counts).
func (s *DB) WritersWaiting(ctx context.Context, tenantID string) (int, error) {
	if s.gate != nil {
		return s.gate.waiting(), nil
	}
	return read(ctx, s, func(tx *txn) (int, error) {
		var n int
		err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND objid::text::bigint = (hashtext(?)::bigint & 4294967295)`, "tenant:"+tenantID).Scan(&n)
		return n, err
	})
}

// Exec runs a statement behind the store's back, to damage what a test
// expects allot check to find.
func (s *DB) Exec(ctx context.Context, query string, args ...any) error {
	_, err := s.db.ExecContext(ctx, s.q(query), args...)
	return err
}

// ReadAheads counts the group walk batches that took their inputs read
// ahead, and those that found the reads ahead stale or of another batch.
func (s *DB) ReadAheads() (used, discarded int64) {
	return s.ahead.used.Load(), s.ahead.discarded.Load()
}

// ReadAheadStates is ReadAheads, and of the batches that took their reads
// ahead, those that kept the states read ahead and those that read them
// again.
func (s *DB) ReadAheadStates() (used, discarded, statesUsed, statesReread int64) {
	return s.ahead.used.Load(), s.ahead.discarded.Load(), s.ahead.statesUsed.Load(), s.ahead.statesReread.Load()
}
