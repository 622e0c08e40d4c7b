package store

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"math/big"
	"slices"
	"strings"

	"github.com/allot-dev/allot"
)

// SetPrice sets the price per seat of one of the tenant's subscriptions.
func (s *DB) SetPrice(ctx context.Context, skuID string, p allot.Price) (*allot.Price, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	skuID = strings.ToLower(skuID)
	if p.Units < 0 || p.Units > allot.MaxPrice*allot.PriceScale {
		return nil, allot.Errorf(allot.EINVALID, "The price per seat must be between 0 and %d.", allot.MaxPrice)
	}
	if !allot.ValidCurrency(p.Currency) {
		c := p.Currency
		if len(c) > 12 {
			c = c[:12] + "…"
		}
		return nil, allot.Errorf(allot.EINVALID, "Invalid value '%s' for currency: give an ISO 4217 code such as EUR or USD.", c)
	}
	out := allot.Price{SkuID: skuID, Units: p.Units, Currency: p.Currency, UpdatedAt: s.now()}
	err = s.tx(ctx, func(tx *txn) error {
		if _, err := s.subscription(ctx, tx, a.TenantID, skuID); err != nil {
			return err
		}
		old, err := s.price(ctx, tx, a.TenantID, skuID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM subscription_prices WHERE tenant_id = ? AND sku_id = ?`, a.TenantID, skuID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO subscription_prices (tenant_id, sku_id, price_units, currency, updated_at) VALUES (?, ?, ?, ?, ?)`,
			a.TenantID, skuID, out.Units, out.Currency, fmtTime(out.UpdatedAt)); err != nil {
			return err
		}
		return s.audit(ctx, tx, a.TenantID, "Update subscription price", "Subscription", skuID, priceJSON(old), priceJSON(&out), "success")
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ClearPrice removes a subscription's price; the cost report then shows
// its seats without spend.
func (s *DB) ClearPrice(ctx context.Context, skuID string) error {
	a, err := actorOf(ctx)
	if err != nil {
		return err
	}
	skuID = strings.ToLower(skuID)
	return s.tx(ctx, func(tx *txn) error {
		if _, err := s.subscription(ctx, tx, a.TenantID, skuID); err != nil {
			return err
		}
		old, err := s.price(ctx, tx, a.TenantID, skuID)
		if err != nil || old == nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM subscription_prices WHERE tenant_id = ? AND sku_id = ?`, a.TenantID, skuID); err != nil {
			return err
		}
		return s.audit(ctx, tx, a.TenantID, "Update subscription price", "Subscription", skuID, priceJSON(old), "", "success")
	})
}

// Price returns a subscription's price, or nil when it has none.
func (s *DB) Price(ctx context.Context, skuID string) (*allot.Price, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	skuID = strings.ToLower(skuID)
	return read(ctx, s, func(tx *txn) (*allot.Price, error) {
		if _, err := s.subscription(ctx, tx, a.TenantID, skuID); err != nil {
			return nil, err
		}
		return s.price(ctx, tx, a.TenantID, skuID)
	})
}

func (s *DB) price(ctx context.Context, tx *txn, tenantID, skuID string) (*allot.Price, error) {
	p := allot.Price{SkuID: skuID}
	var updated string
	err := tx.QueryRow(ctx, `SELECT price_units, currency, updated_at FROM subscription_prices WHERE tenant_id = ? AND sku_id = ?`, tenantID, skuID).
		Scan(&p.Units, &p.Currency, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	p.UpdatedAt = parseTime(updated)
	return &p, err
}

func priceJSON(p *allot.Price) string {
	if p == nil {
		return ""
	}
	return toJSON(map[string]string{"pricePerSeat": p.String(), "currency": p.Currency})
}

// CostReport reports, per subscription, seats bought, consumed and idle
// with their spend; per group, the seats held through its assignments;
// and totals per currency. Spend is what the seats bought cost: an idle
// seat is paid for too, which is why idle spend is shown apart. Seats
// bought are the paid units: Enabled and Warning units of subscriptions
// that are not trials. Suspended, cancelled and trial units cost nothing;
// holders fill the free trial units first, so idle seats are the paid ones
// nobody needs.
func (s *DB) CostReport(ctx context.Context) (*allot.CostReport, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	rep := &allot.CostReport{Products: []allot.ProductCost{}, Groups: []allot.GroupCost{}, Totals: []allot.CurrencyTotal{}}
	err = s.readTx(ctx, func(tx *txn) error {
		cat := s.catalogIn(ctx, tx)
		prices := map[string]allot.Price{}
		// Paid units are the Enabled and Warning units of subscriptions that
		// are not trials (docs/SUBSCRIPTIONS.md, "Cost"); served trial units
		// are read apart, since holders take those free units first.
		rows, err := tx.Query(ctx, `SELECT s.sku_id,
				COALESCE((SELECT SUM(c.quantity) FROM company_subscriptions c WHERE c.tenant_id = s.tenant_id AND c.sku_id = s.sku_id
					AND c.status IN ('Enabled', 'Warning') AND c.is_trial = 0), 0),
				COALESCE((SELECT SUM(c.quantity) FROM company_subscriptions c WHERE c.tenant_id = s.tenant_id AND c.sku_id = s.sku_id
					AND c.status IN ('Enabled', 'Warning') AND c.is_trial <> 0), 0),
				s.consumed, COALESCE(p.price_units, -1), COALESCE(p.currency, '')
			FROM subscriptions s LEFT JOIN subscription_prices p ON p.tenant_id = s.tenant_id AND p.sku_id = s.sku_id
			WHERE s.tenant_id = ? ORDER BY s.sku_id`, a.TenantID)
		if err != nil {
			return err
		}
		totals := map[string]*[2]*big.Int{}
		for rows.Next() {
			var pc allot.ProductCost
			var units int64
			var trial int
			if err := rows.Scan(&pc.SkuID, &pc.Bought, &trial, &pc.Consumed, &units, &pc.Currency); err != nil {
				rows.Close()
				return err
			}
			pc.PartNumber, pc.DisplayName = skuNames(cat, pc.SkuID)
			pc.Idle = max(pc.Bought-max(pc.Consumed-trial, 0), 0)
			if units >= 0 {
				prices[pc.SkuID] = allot.Price{SkuID: pc.SkuID, Units: units, Currency: pc.Currency}
				spend, idle := times(units, pc.Bought), times(units, pc.Idle)
				pc.PricePerSeat = allot.FormatAmount(big.NewInt(units))
				pc.Spend, pc.IdleSpend = allot.FormatAmount(spend), allot.FormatAmount(idle)
				t := totals[pc.Currency]
				if t == nil {
					t = &[2]*big.Int{new(big.Int), new(big.Int)}
					totals[pc.Currency] = t
				}
				t[0].Add(t[0], spend)
				t[1].Add(t[1], idle)
			}
			rep.Products = append(rep.Products, pc)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range slices.Sorted(maps.Keys(totals)) {
			rep.Totals = append(rep.Totals, allot.CurrencyTotal{Currency: c, Spend: allot.FormatAmount(totals[c][0]), IdleSpend: allot.FormatAmount(totals[c][1])})
		}
		return s.groupCosts(ctx, tx, a.TenantID, cat, prices, rep)
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// groupCosts counts, per group and SKU, the users holding the SKU through
// the group (an Active state whose source is the group).
func (s *DB) groupCosts(ctx context.Context, tx *txn, tenantID string, cat *allot.Catalog, prices map[string]allot.Price, rep *allot.CostReport) error {
	rows, err := tx.Query(ctx, `SELECT ls.source, COALESCE(g.display_name, ''), ls.sku_id, COUNT(*)
		FROM license_states ls LEFT JOIN dir_groups g ON g.tenant_id = ls.tenant_id AND g.id = ls.source
		WHERE ls.tenant_id = ? AND ls.source <> '' AND ls.state = 'Active'
		GROUP BY ls.source, g.display_name, ls.sku_id ORDER BY g.display_name, ls.source, ls.sku_id`, tenantID)
	if err != nil {
		return err
	}
	defer rows.Close()
	var cur *allot.GroupCost
	var totals map[string]*big.Int
	flush := func() {
		if cur == nil {
			return
		}
		for _, c := range slices.Sorted(maps.Keys(totals)) {
			cur.Totals = append(cur.Totals, allot.CurrencyTotal{Currency: c, Spend: allot.FormatAmount(totals[c])})
		}
		rep.Groups = append(rep.Groups, *cur)
	}
	for rows.Next() {
		var gid, name string
		var gp allot.GroupProductCost
		if err := rows.Scan(&gid, &name, &gp.SkuID, &gp.Seats); err != nil {
			return err
		}
		if cur == nil || cur.GroupID != gid {
			flush()
			cur = &allot.GroupCost{GroupID: gid, DisplayName: name, Products: []allot.GroupProductCost{}, Totals: []allot.CurrencyTotal{}}
			totals = map[string]*big.Int{}
		}
		gp.PartNumber, _ = skuNames(cat, gp.SkuID)
		if p, ok := prices[gp.SkuID]; ok {
			spend := times(p.Units, gp.Seats)
			gp.PricePerSeat, gp.Currency, gp.Spend = p.String(), p.Currency, allot.FormatAmount(spend)
			if totals[p.Currency] == nil {
				totals[p.Currency] = new(big.Int)
			}
			totals[p.Currency].Add(totals[p.Currency], spend)
		}
		cur.Products = append(cur.Products, gp)
	}
	flush()
	return rows.Err()
}

func times(units int64, n int) *big.Int {
	return new(big.Int).Mul(big.NewInt(units), big.NewInt(int64(n)))
}

func skuNames(cat *allot.Catalog, skuID string) (part, display string) {
	if sku := cat.SKUs[skuID]; sku != nil {
		return sku.PartNumber, sku.DisplayName
	}
	return "", ""
}
