package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/alerts"
)

// companySub is a commercial subscription with the scheduler's alert
// bookkeeping.
type companySub struct {
	allot.CompanySubscription
	// alerted is the nearest "days before the term ends" threshold already
	// alerted in the current term, 0 when none; nextAlert when the next is due.
	alerted   int
	nextAlert *time.Time
}

const companySubCols = `id, sku_id, quantity, status, is_trial, created_at, term_start, term_end, next_lifecycle_at, status_since, alerted_days, next_alert_at`

func scanCompanySub(r interface{ Scan(...any) error }) (*companySub, error) {
	var c companySub
	var trial int
	var created, start, since string
	var end, next, nextAlert sql.NullString
	if err := r.Scan(&c.ID, &c.SkuID, &c.Quantity, &c.Status, &trial, &created, &start, &end, &next, &since, &c.alerted, &nextAlert); err != nil {
		return nil, err
	}
	c.IsTrial, c.CreatedAt, c.TermStart, c.StatusSince = trial == 1, parseTime(created), parseTime(start), parseTime(since)
	c.TermEnd, c.NextLifecycleAt, c.nextAlert = optTime(end), optTime(next), optTime(nextAlert)
	return &c, nil
}

func optTime(ns sql.NullString) *time.Time {
	if !ns.Valid || ns.String == "" {
		return nil
	}
	t := parseTime(ns.String)
	return &t
}

// nullTime is t for a nullable time column.
func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return fmtTime(*t)
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// findCompanySub reads one of the tenant's commercial subscriptions.
func findCompanySub(ctx context.Context, tx *txn, tenantID, id string) (*companySub, error) {
	c, err := scanCompanySub(tx.QueryRow(ctx, `SELECT `+companySubCols+` FROM company_subscriptions WHERE tenant_id = ? AND id = ?`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(id)
	}
	return c, err
}

// nextLifecycle is when a subscription in status, entered at since, moves
// on if nothing is done (docs/RULES.md §2.6); nil when never.
func nextLifecycle(status string, since time.Time, termEnd *time.Time, st allot.LifecycleSettings) *time.Time {
	var t time.Time
	switch status {
	case allot.SubEnabled:
		if termEnd == nil {
			return nil
		}
		t = *termEnd
	case allot.SubWarning:
		t = since.Add(days(st.GraceDays))
	case allot.SubSuspended, allot.SubLockedOut:
		t = since.Add(days(st.SuspendedDays))
	default:
		return nil
	}
	return &t
}

// alertThreshold reports whether d days before the term's end is a
// threshold still to alert: nearer than the one alerted last, and after the
// term began (a 30-day trial does not announce its end on the day it is
// bought).
func alertThreshold(c *companySub, d int) bool {
	return (c.alerted == 0 || d < c.alerted) && c.TermEnd != nil && c.TermEnd.Add(-days(d)).After(c.TermStart)
}

// nextAlertAt is when the next "days before the term ends" alert of an
// Enabled subscription with a term is due: the farthest threshold still to
// alert; nil when none is left.
func nextAlertAt(c *companySub, st allot.LifecycleSettings) *time.Time {
	if c.Status != allot.SubEnabled || c.TermEnd == nil {
		return nil
	}
	var out *time.Time
	for _, d := range st.AlertDays {
		if !alertThreshold(c, d) {
			continue
		}
		if at := c.TermEnd.Add(-days(d)); out == nil || at.Before(*out) {
			out = &at
		}
	}
	return out
}

// capabilityOf is a SKU's capabilityStatus as Graph derives it from its
// units: Enabled with an enabled unit, else Warning, Suspended or LockedOut
// by the first status holding units. A SKU whose units are all zero takes
// the best status among its subscriptions that are not Deleted, so that
// seats lowered to 0 do not read as a deleted SKU; Deleted when every
// subscription is.
func capabilityOf(units, subs map[string]int) string {
	order := []string{allot.SubEnabled, allot.SubWarning, allot.SubSuspended, allot.SubLockedOut}
	for _, st := range order {
		if units[st] > 0 {
			return st
		}
	}
	for _, st := range order {
		if subs[st] > 0 {
			return st
		}
	}
	return allot.CapabilityDeleted
}

// poolSums reads the quantities (units) and counts (subs) of a SKU's
// commercial subscriptions by status.
func poolSums(ctx context.Context, tx *txn, tenantID, skuID string) (units, subs map[string]int, err error) {
	units, subs = map[string]int{}, map[string]int{}
	rows, err := tx.Query(ctx, `SELECT status, SUM(quantity), COUNT(*) FROM company_subscriptions WHERE tenant_id = ? AND sku_id = ? GROUP BY status`, tenantID, skuID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var q, n int
		if err := rows.Scan(&st, &q, &n); err != nil {
			return nil, nil, err
		}
		units[st], subs[st] = q, n
	}
	return units, subs, rows.Err()
}

// syncPool sets the SKU's pool to the sums of its subscriptions'
// quantities by status, in the transaction of the change (docs/RULES.md
// §2.6). When the enabled units change, it does what a seat change does:
// the seat alerts, and the users in error on the SKU queued, the waiting
// ones first in their order, so that new units reach them as bought seats
// do and fewer units take nothing away (§2.3.4).
func (s *DB) syncPool(ctx context.Context, tx *txn, tenantID, skuID string) error {
	var enabled, consumed int
	if err := tx.QueryRow(ctx, `SELECT enabled, consumed FROM subscriptions WHERE tenant_id = ? AND sku_id = ?`, tenantID, skuID).Scan(&enabled, &consumed); err != nil {
		return err
	}
	units, subs, err := poolSums(ctx, tx, tenantID, skuID)
	if err != nil {
		return err
	}
	if total := units[allot.SubEnabled] + units[allot.SubWarning] + units[allot.SubSuspended] + units[allot.SubLockedOut]; total > MaxSeats {
		return allot.Errorf(allot.EINVALID, "A product holds at most %d units; its subscriptions would hold %d.", MaxSeats, total)
	}
	if _, err := tx.Exec(ctx, `UPDATE subscriptions SET enabled = ?, warning = ?, suspended = ?, locked_out = ?, capability = ? WHERE tenant_id = ? AND sku_id = ?`,
		units[allot.SubEnabled], units[allot.SubWarning], units[allot.SubSuspended], units[allot.SubLockedOut], capabilityOf(units, subs), tenantID, skuID); err != nil {
		return err
	}
	if units[allot.SubEnabled] == enabled {
		return nil
	}
	return s.seatsChanged(ctx, tx, tenantID, skuID, enabled, units[allot.SubEnabled], consumed)
}

// seatsChanged raises the seat alerts of a change of the SKU's enabled
// units and queues the users whose unit with the SKU is in error: the
// waiting ones first, in the order they started waiting, then the rest
// (docs/RULES.md §2.3.3–4).
func (s *DB) seatsChanged(ctx context.Context, tx *txn, tenantID, skuID string, before, after, consumed int) error {
	if err := s.alertSeats(ctx, tx, tenantID, skuID, before, consumed, after, consumed); err != nil {
		return err
	}
	ids, err := tx.queryIDs(ctx, `SELECT user_id FROM license_states WHERE tenant_id = ? AND sku_id = ? AND state = 'Error'
		ORDER BY CASE WHEN error = 'CountViolation' THEN 0 ELSE 1 END, waiting_since, user_id`, tenantID, skuID)
	if err != nil {
		return err
	}
	return s.enqueueUsers(ctx, tx, tenantID, ids, "")
}

// moveEnabledUnits adds delta enabled units to the SKU's subscriptions
// (docs/RULES.md §2.6, seats and purchases): to the newest Enabled one
// without a term end, else the newest Enabled one, else a new one without a
// term; fewer units come from that same subscription first, then from the
// other Enabled ones, newest first. The caller syncs the pool.
func (s *DB) moveEnabledUnits(ctx context.Context, tx *txn, tenantID, skuID string, delta int) error {
	rows, err := tx.Query(ctx, `SELECT id, quantity, term_end FROM company_subscriptions WHERE tenant_id = ? AND sku_id = ? AND status = 'Enabled'
		ORDER BY created_at DESC, id DESC`, tenantID, skuID)
	if err != nil {
		return err
	}
	type sub struct {
		id       string
		quantity int
		noTerm   bool
	}
	var subs []sub
	for rows.Next() {
		var x sub
		var end sql.NullString
		if err := rows.Scan(&x.id, &x.quantity, &end); err != nil {
			rows.Close()
			return err
		}
		x.noTerm = !end.Valid || end.String == ""
		subs = append(subs, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if i := slices.IndexFunc(subs, func(x sub) bool { return x.noTerm }); i > 0 {
		subs = append(append([]sub{subs[i]}, subs[:i]...), subs[i+1:]...)
	}
	if len(subs) == 0 {
		if delta < 0 {
			return allot.Errorf(allot.ECONFLICT, "The product has no enabled units to remove.")
		}
		now := s.now()
		_, err := tx.Exec(ctx, `INSERT INTO company_subscriptions (tenant_id, id, sku_id, quantity, status, is_trial, created_at, term_start, term_end, next_lifecycle_at, status_since)
			VALUES (?, ?, ?, ?, 'Enabled', 0, ?, ?, NULL, NULL, ?)`, tenantID, s.newID(), skuID, delta, fmtTime(now), fmtTime(now), fmtTime(now))
		return err
	}
	set := func(x sub, q int) error {
		_, err := tx.Exec(ctx, `UPDATE company_subscriptions SET quantity = ? WHERE tenant_id = ? AND id = ?`, q, tenantID, x.id)
		return err
	}
	if delta > 0 {
		return set(subs[0], subs[0].quantity+delta)
	}
	need := -delta
	for _, x := range subs {
		if need == 0 {
			break
		}
		take := min(need, x.quantity)
		if take == 0 {
			continue
		}
		if err := set(x, x.quantity-take); err != nil {
			return err
		}
		need -= take
	}
	if need > 0 {
		return allot.Errorf(allot.ECONFLICT, "The product's enabled units cannot absorb %d fewer.", -delta)
	}
	return nil
}

// subAudit is what the audit log records of a commercial subscription.
func subAudit(c *companySub, action string) string {
	m := map[string]any{"skuId": c.SkuID, "quantity": c.Quantity, "status": c.Status, "isTrial": c.IsTrial, "termEnd": nullTime(c.TermEnd)}
	if action != "" {
		m["action"] = action
	}
	return toJSON(m)
}

// saveCompanySub writes after over before, guarded by before's status and
// next transition, so that of two transactions moving the same step only
// the first applies it (applied false for the other). It derives the
// schedule from after's status, keeps the pool in step, audits and
// raises the alerts of the status entered.
func (s *DB) saveCompanySub(ctx context.Context, tx *txn, tenantID string, before, after *companySub, st allot.LifecycleSettings, action string) (bool, error) {
	after.NextLifecycleAt = nextLifecycle(after.Status, after.StatusSince, after.TermEnd, st)
	after.nextAlert = nextAlertAt(after, st)
	res, err := tx.Exec(ctx, `UPDATE company_subscriptions SET quantity = ?, status = ?, is_trial = ?, term_start = ?, term_end = ?, next_lifecycle_at = ?,
		status_since = ?, alerted_days = ?, next_alert_at = ? WHERE tenant_id = ? AND id = ? AND status = ? AND COALESCE(next_lifecycle_at, '') = ?`,
		after.Quantity, after.Status, b2i(after.IsTrial), fmtTime(after.TermStart), nullTime(after.TermEnd), nullTime(after.NextLifecycleAt),
		fmtTime(after.StatusSince), after.alerted, nullTime(after.nextAlert), tenantID, before.ID, before.Status, fmtTime(derefTime(before.NextLifecycleAt)))
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if err := s.syncPool(ctx, tx, tenantID, after.SkuID); err != nil {
		return false, err
	}
	if err := s.audit(ctx, tx, tenantID, "Update subscription", "CompanySubscription", after.ID, subAudit(before, ""), subAudit(after, action), "success"); err != nil {
		return false, err
	}
	if before.Status != after.Status {
		if err := s.alertStatus(ctx, tx, tenantID, before.Status, after); err != nil {
			return false, err
		}
	}
	return true, nil
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// alertStatus raises the event of the status a subscription entered.
func (s *DB) alertStatus(ctx context.Context, tx *txn, tenantID, from string, c *companySub) error {
	var types []string
	switch c.Status {
	case allot.SubWarning:
		if from == allot.SubEnabled {
			types = append(types, alerts.SubscriptionWarning)
			if c.IsTrial {
				types = append(types, alerts.SubscriptionTrialEnded)
			}
		}
	case allot.SubSuspended:
		types = append(types, alerts.SubscriptionSuspended)
	case allot.SubDeleted:
		types = append(types, alerts.SubscriptionDeleted)
	}
	for _, typ := range types {
		if _, err := s.emitAlert(ctx, tx, tenantID, typ, s.subAlertData(ctx, tx, c, from), ""); err != nil {
			return err
		}
	}
	return nil
}

func (s *DB) subAlertData(ctx context.Context, tx *txn, c *companySub, from string) map[string]any {
	data := s.skuData(ctx, tx, c.SkuID)
	data["subscriptionId"], data["quantity"], data["status"], data["isTrial"] = c.ID, c.Quantity, c.Status, c.IsTrial
	data["termEnd"], data["nextLifecycleAt"] = fmtTime(derefTime(c.TermEnd)), fmtTime(derefTime(c.NextLifecycleAt))
	if from != "" {
		data["previousStatus"] = from
	}
	return data
}
