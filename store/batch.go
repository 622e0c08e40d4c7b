package store

import (
	"cmp"
	"context"
	"database/sql"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/allot-dev/allot"
	"github.com/allot-dev/allot/rules"
)

// batch is everything needed to evaluate a set of users of one tenant,
// loaded with a fixed number of queries whatever the number of users, and
// kept up to date in memory as the users are evaluated one after another.
type batch struct {
	tenantID        string
	defaultLocation string
	order           []string // user ids that exist, in evaluation order
	users           map[string]*userRow
	direct          map[string][]assignmentRow // user -> direct assignments
	groupsOf        map[string][]string        // user -> groups it is a direct member of
	groupAssign     map[string][]assignmentRow // group -> assignments
	states          map[string][]allot.LicenseState
	statesRead      bool                       // states read ahead, and still good
	addressRows     []addressRow               // listers of the users' addresses, as read
	owners          map[string]map[string]bool // address -> ids of its owners
	listers         map[string][]string        // address -> users listing it
	enabled         map[string]int             // SKU -> seats owned
	consumed        map[string]int             // SKU -> seats consumed
	subs            map[string]bool
	// waiters holds, for SKUs with free seats, the users in CountViolation
	// in the order they started waiting; loaded when first needed.
	waiters        map[string]*waitList
	fetchWaiters   func(sku string, limit int) ([]waiter, error)
	waitCounts     map[string]int
	fetchWaitCount func(sku string) (int, error)
	before         map[string][]allot.LicenseState // states before, of users evaluated already
	evaluated      map[string]bool
	waitLimit      int             // rows to read of a waiting room, raised when too few
	priority       map[string]bool // users a purchase was made for: ahead of the waiting room
	err            error           // the first error of a lazy load
	// parents maps a group to the groups containing it, loaded only when
	// the tenant has an assignment that includes nested groups.
	parents map[string][]string
}

type waiter struct {
	since time.Time
	uid   string
}

// waitList is a prefix of a SKU's waiting room in order. Entries of users
// who stopped waiting, or started again later, go stale rather than being
// removed from the middle; live tells which entry of a user counts.
type waitList struct {
	items     []waiter
	live      map[string]time.Time // user -> since of its counting entry
	truncated bool                 // the database holds more waiters than items
	limit     int
}

func (l *waitList) isLive(w waiter) bool {
	since, ok := l.live[w.uid]
	return ok && since.Equal(w.since)
}

// set records that uid waits since since (zero: it does not wait).
func (l *waitList) set(uid string, since time.Time) {
	if since.IsZero() {
		delete(l.live, uid)
		return
	}
	if old, ok := l.live[uid]; ok && old.Equal(since) {
		return
	}
	l.live[uid] = since
	w := waiter{since, uid}
	i, _ := slices.BinarySearchFunc(l.items, w, waiterLess)
	l.items = slices.Insert(l.items, i, w)
}

func waiterLess(a, b waiter) int {
	if c := a.since.Compare(b.since); c != 0 {
		return c
	}
	return strings.Compare(a.uid, b.uid)
}

type userRow struct {
	id, location string
	proxy        []string
	mailbox      bool
}

type assignmentRow struct {
	target   string
	sku      string
	disabled []string
	created  time.Time
	nested   bool // a group's assignment that includes nested groups
}

// loadBatch reads what evaluating userIDs needs, in a fixed number of
// queries whatever their number; the waiting rooms are read later, and
// only for SKUs with free seats (freeFor).
func (s *DB) loadBatch(ctx context.Context, tx *txn, tenantID string, userIDs []string) (*batch, error) {
	b, err := s.loadInputs(ctx, tx, tenantID, userIDs)
	if err != nil {
		return nil, err
	}
	return b, b.loadRest(ctx, s, tx)
}

// loadInputs reads the part of a batch that processing never writes: the
// users, their memberships and assignments, and the rows of their
// addresses. A group walk reads it ahead, on another connection
// (ahead.go), so no table read here may be one of notInputs.
func (s *DB) loadInputs(ctx context.Context, tx *txn, tenantID string, userIDs []string) (*batch, error) {
	b := newBatch(tenantID)
	if err := tx.QueryRow(ctx, `SELECT default_usage_location FROM tenants WHERE id = ?`, tenantID).Scan(&b.defaultLocation); err != nil {
		return nil, err
	}
	if err := b.loadUsers(ctx, tx, dedupe(userIDs)); err != nil {
		return nil, err
	}
	if err := b.loadDirect(ctx, tx); err != nil {
		return nil, err
	}
	groups, err := b.loadMemberships(ctx, tx)
	if err != nil {
		return nil, err
	}
	if err := s.loadNested(ctx, tx, b, groups); err != nil {
		return nil, err
	}
	if err := b.loadGroupAssignments(ctx, tx, slices.Sorted(maps.Keys(groups))); err != nil {
		return nil, err
	}
	return b, b.loadAddressRows(ctx, tx)
}

// loadRest reads, in the batch's own transaction, what processing writes:
// the users' states (and so their mailboxes) unless they were read ahead
// and are still good, who owns their addresses, and the seats; the waiting
// rooms as the evaluations need them.
func (b *batch) loadRest(ctx context.Context, s *DB, tx *txn) error {
	b.readWaitingRoomsFrom(ctx, s, tx)
	if !b.statesRead {
		if err := b.loadStates(ctx, tx); err != nil {
			return err
		}
	}
	if err := b.loadOwners(ctx, tx); err != nil {
		return err
	}
	return b.loadSeats(ctx, tx)
}

// forgetStates drops the states a read ahead made that turned out stale,
// for loadRest to read them again.
func (b *batch) forgetStates() {
	clear(b.states)
	for _, u := range b.users {
		u.mailbox = false
	}
}

func newBatch(tenantID string) *batch {
	return &batch{
		tenantID: tenantID, users: map[string]*userRow{}, direct: map[string][]assignmentRow{},
		groupsOf: map[string][]string{}, groupAssign: map[string][]assignmentRow{},
		states: map[string][]allot.LicenseState{}, owners: map[string]map[string]bool{}, listers: map[string][]string{},
		enabled: map[string]int{}, consumed: map[string]int{}, subs: map[string]bool{},
		waiters: map[string]*waitList{}, evaluated: map[string]bool{}, waitCounts: map[string]int{}, before: map[string][]allot.LicenseState{},
	}
}

// readWaitingRoomsFrom makes the batch read the waiting rooms it turns out
// to need from tx, as the evaluations go; their counts from s's cache when
// it holds them (waitcache.go).
func (b *batch) readWaitingRoomsFrom(ctx context.Context, s *DB, tx *txn) {
	b.fetchWaitCount = func(sku string) (int, error) {
		if n, ok, err := s.cachedWaitCount(ctx, tx, b.tenantID, sku); ok || err != nil {
			return n, err
		}
		s.waits.counted.Add(1)
		var n int
		err := tx.QueryRow(ctx, waitingCountSQL, b.tenantID, sku).Scan(&n)
		return n, err
	}
	b.fetchWaiters = func(sku string, limit int) ([]waiter, error) {
		rows, err := tx.Query(ctx, waitingEntriesSQL, b.tenantID, sku, limit)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []waiter
		for rows.Next() {
			var w waiter
			var since string
			if err := rows.Scan(&w.uid, &since); err != nil {
				return nil, err
			}
			w.since = parseTime(since)
			out = append(out, w)
		}
		return out, rows.Err()
	}
}

// usersOfSQL reads a batch's users, on SQLite from the index users_inputs
// alone (migration 26; TestIndexQueryPlans).
const usersOfSQL = `SELECT u.id, u.usage_location, u.proxy_addresses FROM users u WHERE u.tenant_id = ? AND u.id IN (%s)`

// loadUsers reads the users of ids that exist, and orders the batch by ids.
func (b *batch) loadUsers(ctx context.Context, tx *txn, ids []string) error {
	err := tx.each(ctx, usersOfSQL, ids, []any{b.tenantID}, func(r *sql.Rows) error {
		var u userRow
		var proxy string
		if err := r.Scan(&u.id, &u.location, &proxy); err != nil {
			return err
		}
		u.proxy = strList(proxy)
		b.users[u.id] = &u
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		if b.users[id] != nil {
			b.order = append(b.order, id)
		}
	}
	return nil
}

// loadDirect reads the users' direct assignments. PostgreSQL plans it for
// the ids in hand (planForValues): a plan for any list reads the tenant's
// direct assignments and compares each with every id of the list, 10 ms for
// 500 of them against 1,000 ids, where a plan for the list hashes it.
func (b *batch) loadDirect(ctx context.Context, tx *txn) error {
	return tx.each(ctx, `SELECT target_id, sku_id, disabled_plans, created_at FROM assignments WHERE tenant_id = ? AND target_kind = 'user' AND target_id IN (%s)`, b.order, tx.planForValues(b.tenantID), func(r *sql.Rows) error {
		var a assignmentRow
		var disabled, created string
		err := r.Scan(&a.target, &a.sku, &disabled, &created)
		a.disabled, a.created = strList(disabled), parseTime(created)
		b.direct[a.target] = append(b.direct[a.target], a)
		return err
	})
}

// membershipsOfSQL reads the groups of a list of members from the index
// memberships_member alone (migration 22; TestIndexQueryPlans).
const membershipsOfSQL = `SELECT member_id, group_id FROM memberships WHERE tenant_id = ? AND member_id IN (%s)`

// loadMemberships reads the groups the users are direct members of, and
// returns them.
func (b *batch) loadMemberships(ctx context.Context, tx *txn) (map[string]bool, error) {
	groups := map[string]bool{}
	err := tx.each(ctx, membershipsOfSQL, b.order, []any{b.tenantID}, func(r *sql.Rows) error {
		var u, g string
		err := r.Scan(&u, &g)
		b.groupsOf[u] = append(b.groupsOf[u], g)
		groups[g] = true
		return err
	})
	return groups, err
}

// loadGroupAssignments reads the assignments of groups.
func (b *batch) loadGroupAssignments(ctx context.Context, tx *txn, groups []string) error {
	return tx.each(ctx, `SELECT target_id, sku_id, disabled_plans, created_at, include_nested FROM assignments WHERE tenant_id = ? AND target_kind = 'group' AND target_id IN (%s)`, groups, []any{b.tenantID}, func(r *sql.Rows) error {
		var a assignmentRow
		var disabled, created string
		var nested int
		err := r.Scan(&a.target, &a.sku, &disabled, &created, &nested)
		a.disabled, a.created, a.nested = strList(disabled), parseTime(created), nested == 1
		b.groupAssign[a.target] = append(b.groupAssign[a.target], a)
		return err
	})
}

// loadStates reads the users' states, and so whether they hold a mailbox.
// Each user's states are put in key order (SKU, then source), which is
// the order SQLite reads them in: PostgreSQL returns them as its plan
// finds them, and the audit's "before" lists them as loaded.
func (b *batch) loadStates(ctx context.Context, tx *txn) error {
	err := tx.each(ctx, `SELECT user_id, sku_id, source, state, error, disabled_plans, detail, updated_at, waiting_since, mailbox FROM license_states WHERE tenant_id = ? AND user_id IN (%s)`, b.order, []any{b.tenantID}, func(r *sql.Rows) error {
		var uid, disabled, updated, waiting string
		var st allot.LicenseState
		var mailbox int
		if err := r.Scan(&uid, &st.SkuID, &st.Source, &st.State, &st.Error, &disabled, &st.Detail, &updated, &waiting, &mailbox); err != nil {
			return err
		}
		if mailbox == 1 {
			b.users[uid].mailbox = true
		}
		st.DisabledPlans, st.LastUpdated, st.WaitingSince = strList(disabled), parseTime(updated), parseTime(waiting)
		b.states[uid] = append(b.states[uid], st)
		return nil
	})
	for _, sts := range b.states {
		slices.SortFunc(sts, func(x, y allot.LicenseState) int {
			return cmp.Or(strings.Compare(x.SkuID, y.SkuID), strings.Compare(x.Source, y.Source))
		})
	}
	return err
}

// addressRow is one lister, a user or a group, of an address a batch user lists.
type addressRow struct{ addr, owner, kind string }

// listersOfSQL reads the listers of a batch's addresses, on SQLite from
// the index addresses_listers alone (migration 26; TestIndexQueryPlans).
const listersOfSQL = `SELECT address, owner_id, owner_kind FROM addresses WHERE tenant_id = ? AND address IN (%s)`

// loadAddressRows reads every lister of an address a batch user lists.
func (b *batch) loadAddressRows(ctx context.Context, tx *txn) error {
	var listed []string
	for _, id := range b.order {
		for _, a := range b.users[id].proxy {
			listed = append(listed, allot.NormalizeAddress(a))
		}
	}
	return tx.each(ctx, listersOfSQL,
		slices.Compact(slices.Sorted(slices.Values(listed))), []any{b.tenantID}, func(r *sql.Rows) error {
			var a addressRow
			err := r.Scan(&a.addr, &a.owner, &a.kind)
			b.addressRows = append(b.addressRows, a)
			return err
		})
}

// loadOwners tells, of the listers of the batch users' addresses, which
// own them: a group, or a user with a mailbox. The batch's own users'
// mailboxes are known from their states (loadStates runs first); only
// other listers' are read.
func (b *batch) loadOwners(ctx context.Context, tx *txn) error {
	var others []addressRow
	var otherIDs []string
	own := func(addr, owner string) {
		if b.owners[addr] == nil {
			b.owners[addr] = map[string]bool{}
		}
		b.owners[addr][owner] = true
	}
	for _, r := range b.addressRows {
		switch u := b.users[r.owner]; {
		case r.kind == allot.MemberGroup:
			own(r.addr, r.owner)
		case u != nil:
			b.listers[r.addr] = append(b.listers[r.addr], r.owner)
			if u.mailbox {
				own(r.addr, r.owner)
			}
		default:
			b.listers[r.addr] = append(b.listers[r.addr], r.owner)
			others, otherIDs = append(others, r), append(otherIDs, r.owner)
		}
	}
	if len(others) == 0 {
		return nil
	}
	mailbox, err := tx.idSet(ctx, `SELECT DISTINCT user_id FROM license_states WHERE tenant_id = ? AND mailbox = 1 AND user_id IN (%s)`,
		slices.Compact(slices.Sorted(slices.Values(otherIDs))), b.tenantID)
	if err != nil {
		return err
	}
	for _, l := range others {
		if mailbox[l.owner] {
			own(l.addr, l.owner)
		}
	}
	return nil
}

// loadSeats reads the tenant's subscriptions.
func (b *batch) loadSeats(ctx context.Context, tx *txn) error {
	rows, err := tx.Query(ctx, `SELECT sku_id, enabled, consumed FROM subscriptions WHERE tenant_id = ?`, b.tenantID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var sku string
		var en, co int
		if err := rows.Scan(&sku, &en, &co); err != nil {
			return err
		}
		b.enabled[sku], b.consumed[sku], b.subs[sku] = en, co, true
	}
	return rows.Err()
}

// units builds the user's units of docs/RULES.md §2.1 from the loaded assignments.
func (b *batch) units(uid string) []rules.Unit {
	var out []rules.Unit
	for _, a := range b.direct[uid] {
		out = append(out, rules.Unit{Created: a.created, SKUs: []allot.AssignedLicense{{SkuID: a.sku, DisabledPlans: a.disabled}}})
	}
	for _, g := range b.groupsOf[uid] {
		as := b.groupAssign[g]
		if len(as) == 0 {
			continue
		}
		u := rules.Unit{Source: g, Created: as[0].created}
		for _, a := range as {
			if a.created.Before(u.Created) {
				u.Created = a.created
			}
			u.SKUs = append(u.SKUs, allot.AssignedLicense{SkuID: a.sku, DisabledPlans: a.disabled})
		}
		out = append(out, u)
	}
	return append(out, b.nestedUnits(uid)...)
}

func (b *batch) input(uid string, cat *allot.Catalog, now time.Time) rules.Input {
	u := b.users[uid]
	in := rules.Input{
		Location: u.location, ProxyAddresses: u.proxy, Taken: map[string]bool{},
		Units: b.units(uid), Before: b.states[uid], Free: map[string]int{}, Catalog: cat, Now: now,
	}
	if in.Location == "" {
		in.Location = b.defaultLocation
	}
	for _, a := range u.proxy {
		n := allot.NormalizeAddress(a)
		for owner := range b.owners[n] {
			if owner != uid {
				in.Taken[n] = true
			}
		}
	}
	for _, u := range in.Units {
		for _, l := range u.SKUs {
			if free := b.freeFor(uid, l.SkuID); free > 0 {
				in.Free[l.SkuID] = free
			}
		}
	}
	return in
}

// freeFor is the seats of sku that uid may take: the free seats less one
// for each user that started waiting for the SKU before uid (all of them,
// if uid does not wait for it). A seat that comes free so goes to the
// waiting room first, in its order (docs/RULES.md §2.3.4), whoever is evaluated first.
func (b *batch) freeFor(uid, sku string) int {
	free := b.enabled[sku] - b.consumed[sku]
	if free <= 0 || b.priority[uid] {
		return max(free, 0)
	}
	// A user already waiting for another SKU competes for this one's free
	// seats as they are: holding them back for this SKU's own waiting room
	// could leave two waiting users each holding the seat the other needs.
	states := b.states[uid]
	if waitingSince(sku, states).IsZero() && slices.ContainsFunc(states, func(st allot.LicenseState) bool { return st.Error == allot.CountViolation }) {
		return free
	}
	// When every waiting user fits, order does not matter: a waiting user
	// may take any free seat, anyone else what the waiting room leaves.
	count, ok := b.waitCount(sku)
	if !ok {
		return 0 // the error is in b.err
	}
	if count <= free {
		if !waitingSince(sku, b.states[uid]).IsZero() {
			return free
		}
		return free - count
	}
	for {
		l := b.waitList(sku, free)
		if l == nil {
			return 0 // the error is in b.err
		}
		for len(l.items) > 0 && !l.isLive(l.items[0]) {
			l.items = l.items[1:]
		}
		ahead := 0
		for _, w := range l.items {
			if !l.isLive(w) {
				continue
			}
			if w.uid == uid {
				return free - ahead
			}
			if ahead++; ahead >= free {
				return 0
			}
		}
		if !l.truncated {
			return free - ahead
		}
		// More waiters than were read may stand before uid: read further.
		delete(b.waiters, sku)
		b.waitLimit = max(b.waitLimit, 2*l.limit)
	}
}

// waitCount is the number of users waiting for sku, as of this batch's
// evaluations so far.
func (b *batch) waitCount(sku string) (int, bool) {
	if n, ok := b.waitCounts[sku]; ok {
		return n, true
	}
	n, err := b.fetchWaitCount(sku)
	if err != nil {
		if b.err == nil {
			b.err = err
		}
		return 0, false
	}
	// The database still holds the old states of users evaluated already.
	for id := range b.evaluated {
		if !waitingSince(sku, b.before[id]).IsZero() {
			n--
		}
		if !waitingSince(sku, b.states[id]).IsZero() {
			n++
		}
	}
	b.waitCounts[sku] = n
	return n, true
}

// waitList returns the loaded waiting room of sku, reading at least the
// first free + batch-size entries from the database and taking the users
// already evaluated in this batch (not yet written) from memory.
func (b *batch) waitList(sku string, free int) *waitList {
	if l, ok := b.waiters[sku]; ok {
		return l
	}
	limit := max(free+len(b.order)+1, b.waitLimit)
	fetched, err := b.fetchWaiters(sku, limit)
	if err != nil {
		if b.err == nil {
			b.err = err
		}
		return nil
	}
	l := &waitList{live: map[string]time.Time{}, truncated: len(fetched) == limit, limit: limit}
	for _, w := range fetched {
		if _, seen := l.live[w.uid]; !seen && !b.evaluated[w.uid] {
			l.live[w.uid] = w.since
			l.items = append(l.items, w)
		}
	}
	for id := range b.evaluated {
		l.set(id, waitingSince(sku, b.states[id]))
	}
	b.waiters[sku] = l
	return l
}

// waitingSince is when the user started waiting for sku, or zero.
func waitingSince(sku string, states []allot.LicenseState) time.Time {
	var since time.Time
	for _, st := range states {
		if st.SkuID == sku && st.Error == allot.CountViolation && (since.IsZero() || st.WaitingSince.Before(since)) {
			since = st.WaitingSince
		}
	}
	return since
}
