package store

import (
	"context"
	"slices"
	"strings"

	"github.com/allot-dev/allot"
)

// Policy returns the tenant's licensing policy.
func (s *DB) Policy(ctx context.Context) (*allot.Policy, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	blocked, err := read(ctx, s, func(tx *txn) ([]string, error) { return s.blockedDirect(ctx, tx, a.TenantID) })
	if err != nil {
		return nil, err
	}
	return &allot.Policy{BlockedDirectSKUs: blocked}, nil
}

// SetPolicy replaces the SKUs whose direct assignment is blocked. Each must
// be a SKU of the catalog (a subscription is not required, so a tenant can
// set the policy before buying). Existing direct assignments are left
// alone: blocking prevents new ones, it takes no license away.
func (s *DB) SetPolicy(ctx context.Context, blocked []string) (*allot.Policy, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	cat := s.Catalog()
	want := make([]string, 0, len(blocked))
	for _, id := range blocked {
		id = strings.ToLower(id)
		if cat.SKUs[id] == nil {
			return nil, allot.Errorf(allot.EINVALID, "SKU %s is not in the catalog.", id)
		}
		want = append(want, id)
	}
	slices.Sort(want)
	want = slices.Compact(want)
	err = s.tx(ctx, func(tx *txn) error {
		old, err := s.blockedDirect(ctx, tx, a.TenantID)
		if err != nil || slices.Equal(old, want) {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM direct_assignment_blocks WHERE tenant_id = ?`, a.TenantID); err != nil {
			return err
		}
		var rows [][]any
		now := fmtTime(s.now())
		for _, id := range want {
			rows = append(rows, []any{a.TenantID, id, now})
		}
		if err := tx.insertRows(ctx, `INSERT INTO direct_assignment_blocks (tenant_id, sku_id, created_at) VALUES `, rows); err != nil {
			return err
		}
		return s.audit(ctx, tx, a.TenantID, "Update licensing policy", "Tenant", a.TenantID,
			toJSON(map[string][]string{"blockedDirectAssignmentSkuIds": old}), toJSON(map[string][]string{"blockedDirectAssignmentSkuIds": want}), "success")
	})
	if err != nil {
		return nil, err
	}
	return &allot.Policy{BlockedDirectSKUs: want}, nil
}

func (s *DB) blockedDirect(ctx context.Context, tx *txn, tenantID string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT sku_id FROM direct_assignment_blocks WHERE tenant_id = ? ORDER BY sku_id`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// checkDirectPolicy refuses a direct assignment that adds a SKU the
// tenant's policy blocks. SKUs the user already has directly pass, so an
// admin may still change their plans; removing is always allowed. It runs
// inside assignLicense's transaction, which holds the tenant's write lock,
// so a policy change cannot slip between check and write.
func (s *DB) checkDirectPolicy(ctx context.Context, tx *txn, tenantID string, before []assignmentRow, add []allot.AssignedLicense) error {
	var adding []string
	for _, l := range add {
		if !slices.ContainsFunc(before, func(a assignmentRow) bool { return a.sku == strings.ToLower(l.SkuID) }) {
			adding = append(adding, strings.ToLower(l.SkuID))
		}
	}
	if len(adding) == 0 {
		return nil
	}
	blocked, err := s.blockedDirect(ctx, tx, tenantID)
	if err != nil {
		return err
	}
	for _, id := range adding {
		if slices.Contains(blocked, id) {
			name := id
			if part, _ := skuNames(s.catalogIn(ctx, tx), id); part != "" {
				name = part + " (" + id + ")"
			}
			return allot.Errorf(allot.EINVALID, "Direct assignment of %s is blocked by the tenant's licensing policy: assign it through a group.", name)
		}
	}
	return nil
}
