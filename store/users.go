package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/allot-dev/allot"
)

const userCols = `u.id, u.upn, u.display_name, u.mail, u.usage_location, u.proxy_addresses, u.account_enabled, u.created_at`

func scanUser(r interface{ Scan(...any) error }) (*allot.User, error) {
	var u allot.User
	var proxy, created string
	var enabled int
	if err := r.Scan(&u.ID, &u.UserPrincipalName, &u.DisplayName, &u.Mail, &u.UsageLocation, &proxy, &enabled, &created); err != nil {
		return nil, err
	}
	u.ProxyAddresses, u.AccountEnabled, u.CreatedAt = strList(proxy), enabled == 1, parseTime(created)
	return &u, nil
}

func notFound(id string) error {
	return allot.Errorf(allot.ENOTFOUND, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
}

// findUser resolves an id or a userPrincipalName within the tenant. A
// name is found by its key whatever its spelling (NFD or NFC, full-width,
// case).
func (s *DB) findUser(ctx context.Context, q interface {
	queryer
	rowQueryer
}, tenantID, idOrUPN string) (*allot.User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, s.q(`SELECT `+userCols+` FROM users u WHERE u.tenant_id = ? AND (u.id = ? OR u.upn_key = ?)`),
		tenantID, strings.ToLower(idOrUPN), allot.IdentifierKey(idOrUPN)))
	if errors.Is(err, sql.ErrNoRows) && strings.Contains(idOrUPN, "@") {
		u, err = s.findUnnormalizedUser(ctx, q, tenantID, idOrUPN)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(idOrUPN)
	}
	return u, err
}

// findUnnormalizedUser finds a user by a name stored before keys were
// normalised, whose key is the lower case of the name as it was given
// ("jose\u0301@"). Such rows have no skeleton yet (migration 10) and are
// few, so their keys are computed here.
func (s *DB) findUnnormalizedUser(ctx context.Context, q queryer, tenantID, upn string) (*allot.User, error) {
	key := allot.IdentifierKey(upn)
	rows, err := q.QueryContext(ctx, s.q(`SELECT `+userCols+` FROM users u WHERE u.tenant_id = ? AND u.upn_skeleton = ''`), tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		if allot.IdentifierKey(u.UserPrincipalName) == key {
			return u, nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return nil, sql.ErrNoRows
}

// User returns a user with its licensing.
func (s *DB) User(ctx context.Context, idOrUPN string) (*allot.User, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.findUser(ctx, s.reader(ctx), a.TenantID, idOrUPN)
	if err != nil {
		return nil, err
	}
	return u, s.fillLicensing(ctx, s.reader(ctx), a.TenantID, []*allot.User{u})
}

// fillLicensing loads states for users and derives assignedLicenses: each
// held SKU once, with the plans disabled in every active source (the union
// of enabled plans, docs/RULES.md §2.1).
func (s *DB) fillLicensing(ctx context.Context, q queryer, tenantID string, users []*allot.User) error {
	byID := make(map[string]*allot.User, len(users))
	ids := make([]string, 0, len(users))
	for _, u := range users {
		byID[u.ID] = u
		ids = append(ids, u.ID)
		u.States, u.AssignedLicenses = []allot.LicenseState{}, []allot.AssignedLicense{}
	}
	err := s.each(ctx, q, `SELECT user_id, sku_id, source, state, error, disabled_plans, detail, updated_at, waiting_since FROM license_states
		WHERE tenant_id = ? AND user_id IN (%s) ORDER BY user_id, source, sku_id`, ids, []any{tenantID}, func(r *sql.Rows) error {
		var uid, disabled, updated, waiting string
		var st allot.LicenseState
		if err := r.Scan(&uid, &st.SkuID, &st.Source, &st.State, &st.Error, &disabled, &st.Detail, &updated, &waiting); err != nil {
			return err
		}
		st.DisabledPlans, st.LastUpdated, st.WaitingSince = strList(disabled), parseTime(updated), parseTime(waiting)
		byID[uid].States = append(byID[uid].States, st)
		return nil
	})
	if err != nil {
		return err
	}
	for _, u := range users {
		u.AssignedLicenses = assignedLicenses(u.States)
	}
	return nil
}

func assignedLicenses(states []allot.LicenseState) []allot.AssignedLicense {
	disabled := map[string][]string{}
	var order []string
	for _, st := range states {
		if st.State != allot.StateActive {
			continue
		}
		prev, seen := disabled[st.SkuID]
		if !seen {
			order = append(order, st.SkuID)
			disabled[st.SkuID] = slices.Clone(st.DisabledPlans)
			continue
		}
		var both []string
		for _, p := range prev {
			if slices.Contains(st.DisabledPlans, p) {
				both = append(both, p)
			}
		}
		disabled[st.SkuID] = both
	}
	slices.Sort(order)
	out := make([]allot.AssignedLicense, 0, len(order))
	for _, sku := range order {
		d := disabled[sku]
		if d == nil {
			d = []string{}
		}
		out = append(out, allot.AssignedLicense{SkuID: sku, DisabledPlans: d})
	}
	return out
}

// ListUsers lists the tenant's users, filtered and paged in the database.
func (s *DB) ListUsers(ctx context.Context, opt allot.ListOptions) (*allot.Page[allot.User], error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	cond, args, err := userList.where(opt.Filter)
	if err != nil {
		return nil, err
	}
	search, sargs := searchClause("u", opt, "display_name", "upn", "mail")
	base := ` FROM users u WHERE u.tenant_id = ? AND ` + cond + search
	bargs := append(append([]any{a.TenantID}, args...), sargs...)
	page := &allot.Page[allot.User]{Items: []allot.User{}}
	if opt.Count {
		if err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*)`+base), bargs...).Scan(&page.Count); err != nil {
			return nil, err
		}
	}
	keyset, kargs, order, err := pageClause("u", opt)
	if err != nil {
		return nil, err
	}
	top := topOf(opt)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+userCols+base+keyset+order+` LIMIT ?`), append(append(bargs, kargs...), top+1)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var users []*allot.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(users) > top {
		users = users[:top]
		last := users[top-1]
		page.NextCursor = cursorOf(opt, last.DisplayName, last.ID)
	}
	if opt.WithLicensing && len(users) > 0 {
		if err := s.fillLicensing(ctx, s.db, a.TenantID, users); err != nil {
			return nil, err
		}
	}
	for _, u := range users {
		page.Items = append(page.Items, *u)
	}
	return page, nil
}

// CreateUser adds a user. A new user holds nothing, so it owns no address
// and changes nobody else's licensing.
func (s *DB) CreateUser(ctx context.Context, in allot.UserCreate) (*allot.User, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	u := allot.User{ID: strings.ToLower(in.ID), UserPrincipalName: allot.IdentifierForm(in.UserPrincipalName), DisplayName: in.DisplayName,
		Mail: in.Mail, AccountEnabled: in.AccountEnabled, ProxyAddresses: cleanAddresses(in.ProxyAddresses), CreatedAt: s.now()}
	custom := u.ID != ""
	if !custom {
		u.ID = s.newID()
	}
	if err := validUPN(in.UserPrincipalName); err != nil {
		return nil, err
	}
	if strings.TrimSpace(u.DisplayName) == "" {
		return nil, allot.Errorf(allot.EINVALID, "displayName is required.")
	}
	if err := errors.Join(validText("displayName", u.DisplayName, 256), validText("mail", u.Mail, 256)); err != nil {
		return nil, err
	}
	if u.UsageLocation, err = validLocation(in.UsageLocation); err != nil {
		return nil, err
	}
	if err := validAddresses(u.ProxyAddresses); err != nil {
		return nil, err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkUPNFree(ctx, tx, a.TenantID, u.UserPrincipalName, ""); err != nil {
			return err
		}
		if err := s.checkAddresses(ctx, tx, a.TenantID, u.ID, u.ProxyAddresses); err != nil {
			return err
		}
		if custom {
			if err := s.validNewID(ctx, tx, a.TenantID, u.ID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO users (tenant_id, id, upn, upn_key, upn_skeleton, display_name, mail, usage_location, proxy_addresses, account_enabled, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), a.TenantID, u.ID, u.UserPrincipalName, allot.IdentifierKey(u.UserPrincipalName), allot.IdentifierSkeleton(u.UserPrincipalName),
			u.DisplayName, u.Mail, u.UsageLocation, toJSON(u.ProxyAddresses), b2i(u.AccountEnabled), fmtTime(u.CreatedAt)); err != nil {
			return err
		}
		if err := s.setAddresses(ctx, tx, a.TenantID, u.ID, allot.MemberUser, u.ProxyAddresses); err != nil {
			return err
		}
		return s.audit(ctx, tx, a.TenantID, "Add user", "User", u.ID, "", toJSON(map[string]any{"userPrincipalName": u.UserPrincipalName, "usageLocation": u.UsageLocation, "proxyAddresses": u.ProxyAddresses}), "success")
	})
	if err != nil {
		return nil, err
	}
	u.States, u.AssignedLicenses = []allot.LicenseState{}, []allot.AssignedLicense{}
	return &u, nil
}

// checkUPNFree refuses upn for user self when another user has the same
// name, or a name that looks like it (lookalike.go).
func (s *DB) checkUPNFree(ctx context.Context, tx *sql.Tx, tenantID, upn, self string) error {
	return s.checkClaim(ctx, tx, tenantID, upnNames, upn, self)
}

// checkAddresses refuses addresses for object self when one looks like an
// address another object lists, or like another of addrs; the same address
// may be listed by several (docs/RULES.md decides who owns it).
func (s *DB) checkAddresses(ctx context.Context, tx *sql.Tx, tenantID, self string, addrs []string) error {
	claims := make([]nameClaim, 0, len(addrs))
	for _, a := range addrs {
		claims = append(claims, nameClaim{name: a, owner: self})
	}
	var first error
	err := s.checkClaims(ctx, tx, tenantID, addressNames, claims, func(_ nameClaim, err error) {
		if first == nil {
			first = err
		}
	})
	if err != nil {
		return err
	}
	return first
}

// setAddresses replaces the addresses an object lists.
func (s *DB) setAddresses(ctx context.Context, tx *sql.Tx, tenantID, owner, kind string, addrs []string) error {
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM addresses WHERE tenant_id = ? AND owner_id = ?`), tenantID, owner); err != nil {
		return err
	}
	var rows [][]any
	for _, a := range normalizeAll(addrs) {
		rows = append(rows, addressRow(tenantID, a, owner, kind))
	}
	return s.insertRows(ctx, tx, addressCols, rows)
}

// addressCols are the columns of an addresses row, in the order of addressRow.
const addressCols = `INSERT INTO addresses (tenant_id, address, owner_id, owner_kind, skeleton) VALUES `

// addressRow is one row for addressCols; normalized is the address's key.
func addressRow(tenantID, normalized, owner, kind string) []any {
	return []any{tenantID, normalized, owner, kind, allot.IdentifierSkeleton(normalized)}
}

// UpdateUser changes a user. A new usage location or new addresses queue
// the user; if the user owns its addresses (it has a mailbox), the
// addresses it drops or adds queue their other listers too (docs/RULES.md §2.3.3).
func (s *DB) UpdateUser(ctx context.Context, id string, in allot.UserUpdate) (*allot.User, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	var loc string
	if in.UsageLocation != nil {
		if loc, err = validLocation(*in.UsageLocation); err != nil {
			return nil, err
		}
	}
	if in.UserPrincipalName != nil {
		if err := validUPN(*in.UserPrincipalName); err != nil {
			return nil, err
		}
	}
	if in.DisplayName != nil && strings.TrimSpace(*in.DisplayName) == "" {
		return nil, allot.Errorf(allot.EINVALID, "displayName cannot be empty.")
	}
	if err := errors.Join(validText("displayName", deref(in.DisplayName), 256), validText("mail", deref(in.Mail), 256)); err != nil {
		return nil, err
	}
	var proxy []string
	if in.ProxyAddresses != nil {
		proxy = cleanAddresses(*in.ProxyAddresses)
		if err := validAddresses(proxy); err != nil {
			return nil, err
		}
	}
	var uid string
	err = s.tx(ctx, func(tx *sql.Tx) error {
		u, err := s.findUser(ctx, tx, a.TenantID, id)
		if err != nil {
			return err
		}
		uid = u.ID
		before := *u
		requeue := false
		if in.UserPrincipalName != nil {
			upn := allot.IdentifierForm(*in.UserPrincipalName)
			if err := s.checkUPNFree(ctx, tx, a.TenantID, upn, u.ID); err != nil {
				return err
			}
			u.UserPrincipalName = upn
		}
		if in.DisplayName != nil {
			u.DisplayName = *in.DisplayName
		}
		if in.Mail != nil {
			u.Mail = *in.Mail
		}
		if in.AccountEnabled != nil {
			u.AccountEnabled = *in.AccountEnabled
		}
		if in.UsageLocation != nil && loc != u.UsageLocation {
			u.UsageLocation, requeue = loc, true
		}
		if in.ProxyAddresses != nil && !slices.Equal(normalizeAll(proxy), normalizeAll(u.ProxyAddresses)) {
			if err := s.checkAddresses(ctx, tx, a.TenantID, u.ID, proxy); err != nil {
				return err
			}
			// The user goes first: it is evaluated against the owners as they
			// are, so listing an owned address does not take it from its owner.
			if err := s.enqueueUsers(ctx, tx, a.TenantID, []string{u.ID}, ""); err != nil {
				return err
			}
			var mailbox int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM mailboxes WHERE tenant_id = ? AND user_id = ?`), a.TenantID, u.ID).Scan(&mailbox); err != nil {
				return err
			}
			if mailbox == 1 {
				if err := s.enqueueAddressListers(ctx, tx, a.TenantID, append(slices.Clone(u.ProxyAddresses), proxy...), u.ID); err != nil {
					return err
				}
			}
			if err := s.setAddresses(ctx, tx, a.TenantID, u.ID, allot.MemberUser, proxy); err != nil {
				return err
			}
			u.ProxyAddresses, requeue = proxy, true
		} else if in.ProxyAddresses != nil {
			u.ProxyAddresses = proxy
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE users SET upn = ?, upn_key = ?, upn_skeleton = ?, display_name = ?, mail = ?, usage_location = ?, proxy_addresses = ?, account_enabled = ?
			WHERE tenant_id = ? AND id = ?`), u.UserPrincipalName, allot.IdentifierKey(u.UserPrincipalName), allot.IdentifierSkeleton(u.UserPrincipalName), u.DisplayName, u.Mail, u.UsageLocation,
			toJSON(u.ProxyAddresses), b2i(u.AccountEnabled), a.TenantID, u.ID); err != nil {
			return err
		}
		if requeue {
			if err := s.enqueueUsers(ctx, tx, a.TenantID, []string{u.ID}, ""); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, a.TenantID, "Update user", "User", u.ID, userAuditJSON(&before), userAuditJSON(u), "success")
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return s.User(ctx, uid)
}

func userAuditJSON(u *allot.User) string {
	return toJSON(map[string]any{"userPrincipalName": u.UserPrincipalName, "displayName": u.DisplayName, "usageLocation": u.UsageLocation, "proxyAddresses": u.ProxyAddresses, "accountEnabled": u.AccountEnabled})
}

// DeleteUser deletes a user; its seats are freed at once and its addresses
// released (docs/RULES.md §2.3.6).
func (s *DB) DeleteUser(ctx context.Context, id string) error {
	a, err := actorOf(ctx)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		u, err := s.findUser(ctx, tx, a.TenantID, id)
		if err != nil {
			return err
		}
		var held []string
		rows, err := tx.QueryContext(ctx, s.q(`SELECT DISTINCT sku_id FROM license_states WHERE tenant_id = ? AND user_id = ? AND state = 'Active' ORDER BY sku_id`), a.TenantID, u.ID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var sku string
			if err := rows.Scan(&sku); err != nil {
				rows.Close()
				return err
			}
			held = append(held, sku)
		}
		rows.Close()
		for _, sku := range held {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE subscriptions SET consumed = consumed - 1 WHERE tenant_id = ? AND sku_id = ?`), a.TenantID, sku); err != nil {
				return err
			}
		}
		var mailbox int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM mailboxes WHERE tenant_id = ? AND user_id = ?`), a.TenantID, u.ID).Scan(&mailbox); err != nil {
			return err
		}
		for _, stmt := range []string{
			`DELETE FROM license_states WHERE tenant_id = ? AND user_id = ?`,
			`DELETE FROM assignments WHERE tenant_id = ? AND target_id = ?`,
			`DELETE FROM memberships WHERE tenant_id = ? AND member_id = ?`,
			`DELETE FROM addresses WHERE tenant_id = ? AND owner_id = ?`,
			`DELETE FROM mailboxes WHERE tenant_id = ? AND user_id = ?`,
			`DELETE FROM work WHERE tenant_id = ? AND kind = 'user' AND target_id = ?`,
			`DELETE FROM users WHERE tenant_id = ? AND id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, s.q(stmt), a.TenantID, u.ID); err != nil {
				return err
			}
		}
		if mailbox == 1 {
			if err := s.enqueueAddressListers(ctx, tx, a.TenantID, u.ProxyAddresses, u.ID); err != nil {
				return err
			}
		}
		if err := s.audit(ctx, tx, a.TenantID, "Delete user", "User", u.ID, userAuditJSON(u), toJSON(map[string]any{"seatsFreed": held}), "success"); err != nil {
			return err
		}
		if held == nil {
			return nil
		}
		return s.wake(ctx, tx, a.TenantID, held)
	})
	if err == nil {
		s.notify()
	}
	return err
}

// AssignUserLicense changes a user's direct licenses synchronously: the
// user is evaluated as if the change were made, and if an added or changed
// direct unit would not be Active nothing changes (docs/RULES.md §2.3.1).
func (s *DB) AssignUserLicense(ctx context.Context, id string, add []allot.AssignedLicense, remove []string) (*allot.User, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	cat := s.catalogIn(ctx, s.reader(ctx))
	if err := validateLicenses(cat, add, remove); err != nil {
		return nil, err
	}
	var uid string
	err = s.tx(ctx, func(tx *sql.Tx) error {
		u, err := s.findUser(ctx, tx, a.TenantID, id)
		if err != nil {
			return err
		}
		uid = u.ID
		if err := s.checkSubscribed(ctx, tx, a.TenantID, add); err != nil {
			return err
		}
		b, err := s.loadBatch(ctx, tx, a.TenantID, []string{u.ID})
		if err != nil {
			return err
		}
		before := b.direct[u.ID]
		if err := s.checkDirectPolicy(ctx, tx, a.TenantID, before, add); err != nil {
			return err
		}
		after, changed, missing := applyLicenseChange(before, add, remove, s.now())
		if missing != "" {
			for _, st := range b.states[u.ID] {
				if st.SkuID == missing && st.Source != "" {
					return allot.Errorf(allot.EINVALID, "User license is inherited from a group membership and it cannot be removed directly from the user.")
				}
			}
			return allot.Errorf(allot.EINVALID, "User does not have a corresponding license for SKU %s.", missing)
		}
		b.direct[u.ID] = after
		o := b.evaluate(u.ID, cat, s.now())
		// Every SKU named in addLicenses, new, changed or sent again
		// unchanged, must be Active afterwards: a 200 never leaves one in
		// error (docs/RULES.md, direct assignment).
		added := map[string]bool{}
		for _, l := range add {
			added[l.SkuID] = true
		}
		for _, st := range o.out.States {
			if st.Source == "" && added[st.SkuID] && st.State != allot.StateActive {
				if st.Error == allot.ProhibitedInUsageLocationViolation {
					// Graph's exact words; the state's detail says more.
					return allot.Errorf(allot.EINVALID, "License assignment cannot be done for user with invalid usage location.")
				}
				return allot.Errorf(allot.EINVALID, "%s", st.Detail)
			}
		}
		if err := s.writeAssignments(ctx, tx, a.TenantID, u.ID, allot.MemberUser, before, after); err != nil {
			return err
		}
		if len(changed) > 0 || len(remove) > 0 {
			if err := s.audit(ctx, tx, a.TenantID, "Change user license", "User", u.ID, assignmentsJSON(before), assignmentsJSON(after), "success"); err != nil {
				return err
			}
		}
		if err := s.write(ctx, tx, b, []outcome{o}); err != nil {
			return err
		}
		return s.alertOutcomes(ctx, tx, a.TenantID, []outcome{o})
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return s.User(ctx, uid)
}

// ReprocessUsers evaluates up to 20 users now, in the given order.
func (s *DB) ReprocessUsers(ctx context.Context, ids []string) error {
	a, err := actorOf(ctx)
	if err != nil {
		return err
	}
	if len(ids) == 0 || len(ids) > allot.MaxBatch {
		return allot.Errorf(allot.EINVALID, "Reprocess takes between 1 and %d users; got %d.", allot.MaxBatch, len(ids))
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var uids []string
		for _, id := range ids {
			u, err := s.findUser(ctx, tx, a.TenantID, id)
			if err != nil {
				return err
			}
			uids = append(uids, u.ID)
		}
		_, err := s.evaluateUsers(ctx, tx, a.TenantID, uids, false)
		return err
	})
	if err == nil {
		s.notify()
	}
	return err
}

// MemberOf lists the groups the user is a direct member of.
func (s *DB) MemberOf(ctx context.Context, userID string, opt allot.ListOptions) (*allot.Page[allot.Group], error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.findUser(ctx, s.db, a.TenantID, userID)
	if err != nil {
		return nil, err
	}
	return s.listGroups(ctx, a.TenantID, opt, ` AND g.id IN (SELECT group_id FROM memberships WHERE tenant_id = ? AND member_id = ?)`, []any{a.TenantID, u.ID})
}

// validUPN checks a userPrincipalName as given: no invisible character,
// and the shape local@domain once normalised (allot.IdentifierForm).
func validUPN(upn string) error {
	if err := allot.CheckIdentifier("userPrincipalName", upn); err != nil {
		return err
	}
	upn = allot.IdentifierForm(upn)
	at := strings.IndexByte(upn, '@')
	if upn == "" || at <= 0 || at == len(upn)-1 || strings.ContainsAny(upn, " \t\r\n\x00") || len(upn) > 113 {
		return allot.Errorf(allot.EINVALID, "Invalid value specified for property 'userPrincipalName' of resource 'User'.")
	}
	return nil
}

// cleanAddresses drops blank addresses and normalises the rest
// (allot.IdentifierForm), keeping their case and prefix.
func cleanAddresses(addrs []string) []string {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if t := allot.IdentifierForm(a); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func validAddresses(addrs []string) error {
	for _, a := range addrs {
		if err := allot.CheckIdentifier("proxyAddresses", a); err != nil {
			return err
		}
		n := allot.NormalizeAddress(a)
		if at := strings.IndexByte(n, '@'); at <= 0 || at == len(n)-1 || strings.ContainsAny(n, " \t\x00") || len(n) > 256 {
			return allot.Errorf(allot.EINVALID, "Invalid proxy address '%s'.", a)
		}
	}
	if len(addrs) > 100 {
		return allot.Errorf(allot.EINVALID, "At most 100 proxy addresses are allowed.")
	}
	return nil
}

// validNewID checks a caller-chosen object id: a GUID not yet used by any
// user or group of the tenant, since members are found by id alone.
func (s *DB) validNewID(ctx context.Context, tx *sql.Tx, tenantID, id string) error {
	if !isGUID(id) {
		return allot.Errorf(allot.EINVALID, "Invalid object identifier '%s'.", id)
	}
	var n int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT (SELECT COUNT(*) FROM users WHERE tenant_id = ? AND id = ?) + (SELECT COUNT(*) FROM dir_groups WHERE tenant_id = ? AND id = ?)`),
		tenantID, id, tenantID, id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return allot.Errorf(allot.ECONFLICT, "Another object with the same value for property id already exists.")
	}
	return nil
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f'):
			return false
		}
	}
	return true
}

// validText bounds a free-text property.
func validText(name, v string, limit int) error {
	if strings.ContainsRune(v, 0) {
		return allot.Errorf(allot.EINVALID, "Property '%s' contains a NUL character.", name)
	}
	if len(v) > limit {
		return allot.Errorf(allot.EINVALID, "Property '%s' is longer than %d characters.", name, limit)
	}
	return nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
