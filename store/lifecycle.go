package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/alerts"
)

var _ allot.LifecycleService = (*DB)(nil)

// lifecycleActor names the scheduler in the audit log.
const lifecycleActor = "Allot subscription lifecycle"

// maxLifecycleDays bounds every lifecycle period and alert threshold.
const maxLifecycleDays = 3650

// lifecycleHooks holds, per store, a function a test runs inside each
// scheduled transition's transaction after its status is written: an error
// from it rolls the transition back, as a crash would.
var lifecycleHooks sync.Map // *DB -> func() error

func (s *DB) lifecycleHook() error {
	if f, ok := lifecycleHooks.Load(s); ok {
		return f.(func() error)()
	}
	return nil
}

// lifecycleSettings reads the tenant's periods; defaults without a row.
func lifecycleSettings(ctx context.Context, tx *txn, tenantID string) (allot.LifecycleSettings, error) {
	st := allot.DefaultLifecycleSettings()
	var alertDays string
	err := tx.QueryRow(ctx, `SELECT grace_days, suspended_days, retention_days, alert_days FROM lifecycle_settings WHERE tenant_id = ?`, tenantID).
		Scan(&st.GraceDays, &st.SuspendedDays, &st.RetentionDays, &alertDays)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	} else if err != nil {
		return st, err
	}
	st.AlertDays = []int{}
	err = json.Unmarshal([]byte(alertDays), &st.AlertDays)
	return st, err
}

// LifecycleSettings returns the tenant's lifecycle periods.
func (s *DB) LifecycleSettings(ctx context.Context) (allot.LifecycleSettings, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return allot.LifecycleSettings{}, err
	}
	return read(ctx, s, func(tx *txn) (allot.LifecycleSettings, error) { return lifecycleSettings(ctx, tx, a.TenantID) })
}

// checkSettings validates settings and returns them in normal form: alert
// days without duplicates, farthest first, never nil.
func checkSettings(in allot.LifecycleSettings) (allot.LifecycleSettings, error) {
	for _, p := range []struct {
		name string
		n    int
	}{{"gracePeriodDays", in.GraceDays}, {"suspendedPeriodDays", in.SuspendedDays}, {"retentionDays", in.RetentionDays}} {
		if p.n < 1 || p.n > maxLifecycleDays {
			return in, allot.Errorf(allot.EINVALID, "%s must be between 1 and %d days; got %d.", p.name, maxLifecycleDays, p.n)
		}
	}
	days := []int{}
	for _, d := range in.AlertDays {
		if d < 1 || d > maxLifecycleDays {
			return in, allot.Errorf(allot.EINVALID, "Alert days must be between 1 and %d; got %d.", maxLifecycleDays, d)
		}
		if !slices.Contains(days, d) {
			days = append(days, d)
		}
	}
	if len(days) > 5 {
		return in, allot.Errorf(allot.EINVALID, "At most 5 alert days; got %d.", len(days))
	}
	slices.Sort(days)
	slices.Reverse(days)
	in.AlertDays = days
	return in, nil
}

// SetLifecycleSettings changes the tenant's periods. Subscriptions already
// in Warning, Suspended or LockedOut move on by the new periods, counted
// from when they entered their status; alerts not yet sent follow the new
// thresholds.
func (s *DB) SetLifecycleSettings(ctx context.Context, in allot.LifecycleSettings) (allot.LifecycleSettings, error) {
	return s.updateSettings(ctx, func(allot.LifecycleSettings) allot.LifecycleSettings { return in })
}

// PatchLifecycleSettings is SetLifecycleSettings of some fields, merged
// with the settings read under the tenant's lock.
func (s *DB) PatchLifecycleSettings(ctx context.Context, p allot.LifecycleSettingsPatch) (allot.LifecycleSettings, error) {
	return s.updateSettings(ctx, p.Apply)
}

// updateSettings writes f of the tenant's settings, read in the writing
// transaction.
func (s *DB) updateSettings(ctx context.Context, f func(allot.LifecycleSettings) allot.LifecycleSettings) (allot.LifecycleSettings, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return allot.LifecycleSettings{}, err
	}
	var in allot.LifecycleSettings
	err = s.tx(ctx, func(tx *txn) error {
		old, err := lifecycleSettings(ctx, tx, a.TenantID)
		if err != nil {
			return err
		}
		if in, err = checkSettings(f(old)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO lifecycle_settings (tenant_id, grace_days, suspended_days, retention_days, alert_days) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id) DO UPDATE SET grace_days = excluded.grace_days, suspended_days = excluded.suspended_days,
			retention_days = excluded.retention_days, alert_days = excluded.alert_days`,
			a.TenantID, in.GraceDays, in.SuspendedDays, in.RetentionDays, toJSON(in.AlertDays)); err != nil {
			return err
		}
		subs, err := companySubs(ctx, tx, a.TenantID, `AND status <> 'Deleted'`)
		if err != nil {
			return err
		}
		for _, c := range subs {
			next, alert := nextLifecycle(c.Status, c.StatusSince, c.TermEnd, in), nextAlertAt(c, in)
			if _, err := tx.Exec(ctx, `UPDATE company_subscriptions SET next_lifecycle_at = ?, next_alert_at = ? WHERE tenant_id = ? AND id = ?`,
				nullTime(next), nullTime(alert), a.TenantID, c.ID); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, a.TenantID, "Update lifecycle settings", "Tenant", a.TenantID, toJSON(old), toJSON(in), "success")
	})
	if err != nil {
		return allot.LifecycleSettings{}, err
	}
	return in, nil
}

// companySubs lists the tenant's commercial subscriptions by creation
// time; cond narrows them.
func companySubs(ctx context.Context, tx *txn, tenantID, cond string) ([]*companySub, error) {
	rows, err := tx.Query(ctx, `SELECT `+companySubCols+` FROM company_subscriptions WHERE tenant_id = ? `+cond+` ORDER BY created_at, id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*companySub
	for rows.Next() {
		c, err := scanCompanySub(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// CompanySubscriptions lists the tenant's commercial subscriptions.
func (s *DB) CompanySubscriptions(ctx context.Context) ([]allot.CompanySubscription, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx *txn) ([]allot.CompanySubscription, error) {
		subs, err := companySubs(ctx, tx, a.TenantID, "")
		out := []allot.CompanySubscription{}
		for _, c := range subs {
			out = append(out, c.CompanySubscription)
		}
		return out, err
	})
}

// CompanySubscription returns one commercial subscription.
func (s *DB) CompanySubscription(ctx context.Context, id string) (*allot.CompanySubscription, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx *txn) (*allot.CompanySubscription, error) {
		c, err := findCompanySub(ctx, tx, a.TenantID, strings.ToLower(id))
		if err != nil {
			return nil, err
		}
		return &c.CompanySubscription, nil
	})
}

// validQuantity bounds a commercial subscription's units.
func validQuantity(q int) error {
	if q < 1 || q > MaxSeats {
		return allot.Errorf(allot.EINVALID, "quantity must be between 1 and %d; got %d.", MaxSeats, q)
	}
	return nil
}

// ensurePool creates the SKU's pool when the tenant has none, under id.
func (s *DB) ensurePool(ctx context.Context, tx *txn, tenantID, skuID, id string) error {
	if s.catalogIn(ctx, tx).SKUs[skuID] == nil {
		return allot.Errorf(allot.EINVALID, "SKU %s is not in the catalog.", skuID)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM subscriptions WHERE tenant_id = ? AND sku_id = ?`, tenantID, skuID).Scan(&n); err != nil || n > 0 {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO subscriptions (tenant_id, sku_id, id, enabled, created_at, capability) VALUES (?, ?, ?, 0, ?, 'Deleted')`,
		tenantID, skuID, id, fmtTime(s.now())); err != nil {
		return err
	}
	return s.audit(ctx, tx, tenantID, "Add subscription", "Subscription", skuID, "", toJSON(map[string]int{"seats": 0}), "success")
}

// insertCompanySub writes a new commercial subscription, keeps the pool in
// step and audits it.
func (s *DB) insertCompanySub(ctx context.Context, tx *txn, tenantID string, c *companySub, st allot.LifecycleSettings) error {
	if err := s.ensurePool(ctx, tx, tenantID, c.SkuID, c.ID); err != nil {
		return err
	}
	c.NextLifecycleAt = nextLifecycle(c.Status, c.StatusSince, c.TermEnd, st)
	c.nextAlert = nextAlertAt(c, st)
	if _, err := tx.Exec(ctx, `INSERT INTO company_subscriptions (tenant_id, id, sku_id, quantity, status, is_trial, created_at, term_start, term_end,
		next_lifecycle_at, status_since, alerted_days, next_alert_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tenantID, c.ID, c.SkuID, c.Quantity, c.Status, b2i(c.IsTrial), fmtTime(c.CreatedAt), fmtTime(c.TermStart), nullTime(c.TermEnd),
		nullTime(c.NextLifecycleAt), fmtTime(c.StatusSince), c.alerted, nullTime(c.nextAlert)); err != nil {
		return err
	}
	if err := s.syncPool(ctx, tx, tenantID, c.SkuID); err != nil {
		return err
	}
	return s.audit(ctx, tx, tenantID, "Add subscription", "CompanySubscription", c.ID, "", subAudit(c, ""), "success")
}

// CreateCompanySubscription buys a subscription: its units are Enabled at
// once and reach the users waiting for the SKU in their order.
func (s *DB) CreateCompanySubscription(ctx context.Context, in allot.CompanySubscriptionCreate) (*allot.CompanySubscription, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	if err := validQuantity(in.Quantity); err != nil {
		return nil, err
	}
	now := s.now()
	end := now.AddDate(1, 0, 0)
	if in.IsTrial {
		end = now.AddDate(0, 0, 30)
	}
	if in.TermEnd != nil {
		if !in.TermEnd.After(now) {
			return nil, allot.Errorf(allot.EINVALID, "The term end %s is not in the future.", fmtTime(*in.TermEnd))
		}
		end = in.TermEnd.UTC()
	}
	c := &companySub{CompanySubscription: allot.CompanySubscription{ID: s.newID(), SkuID: strings.ToLower(in.SkuID), Quantity: in.Quantity,
		Status: allot.SubEnabled, IsTrial: in.IsTrial, CreatedAt: now, TermStart: now, TermEnd: &end, StatusSince: now}}
	err = s.tx(ctx, func(tx *txn) error {
		st, err := lifecycleSettings(ctx, tx, a.TenantID)
		if err != nil {
			return err
		}
		return s.insertCompanySub(ctx, tx, a.TenantID, c, st)
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return &c.CompanySubscription, nil
}

// ImportCompanySubscription inserts a subscription as it stands, for the
// demo and tests: a given status, trial flag and dates (CreatedAt, TermStart
// and StatusSince default to now; NextLifecycleAt is derived, so one whose
// step is already due moves on at the next scheduler run). It creates the
// SKU's pool when missing and audits like a purchase.
func (s *DB) ImportCompanySubscription(ctx context.Context, in allot.CompanySubscription) (*allot.CompanySubscription, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.Contains([]string{allot.SubEnabled, allot.SubWarning, allot.SubSuspended, allot.SubLockedOut, allot.SubDeleted}, in.Status) {
		return nil, allot.Errorf(allot.EINVALID, "Unknown subscription status %q; use Enabled, Warning, Suspended, LockedOut or Deleted.", in.Status)
	}
	if err := validQuantity(in.Quantity); err != nil {
		return nil, err
	}
	if in.ID == "" {
		in.ID = s.newID()
	} else if id, ok := allot.ParseID(in.ID); ok {
		in.ID = id
	} else {
		return nil, allot.Errorf(allot.EINVALID, "Invalid subscription id %q.", in.ID)
	}
	now := s.now()
	for _, t := range []*time.Time{&in.CreatedAt, &in.TermStart, &in.StatusSince} {
		if t.IsZero() {
			*t = now
		}
		*t = t.UTC()
	}
	if in.TermEnd != nil {
		end := in.TermEnd.UTC()
		if !end.After(in.TermStart) {
			return nil, allot.Errorf(allot.EINVALID, "The term end %s is not after the term start %s.", fmtTime(end), fmtTime(in.TermStart))
		}
		in.TermEnd = &end
	}
	in.SkuID = strings.ToLower(in.SkuID)
	c := &companySub{CompanySubscription: in}
	err = s.tx(ctx, func(tx *txn) error {
		st, err := lifecycleSettings(ctx, tx, a.TenantID)
		if err != nil {
			return err
		}
		return s.insertCompanySub(ctx, tx, a.TenantID, c, st)
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return &c.CompanySubscription, nil
}

// changeCompanySub applies change to one of the tenant's commercial
// subscriptions in one transaction; change returns the subscription as it
// should be, or an error that leaves everything as it was.
func (s *DB) changeCompanySub(ctx context.Context, id, action string, change func(c companySub, now time.Time) (*companySub, error)) (*allot.CompanySubscription, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	var out *companySub
	err = s.tx(ctx, func(tx *txn) error {
		c, err := findCompanySub(ctx, tx, a.TenantID, strings.ToLower(id))
		if err != nil {
			return err
		}
		st, err := lifecycleSettings(ctx, tx, a.TenantID)
		if err != nil {
			return err
		}
		if out, err = change(*c, s.now()); err != nil || out == nil {
			out = c
			return err
		}
		ok, err := s.saveCompanySub(ctx, tx, a.TenantID, c, out, st, action)
		if err == nil && !ok {
			err = allot.Errorf(allot.ECONFLICT, "Subscription %s changed meanwhile; try again.", c.ID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return &out.CompanySubscription, nil
}

func conflictStatus(c companySub, what string) error {
	return allot.Errorf(allot.ECONFLICT, "Subscription %s is %s; %s.", c.ID, c.Status, what)
}

// newTerm starts a term ending at end: Enabled from now, alerts afresh.
func newTerm(c companySub, now, end time.Time) *companySub {
	if c.Status != allot.SubEnabled {
		c.StatusSince = now
	}
	c.Status, c.TermStart, c.TermEnd, c.alerted = allot.SubEnabled, now, &end, 0
	return &c
}

// RenewSubscription extends an Enabled or Warning subscription's term.
func (s *DB) RenewSubscription(ctx context.Context, id string, termEnd *time.Time) (*allot.CompanySubscription, error) {
	return s.changeCompanySub(ctx, id, "renew", func(c companySub, now time.Time) (*companySub, error) {
		if c.Status != allot.SubEnabled && c.Status != allot.SubWarning {
			return nil, conflictStatus(c, "only an Enabled or Warning subscription can be renewed (reactivate a Suspended one)")
		}
		var end time.Time
		switch {
		case termEnd != nil:
			end = termEnd.UTC()
			if !end.After(now) || (c.TermEnd != nil && !end.After(*c.TermEnd)) {
				return nil, allot.Errorf(allot.EINVALID, "The new term end %s must be in the future and after the current one.", fmtTime(end))
			}
		case c.TermEnd != nil && c.TermEnd.AddDate(1, 0, 0).After(now):
			end = c.TermEnd.AddDate(1, 0, 0)
		default:
			end = now.AddDate(1, 0, 0)
		}
		return newTerm(c, now, end), nil
	})
}

// CancelSubscription locks a subscription out at once.
func (s *DB) CancelSubscription(ctx context.Context, id string) (*allot.CompanySubscription, error) {
	return s.changeCompanySub(ctx, id, "cancel", func(c companySub, now time.Time) (*companySub, error) {
		if c.Status == allot.SubLockedOut || c.Status == allot.SubDeleted {
			return nil, conflictStatus(c, "it is already cancelled")
		}
		c.Status, c.StatusSince, c.alerted = allot.SubLockedOut, now, 0
		return &c, nil
	})
}

// ReactivateSubscription enables a Warning or Suspended subscription with
// a new term of a year.
func (s *DB) ReactivateSubscription(ctx context.Context, id string) (*allot.CompanySubscription, error) {
	return s.changeCompanySub(ctx, id, "reactivate", func(c companySub, now time.Time) (*companySub, error) {
		if c.Status != allot.SubWarning && c.Status != allot.SubSuspended {
			return nil, conflictStatus(c, "only a Warning or Suspended subscription can be reactivated")
		}
		return newTerm(c, now, now.AddDate(1, 0, 0)), nil
	})
}

// ConvertTrial makes a trial a paid subscription with a term of a year.
func (s *DB) ConvertTrial(ctx context.Context, id string) (*allot.CompanySubscription, error) {
	return s.changeCompanySub(ctx, id, "convert", func(c companySub, now time.Time) (*companySub, error) {
		if !c.IsTrial {
			return nil, allot.Errorf(allot.ECONFLICT, "Subscription %s is not a trial.", c.ID)
		}
		if c.Status != allot.SubEnabled && c.Status != allot.SubWarning {
			return nil, conflictStatus(c, "only an Enabled or Warning trial can be converted")
		}
		out := newTerm(c, now, now.AddDate(1, 0, 0))
		out.IsTrial = false
		return out, nil
	})
}

// SetSubscriptionQuantity sets an Enabled subscription's units. Fewer
// units take no license away: the SKU may be over-allocated (§2.3.4).
func (s *DB) SetSubscriptionQuantity(ctx context.Context, id string, quantity int) (*allot.CompanySubscription, error) {
	if err := validQuantity(quantity); err != nil {
		return nil, err
	}
	return s.changeCompanySub(ctx, id, "quantity", func(c companySub, now time.Time) (*companySub, error) {
		if c.Status != allot.SubEnabled {
			return nil, conflictStatus(c, "only an Enabled subscription's quantity can change")
		}
		if c.Quantity == quantity {
			return nil, nil
		}
		c.Quantity = quantity
		return &c, nil
	})
}

// runLifecycle applies, for every tenant, the subscription transitions
// that have come due by the store's clock, then the alerts before terms
// end (docs/RULES.md §2.6). Each step is its own transaction, so a
// subscription overdue by several periods walks each with its own audit
// line, and a crash loses at most the step in hand, which stays due.
func (s *DB) runLifecycle(ctx context.Context) (int, error) {
	now := fmtTime(s.now())
	n := 0
	for _, pass := range []struct {
		query string
		step  func(context.Context, dueItem, string) (bool, error)
	}{
		{`SELECT tenant_id, id, next_lifecycle_at FROM company_subscriptions WHERE next_lifecycle_at <= ? ORDER BY next_lifecycle_at, tenant_id, id LIMIT 500`, s.lifecycleStep},
		{`SELECT tenant_id, id, next_alert_at FROM company_subscriptions WHERE next_alert_at <= ? ORDER BY next_alert_at, tenant_id, id LIMIT 500`, s.alertStep},
	} {
		for {
			var due []dueItem
			err := s.readTx(ctx, func(tx *txn) error {
				rows, err := tx.Query(ctx, pass.query, now)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					var d dueItem
					if err := rows.Scan(&d.tenantID, &d.id, &d.at); err != nil {
						return err
					}
					due = append(due, d)
				}
				return rows.Err()
			})
			if err != nil {
				return n, err
			}
			if len(due) == 0 {
				break
			}
			applied := 0
			for _, d := range due {
				ok, err := pass.step(ctx, d, now)
				if err != nil {
					return n, err
				}
				if ok {
					applied++
				}
			}
			n += applied
			// Nothing applied: another replica is moving these; it finishes them.
			if applied == 0 {
				break
			}
		}
	}
	return n, nil
}

// dueItem is a subscription with a step due at at.
type dueItem struct{ tenantID, id, at string }

// lifecycleStep moves one subscription one step, if it is still due as
// read: Enabled to Warning at its term end, Warning to Suspended after the
// grace period, Suspended and LockedOut to Deleted after the suspended
// period. The status is entered at the step's due time, not now, so a
// catch-up keeps the periods as they would have run.
func (s *DB) lifecycleStep(ctx context.Context, d dueItem, now string) (bool, error) {
	applied, err := s.dueStep(ctx, d, now, func(c *companySub) *time.Time { return c.NextLifecycleAt },
		func(ctx context.Context, tx *txn, c *companySub, st allot.LifecycleSettings) (bool, error) {
			after := *c
			switch c.Status {
			case allot.SubEnabled:
				after.Status = allot.SubWarning
			case allot.SubWarning:
				after.Status = allot.SubSuspended
			case allot.SubSuspended, allot.SubLockedOut:
				after.Status = allot.SubDeleted
			default:
				return false, nil
			}
			after.StatusSince = *c.NextLifecycleAt
			applied, err := s.saveCompanySub(ctx, tx, d.tenantID, c, &after, st, "lifecycle")
			if err != nil || !applied {
				return false, err
			}
			return true, s.lifecycleHook()
		})
	if applied {
		s.notify()
	}
	return applied, err
}

// dueStep runs step in a transaction on d's subscription, with its
// tenant's lifecycle settings and the lifecycle actor in step's context,
// if the subscription is still due as read: dueAt, the time the step moves
// on, is d's and not after now (another replica may have taken the step,
// or an admin changed the subscription, since the due list was read). It
// returns what step returns, or false when nothing was due.
func (s *DB) dueStep(ctx context.Context, d dueItem, now string, dueAt func(*companySub) *time.Time,
	step func(context.Context, *txn, *companySub, allot.LifecycleSettings) (bool, error)) (bool, error) {
	ctx = allot.NewContextWithActor(ctx, allot.Actor{TenantID: d.tenantID, Name: lifecycleActor})
	applied := false
	err := s.tx(ctx, func(tx *txn) error {
		applied = false // a retried transaction starts again
		c, err := findCompanySub(ctx, tx, d.tenantID, d.id)
		if allot.ErrorCode(err) == allot.ENOTFOUND {
			return nil
		}
		if err != nil || dueAt(c) == nil || fmtTime(*dueAt(c)) != d.at || d.at > now {
			return err
		}
		st, err := lifecycleSettings(ctx, tx, d.tenantID)
		if err != nil {
			return err
		}
		applied, err = step(ctx, tx, c, st)
		return err
	})
	return applied && err == nil, err
}

// alertStep raises the "term ends in N days" alert of one subscription, if
// still due as read: for the nearest threshold already reached, once per
// term; thresholds passed meanwhile (downtime) are not raised late.
func (s *DB) alertStep(ctx context.Context, d dueItem, now string) (bool, error) {
	return s.dueStep(ctx, d, now, func(c *companySub) *time.Time { return c.nextAlert },
		func(ctx context.Context, tx *txn, c *companySub, st allot.LifecycleSettings) (bool, error) {
			at := parseTime(now)
			threshold := 0
			for _, n := range st.AlertDays {
				if alertThreshold(c, n) && !c.TermEnd.Add(-days(n)).After(at) && (threshold == 0 || n < threshold) {
					threshold = n
				}
			}
			moved := *c
			if threshold > 0 {
				moved.alerted = threshold
			}
			next := nextAlertAt(&moved, st)
			res, err := tx.Exec(ctx, `UPDATE company_subscriptions SET alerted_days = ?, next_alert_at = ? WHERE tenant_id = ? AND id = ? AND next_alert_at = ?`,
				moved.alerted, nullTime(next), d.tenantID, c.ID, d.at)
			if err != nil {
				return false, err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 || threshold == 0 || !c.TermEnd.After(at) {
				return false, err
			}
			data := s.subAlertData(ctx, tx, c, "")
			data["daysLeft"], data["thresholdDays"] = int((c.TermEnd.Sub(at)+days(1)-time.Nanosecond)/days(1)), threshold
			_, err = s.emitAlert(ctx, tx, d.tenantID, alerts.SubscriptionExpiring, data, "")
			return err == nil, err
		})
}

// scheduledBusyInterval is how often, by the store's clock, processing
// looks for scheduled steps while the queue is not empty.
const scheduledBusyInterval = 5 * time.Second

// maybeRunScheduled runs RunScheduled when something is due: whenever the
// queue is idle, else at most every scheduledBusyInterval. Looking is a
// probe of an index or two, so an idle worker's polls stay cheap.
func (s *DB) maybeRunScheduled(ctx context.Context, idle bool) (int, error) {
	if !idle {
		now := s.now()
		s.scheduledMu.Lock()
		if !s.scheduledAt.IsZero() && now.Sub(s.scheduledAt) < scheduledBusyInterval {
			s.scheduledMu.Unlock()
			return 0, nil
		}
		s.scheduledAt = now
		s.scheduledMu.Unlock()
	}
	if due, err := s.scheduledDue(ctx); err != nil || !due {
		return 0, err
	}
	return s.RunScheduled(ctx)
}

// scheduledDue reports whether a lifecycle step, an alert or a purge of a
// deleted item has come due.
func (s *DB) scheduledDue(ctx context.Context) (bool, error) {
	now := fmtTime(s.now())
	var n int
	err := s.readTx(ctx, func(tx *txn) error {
		return tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM company_subscriptions WHERE next_lifecycle_at <= ? LIMIT 1) x)
			+ (SELECT COUNT(*) FROM (SELECT 1 FROM company_subscriptions WHERE next_alert_at <= ? LIMIT 1) y)
			+ (SELECT COUNT(*) FROM (SELECT 1 FROM deleted_items WHERE purge_at <= ? LIMIT 1) z)`, now, now, now).Scan(&n)
	})
	return n > 0, err
}
