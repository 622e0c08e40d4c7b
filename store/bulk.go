package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/allot-dev/allot"
)

// ImportDirectory adds many users, groups and memberships in one
// transaction with multi-row statements: the way to load a large tenant.
// Every object is new and validated as CreateUser and CreateGroup do;
// members may be imported users or groups or existing ones. Users joining
// a licensed group are queued. All or nothing.
func (s *DB) ImportDirectory(ctx context.Context, users []allot.UserCreate, groups []allot.GroupCreate, members []allot.Membership) error {
	a, err := actorOf(ctx)
	if err != nil {
		return err
	}
	now := fmtTime(s.now())
	kinds := map[string]string{}
	var userRows, groupRows, addrRows [][]any
	var upnClaims, nickClaims, addrClaims []nameClaim
	upns := map[string]bool{}
	for i := range users {
		u := &users[i]
		if u.ID == "" {
			u.ID = s.newID()
		}
		u.ID = strings.ToLower(u.ID)
		if !isGUID(u.ID) || kinds[u.ID] != "" {
			return allot.Errorf(allot.EINVALID, "users[%d]: invalid or repeated id '%s'.", i, u.ID)
		}
		if err := validUPN(u.UserPrincipalName); err != nil {
			return allot.Errorf(allot.EINVALID, "users[%d]: %s", i, allot.ErrorMessage(err))
		}
		upn := allot.IdentifierForm(u.UserPrincipalName)
		key := allot.IdentifierKey(upn)
		if upns[key] {
			return allot.Errorf(allot.EINVALID, "users[%d]: userPrincipalName '%s' appears twice.", i, u.UserPrincipalName)
		}
		upns[key] = true
		loc, err := validLocation(u.UsageLocation)
		if err != nil {
			return allot.Errorf(allot.EINVALID, "users[%d]: %s", i, allot.ErrorMessage(err))
		}
		proxy := cleanAddresses(u.ProxyAddresses)
		if err := errors.Join(validText("displayName", u.DisplayName, 256), validText("mail", u.Mail, 256), validAddresses(proxy)); err != nil {
			return allot.Errorf(allot.EINVALID, "users[%d]: %s", i, allot.ErrorMessage(err))
		}
		if strings.TrimSpace(u.DisplayName) == "" {
			return allot.Errorf(allot.EINVALID, "users[%d]: displayName is required.", i)
		}
		kinds[u.ID] = allot.MemberUser
		userRows = append(userRows, []any{a.TenantID, u.ID, upn, key, allot.IdentifierSkeleton(upn), u.DisplayName, u.Mail, loc, toJSON(proxy), b2i(u.AccountEnabled), now})
		where := fmt.Sprintf("users[%d]", i)
		upnClaims = append(upnClaims, nameClaim{name: upn, owner: u.ID, where: where})
		for _, ad := range normalizeAll(proxy) {
			addrRows = append(addrRows, addressRow(a.TenantID, ad, u.ID, allot.MemberUser))
			addrClaims = append(addrClaims, nameClaim{name: ad, owner: u.ID, where: where})
		}
	}
	for i := range groups {
		g := &groups[i]
		if g.ID == "" {
			g.ID = s.newID()
		}
		g.ID = strings.ToLower(g.ID)
		if !isGUID(g.ID) || kinds[g.ID] != "" {
			return allot.Errorf(allot.EINVALID, "groups[%d]: invalid or repeated id '%s'.", i, g.ID)
		}
		if strings.TrimSpace(g.DisplayName) == "" {
			return allot.Errorf(allot.EINVALID, "groups[%d]: displayName is required.", i)
		}
		proxy := cleanAddresses(g.ProxyAddresses)
		if err := errors.Join(validText("displayName", g.DisplayName, 256), validText("description", g.Description, 1024), validNickname(g.MailNickname), validAddresses(proxy)); err != nil {
			return allot.Errorf(allot.EINVALID, "groups[%d]: %s", i, allot.ErrorMessage(err))
		}
		types := g.GroupTypes
		if types == nil {
			types = []string{}
		}
		kinds[g.ID] = allot.MemberGroup
		nick := allot.IdentifierForm(g.MailNickname)
		groupRows = append(groupRows, []any{a.TenantID, g.ID, g.DisplayName, g.Description, nick, nicknameSkeleton(nick), toJSON(types), b2i(g.MailEnabled), b2i(g.SecurityEnabled), toJSON(proxy), now})
		where := fmt.Sprintf("groups[%d]", i)
		nickClaims = append(nickClaims, nameClaim{name: nick, owner: g.ID, where: where})
		for _, ad := range normalizeAll(proxy) {
			addrRows = append(addrRows, addressRow(a.TenantID, ad, g.ID, allot.MemberGroup))
			addrClaims = append(addrClaims, nameClaim{name: ad, owner: g.ID, where: where})
		}
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		// Imported ids and names must not collide with what exists.
		var ids []string
		for id := range kinds {
			ids = append(ids, id)
		}
		var clash string
		err := s.each(ctx, tx, `SELECT id FROM users WHERE tenant_id = ? AND id IN (%s)`, ids, []any{a.TenantID}, func(r *sql.Rows) error { return r.Scan(&clash) })
		if err == nil && clash == "" {
			err = s.each(ctx, tx, `SELECT id FROM dir_groups WHERE tenant_id = ? AND id IN (%s)`, ids, []any{a.TenantID}, func(r *sql.Rows) error { return r.Scan(&clash) })
		}
		if err == nil && clash == "" {
			err = s.each(ctx, tx, `SELECT upn FROM users WHERE tenant_id = ? AND upn_key IN (%s)`, keys(upns), []any{a.TenantID}, func(r *sql.Rows) error { return r.Scan(&clash) })
		}
		if err != nil {
			return err
		}
		if clash != "" {
			return allot.Errorf(allot.ECONFLICT, "'%s' already exists.", clash)
		}
		// Names that look like others', stored or imported (lookalike.go).
		var refused error
		fail := func(c nameClaim, err error) {
			if refused == nil {
				refused = allot.Errorf(allot.ErrorCode(err), "%s: %s", c.where, allot.ErrorMessage(err))
			}
		}
		for _, n := range []struct {
			cols   nameColumns
			claims []nameClaim
		}{{upnNames, upnClaims}, {nicknameNames, nickClaims}, {addressNames, addrClaims}} {
			if err := s.checkClaims(ctx, tx, a.TenantID, n.cols, n.claims, fail); err != nil {
				return err
			}
		}
		if refused != nil {
			return refused
		}
		// Members that are not imported must exist already.
		var outside []string
		for _, m := range members {
			if kinds[strings.ToLower(m.MemberID)] == "" {
				outside = append(outside, strings.ToLower(m.MemberID))
			}
			if kinds[strings.ToLower(m.GroupID)] == "" {
				outside = append(outside, strings.ToLower(m.GroupID))
			}
		}
		outside = dedupe(outside)
		known := map[string]string{}
		for _, q := range []struct{ query, kind string }{
			{`SELECT id FROM users WHERE tenant_id = ? AND id IN (%s)`, allot.MemberUser},
			{`SELECT id FROM dir_groups WHERE tenant_id = ? AND id IN (%s)`, allot.MemberGroup},
		} {
			err := s.each(ctx, tx, q.query, outside, []any{a.TenantID}, func(r *sql.Rows) error {
				var id string
				err := r.Scan(&id)
				known[id] = q.kind
				return err
			})
			if err != nil {
				return err
			}
		}
		kindOf := func(id string) string {
			if k := kinds[id]; k != "" {
				return k
			}
			return known[id]
		}
		var memberRows [][]any
		seen := map[[2]string]bool{}
		joined := map[string][]string{} // group -> users
		for i, m := range members {
			g, id := strings.ToLower(m.GroupID), strings.ToLower(m.MemberID)
			if kindOf(g) != allot.MemberGroup {
				return allot.Errorf(allot.EINVALID, "memberships[%d]: group '%s' does not exist.", i, m.GroupID)
			}
			kind := kindOf(id)
			if kind == "" || id == g {
				return allot.Errorf(allot.EINVALID, "memberships[%d]: member '%s' does not exist or is the group itself.", i, m.MemberID)
			}
			if seen[[2]string{g, id}] {
				continue
			}
			seen[[2]string{g, id}] = true
			memberRows = append(memberRows, []any{a.TenantID, g, id, kind, now})
			if kind == allot.MemberUser {
				joined[g] = append(joined[g], id)
			}
		}
		for _, ins := range []struct {
			prefix string
			rows   [][]any
		}{
			{`INSERT INTO users (tenant_id, id, upn, upn_key, upn_skeleton, display_name, mail, usage_location, proxy_addresses, account_enabled, created_at) VALUES `, userRows},
			{`INSERT INTO dir_groups (tenant_id, id, display_name, description, mail_nickname, mail_nickname_skeleton, group_types, mail_enabled, security_enabled, proxy_addresses, created_at) VALUES `, groupRows},
			{addressCols, addrRows},
			{`INSERT INTO memberships (tenant_id, group_id, member_id, member_kind, added_at) VALUES `, memberRows},
		} {
			if err := s.insertRows(ctx, tx, ins.prefix, ins.rows); err != nil {
				return err
			}
		}
		// Joining a licensed group queues the user; new group addresses
		// queue their listers.
		for _, g := range keys(joined) {
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM assignments WHERE tenant_id = ? AND target_id = ?`), a.TenantID, g).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				if err := s.enqueueUsers(ctx, tx, a.TenantID, joined[g], g); err != nil {
					return err
				}
			}
		}
		var groupAddrs []string
		for _, r := range addrRows {
			if r[3] == allot.MemberGroup {
				groupAddrs = append(groupAddrs, r[1].(string))
			}
		}
		if err := s.enqueueAddressListers(ctx, tx, a.TenantID, groupAddrs, ""); err != nil {
			return err
		}
		return s.audit(ctx, tx, a.TenantID, "Import directory", "Tenant", a.TenantID, "", toJSON(map[string]int{"users": len(userRows), "groups": len(groupRows), "memberships": len(memberRows)}), "success")
	})
	if err != nil {
		return err
	}
	if len(userRows)+len(members) >= 1000 {
		if err := s.analyzePostgres(ctx, s.db, "users", "dir_groups", "memberships", "addresses"); err != nil {
			return err
		}
	}
	s.notify()
	return nil
}
