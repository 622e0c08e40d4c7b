package store

import (
	"context"
	"database/sql"
	"strings"

	"github.com/allot-dev/allot"
)

// GroupErrors counts, for each of groupIDs with members in error, those
// members and their errors by product and kind, in one snapshot. It reads
// the error states from the groups on license_states_kind (migration 0017),
// each probing the user's membership, instead of walking the members: on a
// 100,000-member group it reads the few thousand states in error only.
// A user counts while a member of the group, or of a group nested in it
// when an assignment of the group includes nested groups, as
// Members(ErrorsOnly) counts; a group with none in error is left out.
func (s *DB) GroupErrors(ctx context.Context, groupIDs []string) (map[string]allot.GroupErrors, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(groupIDs))
	for _, id := range groupIDs {
		ids = append(ids, strings.ToLower(id))
	}
	out := map[string]allot.GroupErrors{}
	if len(ids) == 0 {
		return out, nil
	}
	err = s.snapshot(ctx, func(tx *txn) error {
		// Groups whose assignments include nested groups count the members
		// of those too, each group with its own list.
		nested := map[string]bool{}
		err := tx.each(ctx, `SELECT DISTINCT target_id FROM assignments WHERE tenant_id = ? AND include_nested = 1 AND target_id IN (%s)`,
			ids, []any{a.TenantID}, func(r *sql.Rows) error {
				var id string
				err := r.Scan(&id)
				nested[id] = true
				return err
			})
		if err != nil {
			return err
		}
		var direct []string
		for _, id := range ids {
			if !nested[id] {
				direct = append(direct, id)
			}
		}
		if err := s.groupErrors(ctx, tx, a.TenantID, direct, `m.group_id = l.source`, nil, out); err != nil {
			return err
		}
		for id := range nested {
			groups, err := s.nestedMemberGroups(ctx, tx, a.TenantID, id)
			if err != nil {
				return err
			}
			frag, args := tx.in(groups)
			if err := s.groupErrors(ctx, tx, a.TenantID, []string{id}, `m.group_id `+frag, args, out); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// groupErrors counts the errors of groups whose members are those of
// memberships m matching member (with its args).
func (s *DB) groupErrors(ctx context.Context, tx *txn, tenantID string, groups []string, member string, margs []any, out map[string]allot.GroupErrors) error {
	if len(groups) == 0 {
		return nil
	}
	inError := `l.tenant_id = ? AND l.state = 'Error'
		AND EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = l.tenant_id AND ` + member + ` AND m.member_id = l.user_id)`
	args := append([]any{tenantID}, margs...)
	err := tx.each(ctx, `SELECT l.source, COUNT(DISTINCT l.user_id) FROM license_states l WHERE `+inError+` AND l.source IN (%s) GROUP BY l.source`,
		groups, args, func(r *sql.Rows) error {
			var gid string
			var n int
			if err := r.Scan(&gid, &n); err != nil {
				return err
			}
			e := out[gid]
			e.Users = n
			out[gid] = e
			return nil
		})
	if err != nil {
		return err
	}
	// The user's own usage location is read for the location kind only.
	kargs := append(append([]any{string(allot.ProhibitedInUsageLocationViolation)}, args...), string(allot.OtherViolation), string(allot.OtherViolation))
	return tx.each(ctx, `SELECT l.source, l.sku_id, l.error,
			CASE WHEN l.error = ? THEN (SELECT COUNT(*) FROM users u WHERE u.tenant_id = l.tenant_id AND u.id = l.user_id AND u.usage_location = '') ELSE 0 END AS no_location,
			COUNT(*)
		FROM license_states l WHERE `+inError+`
			AND (l.error <> ? OR NOT EXISTS (SELECT 1 FROM license_states y
				WHERE y.tenant_id = l.tenant_id AND y.user_id = l.user_id AND y.source = l.source AND y.state = 'Error' AND y.error <> ?))
			AND l.source IN (%s)
		GROUP BY l.source, l.sku_id, l.error, no_location ORDER BY l.source, l.sku_id, l.error, no_location`,
		groups, kargs, func(r *sql.Rows) error {
			var gid, sku, code string
			var noLocation, n int
			if err := r.Scan(&gid, &sku, &code, &noLocation, &n); err != nil {
				return err
			}
			e := out[gid]
			e.Errors = append(e.Errors, allot.GroupErrorKind{SkuID: sku, Error: allot.LicenseError(code), NoLocation: noLocation > 0, Users: n})
			out[gid] = e
			return nil
		})
}
