package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

// Delta queries (GET /users/delta, /groups/delta): a round reports the
// objects that changed at or after its watermark, read as one stream
// ordered by (time, id) from these sources:
//
//   - users.modified_at and dir_groups.modified_at: a new object, any
//     property changed, and a group's members added or removed (touchGroups);
//   - the audit log, which every change writes in its own transaction, for
//     the changes that leave no row to date them: a user's licenses ("Change
//     user license", written whenever its states change, also when the last
//     one goes), a group's license assignments and the members removed from
//     a group;
//   - delta_tombstones: deleted users and groups, and the memberships a
//     deletion takes with it, which the audit does not itemise.
//
// A round reads up to the time it began (DeltaRound.Until), and the next
// one starts deltaWindow before that: a change is stamped when its
// transaction reads the clock, which may be before it commits (waiting for
// the tenant's lock or the write lock, an import) and on another replica's
// clock, so a change a round read past before it was committed is in the
// next round. The price is that what changed in the last deltaWindow of a
// round is reported again by the next: delta is at least once, as Graph's
// is, and clients apply changes idempotently.
const (
	// deltaWindow covers SQLite's busy timeout (10 s), PostgreSQL's
	// idle-in-transaction timeout (60 s) and clock skew between replicas.
	deltaWindow = 2 * time.Minute
	// deltaLifetime is how long a round can be followed: its watermark (or,
	// for a full round, its start) may be this old, and tombstones are kept
	// this long. Graph's directory tokens last 7 days; a longer life costs
	// only tombstones, and saves clients that poll weekly a full round.
	deltaLifetime = 30 * 24 * time.Hour
)

// The audit activities delta reads, as the store writes them (Entra's
// names, which scripts filter the audit by).
const (
	activityUserLicense  = "Change user license"
	activityGroupLicense = "Set group license"
	activityRemoveMember = "Remove member from group"
)

// kindMember is a tombstone of a membership that a deletion removed.
const kindMember = "member"

// recordDeletion keeps the tombstones of a user or group about to be
// deleted: the object and its memberships in groups. It prunes the
// tenant's expired tombstones as it goes, so that they need no job and
// cost a range delete per deletion.
func (s *DB) recordDeletion(ctx context.Context, tx *txn, tenantID, kind, id string) error {
	now := s.now()
	if _, err := tx.Exec(ctx, `DELETE FROM delta_tombstones WHERE tenant_id = ? AND kind IN ('user', 'group', 'member') AND deleted_at < ?`,
		tenantID, fmtTime(now.Add(-deltaLifetime))); err != nil {
		return err
	}
	at := fmtTime(now)
	if _, err := tx.Exec(ctx, `INSERT INTO delta_tombstones (tenant_id, kind, object_id, deleted_at) VALUES (?, ?, ?, ?)`, tenantID, kind, id, at); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO delta_tombstones (tenant_id, kind, object_id, member_id, member_kind, deleted_at)
		SELECT tenant_id, 'member', group_id, member_id, member_kind, ? FROM memberships WHERE tenant_id = ? AND member_id = ?`, at, tenantID, id)
	return err
}

// deltaPos is a position in a round's stream: a change's time (as stored)
// and the object's id.
type deltaPos struct{ t, id string }

func comparePos(a, b deltaPos) int {
	if c := cmp.Compare(a.t, b.t); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// deltaCursor is where a page ended. member is set when it ended inside a
// group's members: the next page goes on with that group, after member.
type deltaCursor struct {
	pos    deltaPos
	member string
}

func (c deltaCursor) String() string { return c.pos.t + "/" + c.pos.id + "/" + c.member }

// parseCursor reads a cursor the store issued, refusing anything else: it
// comes back from the client.
func parseCursor(s string) (deltaCursor, bool) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return deltaCursor{}, false
	}
	c := deltaCursor{pos: deltaPos{parts[0], parts[1]}, member: parts[2]}
	t, err := time.Parse(timeLayout, c.pos.t)
	ok := err == nil && fmtTime(t) == c.pos.t && isStoredID(c.pos.id) && (c.member == "" || isStoredID(c.member))
	return c, ok
}

// isStoredID reports whether s is an id as the store keeps it: a GUID in
// lower case.
func isStoredID(s string) bool {
	id, ok := allot.ParseID(s)
	return ok && id == s
}

// deltaFeed is one source of a round's stream: rows of (time, id).
type deltaFeed struct {
	from  string // FROM and WHERE, with its arguments in args
	t, id string // the columns of the time and the object id
	args  []any
}

// read returns up to n positions after after, up to until, in order; an
// index on (…, t, id) serves it as a range.
func (f deltaFeed) read(ctx context.Context, tx *txn, after deltaPos, until string, n int) ([]deltaPos, error) {
	q := `SELECT ` + f.t + `, ` + f.id + ` ` + f.from + ` AND (` + f.t + `, ` + f.id + `) > (?, ?) AND ` + f.t + ` <= ? ORDER BY ` + f.t + `, ` + f.id + ` LIMIT ?`
	rows, err := tx.Query(ctx, q, append(slices.Clone(f.args), after.t, after.id, until, n)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []deltaPos
	for rows.Next() {
		var p deltaPos
		if err := rows.Scan(&p.t, &p.id); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// deltaEntries are the next objects of a round's stream.
type deltaEntries struct {
	entries []deltaPos // distinct objects, each at the first position read
	end     deltaPos   // where the stream resumes once they are all reported
	more    bool       // the stream may go on after end
}

// nextEntries merges the feeds after after into up to n distinct objects.
// Each feed gives at most n+1 rows, and the merge stops at the first row
// of any feed that gave that many: past it that feed is unread.
func nextEntries(ctx context.Context, tx *txn, feeds []deltaFeed, after deltaPos, until string, n int) (deltaEntries, error) {
	out := deltaEntries{end: after}
	var rows []deltaPos
	var limit *deltaPos
	for _, f := range feeds {
		got, err := f.read(ctx, tx, after, until, n+1)
		if err != nil {
			return out, err
		}
		if len(got) > n && (limit == nil || comparePos(got[n], *limit) < 0) {
			limit = &got[n]
		}
		rows = append(rows, got...)
	}
	slices.SortFunc(rows, comparePos)
	seen := map[string]bool{}
	for _, p := range rows {
		if limit != nil && comparePos(p, *limit) > 0 {
			break
		}
		if !seen[p.id] {
			if len(out.entries) == n {
				out.more = true
				return out, nil
			}
			seen[p.id] = true
			out.entries = append(out.entries, p)
		}
		// A later change of an object already on the page is reported by
		// it: the page reads objects as they are now.
		out.end = p
	}
	out.more = limit != nil
	return out, nil
}

// deltaRound checks a query's round against the clock and returns it with
// its start set, and the cursor to read on from.
func (s *DB) deltaRound(q allot.DeltaQuery, now time.Time) (allot.DeltaRound, deltaCursor, error) {
	r := q.DeltaRound
	bad := allot.Errorf(allot.EINVALID, "The delta token is invalid.")
	oldest, newest := now.Add(-deltaLifetime), now.Add(deltaWindow)
	if !r.Since.IsZero() && r.Since.Before(oldest) || !r.Until.IsZero() && r.Until.Before(oldest) {
		return r, deltaCursor{}, allot.ErrDeltaExpired
	}
	if r.Since.After(newest) || r.Until.After(newest) || !r.Until.IsZero() && r.Until.Before(r.Since) {
		return r, deltaCursor{}, bad
	}
	if r.Until.IsZero() {
		if r.After != "" {
			return r, deltaCursor{}, bad
		}
		r.Until = now
	}
	cur := deltaCursor{pos: deltaPos{t: fmtTime(r.Since)}}
	if r.After != "" {
		c, ok := parseCursor(r.After)
		if !ok || c.pos.t < fmtTime(r.Since) || c.pos.t > fmtTime(r.Until) {
			return r, deltaCursor{}, bad
		}
		cur = c
	}
	return r, cur, nil
}

// nextRound is the round after r: it starts deltaWindow before r began.
func nextRound(r allot.DeltaRound) allot.DeltaRound {
	return allot.DeltaRound{Since: r.Until.Add(-deltaWindow)}
}

// deltaTop is the page size of q.
func deltaTop(q allot.DeltaQuery) int {
	return topOf(allot.ListOptions{Top: q.Top})
}

// UsersDelta returns a page of a delta round over the tenant's users.
func (s *DB) UsersDelta(ctx context.Context, q allot.DeltaQuery) (*allot.DeltaPage[allot.User], error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if q.Latest {
		return &allot.DeltaPage[allot.User]{Items: []allot.DeltaItem[allot.User]{}, Next: nextRound(allot.DeltaRound{Until: now})}, nil
	}
	round, cur, err := s.deltaRound(q, now)
	if err != nil {
		return nil, err
	}
	full := round.Since.IsZero()
	feeds := []deltaFeed{{from: `FROM users WHERE tenant_id = ?`, t: "modified_at", id: "id", args: []any{a.TenantID}}}
	if !full {
		if q.Licenses {
			// Single rows, and the users of batch rows (migration 21).
			feeds = append(feeds, auditFeed(a.TenantID, activityUserLicense),
				deltaFeed{from: `FROM audit_users WHERE tenant_id = ?`, t: "at", id: "user_id", args: []any{a.TenantID}})
		}
		feeds = append(feeds, tombstoneFeed(a.TenantID, allot.MemberUser))
	}
	return read(ctx, s, func(tx *txn) (*allot.DeltaPage[allot.User], error) {
		next, err := nextEntries(ctx, tx, feeds, cur.pos, fmtTime(round.Until), deltaTop(q))
		if err != nil {
			return nil, err
		}
		ids := make([]string, 0, len(next.entries))
		for _, e := range next.entries {
			ids = append(ids, e.id)
		}
		users, err := s.usersByID(ctx, tx, a.TenantID, ids, q.WithLicensing)
		if err != nil {
			return nil, err
		}
		page := &allot.DeltaPage[allot.User]{Items: make([]allot.DeltaItem[allot.User], 0, len(ids)), More: next.more}
		for _, id := range ids {
			u, ok := users[id]
			if !ok && full {
				continue // deleted while the page was read: a full round lists what exists
			}
			page.Items = append(page.Items, allot.DeltaItem[allot.User]{ID: id, Object: u})
		}
		page.Next = nextRound(round)
		if next.more {
			page.Next = allot.DeltaRound{Since: round.Since, Until: round.Until, After: deltaCursor{pos: next.end}.String()}
		}
		return page, nil
	})
}

// auditFeed is the stream of the objects the audit's single rows name for
// an activity (a batch row's target_id is empty: its users are in
// audit_users).
func auditFeed(tenantID, activity string) deltaFeed {
	return deltaFeed{from: `FROM audit WHERE tenant_id = ? AND activity = ? AND target_id <> ''`, t: "at", id: "target_id", args: []any{tenantID, activity}}
}

// tombstoneFeed is the stream of a kind of tombstone's objects.
func tombstoneFeed(tenantID, kind string) deltaFeed {
	return deltaFeed{from: `FROM delta_tombstones WHERE tenant_id = ? AND kind = ?`, t: "deleted_at", id: "object_id", args: []any{tenantID, kind}}
}

// usersByID reads the users of ids that exist.
func (s *DB) usersByID(ctx context.Context, tx *txn, tenantID string, ids []string, withLicensing bool) (map[string]*allot.User, error) {
	out := make(map[string]*allot.User, len(ids))
	var users []*allot.User
	err := tx.each(ctx, `SELECT `+userCols+` FROM users u WHERE u.tenant_id = ? AND u.id IN (%s)`, ids, []any{tenantID}, func(r *sql.Rows) error {
		u, err := scanUser(r)
		if err == nil {
			users = append(users, u)
			out[u.ID] = u
		}
		return err
	})
	if err != nil || !withLicensing || len(users) == 0 {
		return out, err
	}
	return out, s.fillLicensing(ctx, tx, tenantID, users)
}

// GroupsDelta returns a page of a delta round over the tenant's groups.
// With members, a page holds at most MaxMembers of them: a group with
// more is continued on the next page, which starts with it again.
func (s *DB) GroupsDelta(ctx context.Context, q allot.DeltaQuery) (*allot.DeltaPage[allot.Group], error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if q.Latest {
		return &allot.DeltaPage[allot.Group]{Items: []allot.DeltaItem[allot.Group]{}, Next: nextRound(allot.DeltaRound{Until: now})}, nil
	}
	round, cur, err := s.deltaRound(q, now)
	if err != nil {
		return nil, err
	}
	full := round.Since.IsZero()
	feeds := []deltaFeed{{from: `FROM dir_groups WHERE tenant_id = ?`, t: "modified_at", id: "id", args: []any{a.TenantID}}}
	if !full {
		if q.Licenses {
			feeds = append(feeds, auditFeed(a.TenantID, activityGroupLicense))
		}
		feeds = append(feeds, tombstoneFeed(a.TenantID, allot.MemberGroup))
		if q.Members {
			// A deleted member leaves its groups without touching them.
			feeds = append(feeds, tombstoneFeed(a.TenantID, kindMember))
		}
	}
	top := deltaTop(q)
	budget := q.MaxMembers
	if budget <= 0 {
		budget = 10 * top
	}
	return read(ctx, s, func(tx *txn) (*allot.DeltaPage[allot.Group], error) {
		// A page that ended inside a group's members goes on with that
		// group first, wherever a later change has moved it in the stream.
		var entries []deltaPos
		if cur.member != "" {
			entries = append(entries, cur.pos)
			top--
		}
		next := deltaEntries{end: cur.pos}
		if top > 0 {
			if next, err = nextEntries(ctx, tx, feeds, cur.pos, fmtTime(round.Until), top); err != nil {
				return nil, err
			}
		} else {
			next.more = true
		}
		entries = append(entries, next.entries...)
		ids := make([]string, 0, len(entries))
		for _, e := range entries {
			ids = append(ids, e.id)
		}
		groups, err := s.groupsByID(ctx, tx, a.TenantID, ids, q.WithLicensing)
		if err != nil {
			return nil, err
		}
		page := &allot.DeltaPage[allot.Group]{Items: make([]allot.DeltaItem[allot.Group], 0, len(ids)), More: next.more}
		end := deltaCursor{pos: next.end}
		since := fmtTime(round.Since)
		for i, e := range entries {
			g, ok := groups[e.id]
			if !ok {
				if !full {
					page.Items = append(page.Items, allot.DeltaItem[allot.Group]{ID: e.id})
				}
				continue
			}
			item := allot.DeltaItem[allot.Group]{ID: e.id, Object: g}
			if q.Members {
				after := ""
				if i == 0 && cur.member != "" {
					after = cur.member
				}
				if budget == 0 {
					// Out of members for this page: the group starts the next.
					page.More, end = true, deltaCursor{pos: entries[i-1]}
					break
				}
				ms, rest, err := memberDeltas(ctx, tx, a.TenantID, g.ID, since, full, after, budget)
				if err != nil {
					return nil, err
				}
				item.Members, budget = ms, budget-len(ms)
				if rest {
					page.Items = append(page.Items, item)
					page.More, end = true, deltaCursor{pos: e, member: ms[len(ms)-1].ID}
					break
				}
			}
			page.Items = append(page.Items, item)
		}
		page.Next = nextRound(round)
		if page.More {
			page.Next = allot.DeltaRound{Since: round.Since, Until: round.Until, After: end.String()}
		}
		return page, nil
	})
}

// groupsByID reads the groups of ids that exist.
func (s *DB) groupsByID(ctx context.Context, tx *txn, tenantID string, ids []string, withLicensing bool) (map[string]*allot.Group, error) {
	out := make(map[string]*allot.Group, len(ids))
	var groups []*allot.Group
	err := tx.each(ctx, `SELECT `+groupCols+` FROM dir_groups g WHERE g.tenant_id = ? AND g.id IN (%s)`, ids, []any{tenantID}, func(r *sql.Rows) error {
		g, err := scanGroup(r)
		if err == nil {
			groups = append(groups, g)
			out[g.ID] = g
		}
		return err
	})
	if err != nil || !withLicensing || len(groups) == 0 {
		return out, err
	}
	return out, s.fillGroups(ctx, tx, tenantID, groups)
}

// memberDeltas returns up to n of a group's member changes after the
// member id after, by id: in a full round its members; otherwise those it
// gained at or after since and those it lost and has not got back. rest
// reports that more follow.
func memberDeltas(ctx context.Context, tx *txn, tenantID, groupID, since string, full bool, after string, n int) (ms []allot.MemberDelta, rest bool, err error) {
	if full {
		ms, err = scanMembers(ctx, tx, `SELECT member_id, member_kind FROM memberships WHERE tenant_id = ? AND group_id = ? AND member_id > ? ORDER BY member_id LIMIT ?`,
			tenantID, groupID, after, n+1)
	} else {
		// By the time they joined (memberships_order): a round's few new
		// members, not a big group's every member by id.
		ms, err = scanMembers(ctx, tx, `SELECT member_id, member_kind FROM memberships WHERE tenant_id = ? AND group_id = ? AND added_at >= ?`, tenantID, groupID, since)
		ms = slices.DeleteFunc(ms, func(m allot.MemberDelta) bool { return m.ID <= after })
		if err == nil {
			var removed []allot.MemberDelta
			removed, err = removedMembers(ctx, tx, tenantID, groupID, since, after)
			ms = append(ms, removed...)
		}
		slices.SortFunc(ms, func(a, b allot.MemberDelta) int { return cmp.Compare(a.ID, b.ID) })
	}
	if err != nil {
		return nil, false, err
	}
	if len(ms) > n {
		return ms[:n], true, nil
	}
	return ms, false, nil
}

func scanMembers(ctx context.Context, tx *txn, query string, args ...any) ([]allot.MemberDelta, error) {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []allot.MemberDelta
	for rows.Next() {
		var m allot.MemberDelta
		if err := rows.Scan(&m.ID, &m.Kind); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// removedMembers are the members after after that a group lost at or after
// since, by removal (the audit) or deletion (tombstones), and that are not
// members again.
func removedMembers(ctx context.Context, tx *txn, tenantID, groupID, since, after string) ([]allot.MemberDelta, error) {
	kinds := map[string]string{}
	rows, err := tx.Query(ctx, `SELECT before_json FROM audit WHERE tenant_id = ? AND activity = ? AND at >= ? AND target_id = ?`,
		tenantID, activityRemoveMember, since, groupID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var before string
		if err := rows.Scan(&before); err != nil {
			rows.Close()
			return nil, err
		}
		var m struct{ MemberID, MemberType string }
		if json.Unmarshal([]byte(before), &m) == nil && m.MemberID > after {
			kinds[m.MemberID] = m.MemberType
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT member_id, member_kind FROM delta_tombstones WHERE tenant_id = ? AND kind = ? AND deleted_at >= ? AND object_id = ? AND member_id > ?`,
		tenantID, kindMember, since, groupID, after)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, kind string
		if err := rows.Scan(&id, &kind); err != nil {
			rows.Close()
			return nil, err
		}
		kinds[id] = kind
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(kinds) == 0 {
		return nil, err
	}
	ids := slices.Sorted(maps.Keys(kinds))
	back, err := tx.idSet(ctx, `SELECT member_id FROM memberships WHERE tenant_id = ? AND group_id = ? AND member_id IN (%s)`, ids, tenantID, groupID)
	if err != nil {
		return nil, err
	}
	var out []allot.MemberDelta
	for _, id := range ids {
		if !back[id] {
			out = append(out, allot.MemberDelta{ID: id, Kind: kinds[id], Removed: true})
		}
	}
	return out, nil
}
