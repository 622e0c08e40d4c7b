package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/catalog"
)

// Catalog returns the catalog in force.
func (s *DB) Catalog() *allot.Catalog {
	ctx := context.Background()
	cat, err := read(ctx, s, func(tx *txn) (*allot.Catalog, error) { return s.catalogIn(ctx, tx), nil })
	if err != nil {
		// The database is unreachable: the catalog as last read.
		s.mu.RLock()
		defer s.mu.RUnlock()
		return s.cat
	}
	return cat
}

// catalogIn returns the catalog in force as tx sees it. Another replica
// may have replaced it: a one-row read of its version tells, and only then
// is it reloaded.
func (s *DB) catalogIn(ctx context.Context, tx *txn) *allot.Catalog {
	s.mu.RLock()
	cat, current := s.cat, s.catVersion
	s.mu.RUnlock()
	var version, body string
	if err := tx.QueryRow(ctx, `SELECT value FROM settings WHERE key = 'catalog_version'`).Scan(&version); err != nil || version == current {
		return cat
	}
	if err := tx.QueryRow(ctx, `SELECT value FROM settings WHERE key = 'catalog'`).Scan(&body); err != nil {
		s.log.Error("reloading the catalog", "err", err)
		return cat
	}
	c, err := catalog.Parse(strings.NewReader(body))
	if err != nil {
		s.log.Error("reloading the catalog", "err", err)
		return cat
	}
	s.mu.Lock()
	s.cat, s.catVersion = c, version
	s.mu.Unlock()
	return c
}

func (s *DB) loadCatalog(ctx context.Context, given *allot.Catalog) error {
	var stored, version string
	err := s.readTx(ctx, func(tx *txn) error {
		err := tx.QueryRow(ctx, `SELECT value FROM settings WHERE key = 'catalog'`).Scan(&stored)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT value FROM settings WHERE key = 'catalog_version'`).Scan(&version); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if given == nil {
		if stored == "" {
			given = catalog.Demo()
		} else {
			c, err := catalog.Parse(strings.NewReader(stored))
			if err != nil {
				return fmt.Errorf("stored catalog: %w", err)
			}
			s.mu.Lock()
			s.cat, s.catVersion = c, version
			s.mu.Unlock()
			return nil
		}
	}
	return s.setCatalog(ctx, given, stored)
}

// ReplaceCatalog installs a new catalog (docs/RULES.md §2.3.3) in one transaction:
// it refuses to drop a SKU that a subscription or an assignment uses, drops
// plans a SKU loses from the disabledPlans of its assignments (a plan a SKU
// gains is enabled, since assignments list what is off), and queues the
// users holding or assigned a SKU whose plans or plan rules changed.
func (s *DB) ReplaceCatalog(ctx context.Context, c *allot.Catalog) error {
	if c == nil {
		return allot.Errorf(allot.EINVALID, "A catalog is required.")
	}
	return s.setCatalog(ctx, c, "")
}

func (s *DB) setCatalog(ctx context.Context, c *allot.Catalog, stored string) error {
	body, err := catalog.Marshal(c)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	version := hex.EncodeToString(sum[:])
	if string(body) == stored {
		s.mu.Lock()
		s.cat, s.catVersion = c, version
		s.mu.Unlock()
		return nil
	}
	// s.mu is not held across the transaction: a batch in progress reads
	// the catalog while holding the database's write lock.
	err = s.tx(ctx, func(tx *txn) error {
		if s.dialect == dialectPostgres {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('allot:catalog'))`); err != nil {
				return err
			}
			// Every tenant's write lock too (SQLite's immediate transaction
			// already excludes other writers), so that no subscription or
			// assignment of a SKU this catalog drops commits meanwhile.
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('tenant:' || id)) FROM (SELECT id FROM tenants ORDER BY id) t`); err != nil {
				return err
			}
		}
		old, err := s.storedCatalog(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.refuseDroppedSKUsInUse(ctx, tx, old, c); err != nil {
			return err
		}
		if err := s.refuseConflictingGroups(ctx, tx, c); err != nil {
			return err
		}
		if err := s.catalogChanged(ctx, tx, c); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM settings WHERE key IN ('catalog', 'catalog_version')`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES ('catalog', ?), ('catalog_version', ?)`, string(body), version); err != nil {
			return err
		}
		if old == nil {
			// Nothing to compare with: every user with a unit or a state,
			// in every tenant.
			_, err := tx.Exec(ctx, `INSERT INTO work (tenant_id, kind, target_id, enqueued_at)
				SELECT DISTINCT tenant_id, 'user', user_id, CAST(? AS TEXT) FROM (
					SELECT tenant_id, user_id FROM license_states
					UNION SELECT m.tenant_id, m.member_id FROM memberships m JOIN assignments a ON a.tenant_id = m.tenant_id AND a.target_id = m.group_id
					UNION SELECT tenant_id, target_id FROM assignments WHERE target_kind = 'user') x`, fmtTime(s.now()))
			return err
		}
		d := catalog.Compare(old, c)
		if err := s.pruneDisabledPlans(ctx, tx, d); err != nil {
			return err
		}
		return s.enqueueSKUHolders(ctx, tx, d.Reevaluate())
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.cat, s.catVersion = c, version
	s.mu.Unlock()
	s.notify()
	return nil
}

// storedCatalog returns the catalog the database holds as tx sees it, nil
// when it holds none (or one that no longer parses: then everything is
// treated as changed).
func (s *DB) storedCatalog(ctx context.Context, tx *txn) (*allot.Catalog, error) {
	var version, body string
	err := tx.QueryRow(ctx, `SELECT value FROM settings WHERE key = 'catalog_version'`).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	s.mu.RLock()
	cat, current := s.cat, s.catVersion
	s.mu.RUnlock()
	if cat != nil && version == current {
		return cat, nil
	}
	err = tx.QueryRow(ctx, `SELECT value FROM settings WHERE key = 'catalog'`).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	c, err := catalog.Parse(strings.NewReader(body))
	if err != nil {
		s.log.Error("the stored catalog does not parse; replacing it", "err", err)
		return nil, nil
	}
	return c, nil
}

// refuseDroppedSKUsInUse refuses a catalog without a SKU that a tenant
// subscribes to or that is assigned: their seats and licenses would name
// a product the server no longer knows.
func (s *DB) refuseDroppedSKUsInUse(ctx context.Context, tx *txn, old, c *allot.Catalog) error {
	var dropped []string
	if old != nil {
		for id := range old.SKUs {
			if c.SKUs[id] == nil {
				dropped = append(dropped, id)
			}
		}
	} else {
		rows, err := tx.Query(ctx, `SELECT sku_id FROM subscriptions UNION SELECT sku_id FROM assignments`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			if c.SKUs[id] == nil {
				dropped = append(dropped, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	if len(dropped) == 0 {
		return nil
	}
	slices.Sort(dropped)
	subs, assigned := map[string]int{}, map[string]int{}
	for _, part := range chunks(dropped, 500) {
		for _, q := range []struct {
			table string
			n     map[string]int
		}{{"subscriptions", subs}, {"assignments", assigned}} {
			frag, args := tx.in(part)
			rows, err := tx.Query(ctx, `SELECT sku_id, COUNT(*) FROM `+q.table+` WHERE sku_id `+frag+` GROUP BY sku_id`, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id string
				var n int
				if err := rows.Scan(&id, &n); err != nil {
					rows.Close()
					return err
				}
				q.n[id] = n
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
	}
	var used []string
	for _, id := range dropped {
		if subs[id]+assigned[id] == 0 {
			continue
		}
		name := id
		if old != nil && old.SKUs[id] != nil {
			name = fmt.Sprintf("%s (%s)", old.SKUs[id].PartNumber, id)
		}
		used = append(used, fmt.Sprintf("%s has %s and %s", name, plural(subs[id], "subscription"), plural(assigned[id], "license assignment")))
	}
	if len(used) == 0 {
		return nil
	}
	more := ""
	if len(used) > 5 {
		more = fmt.Sprintf(" and %d more SKUs are in use", len(used)-5)
		used = used[:5]
	}
	return allot.Errorf(allot.ECONFLICT, "The new catalog leaves out SKUs in use: %s%s. A SKU must stay in the catalog while a tenant subscribes to it or a license assigns it.", strings.Join(used, "; "), more)
}

// refuseConflictingGroups refuses a catalog under which the SKUs of one
// group's assignment would conflict with each other, as assignLicense
// refuses such a request: a group unit is granted as a whole, so no
// evaluation could keep both SKUs' plans apart (docs/RULES.md §2.4,
// reading 3). Other rule changes (availability, dependencies, mailbox plans, a
// SKU's plans) are restored by re-evaluating the holders.
func (s *DB) refuseConflictingGroups(ctx context.Context, tx *txn, c *allot.Catalog) error {
	rows, err := tx.Query(ctx, `SELECT a.tenant_id, a.target_id, g.display_name, a.sku_id, a.disabled_plans FROM assignments a
		JOIN dir_groups g ON g.tenant_id = a.tenant_id AND g.id = a.target_id
		WHERE a.target_kind = 'group' ORDER BY a.tenant_id, a.target_id, a.sku_id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var tenant, group, name string
	var lics []allot.AssignedLicense
	check := func() error {
		if len(lics) < 2 {
			return nil
		}
		if p, q, ok := conflictingPlans(c, lics); ok {
			return allot.Errorf(allot.EINVALID, "The catalog would make the licenses assigned to group %q (%s) conflict: service plans %s and %s would be mutually exclusive. Change the group's licenses first.", name, group, planName(c, p), planName(c, q))
		}
		return nil
	}
	for rows.Next() {
		var t, g, n, sku, disabled string
		if err := rows.Scan(&t, &g, &n, &sku, &disabled); err != nil {
			return err
		}
		if t != tenant || g != group {
			if err := check(); err != nil {
				return err
			}
			tenant, group, name, lics = t, g, n, nil
		}
		lics = append(lics, allot.AssignedLicense{SkuID: sku, DisabledPlans: strList(disabled)})
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return check()
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// pruneDisabledPlans drops, from the assignments of SKUs that lose plans,
// the lost plans: disabledPlans lists plans of the SKU that are off, and a
// plan the SKU no longer has is neither.
func (s *DB) pruneDisabledPlans(ctx context.Context, tx *txn, d *catalog.Diff) error {
	for _, sc := range d.ChangedSKUs {
		if len(sc.RemovedPlans) == 0 {
			continue
		}
		type row struct{ tenant, target, disabled string }
		var changed []row
		rows, err := tx.Query(ctx, `SELECT tenant_id, target_id, disabled_plans FROM assignments WHERE sku_id = ? AND disabled_plans <> '[]'`, sc.New.ID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.tenant, &r.target, &r.disabled); err != nil {
				rows.Close()
				return err
			}
			before := strList(r.disabled)
			after := slices.DeleteFunc(slices.Clone(before), func(p string) bool { return slices.Contains(sc.RemovedPlans, p) })
			if len(after) != len(before) {
				r.disabled = toJSON(after)
				changed = append(changed, r)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range changed {
			if _, err := tx.Exec(ctx, `UPDATE assignments SET disabled_plans = ? WHERE tenant_id = ? AND target_id = ? AND sku_id = ?`, r.disabled, r.tenant, r.target, sc.New.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// enqueueSKUHolders queues every user with a state for one of skus, a
// direct assignment of one, or membership of a group assigned one: the
// users whose evaluation reads those SKUs.
func (s *DB) enqueueSKUHolders(ctx context.Context, tx *txn, skus []string) error {
	now := fmtTime(s.now())
	for _, part := range chunks(skus, 500) {
		frag, args := tx.in(part)
		all := append([]any{now}, args...)
		all = append(all, args...)
		all = append(all, args...)
		_, err := tx.Exec(ctx, `INSERT INTO work (tenant_id, kind, target_id, enqueued_at)
			SELECT DISTINCT tenant_id, 'user', user_id, CAST(? AS TEXT) FROM (
				SELECT tenant_id, user_id FROM license_states WHERE sku_id `+frag+`
				UNION SELECT m.tenant_id, m.member_id FROM memberships m JOIN assignments a ON a.tenant_id = m.tenant_id AND a.target_id = m.group_id
					WHERE m.member_kind = 'user' AND a.target_kind = 'group' AND a.sku_id `+frag+`
				UNION SELECT tenant_id, target_id FROM assignments WHERE target_kind = 'user' AND sku_id `+frag+`) x`, all...)
		if err != nil {
			return err
		}
	}
	return nil
}

// planName is a plan's name with its id, for messages.
func planName(c *allot.Catalog, id string) string {
	if p := c.Plans[id]; p != nil && p.Name != "" {
		return p.Name + " (" + id + ")"
	}
	return id
}
