package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/allot-dev/allot"
)

const groupCols = `g.id, g.display_name, g.description, g.mail_nickname, g.group_types, g.mail_enabled, g.security_enabled, g.proxy_addresses, g.created_at, g.modified_at, g.membership_rule, g.rule_state, g.rule_applied_at`

func scanGroup(r interface{ Scan(...any) error }) (*allot.Group, error) {
	var g allot.Group
	var types, proxy, created, modified, applied string
	var mail, sec int
	if err := r.Scan(&g.ID, &g.DisplayName, &g.Description, &g.MailNickname, &types, &mail, &sec, &proxy, &created, &modified,
		&g.MembershipRule, &g.MembershipRuleProcessingState, &applied); err != nil {
		return nil, err
	}
	g.GroupTypes, g.MailEnabled, g.SecurityEnabled, g.ProxyAddresses = strList(types), mail == 1, sec == 1, strList(proxy)
	g.CreatedAt, g.ModifiedAt, g.RuleApplied = parseTime(created), parseTime(modified), parseTime(applied)
	return &g, nil
}

func (s *DB) findGroup(ctx context.Context, tx *txn, tenantID, id string) (*allot.Group, error) {
	g, err := scanGroup(tx.QueryRow(ctx, `SELECT `+groupCols+` FROM dir_groups g WHERE g.tenant_id = ? AND g.id = ?`, tenantID, strings.ToLower(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(id)
	}
	return g, err
}

// Group returns a group with its licensing status.
func (s *DB) Group(ctx context.Context, id string) (*allot.Group, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx *txn) (*allot.Group, error) {
		g, err := s.findGroup(ctx, tx, a.TenantID, id)
		if err != nil {
			return nil, err
		}
		return g, s.fillGroups(ctx, tx, a.TenantID, []*allot.Group{g})
	})
}

// fillGroups adds assignedLicenses, licenseProcessingState and
// hasMembersWithLicenseErrors with three queries for the whole page.
func (s *DB) fillGroups(ctx context.Context, tx *txn, tenantID string, groups []*allot.Group) error {
	byID := map[string]*allot.Group{}
	var ids []string
	for _, g := range groups {
		byID[g.ID] = g
		ids = append(ids, g.ID)
		g.AssignedLicenses, g.ProcessingState = []allot.AssignedLicense{}, allot.ProcessingComplete
		if g.MembershipRuleProcessingState != "" {
			g.RuleStatus = allot.RuleSucceeded
		}
	}
	err := tx.each(ctx, `SELECT target_id, sku_id, disabled_plans FROM assignments WHERE tenant_id = ? AND target_kind = 'group' AND target_id IN (%s) ORDER BY target_id, sku_id`,
		ids, []any{tenantID}, func(r *sql.Rows) error {
			var gid, sku, disabled string
			err := r.Scan(&gid, &sku, &disabled)
			byID[gid].AssignedLicenses = append(byID[gid].AssignedLicenses, allot.AssignedLicense{SkuID: sku, DisabledPlans: strList(disabled)})
			return err
		})
	if err != nil {
		return err
	}
	if err := s.fillNested(ctx, tx, tenantID, byID); err != nil {
		return err
	}
	err = tx.each(ctx, `SELECT DISTINCT source FROM license_states WHERE tenant_id = ? AND state = 'Error' AND source IN (%s)`, ids, []any{tenantID}, func(r *sql.Rows) error {
		var gid string
		err := r.Scan(&gid)
		byID[gid].HasMembersWithLicenseErrors = true
		return err
	})
	if err != nil {
		return err
	}
	return tx.each(ctx, `SELECT group_id, kind, started, done, total FROM work WHERE tenant_id = ? AND group_id IN (%s) ORDER BY id`, ids, []any{tenantID}, func(r *sql.Rows) error {
		var gid, kind string
		var started, done, total int
		if err := r.Scan(&gid, &kind, &started, &done, &total); err != nil {
			return err
		}
		g := byID[gid]
		if kind == "rule" {
			ruleStatus(g, started == 1, done, total)
			return nil
		}
		if kind == "group" && started == 1 {
			g.ProcessingState, g.MembersDone, g.MembersTotal = allot.ProcessingInProgress, done, total
		} else if g.ProcessingState == allot.ProcessingComplete {
			g.ProcessingState = allot.ProcessingQueued
		}
		return nil
	})
}

// ListGroups lists the tenant's groups, filtered and paged in the database.
func (s *DB) ListGroups(ctx context.Context, opt allot.ListOptions) (*allot.Page[allot.Group], error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx *txn) (*allot.Page[allot.Group], error) {
		return s.listGroups(ctx, tx, a.TenantID, opt, "", nil)
	})
}

func (s *DB) listGroups(ctx context.Context, tx *txn, tenantID string, opt allot.ListOptions, extra string, extraArgs []any) (*allot.Page[allot.Group], error) {
	cond, args, err := groupList.on(s, ctx, tx).where(opt.Filter)
	if err != nil {
		return nil, err
	}
	search, sargs := searchClause("g", opt, "display_name", "mail_nickname")
	base := ` FROM dir_groups g WHERE g.tenant_id = ? AND ` + cond + search + extra
	bargs := append(append(append([]any{tenantID}, args...), sargs...), extraArgs...)
	page := &allot.Page[allot.Group]{Items: []allot.Group{}}
	if opt.Count {
		if err := tx.QueryRow(ctx, `SELECT COUNT(*)`+base, bargs...).Scan(&page.Count); err != nil {
			return nil, err
		}
	}
	keyset, kargs, order, err := pageClause("g", opt)
	if err != nil {
		return nil, err
	}
	top := topOf(opt)
	rows, err := tx.Query(ctx, `SELECT `+groupCols+base+keyset+order+` LIMIT ?`, append(append(bargs, kargs...), top+1)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var groups []*allot.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, err
		}
		groups = append(groups, g)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if len(groups) > top {
		groups = groups[:top]
		page.NextCursor = cursorOf(opt, groups[top-1].ID, map[string]string{"displayName": groups[top-1].DisplayName})
	}
	if len(groups) > 0 {
		if err := s.fillGroups(ctx, tx, tenantID, groups); err != nil {
			return nil, err
		}
	}
	for _, g := range groups {
		page.Items = append(page.Items, *g)
	}
	return page, nil
}

// CreateGroup adds a group. A group owns the addresses it lists, so their
// user listers are queued (docs/RULES.md §2.3.3).
func (s *DB) CreateGroup(ctx context.Context, in allot.GroupCreate) (*allot.Group, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	if in, err = in.Normalized(); err != nil {
		return nil, err
	}
	g := allot.Group{ID: in.ID, DisplayName: in.DisplayName, Description: in.Description, MailNickname: in.MailNickname,
		GroupTypes: in.GroupTypes, MailEnabled: in.MailEnabled, SecurityEnabled: in.SecurityEnabled, ProxyAddresses: in.ProxyAddresses, CreatedAt: s.now()}
	if in.MembershipRule != "" {
		if _, err := s.parseRule(in.MembershipRule); err != nil {
			return nil, err
		}
	}
	custom := g.ID != ""
	if !custom {
		g.ID = s.newID()
	}
	err = s.tx(ctx, func(tx *txn) error {
		if custom {
			if err := s.validNewID(ctx, tx, a.TenantID, g.ID); err != nil {
				return err
			}
		}
		if err := s.checkClaim(ctx, tx, a.TenantID, nicknameNames, g.MailNickname, g.ID); err != nil {
			return err
		}
		if err := s.checkAddresses(ctx, tx, a.TenantID, g.ID, g.ProxyAddresses); err != nil {
			return err
		}
		if err := insertGroups(ctx, tx, a.TenantID, []*allot.Group{&g}); err != nil {
			return err
		}
		if err := s.enqueueAddressListers(ctx, tx, a.TenantID, g.ProxyAddresses, ""); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, a.TenantID, "Add group", "Group", g.ID, "", groupCreatedJSON(&g), "success"); err != nil {
			return err
		}
		_, err := s.setDynamic(ctx, tx, a.TenantID, &g, in.MembershipRule, in.MembershipRuleProcessingState)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return s.Group(ctx, g.ID)
}

// insertGroups adds new groups and the addresses they list.
func insertGroups(ctx context.Context, tx *txn, tenantID string, groups []*allot.Group) error {
	rows := make([][]any, 0, len(groups))
	var addrs [][]any
	for _, g := range groups {
		g.ModifiedAt = g.CreatedAt
		rows = append(rows, []any{tenantID, g.ID, g.DisplayName, g.Description, g.MailNickname, nicknameSkeleton(g.MailNickname), toJSON(g.GroupTypes),
			b2i(g.MailEnabled), b2i(g.SecurityEnabled), toJSON(g.ProxyAddresses), fmtTime(g.CreatedAt), fmtTime(g.ModifiedAt)})
		addrs = append(addrs, addressRows(tenantID, g.ID, allot.MemberGroup, g.ProxyAddresses)...)
	}
	if err := tx.insertRows(ctx, `INSERT INTO dir_groups (tenant_id, id, display_name, description, mail_nickname, mail_nickname_skeleton, group_types, mail_enabled, security_enabled, proxy_addresses, created_at, modified_at) VALUES `, rows); err != nil {
		return err
	}
	return insertAddresses(ctx, tx, addrs)
}

// groupCreatedJSON is the audit's view of a new group.
func groupCreatedJSON(g *allot.Group) string {
	return toJSON(map[string]any{"displayName": g.DisplayName, "proxyAddresses": g.ProxyAddresses, "groupTypes": g.GroupTypes})
}

// updateGroupRow writes a group's properties.
func updateGroupRow(ctx context.Context, tx *txn, tenantID string, g *allot.Group) error {
	_, err := tx.Exec(ctx, `UPDATE dir_groups SET display_name = ?, description = ?, mail_nickname = ?, mail_nickname_skeleton = ?, group_types = ?, mail_enabled = ?, security_enabled = ?, proxy_addresses = ?, modified_at = ?
		WHERE tenant_id = ? AND id = ?`, g.DisplayName, g.Description, g.MailNickname, nicknameSkeleton(g.MailNickname), toJSON(g.GroupTypes), b2i(g.MailEnabled), b2i(g.SecurityEnabled), toJSON(g.ProxyAddresses),
		fmtTime(g.ModifiedAt), tenantID, g.ID)
	return err
}

// memberChange is a membership added or removed.
type memberChange struct {
	group, member, kind string
}

// insertMemberships adds memberships, all added at one time.
func insertMemberships(ctx context.Context, tx *txn, tenantID, addedAt string, ms []memberChange) error {
	rows := make([][]any, 0, len(ms))
	for _, m := range ms {
		rows = append(rows, []any{tenantID, m.group, m.member, m.kind, addedAt})
	}
	return tx.insertRows(ctx, `INSERT INTO memberships (tenant_id, group_id, member_id, member_kind, added_at) VALUES `, rows)
}

// touchGroups records that the members of groups changed at: a member is
// part of a group as SCIM's meta.lastModified sees it.
func touchGroups(ctx context.Context, tx *txn, tenantID, at string, groups []string) error {
	for _, g := range groups {
		if _, err := tx.Exec(ctx, `UPDATE dir_groups SET modified_at = ? WHERE tenant_id = ? AND id = ?`, at, tenantID, g); err != nil {
			return err
		}
	}
	return nil
}

// UpdateGroup changes a group; addresses it gains or drops queue their listers.
func (s *DB) UpdateGroup(ctx context.Context, id string, in allot.GroupUpdate) (*allot.Group, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	n, err := in.Normalized()
	if err != nil {
		return nil, err
	}
	var gid string
	err = s.tx(ctx, func(tx *txn) error {
		var err error
		gid, err = s.updateGroup(ctx, tx, a.TenantID, id, n)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return s.Group(ctx, gid)
}

// updateGroup is UpdateGroup in tx, with the change normalised; it
// returns the group's id.
func (s *DB) updateGroup(ctx context.Context, tx *txn, tenantID, id string, n allot.GroupUpdate) (string, error) {
	var proxy []string
	if n.ProxyAddresses != nil {
		proxy = *n.ProxyAddresses
	}
	g, err := s.findGroup(ctx, tx, tenantID, id)
	if err != nil {
		return "", err
	}
	before := toJSON(g)
	if n.DisplayName != nil {
		g.DisplayName = *n.DisplayName
	}
	if n.Description != nil {
		g.Description = *n.Description
	}
	if n.MailNickname != nil {
		g.MailNickname = allot.IdentifierForm(*n.MailNickname)
		if err := s.checkClaim(ctx, tx, tenantID, nicknameNames, g.MailNickname, g.ID); err != nil {
			return "", err
		}
	}
	if n.MailEnabled != nil {
		g.MailEnabled = *n.MailEnabled
	}
	if n.SecurityEnabled != nil {
		g.SecurityEnabled = *n.SecurityEnabled
	}
	if n.ProxyAddresses != nil {
		if !slices.Equal(normalizeAll(proxy), normalizeAll(g.ProxyAddresses)) {
			if err := s.checkAddresses(ctx, tx, tenantID, g.ID, proxy); err != nil {
				return "", err
			}
			if err := s.enqueueAddressListers(ctx, tx, tenantID, append(slices.Clone(g.ProxyAddresses), proxy...), ""); err != nil {
				return "", err
			}
			if err := s.setAddresses(ctx, tx, tenantID, g.ID, allot.MemberGroup, proxy); err != nil {
				return "", err
			}
		}
		g.ProxyAddresses = proxy
	}
	if n.GroupTypes != nil {
		g.GroupTypes = *n.GroupTypes
	}
	rule, state, err := dynamicUpdate(g, n)
	if err != nil {
		return "", err
	}
	if _, err := s.setDynamic(ctx, tx, tenantID, g, rule, state); err != nil {
		return "", err
	}
	g.ModifiedAt = s.now()
	if err := updateGroupRow(ctx, tx, tenantID, g); err != nil {
		return "", err
	}
	return g.ID, s.audit(ctx, tx, tenantID, "Update group", "Group", g.ID, before, toJSON(g), "success")
}

// dynamicUpdate is the rule and state a group has after an update, as
// Graph takes them: a group with DynamicMembership in its groupTypes needs
// a rule (given, or kept from before), and a state alone pauses or
// resumes it; a group without it has neither, so removing the type drops
// them, and giving them to a group without the type is an error.
func dynamicUpdate(g *allot.Group, n allot.GroupUpdate) (string, string, error) {
	rule, state := g.MembershipRule, g.MembershipRuleProcessingState
	if n.MembershipRule != nil {
		rule = *n.MembershipRule
	}
	if n.MembershipRuleProcessingState != nil {
		state = *n.MembershipRuleProcessingState
	}
	if !slices.Contains(g.GroupTypes, allot.GroupDynamic) {
		given := n.MembershipRule != nil && *n.MembershipRule != "" || n.MembershipRuleProcessingState != nil && *n.MembershipRuleProcessingState != ""
		if given {
			return allot.CheckDynamic(false, rule, state)
		}
		return "", "", nil
	}
	return allot.CheckDynamic(true, rule, state)
}

// DeleteGroup deletes a group that has no licenses assigned (docs/RULES.md §2.3.6).
func (s *DB) DeleteGroup(ctx context.Context, id string) error {
	a, err := actorOf(ctx)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *txn) error {
		g, err := s.findGroup(ctx, tx, a.TenantID, id)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM assignments WHERE tenant_id = ? AND target_id = ?`, a.TenantID, g.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return allot.Errorf(allot.EINVALID, "The group has licenses assigned. Remove the group's licenses before deleting it.")
		}
		// A group with no assignment may still have states from an
		// unassignment not yet processed: wait for that to finish.
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM license_states WHERE tenant_id = ? AND source = ?`, a.TenantID, g.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return allot.Errorf(allot.EINVALID, "The group's licenses are still being removed from its members. Try again when its processing is complete.")
		}
		if err := s.enqueueAddressListers(ctx, tx, a.TenantID, g.ProxyAddresses, ""); err != nil {
			return err
		}
		// Its members may inherit through it from the groups containing it.
		if err := s.requeueNested(ctx, tx, a.TenantID, g.ID, g.ID, allot.MemberGroup); err != nil {
			return err
		}
		if err := s.recordDeletion(ctx, tx, a.TenantID, allot.MemberGroup, g.ID); err != nil {
			return err
		}
		if err := s.keepDeletedGroup(ctx, tx, a.TenantID, g); err != nil {
			return err
		}
		for _, stmt := range []struct {
			sql  string
			args []any
		}{
			{`DELETE FROM memberships WHERE tenant_id = ? AND (group_id = ? OR member_id = ?)`, []any{a.TenantID, g.ID, g.ID}},
			{`DELETE FROM addresses WHERE tenant_id = ? AND owner_id = ?`, []any{a.TenantID, g.ID}},
			{`DELETE FROM work WHERE tenant_id = ? AND (group_id = ? OR target_id = ?)`, []any{a.TenantID, g.ID, g.ID}},
			{`DELETE FROM dir_groups WHERE tenant_id = ? AND id = ?`, []any{a.TenantID, g.ID}},
		} {
			if _, err := tx.Exec(ctx, stmt.sql, stmt.args...); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, a.TenantID, "Delete group", "Group", g.ID, toJSON(g), "", "success")
	})
	if err == nil {
		s.notify()
	}
	return err
}

// AddMember adds a user or a group to a group. A user joining a licensed
// group is queued (docs/RULES.md §2.3.3); nested groups are kept but not expanded.
func (s *DB) AddMember(ctx context.Context, groupID, memberID string) error {
	a, err := actorOf(ctx)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *txn) error { return s.addMember(ctx, tx, a.TenantID, groupID, memberID) })
	if err == nil {
		s.notify()
	}
	return err
}

// addMember is AddMember in tx.
func (s *DB) addMember(ctx context.Context, tx *txn, tenantID, groupID, memberID string) error {
	g, err := s.findGroup(ctx, tx, tenantID, groupID)
	if err != nil {
		return err
	}
	kind, mid, err := s.memberKind(ctx, tx, tenantID, memberID)
	if err != nil {
		return err
	}
	if mid == g.ID {
		return allot.Errorf(allot.EINVALID, "A group cannot be a member of itself.")
	}
	if err := refuseDynamic(g); err != nil {
		return err
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM memberships WHERE tenant_id = ? AND group_id = ? AND member_id = ?`, tenantID, g.ID, mid).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return allot.Errorf(allot.EINVALID, "One or more added object references already exist for the following modified properties: 'members'.")
	}
	now := fmtTime(s.now())
	if err := insertMemberships(ctx, tx, tenantID, now, []memberChange{{g.ID, mid, kind}}); err != nil {
		return err
	}
	if err := touchGroups(ctx, tx, tenantID, now, []string{g.ID}); err != nil {
		return err
	}
	if kind == allot.MemberUser {
		if err := s.enqueueIfLicensed(ctx, tx, tenantID, g.ID, mid); err != nil {
			return err
		}
	}
	if err := s.requeueNested(ctx, tx, tenantID, g.ID, mid, kind); err != nil {
		return err
	}
	if kind == allot.MemberGroup {
		// A dynamic group nested here may now get licenses its rule reads.
		if err := s.checkRuleLoops(ctx, tx, tenantID, s.catalogIn(ctx, tx)); err != nil {
			return err
		}
	}
	return s.audit(ctx, tx, tenantID, "Add member to group", "Group", g.ID, "", toJSON(map[string]string{"memberId": mid, "memberType": kind}), "success")
}

func (s *DB) memberKind(ctx context.Context, tx *txn, tenantID, id string) (string, string, error) {
	id = strings.ToLower(id)
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&n); err != nil {
		return "", "", err
	} else if n > 0 {
		return allot.MemberUser, id, nil
	}
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM dir_groups WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&n); err != nil {
		return "", "", err
	} else if n > 0 {
		return allot.MemberGroup, id, nil
	}
	return "", "", notFound(id)
}

// RemoveMember removes a member; a user leaving a licensed group is queued.
func (s *DB) RemoveMember(ctx context.Context, groupID, memberID string) error {
	a, err := actorOf(ctx)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *txn) error { return s.removeMember(ctx, tx, a.TenantID, groupID, memberID) })
	if err == nil {
		s.notify()
	}
	return err
}

// removeMember is RemoveMember in tx.
func (s *DB) removeMember(ctx context.Context, tx *txn, tenantID, groupID, memberID string) error {
	g, err := s.findGroup(ctx, tx, tenantID, groupID)
	if err != nil {
		return err
	}
	mid := strings.ToLower(memberID)
	var kind string
	err = tx.QueryRow(ctx, `SELECT member_kind FROM memberships WHERE tenant_id = ? AND group_id = ? AND member_id = ?`, tenantID, g.ID, mid).Scan(&kind)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(memberID)
	} else if err != nil {
		return err
	}
	if err := refuseDynamic(g); err != nil {
		return err
	}
	return s.removeMembership(ctx, tx, tenantID, g.ID, mid, kind)
}

// refuseDynamic is Graph's answer to adding or removing a member of a
// group whose rule decides its members.
func refuseDynamic(g *allot.Group) error {
	if g.MembershipRuleProcessingState == "" {
		return nil
	}
	return allot.Errorf(allot.EINVALID, "Members of group '%s' cannot be added or removed: it has dynamic membership, and its membershipRule decides its members.", g.DisplayName)
}

// removeMembership removes member mid of kind from group gid and queues
// whom it concerns.
func (s *DB) removeMembership(ctx context.Context, tx *txn, tenantID, gid, mid, kind string) error {
	if err := s.requeueNested(ctx, tx, tenantID, gid, mid, kind); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM memberships WHERE tenant_id = ? AND group_id = ? AND member_id = ?`, tenantID, gid, mid); err != nil {
		return err
	}
	if err := touchGroups(ctx, tx, tenantID, fmtTime(s.now()), []string{gid}); err != nil {
		return err
	}
	if kind == allot.MemberUser {
		if err := s.enqueueIfLicensed(ctx, tx, tenantID, gid, mid); err != nil {
			return err
		}
	}
	return s.audit(ctx, tx, tenantID, "Remove member from group", "Group", gid, toJSON(map[string]string{"memberId": mid, "memberType": kind}), "", "success")
}

// Members lists a group's direct members, or with transitive every user
// and group reachable through nested groups (cycles visited once).
func (s *DB) Members(ctx context.Context, groupID string, transitive bool, opt allot.ListOptions) (*allot.Page[allot.DirectoryObject], error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx *txn) (*allot.Page[allot.DirectoryObject], error) {
		g, err := s.findGroup(ctx, tx, a.TenantID, groupID)
		if err != nil {
			return nil, err
		}
		source := `m.group_id`
		var sourceArgs []any
		var groups []string
		switch {
		case transitive:
			groups, err = s.transitiveGroups(ctx, tx, a.TenantID, g.ID)
		case opt.ErrorsOnly || opt.SuccessOnly:
			// Users licensed through nested groups are listed with the
			// group's direct members, by the state they have from this group.
			groups, err = s.nestedMemberGroups(ctx, tx, a.TenantID, g.ID)
			source, sourceArgs = `?`, []any{g.ID}
		default:
			groups = []string{g.ID}
		}
		if err != nil {
			return nil, err
		}
		cond, args, err := memberCond(userList.on(s, ctx, tx), a.TenantID, groups, source, sourceArgs, opt)
		if err != nil {
			return nil, err
		}
		page := &allot.Page[allot.DirectoryObject]{Items: []allot.DirectoryObject{}}
		if opt.Count {
			if err := tx.QueryRow(ctx, `SELECT COUNT(DISTINCT m.member_id) FROM memberships m WHERE `+cond, args...).Scan(&page.Count); err != nil {
				return nil, err
			}
		}
		if strings.ContainsRune(opt.After+opt.Search, 0) {
			return nil, allot.Errorf(allot.EINVALID, "Invalid character in the query.")
		}
		if opt.After != "" {
			cond += ` AND m.member_id > ?`
			args = append(args, opt.After)
		}
		order, kinds, err := memberPage(ctx, tx, cond, args, topOf(opt), page)
		if err != nil {
			return nil, err
		}
		return page, s.fillMembers(ctx, tx, a.TenantID, order, kinds, opt.WithLicensing, page)
	})
}

// transitiveGroups is the group and every group nested in it at any depth.
func (s *DB) transitiveGroups(ctx context.Context, tx *txn, tenantID, groupID string) ([]string, error) {
	groups := []string{groupID}
	seen := map[string]bool{groupID: true}
	for i := 0; i < len(groups); i++ {
		rows, err := tx.Query(ctx, `SELECT member_id FROM memberships WHERE tenant_id = ? AND group_id = ? AND member_kind = 'group'`, tenantID, groups[i])
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			if !seen[id] {
				seen[id] = true
				groups = append(groups, id)
			}
		}
		rows.Close()
	}
	return groups, nil
}

// memberCond is the condition on memberships m of a member list: members
// of groups, narrowed by the options. source is what a member's state
// must come from for ErrorsOnly and SuccessOnly.
func memberCond(users listSpec, tenantID string, groups []string, source string, sourceArgs []any, opt allot.ListOptions) (string, []any, error) {
	cond := `m.tenant_id = ? AND m.group_id IN (` + placeholders(len(groups)) + `)`
	args := append([]any{tenantID}, anys(groups)...)
	switch {
	case opt.ErrorsOnly:
		cond += ` AND EXISTS (SELECT 1 FROM license_states x WHERE x.tenant_id = m.tenant_id AND x.user_id = m.member_id AND x.source = ` + source + ` AND x.state = 'Error')`
		args = append(args, sourceArgs...)
	case opt.SuccessOnly:
		cond += ` AND EXISTS (SELECT 1 FROM license_states x WHERE x.tenant_id = m.tenant_id AND x.user_id = m.member_id AND x.source = ` + source + `)
			AND NOT EXISTS (SELECT 1 FROM license_states x WHERE x.tenant_id = m.tenant_id AND x.user_id = m.member_id AND x.source = ` + source + ` AND x.state = 'Error')`
		args = append(append(args, sourceArgs...), sourceArgs...)
	}
	if opt.MemberID != "" {
		cond += ` AND m.member_id = ?`
		args = append(args, opt.MemberID)
	}
	if opt.Filter != nil {
		// Only user properties are filterable on member lists.
		ucond, uargs, err := users.where(opt.Filter)
		if err != nil {
			return "", nil, err
		}
		cond += ` AND m.member_kind = 'user' AND EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = m.tenant_id AND u.id = m.member_id AND ` + ucond + `)`
		args = append(args, uargs...)
	}
	if t := opt.Search; t != "" {
		cond += ` AND m.member_kind = 'user' AND EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = m.tenant_id AND u.id = m.member_id AND (lower(u.display_name) LIKE ? ESCAPE '\' OR lower(u.upn) LIKE ? ESCAPE '\'))`
		pat := "%" + likeEscape(strings.ToLower(t)) + "%"
		args = append(args, pat, pat)
	}
	return cond, args, nil
}

// memberPage reads the ids of a page of members in order, with each one's
// kind, and sets the page's cursor when there are more.
func memberPage(ctx context.Context, tx *txn, cond string, args []any, top int, page *allot.Page[allot.DirectoryObject]) ([]string, map[string]string, error) {
	rows, err := tx.Query(ctx, `SELECT m.member_id, MIN(m.member_kind) FROM memberships m WHERE `+cond+` GROUP BY m.member_id ORDER BY m.member_id LIMIT ?`, append(args, top+1)...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var order []string
	kinds := map[string]string{}
	for rows.Next() {
		var id, kind string
		if err := rows.Scan(&id, &kind); err != nil {
			return nil, nil, err
		}
		order = append(order, id)
		kinds[id] = kind
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(order) > top {
		order = order[:top]
		page.NextCursor = order[top-1]
	}
	return order, kinds, nil
}

// fillMembers reads the users and groups of a page of members, in order;
// one deleted since the page was cut is left out.
func (s *DB) fillMembers(ctx context.Context, tx *txn, tenantID string, order []string, kinds map[string]string, withLicensing bool, page *allot.Page[allot.DirectoryObject]) error {
	var userIDs, groupIDs []string
	for _, id := range order {
		if kinds[id] == allot.MemberUser {
			userIDs = append(userIDs, id)
		} else {
			groupIDs = append(groupIDs, id)
		}
	}
	objs := map[string]allot.DirectoryObject{}
	var users []*allot.User
	err := tx.each(ctx, `SELECT `+userCols+` FROM users u WHERE u.tenant_id = ? AND u.id IN (%s)`, userIDs, []any{tenantID}, func(r *sql.Rows) error {
		u, err := scanUser(r)
		if err == nil {
			users = append(users, u)
		}
		return err
	})
	if err != nil {
		return err
	}
	if withLicensing && len(users) > 0 {
		if err := s.fillLicensing(ctx, tx, tenantID, users); err != nil {
			return err
		}
	}
	for _, u := range users {
		objs[u.ID] = allot.DirectoryObject{User: u}
	}
	err = tx.each(ctx, `SELECT `+groupCols+` FROM dir_groups g WHERE g.tenant_id = ? AND g.id IN (%s)`, groupIDs, []any{tenantID}, func(r *sql.Rows) error {
		g, err := scanGroup(r)
		if err == nil {
			objs[g.ID] = allot.DirectoryObject{Group: g}
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, id := range order {
		if o, ok := objs[id]; ok {
			page.Items = append(page.Items, o)
		}
	}
	return nil
}

// AssignGroupLicense stores a group's license change and queues its
// members; the evaluation happens in the worker (docs/RULES.md §2.3.2).
func (s *DB) AssignGroupLicense(ctx context.Context, groupID string, add []allot.AssignedLicense, remove []string) (*allot.Group, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	var gid string
	err = s.tx(ctx, func(tx *txn) error {
		var err error
		gid, err = s.assignGroupLicense(ctx, tx, a.TenantID, groupID, add, remove)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return s.Group(ctx, gid)
}

// assignGroupLicense is AssignGroupLicense in tx; it returns the group's id.
func (s *DB) assignGroupLicense(ctx context.Context, tx *txn, tenantID, groupID string, add []allot.AssignedLicense, remove []string) (string, error) {
	if err := validateLicenses(s.catalogIn(ctx, tx), add, remove); err != nil {
		return "", err
	}
	g, err := s.findGroup(ctx, tx, tenantID, groupID)
	if err != nil {
		return "", err
	}
	return g.ID, s.assignGroup(ctx, tx, tenantID, g.ID, add, remove)
}

func (s *DB) assignGroup(ctx context.Context, tx *txn, tenantID, groupID string, add []allot.AssignedLicense, remove []string) error {
	if err := s.checkSubscribed(ctx, tx, tenantID, add); err != nil {
		return err
	}
	before, err := s.loadAssignments(ctx, tx, tenantID, groupID)
	if err != nil {
		return err
	}
	nestedBefore, err := s.nestedSKUs(ctx, tx, tenantID, groupID)
	if err != nil {
		return err
	}
	after, _, missing := applyLicenseChange(before, add, remove, s.now())
	if missing != "" {
		return allot.Errorf(allot.EINVALID, "License %s is not assigned to the group.", missing)
	}
	all := make([]allot.AssignedLicense, 0, len(after))
	for _, x := range after {
		all = append(all, allot.AssignedLicense{SkuID: x.sku, DisabledPlans: x.disabled})
	}
	if err := conflictWithin(s.catalogIn(ctx, tx), all); err != nil {
		return err
	}
	if err := s.writeAssignments(ctx, tx, tenantID, groupID, allot.MemberGroup, before, after); err != nil {
		return err
	}
	if err := s.audit(ctx, tx, tenantID, "Set group license", "Group", groupID, assignmentsJSON(before), assignmentsJSON(after), "success"); err != nil {
		return err
	}
	if err := s.setNested(ctx, tx, tenantID, groupID, nestedBefore, after, add); err != nil {
		return err
	}
	if err := s.checkRuleLoops(ctx, tx, tenantID, s.catalogIn(ctx, tx)); err != nil {
		return err
	}
	return s.enqueueGroup(ctx, tx, tenantID, groupID)
}

// AssignGroupsLicense assigns one product to up to 20 groups at once, all
// or none.
func (s *DB) AssignGroupsLicense(ctx context.Context, groupIDs []string, lic allot.AssignedLicense) error {
	a, err := actorOf(ctx)
	if err != nil {
		return err
	}
	if len(groupIDs) == 0 || len(groupIDs) > allot.MaxBatch {
		return allot.Errorf(allot.EINVALID, "Licenses can be assigned to between 1 and %d groups at a time; got %d.", allot.MaxBatch, len(groupIDs))
	}
	err = s.tx(ctx, func(tx *txn) error {
		if err := validateLicenses(s.catalogIn(ctx, tx), []allot.AssignedLicense{lic}, nil); err != nil {
			return err
		}
		for _, id := range dedupe(groupIDs) {
			g, err := s.findGroup(ctx, tx, a.TenantID, id)
			if err != nil {
				return err
			}
			if err := s.assignGroup(ctx, tx, a.TenantID, g.ID, []allot.AssignedLicense{lic}, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		s.notify()
	}
	return err
}

// ReprocessGroup queues every member of the group.
func (s *DB) ReprocessGroup(ctx context.Context, groupID string) error {
	a, err := actorOf(ctx)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *txn) error {
		g, err := s.findGroup(ctx, tx, a.TenantID, groupID)
		if err != nil {
			return err
		}
		return s.enqueueGroup(ctx, tx, a.TenantID, g.ID)
	})
	if err == nil {
		s.notify()
	}
	return err
}

// nicknameSkeleton is the skeleton stored beside a mailNickname.
func nicknameSkeleton(nick string) string {
	return skeletonOf(nicknameNames, nick)
}
