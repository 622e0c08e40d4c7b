package store

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/allot-dev/allot"
)

var userCols = `u.id, u.upn, u.display_name, u.mail, u.usage_location, u.proxy_addresses, u.account_enabled, u.created_at, u.modified_at, u.` +
	strings.Join(profileCols, ", u.")

func scanUser(r interface{ Scan(...any) error }) (*allot.User, error) {
	var u allot.User
	var proxy, created, modified string
	var enabled int
	profile, done := profileScan(&u.Profile)
	if err := r.Scan(append([]any{&u.ID, &u.UserPrincipalName, &u.DisplayName, &u.Mail, &u.UsageLocation, &proxy, &enabled, &created, &modified}, profile...)...); err != nil {
		return nil, err
	}
	done()
	u.ProxyAddresses, u.AccountEnabled, u.CreatedAt, u.ModifiedAt = strList(proxy), enabled == 1, parseTime(created), parseTime(modified)
	return &u, nil
}

// findUser resolves an id or a userPrincipalName within the tenant. A
// name is found by its key whatever its spelling (NFD or NFC, full-width,
// case).
func (s *DB) findUser(ctx context.Context, tx *txn, tenantID, idOrUPN string) (*allot.User, error) {
	u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userCols+` FROM users u WHERE u.tenant_id = ? AND (u.id = ? OR u.upn_key = ?)`,
		tenantID, strings.ToLower(idOrUPN), allot.IdentifierKey(idOrUPN)))
	if errors.Is(err, sql.ErrNoRows) && strings.Contains(idOrUPN, "@") {
		u, err = s.findUnnormalizedUser(ctx, tx, tenantID, idOrUPN)
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
func (s *DB) findUnnormalizedUser(ctx context.Context, tx *txn, tenantID, upn string) (*allot.User, error) {
	key := allot.IdentifierKey(upn)
	rows, err := tx.Query(ctx, `SELECT `+userCols+` FROM users u WHERE u.tenant_id = ? AND u.upn_skeleton = ''`, tenantID)
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
	return read(ctx, s, func(tx *txn) (*allot.User, error) {
		u, err := s.findUser(ctx, tx, a.TenantID, idOrUPN)
		if err != nil {
			return nil, err
		}
		return u, s.fillLicensing(ctx, tx, a.TenantID, []*allot.User{u})
	})
}

// fillLicensing loads states for users and derives assignedLicenses: each
// held SKU once, with the plans disabled in every active source (the union
// of enabled plans, docs/RULES.md §2.1).
func (s *DB) fillLicensing(ctx context.Context, tx *txn, tenantID string, users []*allot.User) error {
	byID := make(map[string]*allot.User, len(users))
	ids := make([]string, 0, len(users))
	for _, u := range users {
		byID[u.ID] = u
		ids = append(ids, u.ID)
		u.States, u.AssignedLicenses = []allot.LicenseState{}, []allot.AssignedLicense{}
	}
	err := tx.each(ctx, `SELECT user_id, sku_id, source, state, error, disabled_plans, detail, updated_at, waiting_since FROM license_states
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

// fewHolders is the most active states of a product whose users ListUsers
// reads and sorts rather than walking every user in order (a sort of this
// many takes a few milliseconds).
const fewHolders = 5000

// ListUsers lists the tenant's users, filtered and paged in the database.
func (s *DB) ListUsers(ctx context.Context, opt allot.ListOptions) (*allot.Page[allot.User], error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	keyset, kargs, order, err := pageClause("u", opt)
	if err != nil {
		return nil, err
	}
	search, sargs := searchClause("u", opt, "display_name", "upn", "mail")
	page := &allot.Page[allot.User]{Items: []allot.User{}}
	top := topOf(opt)
	err = s.readTx(ctx, func(tx *txn) error {
		cond, args, err := userList.on(s, ctx, tx).where(opt.Filter)
		if err != nil {
			return err
		}
		if l, ok := opt.Filter.(*allot.AnyLicense); ok {
			// The users holding a product (its Users tab): a page walks the
			// users in order and stops when full, fast when most hold it;
			// when few do, it would walk the whole tenant, so the holders
			// are read from license_states_kind and sorted instead.
			sku := strings.ToLower(l.SkuID)
			var holders int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM license_states x WHERE x.tenant_id = ? AND x.state = 'Active' AND x.sku_id = ? LIMIT ?) h`,
				a.TenantID, sku, fewHolders+1).Scan(&holders); err != nil {
				return err
			}
			if holders <= fewHolders {
				cond, args = `u.id IN (SELECT x.user_id FROM license_states x WHERE x.tenant_id = ? AND x.state = 'Active' AND x.sku_id = ?)`, []any{a.TenantID, sku}
			}
		}
		base := ` FROM users u WHERE u.tenant_id = ? AND ` + cond + search
		bargs := append(append([]any{a.TenantID}, args...), sargs...)
		if opt.Count {
			count, cargs := `SELECT COUNT(*)`+base, bargs
			if l, ok := opt.Filter.(*allot.AnyLicense); ok && search == "" {
				// The users holding a product (its Users tab) are its
				// subscription's consumed units, kept equal to its holders
				// (docs/RULES.md §2.1, checked by allot check); without a
				// subscription they are counted on license_states_kind,
				// every state being of an existing user.
				count, cargs = `SELECT COALESCE((SELECT s.consumed FROM subscriptions s WHERE s.tenant_id = ? AND s.sku_id = ?),
					(SELECT COUNT(DISTINCT x.user_id) FROM license_states x WHERE x.tenant_id = ? AND x.state = 'Active' AND x.sku_id = ?))`,
					[]any{a.TenantID, strings.ToLower(l.SkuID), a.TenantID, strings.ToLower(l.SkuID)}
			}
			if err := tx.QueryRow(ctx, count, cargs...).Scan(&page.Count); err != nil {
				return err
			}
		}
		// At least 8 rows: at LIMIT 1 or 2 SQLite's planner walks the
		// tenant by modification time and sorts it (a product's users,
		// $top=1 on 100,000 users: 760 ms) instead of walking the order's
		// index and stopping early (7 ms).
		rows, err := tx.Query(ctx, `SELECT `+userCols+base+keyset+order+` LIMIT ?`, append(append(bargs, kargs...), max(top+1, 8))...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var users []*allot.User
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				return err
			}
			users = append(users, u)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		if len(users) > top {
			users = users[:top]
			last := users[top-1]
			page.NextCursor = cursorOf(opt, last.ID, map[string]string{"displayName": last.DisplayName, "userPrincipalName": last.UserPrincipalName})
		}
		if opt.WithLicensing && len(users) > 0 {
			if err := s.fillLicensing(ctx, tx, a.TenantID, users); err != nil {
				return err
			}
		}
		for _, u := range users {
			page.Items = append(page.Items, *u)
		}
		return nil
	})
	if err != nil {
		return nil, err
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
	if in, err = in.Normalized(); err != nil {
		return nil, err
	}
	u := allot.User{ID: in.ID, UserPrincipalName: in.UserPrincipalName, DisplayName: in.DisplayName, Mail: in.Mail,
		UsageLocation: in.UsageLocation, AccountEnabled: in.AccountEnabled, ProxyAddresses: in.ProxyAddresses, Profile: in.Profile, CreatedAt: s.now()}
	u.ModifiedAt = u.CreatedAt
	custom := u.ID != ""
	if !custom {
		u.ID = s.newID()
	}
	err = s.tx(ctx, func(tx *txn) error {
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
		if err := insertUsers(ctx, tx, a.TenantID, []*allot.User{&u}); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, a.TenantID, "Add user", "User", u.ID, "", userCreatedJSON(&u), "success"); err != nil {
			return err
		}
		return s.refreshDynamic(ctx, tx, a.TenantID, []string{u.ID}, false)
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	u.States, u.AssignedLicenses = []allot.LicenseState{}, []allot.AssignedLicense{}
	return &u, nil
}

// insertUsers adds new users and the addresses they list.
func insertUsers(ctx context.Context, tx *txn, tenantID string, users []*allot.User) error {
	rows := make([][]any, 0, len(users))
	var addrs [][]any
	for _, u := range users {
		rows = append(rows, append([]any{tenantID, u.ID, u.UserPrincipalName, allot.IdentifierKey(u.UserPrincipalName), allot.IdentifierSkeleton(u.UserPrincipalName),
			u.DisplayName, u.Mail, u.UsageLocation, toJSON(u.ProxyAddresses), b2i(u.AccountEnabled), fmtTime(u.CreatedAt), fmtTime(u.ModifiedAt)}, profileValues(&u.Profile)...))
		addrs = append(addrs, addressRows(tenantID, u.ID, allot.MemberUser, u.ProxyAddresses)...)
	}
	if err := tx.insertRows(ctx, `INSERT INTO users (tenant_id, id, upn, upn_key, upn_skeleton, display_name, mail, usage_location, proxy_addresses, account_enabled, created_at, modified_at, `+
		strings.Join(profileCols, ", ")+`) VALUES `, rows); err != nil {
		return err
	}
	return insertAddresses(ctx, tx, addrs)
}

// userCreatedJSON is the audit's view of a new user.
func userCreatedJSON(u *allot.User) string {
	return toJSON(profileAudit(map[string]any{"userPrincipalName": u.UserPrincipalName, "usageLocation": u.UsageLocation, "proxyAddresses": u.ProxyAddresses}, &u.Profile))
}

// checkUPNFree refuses upn for user self when another user has the same
// name, or a name that looks like it (lookalike.go).
func (s *DB) checkUPNFree(ctx context.Context, tx *txn, tenantID, upn, self string) error {
	return s.checkClaim(ctx, tx, tenantID, upnNames, upn, self)
}

// UpdateUser changes a user. A new usage location or new addresses queue
// the user; if the user owns its addresses (it has a mailbox), the
// addresses it drops or adds queue their other listers too (docs/RULES.md §2.3.3).
func (s *DB) UpdateUser(ctx context.Context, id string, in allot.UserUpdate) (*allot.User, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	upd, err := parseUserUpdate(in)
	if err != nil {
		return nil, err
	}
	var uid string
	err = s.tx(ctx, func(tx *txn) error {
		var err error
		uid, err = s.updateUser(ctx, tx, a.TenantID, id, upd)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return s.User(ctx, uid)
}

// userUpdate is an allot.UserUpdate checked, with its location and
// addresses in the form they are stored in.
type userUpdate struct {
	allot.UserUpdate
	location string
	proxy    []string
}

// parseUserUpdate checks an update as given, before anything is read.
func parseUserUpdate(in allot.UserUpdate) (userUpdate, error) {
	upd := userUpdate{UserUpdate: in}
	n, err := in.Normalized()
	if err != nil {
		return upd, err
	}
	if n.UsageLocation != nil {
		upd.location = *n.UsageLocation
	}
	if n.ProxyAddresses != nil {
		upd.proxy = *n.ProxyAddresses
	}
	upd.Profile = n.Profile // userType in its canonical case, blanks trimmed
	return upd, nil
}

// updateUser is UpdateUser in tx; it returns the user's id.
func (s *DB) updateUser(ctx context.Context, tx *txn, tenantID, id string, upd userUpdate) (string, error) {
	u, err := s.findUser(ctx, tx, tenantID, id)
	if err != nil {
		return "", err
	}
	before := *u
	if upd.UserPrincipalName != nil {
		upn := allot.IdentifierForm(*upd.UserPrincipalName)
		if err := s.checkUPNFree(ctx, tx, tenantID, upn, u.ID); err != nil {
			return "", err
		}
		u.UserPrincipalName = upn
	}
	if upd.DisplayName != nil {
		u.DisplayName = *upd.DisplayName
	}
	if upd.Mail != nil {
		u.Mail = *upd.Mail
	}
	if upd.AccountEnabled != nil {
		u.AccountEnabled = *upd.AccountEnabled
	}
	applyProfile(&u.Profile, upd.Profile, upd.ProfileFields)
	u.ModifiedAt = s.now()
	requeue := false
	if upd.UsageLocation != nil && upd.location != u.UsageLocation {
		u.UsageLocation, requeue = upd.location, true
	}
	if upd.ProxyAddresses != nil {
		if !slices.Equal(normalizeAll(upd.proxy), normalizeAll(u.ProxyAddresses)) {
			if err := s.moveUserAddresses(ctx, tx, tenantID, u, upd.proxy); err != nil {
				return "", err
			}
			requeue = true
		}
		u.ProxyAddresses = upd.proxy
	}
	if err := updateUserRow(ctx, tx, tenantID, u); err != nil {
		return "", err
	}
	if requeue {
		if err := s.enqueueUsers(ctx, tx, tenantID, []string{u.ID}, ""); err != nil {
			return "", err
		}
	}
	if err := s.audit(ctx, tx, tenantID, "Update user", "User", u.ID, userAuditJSON(&before), userAuditJSON(u), "success"); err != nil {
		return "", err
	}
	return u.ID, s.refreshDynamic(ctx, tx, tenantID, []string{u.ID}, false)
}

// moveUserAddresses replaces the addresses u lists with proxy. The user
// is queued first, so that it is evaluated against the owners as they
// are and listing an owned address does not take it from its owner; if
// it owns its addresses (a mailbox), everyone listing an address it drops
// or adds is queued after it.
func (s *DB) moveUserAddresses(ctx context.Context, tx *txn, tenantID string, u *allot.User, proxy []string) error {
	if err := s.checkAddresses(ctx, tx, tenantID, u.ID, proxy); err != nil {
		return err
	}
	if err := s.enqueueUsers(ctx, tx, tenantID, []string{u.ID}, ""); err != nil {
		return err
	}
	mailbox, err := holdsMailbox(ctx, tx, tenantID, u.ID)
	if err != nil {
		return err
	}
	if mailbox {
		if err := s.enqueueAddressListers(ctx, tx, tenantID, append(slices.Clone(u.ProxyAddresses), proxy...), u.ID); err != nil {
			return err
		}
	}
	return s.setAddresses(ctx, tx, tenantID, u.ID, allot.MemberUser, proxy)
}

// updateUserRow writes a user's properties.
func updateUserRow(ctx context.Context, tx *txn, tenantID string, u *allot.User) error {
	args := append([]any{u.UserPrincipalName, allot.IdentifierKey(u.UserPrincipalName), allot.IdentifierSkeleton(u.UserPrincipalName), u.DisplayName, u.Mail, u.UsageLocation,
		toJSON(u.ProxyAddresses), b2i(u.AccountEnabled), fmtTime(u.ModifiedAt)}, profileValues(&u.Profile)...)
	_, err := tx.Exec(ctx, `UPDATE users SET upn = ?, upn_key = ?, upn_skeleton = ?, display_name = ?, mail = ?, usage_location = ?, proxy_addresses = ?, account_enabled = ?, modified_at = ?, `+
		strings.Join(profileCols, " = ?, ")+` = ? WHERE tenant_id = ? AND id = ?`, append(args, tenantID, u.ID)...)
	return err
}

func userAuditJSON(u *allot.User) string {
	return toJSON(profileAudit(map[string]any{"userPrincipalName": u.UserPrincipalName, "displayName": u.DisplayName, "usageLocation": u.UsageLocation, "proxyAddresses": u.ProxyAddresses, "accountEnabled": u.AccountEnabled}, &u.Profile))
}

// DeleteUser deletes a user; its seats are freed at once and its addresses
// released, and what restoring it needs goes to deleted items
// (docs/RULES.md §2.3.6).
func (s *DB) DeleteUser(ctx context.Context, id string) error {
	a, err := actorOf(ctx)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *txn) error {
		u, err := s.findUser(ctx, tx, a.TenantID, id)
		if err != nil {
			return err
		}
		var held []string
		rows, err := tx.Query(ctx, `SELECT DISTINCT sku_id FROM license_states WHERE tenant_id = ? AND user_id = ? AND state = 'Active' ORDER BY sku_id`, a.TenantID, u.ID)
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
			if _, err := tx.Exec(ctx, `UPDATE subscriptions SET consumed = consumed - 1 WHERE tenant_id = ? AND sku_id = ?`, a.TenantID, sku); err != nil {
				return err
			}
		}
		mailbox, err := holdsMailbox(ctx, tx, a.TenantID, u.ID)
		if err != nil {
			return err
		}
		if err := s.recordDeletion(ctx, tx, a.TenantID, allot.MemberUser, u.ID); err != nil {
			return err
		}
		if err := s.keepDeletedUser(ctx, tx, a.TenantID, u); err != nil {
			return err
		}
		for _, stmt := range []string{
			`DELETE FROM license_states WHERE tenant_id = ? AND user_id = ?`,
			`DELETE FROM assignments WHERE tenant_id = ? AND target_id = ?`,
			`DELETE FROM memberships WHERE tenant_id = ? AND member_id = ?`,
			`DELETE FROM addresses WHERE tenant_id = ? AND owner_id = ?`,
			`DELETE FROM work WHERE tenant_id = ? AND kind = 'user' AND target_id = ?`,
			`DELETE FROM users WHERE tenant_id = ? AND id = ?`,
		} {
			if _, err := tx.Exec(ctx, stmt, a.TenantID, u.ID); err != nil {
				return err
			}
		}
		if mailbox {
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
	var uid string
	err = s.tx(ctx, func(tx *txn) error {
		var err error
		uid, err = s.assignUserLicense(ctx, tx, a.TenantID, id, add, remove)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.notify()
	return s.User(ctx, uid)
}

// assignUserLicense is AssignUserLicense in tx; it returns the user's id.
func (s *DB) assignUserLicense(ctx context.Context, tx *txn, tenantID, id string, add []allot.AssignedLicense, remove []string) (string, error) {
	cat := s.catalogIn(ctx, tx)
	if err := validateLicenses(cat, add, remove); err != nil {
		return "", err
	}
	u, err := s.findUser(ctx, tx, tenantID, id)
	if err != nil {
		return "", err
	}
	if err := s.checkSubscribed(ctx, tx, tenantID, add); err != nil {
		return "", err
	}
	b, err := s.loadBatch(ctx, tx, tenantID, []string{u.ID})
	if err != nil {
		return "", err
	}
	before := b.direct[u.ID]
	if err := s.checkDirectPolicy(ctx, tx, tenantID, before, add); err != nil {
		return "", err
	}
	after, changed, missing := applyLicenseChange(before, add, remove, s.now())
	if missing != "" {
		for _, st := range b.states[u.ID] {
			if st.SkuID == missing && st.Source != "" {
				return "", allot.Errorf(allot.EINVALID, "User license is inherited from a group membership and it cannot be removed directly from the user.")
			}
		}
		return "", allot.Errorf(allot.EINVALID, "User does not have a corresponding license for SKU %s.", missing)
	}
	b.direct[u.ID] = after
	o := b.evaluate(u.ID, cat, s.now())
	if err := refuseInactiveAdded(o, add); err != nil {
		return "", err
	}
	if err := s.writeAssignments(ctx, tx, tenantID, u.ID, allot.MemberUser, before, after); err != nil {
		return "", err
	}
	if len(changed) > 0 || len(remove) > 0 {
		if err := s.audit(ctx, tx, tenantID, "Change user license", "User", u.ID, assignmentsJSON(before), assignmentsJSON(after), "success"); err != nil {
			return "", err
		}
	}
	if err := s.write(ctx, tx, b, []outcome{o}); err != nil {
		return "", err
	}
	return u.ID, s.alertOutcomes(ctx, tx, tenantID, []outcome{o})
}

// refuseInactiveAdded refuses a direct assignment after which a SKU named
// in addLicenses, new, changed or sent again unchanged, is not Active: a
// 200 never leaves one in error (docs/RULES.md §2.3.1).
func refuseInactiveAdded(o outcome, add []allot.AssignedLicense) error {
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
	return nil
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
	err = s.tx(ctx, func(tx *txn) error {
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
func (s *DB) MemberOf(ctx context.Context, userID string, transitive bool, opt allot.ListOptions) (*allot.Page[allot.Group], error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	return read(ctx, s, func(tx *txn) (*allot.Page[allot.Group], error) {
		u, err := s.findUser(ctx, tx, a.TenantID, userID)
		if err != nil {
			return nil, err
		}
		if !transitive {
			return s.listGroups(ctx, tx, a.TenantID, opt, ` AND g.id IN (SELECT group_id FROM memberships WHERE tenant_id = ? AND member_id = ?)`, []any{a.TenantID, u.ID})
		}
		direct, err := tx.queryIDs(ctx, `SELECT group_id FROM memberships WHERE tenant_id = ? AND member_id = ? ORDER BY group_id`, a.TenantID, u.ID)
		if err != nil {
			return nil, err
		}
		// The groups containing those, as nested licensing walks them.
		_, above, err := s.groupEdges(ctx, tx, a.TenantID, direct, true)
		if err != nil {
			return nil, err
		}
		all := slices.Compact(slices.Sorted(slices.Values(append(direct, above...))))
		if len(all) == 0 {
			return &allot.Page[allot.Group]{Items: []allot.Group{}}, nil
		}
		in, args := tx.in(all)
		return s.listGroups(ctx, tx, a.TenantID, opt, ` AND g.id `+in, args)
	})
}

// validNewID checks a caller-chosen object id: a GUID not yet used by any
// user or group of the tenant, since members are found by id alone.
func (s *DB) validNewID(ctx context.Context, tx *txn, tenantID, id string) error {
	if !allot.IsID(id) {
		return allot.Errorf(allot.EINVALID, "Invalid object identifier '%s'.", id)
	}
	var n int
	// A deleted object keeps its id until it is purged, so that it can
	// come back under it.
	if err := tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM users WHERE tenant_id = ? AND id = ?) + (SELECT COUNT(*) FROM dir_groups WHERE tenant_id = ? AND id = ?)
		+ (SELECT COUNT(*) FROM deleted_items WHERE tenant_id = ? AND id = ?)`,
		tenantID, id, tenantID, id, tenantID, id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return allot.Errorf(allot.ECONFLICT, "Another object with the same value for property id already exists.")
	}
	return nil
}

// holdsMailbox tells whether the user owns its addresses: one of its
// license states grants a mailbox plan (migration 20).
func holdsMailbox(ctx context.Context, tx *txn, tenantID, userID string) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM license_states WHERE tenant_id = ? AND user_id = ? AND mailbox = 1`, tenantID, userID).Scan(&n)
	return n > 0, err
}
