package store

// Deleted items (docs/RULES.md §2.3.6, docs/DELETED-ITEMS.md). A deleted
// user or group leaves the live tables in the transaction that deletes it,
// exactly as before deleted items existed, so that no list, lookup, name
// check or evaluation has to learn to skip it; what restoring it needs is
// kept in deleted_items as a snapshot until its retention ends.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

// retentionDays is how long the tenant keeps deleted users and groups:
// its lifecycle settings' RetentionDays, 30 days (as Entra ID) unless
// changed. Every reading of the period goes through here.
func (s *DB) retentionDays(ctx context.Context, tx *txn, tenantID string) (int, error) {
	st, err := lifecycleSettings(ctx, tx, tenantID)
	return st.RetentionDays, err
}

// keptLicense is a direct assignment of a deleted user.
type keptLicense struct {
	SkuID         string
	DisabledPlans []string
	CreatedAt     time.Time
}

// keptMember is a member of a deleted group.
type keptMember struct {
	ID, Kind string
}

// deletedSnapshot is what deleted_items.snapshot holds: the object as it
// was (without licensing, which is derived again on restore) and the
// relations a restore gives back.
type deletedSnapshot struct {
	User     *allot.User  `json:",omitempty"`
	Group    *allot.Group `json:",omitempty"`
	Licenses []keptLicense
	MemberOf []string // the groups it was a direct member of
	Members  []keptMember
}

// keepDeletedUser records u, in tx, before DeleteUser removes it.
func (s *DB) keepDeletedUser(ctx context.Context, tx *txn, tenantID string, u *allot.User) error {
	as, err := s.loadAssignments(ctx, tx, tenantID, u.ID)
	if err != nil {
		return err
	}
	snap := deletedSnapshot{User: u}
	kept := *u
	kept.AssignedLicenses, kept.States = nil, nil
	snap.User = &kept
	for _, a := range as {
		snap.Licenses = append(snap.Licenses, keptLicense{SkuID: a.sku, DisabledPlans: a.disabled, CreatedAt: a.created})
	}
	if snap.MemberOf, err = tx.queryIDs(ctx, `SELECT group_id FROM memberships WHERE tenant_id = ? AND member_id = ? ORDER BY group_id`, tenantID, u.ID); err != nil {
		return err
	}
	return s.keepDeleted(ctx, tx, tenantID, allot.MemberUser, u.ID, u.DisplayName, u.UserPrincipalName, snap)
}

// keepDeletedGroup records g, in tx, before DeleteGroup removes it. A
// group being deleted has no assignments (DeleteGroup refuses it), so
// only its members and the groups it is in are kept.
func (s *DB) keepDeletedGroup(ctx context.Context, tx *txn, tenantID string, g *allot.Group) error {
	kept := *g
	kept.AssignedLicenses = nil
	snap := deletedSnapshot{Group: &kept}
	rows, err := tx.Query(ctx, `SELECT member_id, member_kind FROM memberships WHERE tenant_id = ? AND group_id = ? ORDER BY added_at, member_id`, tenantID, g.ID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var m keptMember
		if err := rows.Scan(&m.ID, &m.Kind); err != nil {
			rows.Close()
			return err
		}
		snap.Members = append(snap.Members, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if snap.MemberOf, err = tx.queryIDs(ctx, `SELECT group_id FROM memberships WHERE tenant_id = ? AND member_id = ? ORDER BY group_id`, tenantID, g.ID); err != nil {
		return err
	}
	return s.keepDeleted(ctx, tx, tenantID, allot.MemberGroup, g.ID, g.DisplayName, g.MailNickname, snap)
}

func (s *DB) keepDeleted(ctx context.Context, tx *txn, tenantID, kind, id, displayName, name string, snap deletedSnapshot) error {
	days, err := s.retentionDays(ctx, tx, tenantID)
	if err != nil {
		return err
	}
	now := s.now()
	// An object deleted again after a restore replaces its older record.
	if _, err := tx.Exec(ctx, `DELETE FROM deleted_items WHERE tenant_id = ? AND id = ?`, tenantID, id); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO deleted_items (tenant_id, id, kind, display_name, name, deleted_at, purge_at, snapshot) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		tenantID, id, kind, displayName, name, fmtTime(now), fmtTime(now.AddDate(0, 0, days)), toJSON(snap))
	return err
}

// deletedRow is a row of deleted_items with its snapshot read.
type deletedRow struct {
	item allot.DeletedItem
	snap deletedSnapshot
}

const deletedCols = `d.id, d.kind, d.deleted_at, d.purge_at, d.snapshot`

func scanDeleted(r interface{ Scan(...any) error }) (*deletedRow, error) {
	var d deletedRow
	var id, deleted, purge, snap string
	if err := r.Scan(&id, &d.item.Kind, &deleted, &purge, &snap); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(snap), &d.snap); err != nil {
		return nil, err
	}
	d.item.ID, d.item.DeletedAt, d.item.PurgeAt = id, parseTime(deleted), parseTime(purge)
	if d.snap.User != nil {
		u := *d.snap.User
		u.AssignedLicenses, u.States = []allot.AssignedLicense{}, []allot.LicenseState{}
		d.item.User = &u
	}
	if d.snap.Group != nil {
		g := *d.snap.Group
		g.AssignedLicenses, g.ProcessingState = []allot.AssignedLicense{}, allot.ProcessingComplete
		d.item.Group = &g
	}
	if d.snap.User == nil && d.snap.Group == nil {
		return nil, errors.New("deleted item " + id + " has no object in its snapshot")
	}
	return &d, nil
}

func (s *DB) findDeleted(ctx context.Context, tx *txn, tenantID, id string) (*deletedRow, error) {
	d, err := scanDeleted(tx.QueryRow(ctx, `SELECT `+deletedCols+` FROM deleted_items d WHERE d.tenant_id = ? AND d.id = ?`, tenantID, strings.ToLower(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(id)
	}
	return d, err
}

// ListDeletedItems lists the tenant's deleted users or groups by id.
func (s *DB) ListDeletedItems(ctx context.Context, kind string, opt allot.ListOptions) (*allot.Page[allot.DeletedItem], error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	if kind != allot.MemberUser && kind != allot.MemberGroup {
		return nil, allot.Errorf(allot.EINVALID, "Deleted items are users or groups, not '%s'.", kind)
	}
	if opt.OrderBy != "" || opt.Filter != nil {
		return nil, allot.Errorf(allot.EUNSUPPORTEDQUERY, "Deleted items can be paged and searched, not filtered or sorted.")
	}
	keyset, kargs, order, err := pageClause("d", opt)
	if err != nil {
		return nil, err
	}
	search, sargs := searchClause("d", opt, "display_name", "name")
	base := ` FROM deleted_items d WHERE d.tenant_id = ? AND d.kind = ?` + search
	bargs := append([]any{a.TenantID, kind}, sargs...)
	top := topOf(opt)
	return read(ctx, s, func(tx *txn) (*allot.Page[allot.DeletedItem], error) {
		page := &allot.Page[allot.DeletedItem]{Items: []allot.DeletedItem{}}
		if opt.Count {
			if err := tx.QueryRow(ctx, `SELECT COUNT(*)`+base, bargs...).Scan(&page.Count); err != nil {
				return nil, err
			}
		}
		rows, err := tx.Query(ctx, `SELECT `+deletedCols+base+keyset+order+` LIMIT ?`, append(append(bargs, kargs...), top+1)...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDeleted(rows)
			if err != nil {
				return nil, err
			}
			page.Items = append(page.Items, d.item)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(page.Items) > top {
			page.Items = page.Items[:top]
			page.NextCursor = cursorOf(opt, page.Items[top-1].ID, nil)
		}
		return page, nil
	})
}

// DeletedItem returns one deleted user or group.
func (s *DB) DeletedItem(ctx context.Context, id string) (*allot.DeletedItem, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx *txn) (*allot.DeletedItem, error) {
		d, err := s.findDeleted(ctx, tx, a.TenantID, id)
		if err != nil {
			return nil, err
		}
		return &d.item, nil
	})
}

// RestoreDeletedItem brings a deleted user or group back with what was
// kept of it, in one transaction that either restores it whole or changes
// nothing (docs/RULES.md §2.3.6). The restored object is processed by the
// queue like any change of membership or licenses.
func (s *DB) RestoreDeletedItem(ctx context.Context, id string) (*allot.DeletedItem, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	var item allot.DeletedItem
	err = s.tx(ctx, func(tx *txn) error {
		d, err := s.findDeleted(ctx, tx, a.TenantID, id)
		if err != nil {
			return err
		}
		item = d.item
		if _, err := tx.Exec(ctx, `DELETE FROM deleted_items WHERE tenant_id = ? AND id = ?`, a.TenantID, d.item.ID); err != nil {
			return err
		}
		if d.snap.User != nil {
			return s.restoreUser(ctx, tx, a.TenantID, d)
		}
		return s.restoreGroup(ctx, tx, a.TenantID, d)
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return &item, nil
}

// refuseRestore words a name check's refusal for a restore.
func refuseRestore(kind, name string, err error) error {
	if allot.ErrorCode(err) != allot.ECONFLICT {
		return err
	}
	return allot.Errorf(allot.ECONFLICT, "The %s '%s' cannot be restored: %s Rename or delete the object that holds the name, then restore again.",
		kind, name, allot.ErrorMessage(err))
}

// objectIDTaken refuses to restore an object whose id a live object has
// taken: only a caller-chosen id can, since new ids are random.
func objectIDTaken(ctx context.Context, tx *txn, tenantID, kind, name, id string) error {
	var n int
	if err := tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM users WHERE tenant_id = ? AND id = ?) + (SELECT COUNT(*) FROM dir_groups WHERE tenant_id = ? AND id = ?)`,
		tenantID, id, tenantID, id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return allot.Errorf(allot.ECONFLICT, "The %s '%s' cannot be restored: another object now has its id %s.", kind, name, id)
	}
	return nil
}

// restoreUser puts a deleted user back: its row and addresses, its direct
// licenses whose product is still in the catalog, and its memberships of
// the groups that still exist (rule-based ones decide for themselves).
// Its licenses start from nothing: the queue evaluates it, so it may wait
// for seats that others took meanwhile, or fail uniqueness for an address
// that someone else now owns.
func (s *DB) restoreUser(ctx context.Context, tx *txn, tenantID string, d *deletedRow) error {
	u := *d.snap.User
	if err := objectIDTaken(ctx, tx, tenantID, "user", u.UserPrincipalName, u.ID); err != nil {
		return err
	}
	if err := s.checkUPNFree(ctx, tx, tenantID, u.UserPrincipalName, u.ID); err != nil {
		return refuseRestore("user", u.UserPrincipalName, err)
	}
	if err := s.checkAddresses(ctx, tx, tenantID, u.ID, u.ProxyAddresses); err != nil {
		return refuseRestore("user", u.UserPrincipalName, err)
	}
	u.ModifiedAt = s.now()
	if err := insertUsers(ctx, tx, tenantID, []*allot.User{&u}); err != nil {
		return err
	}
	cat := s.catalogIn(ctx, tx)
	var licenses []assignmentRow
	var dropped []string
	for _, l := range d.snap.Licenses {
		sku := cat.SKUs[l.SkuID]
		if sku == nil {
			dropped = append(dropped, l.SkuID)
			continue
		}
		disabled := slices.DeleteFunc(slices.Clone(l.DisabledPlans), func(p string) bool { return !slices.Contains(sku.Plans, p) })
		licenses = append(licenses, assignmentRow{target: u.ID, sku: l.SkuID, disabled: list(disabled), created: l.CreatedAt})
	}
	if err := s.writeAssignments(ctx, tx, tenantID, u.ID, allot.MemberUser, nil, licenses); err != nil {
		return err
	}
	groups, err := s.restorableGroups(ctx, tx, tenantID, d.snap.MemberOf, true)
	if err != nil {
		return err
	}
	now := fmtTime(s.now())
	var ms []memberChange
	for _, g := range groups {
		ms = append(ms, memberChange{g, u.ID, allot.MemberUser})
	}
	if err := insertMemberships(ctx, tx, tenantID, now, ms); err != nil {
		return err
	}
	if err := touchGroups(ctx, tx, tenantID, now, groups); err != nil {
		return err
	}
	// One user item evaluates every unit of the user, direct and through
	// groups, nested ones included.
	if err := s.enqueueUsers(ctx, tx, tenantID, []string{u.ID}, ""); err != nil {
		return err
	}
	after := map[string]any{"userPrincipalName": u.UserPrincipalName, "licenses": assignmentsJSONValue(licenses), "memberOf": list(groups)}
	if len(dropped) > 0 {
		after["licensesNotInCatalog"] = dropped
	}
	if err := s.audit(ctx, tx, tenantID, "Restore user", "User", u.ID, "", toJSON(after), "success"); err != nil {
		return err
	}
	return s.refreshDynamic(ctx, tx, tenantID, []string{u.ID}, false)
}

// restoreGroup puts a deleted group back with its members and the groups
// it was in, those that still exist. A dynamic group's rule is applied
// again, as to a new group.
func (s *DB) restoreGroup(ctx context.Context, tx *txn, tenantID string, d *deletedRow) error {
	g := *d.snap.Group
	if err := objectIDTaken(ctx, tx, tenantID, "group", g.DisplayName, g.ID); err != nil {
		return err
	}
	if err := s.checkClaim(ctx, tx, tenantID, nicknameNames, g.MailNickname, g.ID); err != nil {
		return refuseRestore("group", g.DisplayName, err)
	}
	if err := s.checkAddresses(ctx, tx, tenantID, g.ID, g.ProxyAddresses); err != nil {
		return refuseRestore("group", g.DisplayName, err)
	}
	rule, state := g.MembershipRule, g.MembershipRuleProcessingState
	g.MembershipRule, g.MembershipRuleProcessingState = "", ""
	created, modified := g.CreatedAt, s.now()
	if err := insertGroups(ctx, tx, tenantID, []*allot.Group{&g}); err != nil {
		return err
	}
	// insertGroups stamps a new group; a restored one keeps its creation.
	if _, err := tx.Exec(ctx, `UPDATE dir_groups SET created_at = ?, modified_at = ? WHERE tenant_id = ? AND id = ?`, fmtTime(created), fmtTime(modified), tenantID, g.ID); err != nil {
		return err
	}
	if err := s.enqueueAddressListers(ctx, tx, tenantID, g.ProxyAddresses, ""); err != nil {
		return err
	}
	if _, err := s.setDynamic(ctx, tx, tenantID, &g, rule, state); err != nil {
		return err
	}
	var userIDs, groupIDs []string
	for _, m := range d.snap.Members {
		if m.Kind == allot.MemberUser {
			userIDs = append(userIDs, m.ID)
		} else if state == "" {
			groupIDs = append(groupIDs, m.ID) // a dynamic group has no group members
		}
	}
	users, err := tx.idSet(ctx, `SELECT id FROM users WHERE tenant_id = ? AND id IN (%s)`, userIDs, tenantID)
	if err != nil {
		return err
	}
	subgroups, err := tx.idSet(ctx, `SELECT id FROM dir_groups WHERE tenant_id = ? AND id IN (%s)`, groupIDs, tenantID)
	if err != nil {
		return err
	}
	now := fmtTime(s.now())
	var ms []memberChange
	var members []string
	for _, m := range d.snap.Members {
		if (m.Kind == allot.MemberUser && users[m.ID]) || (m.Kind == allot.MemberGroup && subgroups[m.ID]) {
			ms = append(ms, memberChange{g.ID, m.ID, m.Kind})
			members = append(members, m.ID)
		}
	}
	parents, err := s.restorableGroups(ctx, tx, tenantID, d.snap.MemberOf, false)
	if err != nil {
		return err
	}
	for _, p := range parents {
		ms = append(ms, memberChange{p, g.ID, allot.MemberGroup})
	}
	if err := insertMemberships(ctx, tx, tenantID, now, ms); err != nil {
		return err
	}
	if err := touchGroups(ctx, tx, tenantID, now, parents); err != nil {
		return err
	}
	// The group itself has no licenses (a licensed group cannot be
	// deleted); its users inherit only through groups above it that
	// include nested groups.
	if err := s.requeueNested(ctx, tx, tenantID, g.ID, g.ID, allot.MemberGroup); err != nil {
		return err
	}
	if len(parents) > 0 || len(subgroups) > 0 {
		if err := s.checkRuleLoops(ctx, tx, tenantID, s.catalogIn(ctx, tx)); err != nil {
			return err
		}
	}
	after := map[string]any{"displayName": g.DisplayName, "members": list(members), "memberOf": list(parents)}
	return s.audit(ctx, tx, tenantID, "Restore group", "Group", g.ID, "", toJSON(after), "success")
}

// restorableGroups are those of ids that still exist and may take the
// member back by hand: not a group whose rule is On (the rule decides;
// for a user, refreshDynamic does), and for a group member no dynamic
// group at all.
func (s *DB) restorableGroups(ctx context.Context, tx *txn, tenantID string, ids []string, user bool) ([]string, error) {
	cond := `rule_state = ''`
	if user {
		cond = `rule_state <> '` + allot.RuleOn + `'`
	}
	live, err := tx.idSet(ctx, `SELECT id FROM dir_groups WHERE tenant_id = ? AND `+cond+` AND id IN (%s)`, ids, tenantID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, id := range ids {
		if live[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

func assignmentsJSONValue(as []assignmentRow) []map[string]any {
	out := make([]map[string]any, 0, len(as))
	for _, a := range as {
		out = append(out, map[string]any{"skuId": a.sku, "disabledPlans": list(a.disabled)})
	}
	return out
}

// PurgeDeletedItem deletes a deleted user or group permanently.
func (s *DB) PurgeDeletedItem(ctx context.Context, id string) error {
	a, err := actorOf(ctx)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *txn) error {
		d, err := s.findDeleted(ctx, tx, a.TenantID, id)
		if err != nil {
			return err
		}
		_, err = s.purgeOne(ctx, tx, a.TenantID, d.item.ID, "")
		return err
	})
}

// purgeOne deletes the record of a deleted object, and the SCIM
// externalId kept with it, if it is still there and (when due is set) its
// retention ended by due; it reports whether it did. The guard in the
// DELETE is what makes two replicas purging at once apply it once.
func (s *DB) purgeOne(ctx context.Context, tx *txn, tenantID, id, due string) (bool, error) {
	d, err := s.findDeleted(ctx, tx, tenantID, id)
	if allot.ErrorCode(err) == allot.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	q, args := `DELETE FROM deleted_items WHERE tenant_id = ? AND id = ?`, []any{tenantID, id}
	if due != "" {
		q, args = q+` AND purge_at <= ?`, append(args, due)
	}
	res, err := tx.Exec(ctx, q, args...)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	// A live object with the id (restored, or created with the id by a
	// caller) owns the externalId now.
	if _, err := tx.Exec(ctx, `DELETE FROM scim_external_ids WHERE tenant_id = ? AND id = ?
		AND NOT EXISTS (SELECT 1 FROM users WHERE tenant_id = ? AND id = ?) AND NOT EXISTS (SELECT 1 FROM dir_groups WHERE tenant_id = ? AND id = ?)`,
		tenantID, id, tenantID, id, tenantID, id); err != nil {
		return false, err
	}
	activity, target, name := "Hard delete user", "User", ""
	if d.snap.Group != nil {
		activity, target, name = "Hard delete group", "Group", d.snap.Group.DisplayName
	} else {
		name = d.snap.User.UserPrincipalName
	}
	why := "deleted permanently"
	if due != "" {
		why = "retention ended"
	}
	return true, s.audit(ctx, tx, tenantID, activity, target, id, toJSON(map[string]any{"name": name, "deletedDateTime": fmtTime(d.item.DeletedAt)}), toJSON(map[string]string{"reason": why}), "success")
}

// purgeDeleted permanently deletes users and groups past their retention,
// by the store's clock, in every tenant; each in a transaction of its own
// that holds the tenant's lock, so that replicas running it at once purge
// each item once. It returns how many it purged.
func (s *DB) purgeDeleted(ctx context.Context) (int, error) {
	due := fmtTime(s.now())
	type key struct{ tenant, id string }
	var keys []key
	err := s.readTx(ctx, func(tx *txn) error {
		rows, err := tx.Query(ctx, `SELECT tenant_id, id FROM deleted_items WHERE purge_at <= ? ORDER BY purge_at, tenant_id, id`, due)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k key
			if err := rows.Scan(&k.tenant, &k.id); err != nil {
				return err
			}
			keys = append(keys, k)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, k := range keys {
		actx := allot.NewContextWithActor(ctx, allot.Actor{TenantID: k.tenant, Name: "Allot deleted items"})
		var done bool
		if err := s.tx(actx, func(tx *txn) error {
			var err error
			done, err = s.purgeOne(actx, tx, k.tenant, k.id, due)
			return err
		}); err != nil {
			return n, err
		}
		if done {
			n++
		}
	}
	return n, nil
}
