package store

import (
	"context"
	"time"

	"github.com/allot-dev/allot"
)

// GaugeSink receives the aggregates that ReadGauges reads for a metrics
// scrape. Its methods take plain values so that the HTTP layer can
// implement it without importing the store.
type GaugeSink interface {
	// QueueDepth is called once per tenant and kind ("user" or "group") of
	// queued work. A group item is one walk, whatever the group's size.
	QueueDepth(tenantID, kind string, items int, oldestEnqueued time.Time)
	// Seats is called once per subscription.
	Seats(tenantID, skuID, skuPartNumber string, enabled, consumed int)
	// UsersInError is called once per tenant and error code that has users
	// with at least one license state in error for that code.
	UsersInError(tenantID string, code allot.LicenseError, users int)
}

// errorCodes are the codes of a state in error: every one but None. They
// are listed rather than written as "error <> 'None'" so that the query
// seeks the index once per code instead of scanning the SKU's states.
var errorCodes = []any{allot.CountViolation, allot.MutuallyExclusiveViolation, allot.DependencyViolation,
	allot.ProhibitedInUsageLocationViolation, allot.UniquenessViolation, allot.OtherViolation}

// The scrape's queries; metrics_plan_test.go checks SQLite's plan of each.
var (
	queueSQL = `SELECT tenant_id, kind, COUNT(*), MIN(id) FROM work GROUP BY tenant_id, kind ORDER BY tenant_id, kind`
	seatsSQL = `SELECT tenant_id, sku_id, enabled, consumed FROM subscriptions ORDER BY tenant_id, sku_id`
	// COUNT(DISTINCT): a user in error for two SKUs, or from two groups,
	// is one user in error. CROSS JOIN makes SQLite loop over the few
	// subscriptions and seek the index for each, where it would otherwise
	// walk the whole index.
	usersInErrorSQL = `SELECT s.tenant_id, l.error, COUNT(DISTINCT l.user_id) FROM subscriptions s
		CROSS JOIN license_states l WHERE l.tenant_id = s.tenant_id AND l.state = 'Error' AND l.sku_id = s.sku_id AND l.error IN (` + placeholders(len(errorCodes)) + `)
		GROUP BY s.tenant_id, l.error ORDER BY s.tenant_id, l.error`
	// PostgreSQL reads a CROSS JOIN as any join and, until VACUUM has set
	// the visibility map of a freshly written table, prefers a sequential
	// scan of all license_states (0.6 s for 1,000,000 states, against
	// 0.05-0.1 s through the index, measured). A LATERAL subquery kept from
	// being flattened by OFFSET 0 is the same nested loop SQLite makes.
	usersInErrorPostgresSQL = `SELECT s.tenant_id, l.error, COUNT(DISTINCT l.user_id) FROM subscriptions s
		CROSS JOIN LATERAL (SELECT error, user_id FROM license_states l WHERE l.tenant_id = s.tenant_id AND l.state = 'Error' AND l.sku_id = s.sku_id
			AND l.error IN (` + placeholders(len(errorCodes)) + `) OFFSET 0) l
		GROUP BY s.tenant_id, l.error ORDER BY s.tenant_id, l.error`
)

// ReadGauges reads, across every tenant, what a Prometheus scrape reports
// from the database. Each query's cost follows something small or
// something an operator wants to see fall, never the number of users:
//
//   - the queue: one pass over the work_target index (or the work table on
//     PostgreSQL), so it costs as much as the queue is long; the oldest
//     item of each group is then read by primary key;
//   - seats: the subscriptions table, one row per tenant and SKU, whose
//     consumed column is the seat count the store maintains;
//   - users in error: for each subscription, one seek into the
//     license_states_kind index (tenant, state, SKU, …), so it reads only
//     the states in error (a state is in error exactly when it has an
//     error code; 0.05-0.1 s for 10,000 users in error among 1,000,000
//     states on PostgreSQL, measured on the index before). A state's SKU always
//     has a subscription row (assigning needs one, and none is deleted).
//
// The three parts are read in one read transaction, so on SQLite they are
// of one moment; on PostgreSQL each statement sees its own, which a gauge
// tolerates.
func (s *DB) ReadGauges(ctx context.Context, sink GaugeSink) error {
	return s.readTx(ctx, func(tx *txn) error {
		if err := queueGauges(ctx, tx, sink); err != nil {
			return err
		}
		if err := s.seatGauges(ctx, tx, sink); err != nil {
			return err
		}
		return errorGauges(ctx, tx, sink)
	})
}

func (s *DB) seatGauges(ctx context.Context, tx *txn, sink GaugeSink) error {
	cat := s.catalogIn(ctx, tx)
	rows, err := tx.Query(ctx, seatsSQL)
	if err != nil {
		return err
	}
	for rows.Next() {
		var tenant, sku string
		var enabled, consumed int
		if err := rows.Scan(&tenant, &sku, &enabled, &consumed); err != nil {
			rows.Close()
			return err
		}
		part := ""
		if k := cat.SKUs[sku]; k != nil {
			part = k.PartNumber
		}
		sink.Seats(tenant, sku, part, enabled, consumed)
	}
	rows.Close()
	return rows.Err()
}

func errorGauges(ctx context.Context, tx *txn, sink GaugeSink) error {
	query := usersInErrorSQL
	if tx.postgres() {
		query = usersInErrorPostgresSQL
	}
	rows, err := tx.Query(ctx, query, errorCodes...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var tenant string
		var code allot.LicenseError
		var n int
		if err := rows.Scan(&tenant, &code, &n); err != nil {
			return err
		}
		sink.UsersInError(tenant, code, n)
	}
	return rows.Err()
}

func queueGauges(ctx context.Context, tx *txn, sink GaugeSink) error {
	// MIN(id) rather than MIN(enqueued_at): ids grow with enqueueing, and
	// the id is in the index (SQLite's rowid) while the time is not.
	rows, err := tx.Query(ctx, queueSQL)
	if err != nil {
		return err
	}
	type group struct {
		tenant, kind string
		items        int
		oldest       int64
	}
	var groups []group
	for rows.Next() {
		var g group
		if err := rows.Scan(&g.tenant, &g.kind, &g.items, &g.oldest); err != nil {
			rows.Close()
			return err
		}
		groups = append(groups, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	oldest := map[int64]time.Time{}
	for i := 0; i < len(groups); i += 500 {
		part := groups[i:min(i+500, len(groups))]
		args := make([]any, len(part))
		for j, g := range part {
			args[j] = g.oldest
		}
		rows, err := tx.Query(ctx, `SELECT id, enqueued_at FROM work WHERE id IN (`+placeholders(len(args))+`)`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var at string
			if err := rows.Scan(&id, &at); err != nil {
				rows.Close()
				return err
			}
			oldest[id] = parseTime(at)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for _, g := range groups {
		// An item processed since the count has no time: the zero time
		// reports the group without an age.
		sink.QueueDepth(g.tenant, g.kind, g.items, oldest[g.oldest])
	}
	return nil
}
