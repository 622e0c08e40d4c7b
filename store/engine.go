package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
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

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// chunks splits ids so no statement exceeds the databases' parameter limits.
func chunks(ids []string, size int) [][]string {
	var out [][]string
	for len(ids) > size {
		out = append(out, ids[:size])
		ids = ids[size:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}

// each runs query once per chunk of ids; query has one "IN (%s)" for the
// list, and args are placed before the ids.
func (s *DB) each(ctx context.Context, q queryer, query string, ids []string, args []any, scan func(*sql.Rows) error) error {
	for _, part := range chunks(ids, 500) {
		frag, fargs := s.in(part)
		a := append(append([]any{}, args...), fargs...)
		rows, err := q.QueryContext(ctx, s.q(strings.Replace(query, "IN (%s)", frag, 1)), a...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (s *DB) loadBatch(ctx context.Context, tx *sql.Tx, tenantID string, userIDs []string) (*batch, error) {
	b := &batch{
		tenantID: tenantID, users: map[string]*userRow{}, direct: map[string][]assignmentRow{},
		groupsOf: map[string][]string{}, groupAssign: map[string][]assignmentRow{},
		states: map[string][]allot.LicenseState{}, owners: map[string]map[string]bool{}, listers: map[string][]string{},
		enabled: map[string]int{}, consumed: map[string]int{}, subs: map[string]bool{},
		waiters: map[string]*waitList{}, evaluated: map[string]bool{}, waitCounts: map[string]int{}, before: map[string][]allot.LicenseState{},
	}
	b.fetchWaitCount = func(sku string) (int, error) {
		var n int
		err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(DISTINCT user_id) FROM license_states WHERE tenant_id = ? AND sku_id = ? AND error = 'CountViolation'`), tenantID, sku).Scan(&n)
		return n, err
	}
	b.fetchWaiters = func(sku string, limit int) ([]waiter, error) {
		// In index order; a user waiting in two units appears twice, and
		// its first (earliest) entry is the one that counts.
		rows, err := tx.QueryContext(ctx, s.q(`SELECT user_id, waiting_since FROM license_states
			WHERE tenant_id = ? AND sku_id = ? AND error = 'CountViolation' ORDER BY waiting_since, user_id LIMIT ?`), tenantID, sku, limit)
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
	if err := tx.QueryRowContext(ctx, s.q(`SELECT default_usage_location FROM tenants WHERE id = ?`), tenantID).Scan(&b.defaultLocation); err != nil {
		return nil, err
	}
	ids := dedupe(userIDs)
	err := s.each(ctx, tx, `SELECT u.id, u.usage_location, u.proxy_addresses, CASE WHEN x.user_id IS NULL THEN 0 ELSE 1 END FROM users u
		LEFT JOIN mailboxes x ON x.tenant_id = u.tenant_id AND x.user_id = u.id WHERE u.tenant_id = ? AND u.id IN (%s)`, ids, []any{tenantID}, func(r *sql.Rows) error {
		var u userRow
		var proxy string
		var mailbox int
		if err := r.Scan(&u.id, &u.location, &proxy, &mailbox); err != nil {
			return err
		}
		u.proxy, u.mailbox = strList(proxy), mailbox == 1
		b.users[u.id] = &u
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if b.users[id] != nil {
			b.order = append(b.order, id)
		}
	}
	ids = b.order
	scanAssign := func(r *sql.Rows) (assignmentRow, error) {
		var a assignmentRow
		var disabled, created string
		err := r.Scan(&a.target, &a.sku, &disabled, &created)
		a.disabled, a.created = strList(disabled), parseTime(created)
		return a, err
	}
	err = s.each(ctx, tx, `SELECT target_id, sku_id, disabled_plans, created_at FROM assignments WHERE tenant_id = ? AND target_kind = 'user' AND target_id IN (%s)`, ids, []any{tenantID}, func(r *sql.Rows) error {
		a, err := scanAssign(r)
		b.direct[a.target] = append(b.direct[a.target], a)
		return err
	})
	if err != nil {
		return nil, err
	}
	groupSet := map[string]bool{}
	err = s.each(ctx, tx, `SELECT member_id, group_id FROM memberships WHERE tenant_id = ? AND member_id IN (%s)`, ids, []any{tenantID}, func(r *sql.Rows) error {
		var u, g string
		err := r.Scan(&u, &g)
		b.groupsOf[u] = append(b.groupsOf[u], g)
		groupSet[g] = true
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.loadNested(ctx, tx, b, groupSet); err != nil {
		return nil, err
	}
	err = s.each(ctx, tx, `SELECT target_id, sku_id, disabled_plans, created_at, include_nested FROM assignments WHERE tenant_id = ? AND target_kind = 'group' AND target_id IN (%s)`, keys(groupSet), []any{tenantID}, func(r *sql.Rows) error {
		var a assignmentRow
		var disabled, created string
		var nested int
		err := r.Scan(&a.target, &a.sku, &disabled, &created, &nested)
		a.disabled, a.created, a.nested = strList(disabled), parseTime(created), nested == 1
		b.groupAssign[a.target] = append(b.groupAssign[a.target], a)
		return err
	})
	if err != nil {
		return nil, err
	}
	err = s.each(ctx, tx, `SELECT user_id, sku_id, source, state, error, disabled_plans, detail, updated_at, waiting_since FROM license_states WHERE tenant_id = ? AND user_id IN (%s)`, ids, []any{tenantID}, func(r *sql.Rows) error {
		var uid, disabled, updated, waiting string
		var st allot.LicenseState
		if err := r.Scan(&uid, &st.SkuID, &st.Source, &st.State, &st.Error, &disabled, &st.Detail, &updated, &waiting); err != nil {
			return err
		}
		st.DisabledPlans, st.LastUpdated, st.WaitingSince = strList(disabled), parseTime(updated), parseTime(waiting)
		b.states[uid] = append(b.states[uid], st)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Every lister of an address a batch user lists, and whether it owns it.
	var listed []string
	for _, id := range ids {
		for _, a := range b.users[id].proxy {
			listed = append(listed, allot.NormalizeAddress(a))
		}
	}
	err = s.each(ctx, tx, `SELECT a.address, a.owner_id, a.owner_kind, CASE WHEN x.user_id IS NULL THEN 0 ELSE 1 END FROM addresses a LEFT JOIN mailboxes x ON x.tenant_id = a.tenant_id AND x.user_id = a.owner_id
		WHERE a.tenant_id = ? AND a.address IN (%s)`, dedupe(listed), []any{tenantID}, func(r *sql.Rows) error {
		var addr, owner, kind string
		var mailbox int
		if err := r.Scan(&addr, &owner, &kind, &mailbox); err != nil {
			return err
		}
		if kind == allot.MemberUser {
			b.listers[addr] = append(b.listers[addr], owner)
		}
		if kind == allot.MemberGroup || mailbox == 1 {
			if b.owners[addr] == nil {
				b.owners[addr] = map[string]bool{}
			}
			b.owners[addr][owner] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, s.q(`SELECT sku_id, enabled, consumed FROM subscriptions WHERE tenant_id = ?`), tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var sku string
		var en, co int
		if err := rows.Scan(&sku, &en, &co); err != nil {
			return nil, err
		}
		b.enabled[sku], b.consumed[sku], b.subs[sku] = en, co, true
	}
	return b, rows.Err()
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

// outcome is one user's evaluation, to be written.
type outcome struct {
	uid            string
	before         []allot.LicenseState
	out            rules.Output
	mailboxChanged bool
}

// evaluate runs the rules for uid and updates the batch in memory, so the
// next user of the batch sees this one's seats and addresses.
func (b *batch) evaluate(uid string, cat *allot.Catalog, now time.Time) outcome {
	out := rules.Evaluate(b.input(uid, cat, now))
	o := outcome{uid: uid, before: b.states[uid], out: out}
	b.states[uid] = out.States
	b.evaluated[uid] = true
	b.before[uid] = o.before
	for sku, l := range b.waiters {
		l.set(uid, waitingSince(sku, out.States))
	}
	for sku := range b.waitCounts {
		was, is := !waitingSince(sku, o.before).IsZero(), !waitingSince(sku, out.States).IsZero()
		switch {
		case was && !is:
			b.waitCounts[sku]--
		case is && !was:
			b.waitCounts[sku]++
		}
	}
	for sku, d := range out.SeatDelta {
		b.consumed[sku] += d
	}
	u := b.users[uid]
	if out.Mailbox != u.mailbox {
		o.mailboxChanged = true
		u.mailbox = out.Mailbox
		for _, a := range u.proxy {
			n := allot.NormalizeAddress(a)
			if b.owners[n] == nil {
				b.owners[n] = map[string]bool{}
			}
			if out.Mailbox {
				b.owners[n][uid] = true
			} else {
				delete(b.owners[n], uid)
			}
		}
	}
	return o
}

// write stores outcomes: states, seat counts, mailbox flags, the audit
// lines, and the work they cause (address sharers, the waiting room).
func (s *DB) write(ctx context.Context, tx *sql.Tx, b *batch, outs []outcome) error {
	now := fmtTime(s.now())
	var changed, mailOn, mailOff []string
	delta := map[string]int{}
	var stateRows, auditRows [][]any
	for _, o := range outs {
		for sku, d := range o.out.SeatDelta {
			delta[sku] += d
		}
		if o.mailboxChanged {
			if o.out.Mailbox {
				mailOn = append(mailOn, o.uid)
			} else {
				mailOff = append(mailOff, o.uid)
			}
		}
		if !o.out.Changed {
			continue
		}
		if len(o.before) > 0 {
			changed = append(changed, o.uid) // their old states are deleted first
		}
		result := "success"
		for _, st := range o.out.States {
			stateRows = append(stateRows, []any{b.tenantID, o.uid, st.SkuID, st.Source, st.State, st.Error, listJSON(st.DisabledPlans), st.Detail, fmtTime(st.LastUpdated), fmtTime(st.WaitingSince)})
			if st.State != allot.StateActive {
				result = "failure"
			}
		}
		auditRows = append(auditRows, auditRow(ctx, b.tenantID, now, "Change user license", "User", o.uid, statesJSON(o.before), statesJSON(o.out.States), result))
	}
	for _, part := range chunks(changed, 500) {
		frag, fargs := s.in(part)
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM license_states WHERE tenant_id = ? AND user_id `+frag), append([]any{b.tenantID}, fargs...)...); err != nil {
			return err
		}
	}
	if err := s.insertRows(ctx, tx, `INSERT INTO license_states (tenant_id, user_id, sku_id, source, state, error, disabled_plans, detail, updated_at, waiting_since) VALUES `, stateRows); err != nil {
		return err
	}
	if err := s.insertRows(ctx, tx, auditCols, auditRows); err != nil {
		return err
	}
	var freed []string
	for _, sku := range keys(delta) {
		if delta[sku] == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE subscriptions SET consumed = consumed + ? WHERE tenant_id = ? AND sku_id = ?`), delta[sku], b.tenantID, sku); err != nil {
			return err
		}
		if delta[sku] < 0 {
			freed = append(freed, sku)
		}
	}
	var mailRows [][]any
	for _, id := range mailOn {
		mailRows = append(mailRows, []any{b.tenantID, id})
	}
	if err := s.insertRows(ctx, tx, `INSERT INTO mailboxes (tenant_id, user_id) VALUES `, mailRows); err != nil {
		return err
	}
	for _, part := range chunks(mailOff, 500) {
		frag, fargs := s.in(part)
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM mailboxes WHERE tenant_id = ? AND user_id `+frag), append([]any{b.tenantID}, fargs...)...); err != nil {
			return err
		}
	}
	// An address that became owned or free may change its other listers,
	// including another user of this batch evaluated before the change.
	var sharers []string
	for _, uid := range append(mailOn, mailOff...) {
		for _, a := range b.users[uid].proxy {
			for _, other := range b.listers[allot.NormalizeAddress(a)] {
				if other != uid {
					sharers = append(sharers, other)
				}
			}
		}
	}
	if len(sharers) > 0 {
		slices.Sort(sharers)
		if err := s.enqueueUsers(ctx, tx, b.tenantID, sharers, ""); err != nil {
			return err
		}
	}
	return s.wake(ctx, tx, b.tenantID, freed)
}

// insertRows inserts rows with multi-row VALUES statements; on PostgreSQL
// with one INSERT … SELECT FROM unnest(arrays), one array per column.
func (s *DB) insertRows(ctx context.Context, tx *sql.Tx, prefix string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if s.dialect == dialectPostgres {
		return s.insertUnnest(ctx, tx, prefix, rows)
	}
	per := max(1, 900/len(rows[0]))
	for len(rows) > 0 {
		n := min(per, len(rows))
		var sb strings.Builder
		sb.WriteString(prefix)
		args := make([]any, 0, n*len(rows[0]))
		for i, r := range rows[:n] {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(" + placeholders(len(r)) + ")")
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, s.q(sb.String()), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// enqueueAddressListers queues every user that lists one of addrs.
func (s *DB) enqueueAddressListers(ctx context.Context, tx *sql.Tx, tenantID string, addrs []string, except string) error {
	var ids []string
	err := s.each(ctx, tx, `SELECT DISTINCT owner_id FROM addresses WHERE tenant_id = ? AND owner_kind = 'user' AND address IN (%s)`, normalizeAll(addrs), []any{tenantID}, func(r *sql.Rows) error {
		var id string
		err := r.Scan(&id)
		if id != except {
			ids = append(ids, id)
		}
		return err
	})
	if err != nil {
		return err
	}
	sort.Strings(ids)
	return s.enqueueUsers(ctx, tx, tenantID, ids, "")
}

// wake queues, for each of skus with free seats, the users waiting for it
// in the order they started waiting, then user id, as many as there are
// seats (docs/RULES.md §2.3.4).
func (s *DB) wake(ctx context.Context, tx *sql.Tx, tenantID string, skus []string) error {
	if len(skus) == 0 {
		return nil
	}
	return s.wakeWhere(ctx, tx, tenantID, ` AND sku_id IN (`+placeholders(len(skus))+`)`, anys(skus))
}

// wakeTenant is wake for every SKU of the tenant.
func (s *DB) wakeTenant(ctx context.Context, tx *sql.Tx, tenantID string) error {
	return s.wakeWhere(ctx, tx, tenantID, "", nil)
}

func (s *DB) wakeWhere(ctx context.Context, tx *sql.Tx, tenantID, cond string, condArgs []any) error {
	query := `SELECT sku_id, enabled - consumed FROM subscriptions WHERE tenant_id = ? AND enabled > consumed` + cond
	args := append([]any{tenantID}, condArgs...)
	rows, err := tx.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return err
	}
	free := map[string]int{}
	for rows.Next() {
		var sku string
		var n int
		if err := rows.Scan(&sku, &n); err != nil {
			rows.Close()
			return err
		}
		free[sku] = n
	}
	rows.Close()
	for _, sku := range keys(free) {
		var ids []string
		rows, err := tx.QueryContext(ctx, s.q(`SELECT user_id FROM license_states WHERE tenant_id = ? AND sku_id = ? AND error = 'CountViolation'
			GROUP BY user_id ORDER BY MIN(waiting_since), user_id LIMIT ?`), tenantID, sku, free[sku])
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := s.enqueueUsers(ctx, tx, tenantID, ids, ""); err != nil {
			return err
		}
	}
	return nil
}

// enqueueUsers queues user items in the given order, skipping users that
// already have one queued for the same group.
func (s *DB) enqueueUsers(ctx context.Context, tx *sql.Tx, tenantID string, ids []string, groupID string) error {
	ids = dedupe(ids)
	if len(ids) == 0 {
		return nil
	}
	queued := map[string]bool{}
	err := s.each(ctx, tx, `SELECT target_id FROM work WHERE tenant_id = ? AND kind = 'user' AND group_id = ? AND target_id IN (%s)`, ids, []any{tenantID, groupID}, func(r *sql.Rows) error {
		var id string
		err := r.Scan(&id)
		queued[id] = true
		return err
	})
	if err != nil {
		return err
	}
	now := fmtTime(s.now())
	var rows [][]any
	for _, id := range ids {
		if !queued[id] {
			rows = append(rows, []any{tenantID, "user", id, groupID, now})
		}
	}
	return s.insertRows(ctx, tx, `INSERT INTO work (tenant_id, kind, target_id, group_id, enqueued_at) VALUES `, rows)
}

// enqueueGroup queues a walk over the group's members unless one is
// already waiting to start.
func (s *DB) enqueueGroup(ctx context.Context, tx *sql.Tx, tenantID, groupID string) error {
	var n int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM work WHERE tenant_id = ? AND kind = 'group' AND target_id = ? AND started = 0`), tenantID, groupID).Scan(&n); err != nil || n > 0 {
		return err
	}
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO work (tenant_id, kind, target_id, group_id, enqueued_at) VALUES (?, 'group', ?, ?, ?)`), tenantID, groupID, groupID, fmtTime(s.now()))
	return err
}

// statesJSON is the audit's view of states. Processing writes two per
// user, so it is built directly: encoding/json was 2% of a large group's
// processing. The bytes are what encoding/json writes for the same struct.
func statesJSON(states []allot.LicenseState) string {
	b := make([]byte, 0, 2+len(states)*160)
	b = append(b, '[')
	for i, s := range states {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"skuId":`...)
		b = appendJSONString(b, s.SkuID)
		if s.Source != "" {
			b = append(b, `,"assignedByGroup":`...)
			b = appendJSONString(b, s.Source)
		}
		b = append(b, `,"state":`...)
		b = appendJSONString(b, s.State)
		b = append(b, `,"error":`...)
		b = appendJSONString(b, string(s.Error))
		b = append(b, '}')
	}
	return string(append(b, ']'))
}

// listJSON is toJSON for a list of strings, built directly for the same
// reason as statesJSON.
func listJSON(xs []string) string {
	if xs == nil {
		return "null"
	}
	b := make([]byte, 0, 2+len(xs)*40)
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, x)
	}
	return string(append(b, ']'))
}

// appendJSONString appends s as encoding/json quotes it: directly when
// nothing in it needs escaping, else through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func dedupe(xs []string) []string {
	seen := make(map[string]bool, len(xs))
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// keys returns a map's keys in order.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func normalizeAll(addrs []string) []string {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		if n := allot.NormalizeAddress(a); n != "" {
			out = append(out, n)
		}
	}
	return dedupe(out)
}

// insertUnnest is insertRows for PostgreSQL: the columns travel as arrays,
// so a batch of any size is one statement with one parameter per column.
func (s *DB) insertUnnest(ctx context.Context, tx *sql.Tx, prefix string, rows [][]any) error {
	cols := len(rows[0])
	args := make([]any, cols)
	casts := make([]string, cols)
	for c := range cols {
		switch rows[0][c].(type) {
		case int, int64:
			a := make([]int64, len(rows))
			for i, r := range rows {
				a[i] = toInt64(r[c])
			}
			args[c], casts[c] = a, "CAST(? AS BIGINT[])"
		default:
			a := make([]string, len(rows))
			for i, r := range rows {
				if v, ok := r[c].(string); ok {
					a[i] = v
				} else {
					a[i] = fmt.Sprint(r[c])
				}
			}
			args[c], casts[c] = pgTextArray(a), "CAST(? AS TEXT[])"
		}
	}
	query := strings.Replace(prefix, "VALUES ", "SELECT * FROM unnest("+strings.Join(casts, ", ")+")", 1)
	_, err := tx.ExecContext(ctx, s.q(query), args...)
	return err
}

// pgTextArray writes a text[] literal, every element quoted. The server
// parses it faster than pgx encodes a []string in binary through
// reflection (9% of the client's time processing a large group).
func pgTextArray(xs []string) string {
	n := 2
	for _, x := range xs {
		n += len(x) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		for j := range len(x) {
			if x[j] == '"' || x[j] == '\\' {
				b = append(b, '\\')
			}
			b = append(b, x[j])
		}
		b = append(b, '"')
	}
	return string(append(b, '}'))
}

func toInt64(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	}
	return 0
}
