package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/allot-dev/allot"
)

// previewMaxUsers is allot.PreviewMaxUsers; tests lower it.
var previewMaxUsers = allot.PreviewMaxUsers

// errPreviewDone ends a preview's transaction: a preview never commits.
var errPreviewDone = errors.New("preview rolled back")

// Preview applies the changes and then processes all the tenant's queued
// work, with the same code as the real requests and the worker, in one
// transaction that it always rolls back; it reports the seats and the
// users' states that changed. A change that the real request would refuse
// is a 400 naming it.
func (s *DB) Preview(ctx context.Context, changes []allot.PreviewChange) (*allot.Preview, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 || len(changes) > allot.MaxBatch {
		return nil, allot.Errorf(allot.EINVALID, "A preview takes between 1 and %d changes; got %d.", allot.MaxBatch, len(changes))
	}
	for i, c := range changes {
		if err := validPreviewChange(c); err != nil {
			return nil, changeError(i, c, err)
		}
	}
	var p *allot.Preview
	err = s.tx(ctx, func(tx *txn) error {
		var err error
		p, err = s.preview(ctx, tx, a.TenantID, changes)
		if err != nil {
			return err
		}
		return errPreviewDone
	})
	if !errors.Is(err, errPreviewDone) {
		return nil, err
	}
	return p, nil
}

func (s *DB) preview(ctx context.Context, tx *txn, tenantID string, changes []allot.PreviewChange) (*allot.Preview, error) {
	p := &allot.Preview{}
	var lastAudit int64
	if err := tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM work WHERE tenant_id = ?), (SELECT COALESCE(MAX(id), 0) FROM audit)`, tenantID).Scan(&p.QueuedBefore, &lastAudit); err != nil {
		return nil, err
	}
	seatsBefore, err := previewSeats(ctx, tx, tenantID)
	if err != nil {
		return nil, err
	}
	// The users who change are known only at the end: their states before
	// are read back after rolling back to here.
	if _, err := tx.Exec(ctx, `SAVEPOINT allot_preview`); err != nil {
		return nil, err
	}
	for i, c := range changes {
		if err := s.previewApply(ctx, tx, tenantID, c); err != nil {
			return nil, changeError(i, c, err)
		}
	}
	if p.UsersEvaluated, err = s.previewDrain(ctx, tx, tenantID); err != nil {
		return nil, err
	}
	// Every evaluation that changed a user's states audited it.
	changed, err := changedSince(ctx, tx, tenantID, lastAudit)
	if err != nil {
		return nil, err
	}
	if p.Members, err = previewMembers(ctx, tx, tenantID, lastAudit); err != nil {
		return nil, err
	}
	after, err := previewStates(ctx, tx, tenantID, changed)
	if err != nil {
		return nil, err
	}
	seatsAfter, err := previewSeats(ctx, tx, tenantID)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT allot_preview`); err != nil {
		return nil, err
	}
	before, err := previewStates(ctx, tx, tenantID, changed)
	if err != nil {
		return nil, err
	}
	names, err := previewNames(ctx, tx, tenantID, changed)
	if err != nil {
		return nil, err
	}
	p.Seats = seatChanges(seatsBefore, seatsAfter)
	p.Users, p.Truncated = previewUsers(changed, before, after, names, &p.Totals)
	return p, nil
}

// changedSince lists, in order, the users whose license changes were
// audited after audit line lastAudit: single rows and batch rows' entries.
func changedSince(ctx context.Context, tx *txn, tenantID string, lastAudit int64) ([]string, error) {
	changed, err := tx.queryIDs(ctx, `SELECT DISTINCT target_id FROM audit WHERE tenant_id = ? AND id > ? AND activity = 'Change user license' AND target_type = 'User' AND entries IS NULL`, tenantID, lastAudit)
	if err != nil {
		return nil, err
	}
	batches, err := tx.queryIDs(ctx, `SELECT entries FROM audit WHERE tenant_id = ? AND id > ? AND entries IS NOT NULL`, tenantID, lastAudit)
	if err != nil {
		return nil, err
	}
	for _, b := range batches {
		es, err := batchEntries(b, nil)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			changed = append(changed, e.Target)
		}
	}
	slices.Sort(changed)
	return slices.Compact(changed), nil
}

// previewMembers counts, per group, the users who joined and left since
// audit line lastAudit, as every membership change audits one.
func previewMembers(ctx context.Context, tx *txn, tenantID string, lastAudit int64) ([]allot.PreviewMembers, error) {
	rows, err := tx.Query(ctx, `SELECT a.target_id, COALESCE(g.display_name, ''), SUM(CASE WHEN a.activity = 'Add member to group' THEN 1 ELSE 0 END), SUM(CASE WHEN a.activity = 'Remove member from group' THEN 1 ELSE 0 END)
		FROM audit a LEFT JOIN dir_groups g ON g.tenant_id = a.tenant_id AND g.id = a.target_id
		WHERE a.tenant_id = ? AND a.id > ? AND a.target_type = 'Group' AND a.activity IN ('Add member to group', 'Remove member from group')
		GROUP BY a.target_id, g.display_name ORDER BY a.target_id`, tenantID, lastAudit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []allot.PreviewMembers
	for rows.Next() {
		var m allot.PreviewMembers
		if err := rows.Scan(&m.GroupID, &m.DisplayName, &m.Joined, &m.Left); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// seatChanges lists the SKUs whose seats differ, in order.
func seatChanges(before, after map[string][2]int) []allot.PreviewSeats {
	var out []allot.PreviewSeats
	all := maps.Clone(before)
	maps.Copy(all, after)
	for _, sku := range slices.Sorted(maps.Keys(all)) {
		b, a := before[sku], after[sku]
		if b != a {
			out = append(out, allot.PreviewSeats{SkuID: sku, EnabledBefore: b[0], EnabledAfter: a[0], ConsumedBefore: b[1], ConsumedAfter: a[1]})
		}
	}
	return out
}

// previewNames reads the users' userPrincipalName and displayName.
func previewNames(ctx context.Context, tx *txn, tenantID string, ids []string) (map[string][2]string, error) {
	names := map[string][2]string{}
	err := tx.each(ctx, `SELECT id, upn, display_name FROM users WHERE tenant_id = ? AND id IN (%s)`, ids, []any{tenantID}, func(r *sql.Rows) error {
		var id, upn, name string
		err := r.Scan(&id, &upn, &name)
		names[id] = [2]string{upn, name}
		return err
	})
	return names, err
}

// previewUsers lists the users whose states differ, by userPrincipalName,
// at most allot.PreviewMaxListed of them (truncated tells), and counts
// them all in totals.
func previewUsers(changed []string, before, after map[string][]allot.LicenseState, names map[string][2]string, totals *allot.PreviewTotals) (users []allot.PreviewUser, truncated bool) {
	for _, uid := range changed {
		u := PreviewDiff(before[uid], after[uid])
		if u == nil {
			continue // evaluated and written, but to the same states
		}
		u.ID, u.UserPrincipalName, u.DisplayName = uid, names[uid][0], names[uid][1]
		users = append(users, *u)
		totals.Users++
		totals.Gained += len(u.Gained)
		totals.Lost += len(u.Lost)
		totals.IntoError += len(u.IntoError)
		totals.OutOfError += len(u.OutOfError)
	}
	sort.SliceStable(users, func(i, j int) bool {
		return strings.ToLower(users[i].UserPrincipalName) < strings.ToLower(users[j].UserPrincipalName)
	})
	if len(users) > allot.PreviewMaxListed {
		return users[:allot.PreviewMaxListed], true
	}
	return users, false
}

// previewApply makes one change through the code of the matching request,
// in the preview's transaction.
func (s *DB) previewApply(ctx context.Context, tx *txn, tenantID string, c allot.PreviewChange) error {
	switch c.Op {
	case allot.PreviewAssignLicense:
		if c.UserID != "" {
			_, err := s.assignUserLicense(ctx, tx, tenantID, c.UserID, c.AddLicenses, c.RemoveLicenses)
			return err
		}
		_, err := s.assignGroupLicense(ctx, tx, tenantID, c.GroupID, c.AddLicenses, c.RemoveLicenses)
		return err
	case allot.PreviewAddMember:
		return s.addMember(ctx, tx, tenantID, c.GroupID, c.MemberID)
	case allot.PreviewRemoveMember:
		return s.removeMember(ctx, tx, tenantID, c.GroupID, c.MemberID)
	case allot.PreviewSetSeats:
		if err := validSeats(c.Seats); err != nil {
			return err
		}
		return s.setSeats(ctx, tx, tenantID, strings.ToLower(c.SkuID), func(int) int { return c.Seats })
	case allot.PreviewUpdateUser:
		loc := c.UsageLocation
		upd, err := parseUserUpdate(allot.UserUpdate{UsageLocation: &loc})
		if err != nil {
			return err
		}
		_, err = s.updateUser(ctx, tx, tenantID, c.UserID, upd)
		return err
	case allot.PreviewSetMembershipRule:
		g, err := s.findGroup(ctx, tx, tenantID, c.GroupID)
		if err != nil {
			return err
		}
		types := g.GroupTypes
		if !slices.Contains(types, allot.GroupDynamic) {
			types = append(slices.Clone(types), allot.GroupDynamic)
		}
		on := allot.RuleOn
		_, err = s.updateGroup(ctx, tx, tenantID, g.ID, allot.GroupUpdate{GroupTypes: &types, MembershipRule: &c.MembershipRule, MembershipRuleProcessingState: &on})
		return err
	}
	return allot.Errorf(allot.EINVALID, "Unknown operation.")
}

// previewDrain processes the tenant's queue to the end as ProcessBatch
// does, waking the users waiting for free seats once it is empty, and
// returns the number of users evaluated.
func (s *DB) previewDrain(ctx context.Context, tx *txn, tenantID string) (int, error) {
	ctx = allot.NewContextWithActor(ctx, allot.Actor{Name: "Allot group-based licensing"})
	const batch = 500
	evaluated, wakes := 0, 0
	for {
		w, err := scanWork(tx.QueryRow(ctx, `SELECT `+workCols+` FROM work WHERE tenant_id = ? ORDER BY id LIMIT 1`, tenantID))
		if errors.Is(err, sql.ErrNoRows) {
			var waiting int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM subscriptions s WHERE s.tenant_id = ? AND s.enabled > s.consumed
				AND EXISTS (SELECT 1 FROM license_states l WHERE l.tenant_id = s.tenant_id AND l.sku_id = s.sku_id AND l.error = 'CountViolation')`, tenantID).Scan(&waiting); err != nil || waiting == 0 {
				return evaluated, err
			}
			if wakes++; wakes > 100 {
				return 0, fmt.Errorf("preview: waiting users do not settle")
			}
			if err := s.wakeTenant(ctx, tx, tenantID); err != nil {
				return 0, err
			}
			continue
		} else if err != nil {
			return 0, err
		}
		n := min(batch, previewMaxUsers-evaluated+1)
		var did int
		switch w.kind {
		case "group":
			did, err = s.processGroup(ctx, tx, w, n, false)
		case "rule":
			// Matching users against a rule is cheap and evaluates no
			// licenses: it does not count towards the preview's limit.
			if _, err := s.processRule(ctx, tx, w, 5000); err != nil {
				return 0, err
			}
			continue
		default:
			did, err = s.processUsers(ctx, tx, tenantID, n)
		}
		if err != nil {
			return 0, err
		}
		if evaluated += did; evaluated > previewMaxUsers {
			return 0, allot.Errorf(allot.EINVALID, "The changes, with the work already queued for the tenant, would evaluate more than %d users, the limit of a preview. Preview a smaller change, or wait until the queue is empty.", previewMaxUsers)
		}
	}
}

// previewSeats reads the tenant's subscriptions: SKU -> {enabled, consumed}.
func previewSeats(ctx context.Context, tx *txn, tenantID string) (map[string][2]int, error) {
	rows, err := tx.Query(ctx, `SELECT sku_id, enabled, consumed FROM subscriptions WHERE tenant_id = ?`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][2]int{}
	for rows.Next() {
		var sku string
		var e, c int
		if err := rows.Scan(&sku, &e, &c); err != nil {
			return nil, err
		}
		out[sku] = [2]int{e, c}
	}
	return out, rows.Err()
}

func previewStates(ctx context.Context, tx *txn, tenantID string, users []string) (map[string][]allot.LicenseState, error) {
	out := map[string][]allot.LicenseState{}
	err := tx.each(ctx, `SELECT user_id, sku_id, source, state, error, disabled_plans, detail FROM license_states WHERE tenant_id = ? AND user_id IN (%s)`, users, []any{tenantID}, func(r *sql.Rows) error {
		var uid, disabled string
		var st allot.LicenseState
		err := r.Scan(&uid, &st.SkuID, &st.Source, &st.State, &st.Error, &disabled, &st.Detail)
		st.DisabledPlans = strList(disabled)
		out[uid] = append(out[uid], st)
		return err
	})
	for _, states := range out {
		sortStates(states)
	}
	return out, err
}

func sortStates(states []allot.LicenseState) {
	slices.SortFunc(states, func(a, b allot.LicenseState) int {
		if c := strings.Compare(a.SkuID, b.SkuID); c != 0 {
			return c
		}
		return strings.Compare(a.Source, b.Source)
	})
}

// PreviewDiff compares a user's states before and after; nil when they
// agree in SKU, source, state, error and disabled plans. Exported so that
// tests judge the real outcome by the preview's own measure.
func PreviewDiff(before, after []allot.LicenseState) *allot.PreviewUser {
	before, after = slices.Clone(before), slices.Clone(after)
	sortStates(before)
	sortStates(after)
	if slices.EqualFunc(before, after, func(a, b allot.LicenseState) bool {
		return a.SkuID == b.SkuID && a.Source == b.Source && a.State == b.State && a.Error == b.Error && slices.Equal(a.DisabledPlans, b.DisabledPlans)
	}) {
		return nil
	}
	held := func(states []allot.LicenseState) map[string]bool {
		m := map[string]bool{}
		for _, st := range states {
			if st.State == allot.StateActive {
				m[st.SkuID] = true
			}
		}
		return m
	}
	errs := func(states []allot.LicenseState) map[allot.PreviewError]bool {
		m := map[allot.PreviewError]bool{}
		for _, st := range states {
			if st.State != allot.StateActive {
				m[allot.PreviewError{SkuID: st.SkuID, Source: st.Source, Error: st.Error}] = true
			}
		}
		return m
	}
	u := &allot.PreviewUser{Before: before, After: after, Gained: []string{}, Lost: []string{}, IntoError: []allot.PreviewError{}, OutOfError: []allot.PreviewError{}}
	hb, ha := held(before), held(after)
	either := maps.Clone(hb)
	maps.Copy(either, ha)
	for _, sku := range slices.Sorted(maps.Keys(either)) {
		switch {
		case ha[sku] && !hb[sku]:
			u.Gained = append(u.Gained, sku)
		case hb[sku] && !ha[sku]:
			u.Lost = append(u.Lost, sku)
		}
	}
	eb, ea := errs(before), errs(after)
	for e := range ea {
		if !eb[e] {
			u.IntoError = append(u.IntoError, e)
		}
	}
	for e := range eb {
		if !ea[e] {
			u.OutOfError = append(u.OutOfError, e)
		}
	}
	byKey := func(a, b allot.PreviewError) int {
		return strings.Compare(a.SkuID+"|"+a.Source+"|"+string(a.Error), b.SkuID+"|"+b.Source+"|"+string(b.Error))
	}
	slices.SortFunc(u.IntoError, byKey)
	slices.SortFunc(u.OutOfError, byKey)
	return u
}

// validPreviewChange checks that a change names what its operation needs;
// the objects themselves are checked by the request's own code.
func validPreviewChange(c allot.PreviewChange) error {
	need := func(ok bool, what string) error {
		if !ok {
			return allot.Errorf(allot.EINVALID, "%s is required.", what)
		}
		return nil
	}
	switch c.Op {
	case allot.PreviewAssignLicense:
		if (c.UserID == "") == (c.GroupID == "") {
			return allot.Errorf(allot.EINVALID, "Name either userId or groupId.")
		}
		return need(len(c.AddLicenses)+len(c.RemoveLicenses) > 0, "A license to add or remove")
	case allot.PreviewAddMember, allot.PreviewRemoveMember:
		if err := need(c.GroupID != "", "groupId"); err != nil {
			return err
		}
		return need(c.MemberID != "", "memberId")
	case allot.PreviewSetSeats:
		return need(c.SkuID != "", "skuId")
	case allot.PreviewUpdateUser:
		return need(c.UserID != "", "userId")
	case allot.PreviewSetMembershipRule:
		if err := need(c.GroupID != "", "groupId"); err != nil {
			return err
		}
		return need(strings.TrimSpace(c.MembershipRule) != "", "membershipRule")
	}
	return allot.Errorf(allot.EINVALID, "Unknown operation '%s': use assignLicense, addMember, removeMember, setSeats, updateUser or setMembershipRule.", c.Op)
}

// changeError names the change a refusal comes from. It keeps the code
// the request itself would answer with: 400, or 404 for an object that is
// not there (as for another tenant's objects).
func changeError(i int, c allot.PreviewChange, err error) error {
	switch code := allot.ErrorCode(err); code {
	case allot.EINVALID, allot.ECONFLICT, allot.ENOTFOUND:
		return allot.Errorf(code, "Change %d (%s): %s", i+1, c.Op, allot.ErrorMessage(err))
	}
	return err
}
