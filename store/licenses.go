package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

// validateLicenses checks an assignLicense request against the catalog:
// known SKUs and plans, no SKU twice, none both added and removed, and no
// two added SKUs with conflicting plans.
func validateLicenses(cat *allot.Catalog, add []allot.AssignedLicense, remove []string) error {
	lowerLicenses(add, remove)
	seen := map[string]bool{}
	for _, l := range add {
		if cat.SKUs[l.SkuID] == nil {
			return allot.Errorf(allot.EINVALID, "License %s does not correspond to a valid company License.", l.SkuID)
		}
		if seen[l.SkuID] {
			return allot.Errorf(allot.EINVALID, "License %s appears more than once in addLicenses.", l.SkuID)
		}
		seen[l.SkuID] = true
		for _, p := range l.DisabledPlans {
			if !cat.HasPlan(l.SkuID, p) {
				return allot.Errorf(allot.EINVALID, "Service plan %s is not part of license %s.", p, l.SkuID)
			}
		}
	}
	for _, sku := range remove {
		if seen[sku] {
			return allot.Errorf(allot.EINVALID, "License %s cannot be both added and removed.", sku)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(remove)))) != len(remove) {
		return allot.Errorf(allot.EINVALID, "A license appears more than once in removeLicenses.")
	}
	return conflictWithin(cat, add)
}

// conflictWithin refuses a set of SKUs whose enabled plans conflict.
func conflictWithin(cat *allot.Catalog, lics []allot.AssignedLicense) error {
	if p, q, ok := conflictingPlans(cat, lics); ok {
		return allot.Errorf(allot.EINVALID, "License assignment failed because service plans %s,%s are mutually exclusive.", p, q)
	}
	return nil
}

// conflictingPlans returns the first two conflicting plans that two of the
// SKUs enable.
func conflictingPlans(cat *allot.Catalog, lics []allot.AssignedLicense) (p, q string, ok bool) {
	for i, a := range lics {
		for _, b := range lics[i+1:] {
			for _, p := range cat.EnabledPlans(a.SkuID, a.DisabledPlans) {
				for _, q := range cat.EnabledPlans(b.SkuID, b.DisabledPlans) {
					if cat.Conflicts(p, q) {
						return p, q, true
					}
				}
			}
		}
	}
	return "", "", false
}

// checkSubscribed refuses SKUs the tenant holds no subscription to.
func (s *DB) checkSubscribed(ctx context.Context, tx *txn, tenantID string, add []allot.AssignedLicense) error {
	for _, l := range add {
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM subscriptions WHERE tenant_id = ? AND sku_id = ?`, tenantID, l.SkuID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return allot.Errorf(allot.EINVALID, "License %s does not correspond to a valid company License.", l.SkuID)
		}
	}
	return nil
}

// applyLicenseChange returns the assignments after adding and removing,
// the SKUs added or whose plans changed, and the first SKU asked to be
// removed that is not among before (missing).
func applyLicenseChange(before []assignmentRow, add []allot.AssignedLicense, remove []string, now time.Time) (after []assignmentRow, changed map[string]bool, missing string) {
	changed = map[string]bool{}
	for _, sku := range remove {
		if !slices.ContainsFunc(before, func(a assignmentRow) bool { return a.sku == sku }) {
			return nil, nil, sku
		}
	}
	for _, a := range before {
		if !slices.Contains(remove, a.sku) {
			after = append(after, a)
		}
	}
	for _, l := range add {
		disabled := slices.Sorted(slices.Values(slices.Clone(l.DisabledPlans)))
		disabled = slices.Compact(disabled)
		if disabled == nil {
			disabled = []string{}
		}
		i := slices.IndexFunc(after, func(a assignmentRow) bool { return a.sku == l.SkuID })
		if i < 0 {
			after = append(after, assignmentRow{sku: l.SkuID, disabled: disabled, created: now})
			changed[l.SkuID] = true
		} else if !slices.Equal(after[i].disabled, disabled) {
			after[i].disabled = disabled
			changed[l.SkuID] = true
		}
	}
	return after, changed, ""
}

// writeAssignments replaces a target's assignments with after.
func (s *DB) writeAssignments(ctx context.Context, tx *txn, tenantID, target, kind string, before, after []assignmentRow) error {
	if _, err := tx.Exec(ctx, `DELETE FROM assignments WHERE tenant_id = ? AND target_id = ?`, tenantID, target); err != nil {
		return err
	}
	var rows [][]any
	for _, a := range after {
		rows = append(rows, []any{tenantID, target, kind, a.sku, toJSON(a.disabled), fmtTime(a.created)})
	}
	return tx.insertRows(ctx, `INSERT INTO assignments (tenant_id, target_id, target_kind, sku_id, disabled_plans, created_at) VALUES `, rows)
}

func assignmentsJSON(as []assignmentRow) string {
	out := make([]map[string]any, 0, len(as))
	for _, a := range as {
		out = append(out, map[string]any{"skuId": a.sku, "disabledPlans": a.disabled})
	}
	return toJSON(out)
}

func (s *DB) loadAssignments(ctx context.Context, tx *txn, tenantID, target string) ([]assignmentRow, error) {
	rows, err := tx.Query(ctx, `SELECT target_id, sku_id, disabled_plans, created_at FROM assignments WHERE tenant_id = ? AND target_id = ? ORDER BY sku_id`, tenantID, target)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []assignmentRow
	for rows.Next() {
		var a assignmentRow
		var disabled, created string
		if err := rows.Scan(&a.target, &a.sku, &disabled, &created); err != nil {
			return nil, err
		}
		a.disabled, a.created = strList(disabled), parseTime(created)
		out = append(out, a)
	}
	return out, rows.Err()
}

// LicenseDetails lists the SKUs the user holds with each plan's status.
func (s *DB) LicenseDetails(ctx context.Context, userID string) ([]allot.LicenseDetail, error) {
	u, cat, err := s.userAndCatalog(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := []allot.LicenseDetail{}
	for _, l := range u.AssignedLicenses {
		d := allot.LicenseDetail{SkuID: l.SkuID}
		sku := cat.SKUs[l.SkuID]
		if sku == nil {
			out = append(out, d)
			continue
		}
		d.PartNumber = sku.PartNumber
		for _, p := range sku.Plans {
			pd := allot.PlanDetail{PlanID: p, Status: "Success"}
			if sp := cat.Plans[p]; sp != nil {
				pd.PlanName, pd.Service = sp.Name, sp.Service
			}
			if slices.Contains(l.DisabledPlans, p) {
				pd.Status = "Disabled"
			}
			d.Plans = append(d.Plans, pd)
		}
		out = append(out, d)
	}
	return out, nil
}

// AssignedPlans lists the user's enabled plans, each once, with the time
// the earliest active state giving it was last updated.
func (s *DB) AssignedPlans(ctx context.Context, userID string) ([]allot.PlanDetail, error) {
	u, cat, err := s.userAndCatalog(ctx, userID)
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	out := []allot.PlanDetail{}
	for _, st := range u.States {
		if st.State != allot.StateActive {
			continue
		}
		for _, p := range cat.EnabledPlans(st.SkuID, st.DisabledPlans) {
			if i, ok := seen[p]; ok {
				if st.LastUpdated.Before(out[i].Assigned) {
					out[i].Assigned = st.LastUpdated
				}
				continue
			}
			pd := allot.PlanDetail{PlanID: p, Status: "Enabled", Assigned: st.LastUpdated}
			if sp := cat.Plans[p]; sp != nil {
				pd.PlanName, pd.Service = sp.Name, sp.Service
			}
			seen[p] = len(out)
			out = append(out, pd)
		}
	}
	return out, nil
}

// lowerLicenses puts GUIDs in the canonical lower case the store keeps.
func lowerLicenses(add []allot.AssignedLicense, remove []string) {
	for i := range add {
		add[i].SkuID = strings.ToLower(add[i].SkuID)
		for j := range add[i].DisabledPlans {
			add[i].DisabledPlans[j] = strings.ToLower(add[i].DisabledPlans[j])
		}
	}
	for i := range remove {
		remove[i] = strings.ToLower(remove[i])
	}
}

// userAndCatalog is User with the catalog of the same moment.
func (s *DB) userAndCatalog(ctx context.Context, idOrUPN string) (*allot.User, *allot.Catalog, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, nil, err
	}
	var u *allot.User
	var cat *allot.Catalog
	err = s.readTx(ctx, func(tx *txn) error {
		if u, err = s.findUser(ctx, tx, a.TenantID, idOrUPN); err != nil {
			return err
		}
		cat = s.catalogIn(ctx, tx)
		return s.fillLicensing(ctx, tx, a.TenantID, []*allot.User{u})
	})
	return u, cat, err
}
