package store

import (
	"context"
	"database/sql"
	"maps"
	"slices"
	"strings"

	"github.com/allot-dev/allot"
)

// MaxWaitingPage bounds a page of the waiting room, as Graph bounds $top.
const MaxWaitingPage = 999

// The waiting room's queries, given the tenant and the SKU. They read the
// partial index license_states_waiting, which holds only the states in
// CountViolation (migration 22): a database uses it only for a query that
// names its condition, error = 'CountViolation', as a literal.
// TestIndexQueryPlans (store/metrics_plan_test.go) holds them to it.
const (
	waitingCountSQL = `SELECT COUNT(DISTINCT user_id) FROM license_states WHERE tenant_id = ? AND sku_id = ? AND error = 'CountViolation'`
	// A user waiting in two units appears twice; its first (earliest)
	// entry is the one that counts.
	waitingEntriesSQL = `SELECT user_id, waiting_since FROM license_states WHERE tenant_id = ? AND sku_id = ? AND error = 'CountViolation'
		ORDER BY waiting_since, user_id LIMIT ?`
	// One row per user, by its earliest entry; then LIMIT and OFFSET.
	waitingUsersSQL = `SELECT user_id FROM license_states WHERE tenant_id = ? AND sku_id = ? AND error = 'CountViolation'
		GROUP BY user_id ORDER BY MIN(waiting_since), user_id LIMIT ? OFFSET ?`
)

// WaitingRoom lists the users in CountViolation for skuID in the order
// processing gives them seats (docs/RULES.md §2.3.4): by when they started waiting,
// then user id. The order is the engine's own: each user's time is
// waitingSince over its states and the page is sorted with waiterLess, the
// functions freeFor and wakeWhere hand out seats by.
func (s *DB) WaitingRoom(ctx context.Context, skuID string, skip, top int) (*allot.WaitingRoom, error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	if skip < 0 || top < 1 || top > MaxWaitingPage {
		return nil, allot.Errorf(allot.EINVALID, "The page size must be between 1 and %d and the skip not negative.", MaxWaitingPage)
	}
	skuID = strings.ToLower(skuID)
	var room *allot.WaitingRoom
	// One read transaction, so the count, the page and its details agree.
	err = s.readTx(ctx, func(tx *txn) error {
		sub, err := s.subscription(ctx, tx, a.TenantID, skuID)
		if err != nil {
			return err
		}
		room = &allot.WaitingRoom{SkuID: skuID, Available: sub.Available(), Users: []allot.WaitingUser{}}
		return s.waitingPage(ctx, tx, a.TenantID, room, skip, top)
	})
	if err != nil {
		return nil, err
	}
	return room, nil
}

func (s *DB) waitingPage(ctx context.Context, tx *txn, tenantID string, room *allot.WaitingRoom, skip, top int) error {
	skuID := room.SkuID
	if err := tx.QueryRow(ctx, waitingCountSQL, tenantID, skuID).Scan(&room.Total); err != nil {
		return err
	}
	// The page is cut in SQL by the same key (earliest waiting time, then
	// user id) so that a deep page does not read the whole room.
	ids, err := tx.queryIDs(ctx, waitingUsersSQL, tenantID, skuID, top, skip)
	if err != nil || len(ids) == 0 {
		return err
	}
	states, err := waitingStates(ctx, tx, tenantID, skuID, ids)
	if err != nil {
		return err
	}
	users, err := waitingUsers(ctx, tx, tenantID, ids)
	if err != nil {
		return err
	}
	groupIDs := map[string]bool{}
	for _, sts := range states {
		for _, st := range sts {
			if st.Error == allot.CountViolation && st.Source != "" {
				groupIDs[st.Source] = true
			}
		}
	}
	names := map[string]string{}
	err = tx.each(ctx, `SELECT id, display_name FROM dir_groups WHERE tenant_id = ? AND id IN (%s)`, slices.Sorted(maps.Keys(groupIDs)), []any{tenantID}, func(r *sql.Rows) error {
		var id, name string
		err := r.Scan(&id, &name)
		names[id] = name
		return err
	})
	if err != nil {
		return err
	}
	room.Users = append(room.Users, waitingList(skuID, ids, states, users, names, skip)...)
	return nil
}

// waitingStates reads the users' states for the SKU.
func waitingStates(ctx context.Context, tx *txn, tenantID, skuID string, ids []string) (map[string][]allot.LicenseState, error) {
	states := map[string][]allot.LicenseState{}
	err := tx.each(ctx, `SELECT user_id, source, error, waiting_since FROM license_states WHERE tenant_id = ? AND sku_id = ? AND user_id IN (%s)`,
		ids, []any{tenantID, skuID}, func(r *sql.Rows) error {
			var uid, waiting string
			st := allot.LicenseState{SkuID: skuID}
			if err := r.Scan(&uid, &st.Source, &st.Error, &waiting); err != nil {
				return err
			}
			st.WaitingSince = parseTime(waiting)
			states[uid] = append(states[uid], st)
			return nil
		})
	return states, err
}

// waitingUsers reads the users' names.
func waitingUsers(ctx context.Context, tx *txn, tenantID string, ids []string) (map[string]*allot.WaitingUser, error) {
	users := map[string]*allot.WaitingUser{}
	err := tx.each(ctx, `SELECT id, upn, display_name FROM users WHERE tenant_id = ? AND id IN (%s)`, ids, []any{tenantID}, func(r *sql.Rows) error {
		var u allot.WaitingUser
		if err := r.Scan(&u.UserID, &u.UserPrincipalName, &u.DisplayName); err != nil {
			return err
		}
		users[u.UserID] = &u
		return nil
	})
	return users, err
}

// waitingList is the page in the engine's order, each user with its
// position and the units it waits in.
func waitingList(skuID string, ids []string, states map[string][]allot.LicenseState, users map[string]*allot.WaitingUser, groupNames map[string]string, skip int) []allot.WaitingUser {
	page := make([]waiter, 0, len(ids))
	for _, id := range ids {
		page = append(page, waiter{since: waitingSince(skuID, states[id]), uid: id})
	}
	slices.SortFunc(page, waiterLess)
	out := make([]allot.WaitingUser, 0, len(page))
	for i, w := range page {
		u := users[w.uid]
		if u == nil {
			u = &allot.WaitingUser{UserID: w.uid} // deleted since the page was cut: keep its place
		}
		u.Position, u.WaitingSince, u.Groups = skip+i+1, w.since, []allot.GroupRef{}
		for _, st := range states[w.uid] {
			switch {
			case st.Error != allot.CountViolation:
			case st.Source == "":
				u.Direct = true
			default:
				u.Groups = append(u.Groups, allot.GroupRef{ID: st.Source, DisplayName: groupNames[st.Source]})
			}
		}
		slices.SortFunc(u.Groups, func(a, b allot.GroupRef) int { return strings.Compare(a.ID, b.ID) })
		out = append(out, *u)
	}
	return out
}
