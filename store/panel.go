package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/allot-dev/allot"
)

// The admin center's group panel (web/grouppanel.go) and its progress
// bars: reads that must describe one moment while a walk writes.

// snapshot runs fn in a read transaction that sees one moment. readTx is
// one on SQLite, but on PostgreSQL it runs each statement on the pool, and
// even a transaction there sees each statement's own moment unless it is
// REPEATABLE READ: the panel's counts, read by several statements while a
// walk commits batches, would not add up.
func (s *DB) snapshot(ctx context.Context, fn func(*txn) error) error {
	if s.dialect != dialectPostgres {
		return s.readTx(ctx, fn)
	}
	sqlTx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return err
	}
	defer sqlTx.Rollback()
	return fn(&txn{conn: sqlTx, dialect: s.dialect})
}

// panelCursor is the cursor of a panel's page: the last row's sort key,
// display name then id, which is unique, so a page never repeats or skips
// a user whatever was shown before.
type panelCursor struct {
	Name string `json:"n"`
	ID   string `json:"i"`
}

func encodePanelCursor(name, id string) string {
	b, _ := json.Marshal(panelCursor{name, id})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePanelCursor(s string) (panelCursor, error) {
	var c panelCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID == "" || strings.ContainsRune(c.Name+c.ID, 0) {
		return c, allot.Errorf(allot.EINVALID, "The page cursor is invalid.")
	}
	return c, nil
}

// LicensePanel reads a group's licensing of one product in one snapshot.
func (s *DB) LicensePanel(ctx context.Context, groupID, skuID string, q allot.PanelQuery) (*allot.LicensePanel, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	if strings.ContainsRune(q.Search, 0) {
		return nil, allot.Errorf(allot.EINVALID, "Invalid character in the query.")
	}
	var after panelCursor
	if q.After != "" {
		if after, err = decodePanelCursor(q.After); err != nil {
			return nil, err
		}
	}
	skuID = strings.ToLower(skuID)
	p := &allot.LicensePanel{ByError: map[allot.LicenseError]int{}, OtherErrors: map[string]int{}, Users: allot.Page[allot.User]{Items: []allot.User{}}}
	err = s.snapshot(ctx, func(tx *txn) error {
		g, err := s.findGroup(ctx, tx, a.TenantID, groupID)
		if err != nil {
			return err
		}
		if err := s.fillGroups(ctx, tx, a.TenantID, []*allot.Group{g}); err != nil {
			return err
		}
		p.Group = *g
		sub, err := s.subscription(ctx, tx, a.TenantID, skuID)
		if err != nil {
			return err
		}
		p.Subscription = *sub
		groups, err := s.nestedMemberGroups(ctx, tx, a.TenantID, g.ID)
		if err != nil {
			return err
		}
		// A member is counted once whatever the number of nested groups it
		// is in, and only while it is one: a user who left keeps its state
		// until its evaluation, and would otherwise be counted twice.
		inFrag, inArgs := tx.in(groups)
		member := func(col string) (string, []any) {
			return `EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = ? AND m.group_id ` + inFrag + ` AND m.member_kind = 'user' AND m.member_id = ` + col + `)`,
				append([]any{a.TenantID}, inArgs...)
		}
		mcond, margs := member("u.id")
		// The counts read indexes only (migration 0017): the members on
		// memberships_kind, the states from the group on
		// license_states_kind, each probing its user's membership. Every
		// state is of an existing user, and a user has one state per
		// product and source.
		members, args := `SELECT COUNT(*) FROM memberships WHERE tenant_id = ? AND group_id = ? AND member_kind = 'user'`, []any{a.TenantID, g.ID}
		if len(groups) > 1 {
			members = `SELECT COUNT(DISTINCT member_id) FROM memberships WHERE tenant_id = ? AND group_id ` + inFrag + ` AND member_kind = 'user'`
			args = append([]any{a.TenantID}, inArgs...)
		}
		if err := tx.QueryRow(ctx, members, args...).Scan(&p.Members); err != nil {
			return err
		}
		lcond, largs := member("l.user_id")
		rows, err := tx.Query(ctx, `SELECT l.state, l.error, COUNT(*) FROM license_states l
			WHERE l.tenant_id = ? AND l.state IN (?, ?) AND l.source = ? AND l.sku_id = ? AND `+lcond+` GROUP BY l.state, l.error`,
			append([]any{a.TenantID, allot.StateActive, allot.StateError, g.ID, skuID}, largs...)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var state, code string
			var n int
			if err := rows.Scan(&state, &code, &n); err != nil {
				rows.Close()
				return err
			}
			switch state {
			case allot.StateActive:
				p.Assigned += n
			case allot.StateError:
				p.Failed += n
				p.ByError[allot.LicenseError(code)] += n
			}
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return err
		}
		rows.Close()
		rows, err = tx.Query(ctx, `SELECT l.sku_id, COUNT(*) FROM license_states l WHERE l.tenant_id = ? AND l.state = 'Error' AND l.source = ? AND l.sku_id <> ? AND `+lcond+` GROUP BY l.sku_id`,
			append([]any{a.TenantID, g.ID, skuID}, largs...)...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var sku string
			var n int
			if err := rows.Scan(&sku, &n); err != nil {
				rows.Close()
				return err
			}
			p.OtherErrors[sku] = n
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return err
		}
		rows.Close()
		return s.panelPage(ctx, tx, a.TenantID, g.ID, skuID, q, after, mcond, margs, p)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// panelPage reads the page of the panel's list and its length.
func (s *DB) panelPage(ctx context.Context, tx *txn, tenantID, gid, skuID string, q allot.PanelQuery, after panelCursor, mcond string, margs []any, p *allot.LicensePanel) error {
	join := ` FROM users u JOIN license_states l ON l.tenant_id = u.tenant_id AND l.user_id = u.id AND l.sku_id = ? AND l.source = ? AND l.state = ?`
	args := []any{skuID, gid, allot.StateActive}
	if q.Errors {
		args[2] = allot.StateError
		if q.Error != "" {
			join += ` AND l.error = ?`
			args = append(args, string(q.Error))
		}
	}
	where := ` WHERE u.tenant_id = ? AND ` + mcond
	args = append(append(args, tenantID), margs...)
	if t := strings.TrimSpace(q.Search); t != "" {
		pat := "%" + likeEscape(strings.ToLower(t)) + "%"
		where += ` AND (lower(u.display_name) LIKE ? ESCAPE '\' OR lower(u.upn) LIKE ? ESCAPE '\')`
		args = append(args, pat, pat)
	}
	// Without a search the list's length is one of the counts read.
	switch t := strings.TrimSpace(q.Search); {
	case t == "" && !q.Errors:
		p.Users.Count = p.Assigned
	case t == "" && q.Error != "":
		p.Users.Count = p.ByError[q.Error]
	case t == "":
		p.Users.Count = p.Failed
	default:
		if err := tx.QueryRow(ctx, `SELECT COUNT(*)`+join+where, args...).Scan(&p.Users.Count); err != nil {
			return err
		}
	}
	if after.ID != "" {
		where += ` AND (u.display_name > ? OR (u.display_name = ? AND u.id > ?))`
		args = append(args, after.Name, after.Name, after.ID)
	}
	top := q.Top
	if top <= 0 || top > allot.MaxPageSize {
		top = allot.MaxPageSize
	}
	rows, err := tx.Query(ctx, `SELECT `+userCols+join+where+` ORDER BY u.display_name, u.id LIMIT ?`, append(args, top+1)...)
	if err != nil {
		return err
	}
	var users []*allot.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return err
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	rows.Close()
	if len(users) > top {
		users = users[:top]
		last := users[top-1]
		p.Users.NextCursor = encodePanelCursor(last.DisplayName, last.ID)
	}
	if len(users) > 0 {
		if err := s.fillLicensing(ctx, tx, tenantID, users); err != nil {
			return err
		}
	}
	for _, u := range users {
		p.Users.Items = append(p.Users.Items, *u)
	}
	return nil
}

// MemberCounts counts the user members of groups; a group with none, or
// unknown, is left out.
func (s *DB) MemberCounts(ctx context.Context, groupIDs []string) (map[string]int, error) {
	return s.countByGroup(ctx, groupIDs, `SELECT group_id, COUNT(*) FROM memberships WHERE tenant_id = ? AND member_kind = 'user' AND group_id IN (%s) GROUP BY group_id`)
}

// ProductErrorCounts counts the members of each group in error on the
// product from it; a range of license_states_kind per group.
func (s *DB) ProductErrorCounts(ctx context.Context, skuID string, groupIDs []string) (map[string]int, error) {
	return s.countByGroup(ctx, groupIDs, `SELECT source, COUNT(*) FROM license_states WHERE tenant_id = ? AND state = 'Error' AND sku_id = ? AND source IN (%s) GROUP BY source`,
		strings.ToLower(skuID))
}

// countByGroup runs query, grouped by a group id and taking the tenant,
// args and then the groups' ids, in one snapshot.
func (s *DB) countByGroup(ctx context.Context, groupIDs []string, query string, args ...any) (map[string]int, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(groupIDs))
	for _, id := range groupIDs {
		ids = append(ids, strings.ToLower(id))
	}
	out := map[string]int{}
	err = s.snapshot(ctx, func(tx *txn) error {
		return tx.each(ctx, query, ids, append([]any{a.TenantID}, args...), func(r *sql.Rows) error {
			var id string
			var n int
			err := r.Scan(&id, &n)
			out[id] = n
			return err
		})
	})
	return out, err
}

// ProductErrors counts the product's users in error by kind; a range of
// license_states_kind. A user in error through two sources counts once
// per kind, as a product's page speaks of users, not of states.
func (s *DB) ProductErrors(ctx context.Context, skuID string) ([]allot.GroupErrorKind, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	skuID = strings.ToLower(skuID)
	var out []allot.GroupErrorKind
	err = s.snapshot(ctx, func(tx *txn) error {
		rows, err := tx.Query(ctx, `SELECT l.error,
				CASE WHEN l.error = ? THEN (SELECT COUNT(*) FROM users u WHERE u.tenant_id = l.tenant_id AND u.id = l.user_id AND u.usage_location = '') ELSE 0 END AS no_location,
				COUNT(DISTINCT l.user_id)
			FROM license_states l WHERE l.tenant_id = ? AND l.state = 'Error' AND l.sku_id = ?
			GROUP BY l.error, no_location ORDER BY l.error, no_location`,
			string(allot.ProhibitedInUsageLocationViolation), a.TenantID, skuID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var code string
			var noLocation, n int
			if err := rows.Scan(&code, &noLocation, &n); err != nil {
				return err
			}
			out = append(out, allot.GroupErrorKind{SkuID: skuID, Error: allot.LicenseError(code), NoLocation: noLocation > 0, Users: n})
		}
		return rows.Err()
	})
	return out, err
}

// maxProgress bounds the groups ProductProgress lists: a page shows the
// walks under way, and more than this many at once is a bulk change whose
// first walks are the ones that run.
const maxProgress = 100

// ProductProgress lists the groups whose queued or running work concerns
// the product, in order of name.
func (s *DB) ProductProgress(ctx context.Context, skuID string) ([]allot.Group, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	skuID = strings.ToLower(skuID)
	var out []allot.Group
	err = s.snapshot(ctx, func(tx *txn) error {
		rows, err := tx.Query(ctx, `SELECT `+groupCols+` FROM dir_groups g WHERE g.tenant_id = ?
			AND EXISTS (SELECT 1 FROM work w WHERE w.tenant_id = g.tenant_id AND w.group_id = g.id AND w.kind <> 'rule')
			AND (EXISTS (SELECT 1 FROM assignments x WHERE x.tenant_id = g.tenant_id AND x.target_kind = 'group' AND x.target_id = g.id AND x.sku_id = ?)
				OR EXISTS (SELECT 1 FROM license_states l WHERE l.tenant_id = g.tenant_id AND l.source = g.id AND l.sku_id = ?))
			ORDER BY g.display_name, g.id LIMIT ?`, a.TenantID, skuID, skuID, maxProgress)
		if err != nil {
			return err
		}
		var groups []*allot.Group
		for rows.Next() {
			g, err := scanGroup(rows)
			if err != nil {
				rows.Close()
				return err
			}
			groups = append(groups, g)
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return err
		}
		rows.Close()
		if len(groups) == 0 {
			return nil
		}
		if err := s.fillGroups(ctx, tx, a.TenantID, groups); err != nil {
			return err
		}
		for _, g := range groups {
			out = append(out, *g)
		}
		return nil
	})
	return out, err
}
