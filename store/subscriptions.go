package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/allot-dev/allot"
)

// MaxSeats bounds a subscription's seats so arithmetic never overflows.
const MaxSeats = 10_000_000

const subCols = `id, sku_id, enabled, suspended, warning, locked_out, consumed, created_at, capability`

// scanSub reads a SKU's pool. Its capabilityStatus is derived from its
// commercial subscriptions whenever they change (syncPool, capabilityOf)
// and stored with the sums, so every reader sees the same one.
func scanSub(r interface{ Scan(...any) error }) (*allot.Subscription, error) {
	var s allot.Subscription
	var created string
	if err := r.Scan(&s.ID, &s.SkuID, &s.Enabled, &s.Suspended, &s.Warning, &s.LockedOut, &s.ConsumedUnits, &created, &s.CapabilityStatus); err != nil {
		return nil, err
	}
	s.CreatedAt = parseTime(created)
	return &s, nil
}

// Subscriptions lists the tenant's subscriptions by SKU id.
func (s *DB) Subscriptions(ctx context.Context) ([]allot.Subscription, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx *txn) ([]allot.Subscription, error) {
		rows, err := tx.Query(ctx, `SELECT `+subCols+` FROM subscriptions WHERE tenant_id = ? ORDER BY sku_id`, a.TenantID)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := []allot.Subscription{}
		for rows.Next() {
			sub, err := scanSub(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, *sub)
		}
		return out, rows.Err()
	})
}

// Subscription returns the tenant's subscription to a SKU.
func (s *DB) Subscription(ctx context.Context, skuID string) (*allot.Subscription, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx *txn) (*allot.Subscription, error) { return s.subscription(ctx, tx, a.TenantID, skuID) })
}

func (s *DB) subscription(ctx context.Context, tx *txn, tenantID, skuID string) (*allot.Subscription, error) {
	sub, err := scanSub(tx.QueryRow(ctx, `SELECT `+subCols+` FROM subscriptions WHERE tenant_id = ? AND sku_id = ?`, tenantID, strings.ToLower(skuID)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(skuID)
	}
	return sub, err
}

// AddSubscription gives the tenant a subscription to a catalog SKU: its
// pool, and one commercial subscription without a term under the pool's
// id (docs/RULES.md §2.6).
func (s *DB) AddSubscription(ctx context.Context, skuID string, seats int) (*allot.Subscription, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	skuID = strings.ToLower(skuID)
	if seats < 0 || seats > MaxSeats {
		return nil, allot.Errorf(allot.EINVALID, "seats must be between 0 and %d.", MaxSeats)
	}
	err = s.tx(ctx, func(tx *txn) error {
		// Checked inside the transaction, which a catalog replacement
		// serialises with: it refuses to drop a subscribed SKU, so a SKU
		// seen here cannot vanish before this subscription commits.
		if s.catalogIn(ctx, tx).SKUs[skuID] == nil {
			return allot.Errorf(allot.EINVALID, "SKU %s is not in the catalog.", skuID)
		}
		if _, err := s.subscription(ctx, tx, a.TenantID, skuID); err == nil {
			return allot.Errorf(allot.ECONFLICT, "The tenant already has a subscription to SKU %s; change its seats instead.", skuID)
		}
		id, now := s.newID(), fmtTime(s.now())
		if _, err := tx.Exec(ctx, `INSERT INTO subscriptions (tenant_id, sku_id, id, enabled, created_at, capability) VALUES (?, ?, ?, ?, ?, 'Enabled')`,
			a.TenantID, skuID, id, seats, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO company_subscriptions (tenant_id, id, sku_id, quantity, status, is_trial, created_at, term_start, term_end, next_lifecycle_at, status_since)
			VALUES (?, ?, ?, ?, 'Enabled', 0, ?, ?, NULL, NULL, ?)`, a.TenantID, id, skuID, seats, now, now, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, a.TenantID, "Add subscription", "Subscription", skuID, "", toJSON(map[string]int{"seats": seats}), "success")
	})
	if err != nil {
		return nil, err
	}
	return s.Subscription(ctx, skuID)
}

// SetSeats sets the seats of a subscription. More seats queue the users in
// error on the SKU, waiting users first in their order; fewer seats take no
// license away (the subscription is then over-allocated, docs/RULES.md §2.3.4).
func (s *DB) SetSeats(ctx context.Context, skuID string, seats int) (*allot.Subscription, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	if err := validSeats(seats); err != nil {
		return nil, err
	}
	err = s.tx(ctx, func(tx *txn) error {
		return s.setSeats(ctx, tx, a.TenantID, strings.ToLower(skuID), func(int) int { return seats })
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return s.Subscription(ctx, skuID)
}

// validSeats bounds a subscription's seats.
func validSeats(seats int) error {
	if seats < 0 || seats > MaxSeats {
		return allot.Errorf(allot.EINVALID, "seats must be between 0 and %d.", MaxSeats)
	}
	return nil
}

// setSeats sets the SKU's enabled seats to f of them. The difference goes
// to or comes from its Enabled commercial subscriptions (moveEnabledUnits),
// and the pool follows them as after any lifecycle change (syncPool: seat
// alerts, users in error queued).
func (s *DB) setSeats(ctx context.Context, tx *txn, tenantID, skuID string, f func(old int) int) error {
	sub, err := s.subscription(ctx, tx, tenantID, skuID)
	if err != nil {
		return err
	}
	seats := f(sub.Enabled)
	if err := validSeats(seats); err != nil {
		return err
	}
	if seats == sub.Enabled {
		return nil
	}
	if err := s.moveEnabledUnits(ctx, tx, tenantID, skuID, seats-sub.Enabled); err != nil {
		return err
	}
	if err := s.audit(ctx, tx, tenantID, "Update subscription", "Subscription", skuID, toJSON(map[string]int{"seats": sub.Enabled}), toJSON(map[string]int{"seats": seats}), "success"); err != nil {
		return err
	}
	return s.syncPool(ctx, tx, tenantID, skuID)
}

// Purchase adds seats; the named users (at most 20) are evaluated at once,
// in order, so the new seats go to them before anyone else (docs/RULES.md §2.3.4).
func (s *DB) Purchase(ctx context.Context, skuID string, add int, userIDs []string) (*allot.Subscription, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	if add < 1 || add > MaxSeats {
		return nil, allot.Errorf(allot.EINVALID, "quantity must be between 1 and %d.", MaxSeats)
	}
	if len(userIDs) > allot.MaxBatch {
		return nil, allot.Errorf(allot.EINVALID, "Licenses can be purchased for at most %d users at a time; got %d.", allot.MaxBatch, len(userIDs))
	}
	skuID = strings.ToLower(skuID)
	err = s.tx(ctx, func(tx *txn) error {
		var uids []string
		for _, id := range userIDs {
			u, err := s.findUser(ctx, tx, a.TenantID, id)
			if err != nil {
				return err
			}
			uids = append(uids, u.ID)
		}
		if err := s.setSeats(ctx, tx, a.TenantID, skuID, func(old int) int { return old + add }); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, a.TenantID, "Purchase licenses", "Subscription", skuID, "", toJSON(map[string]any{"quantity": add, "users": uids}), "success"); err != nil {
			return err
		}
		if len(uids) == 0 {
			return nil
		}
		_, err := s.evaluateUsers(ctx, tx, a.TenantID, uids, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return s.Subscription(ctx, skuID)
}
