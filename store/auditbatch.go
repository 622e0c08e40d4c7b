package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/allot-dev/allot"
)

// A processed batch's license changes are audited in one row
// (migration 21): its entries column lists each user's change, with the
// id that a row of its own would have had, and audit_users indexes it by
// user. Readers expand the row into the same entries (Audit, the delta
// queries, previews), so what the log says is unchanged; what is gone is
// a wide row with four indexes per user.

// auditItem is one user's license change in a batch.
type auditItem struct {
	target, before, after, result string
}

// batchEntry is an entry of a batch row, as its entries column holds it.
type batchEntry struct {
	Target string          `json:"target"`
	ID     int64           `json:"id"`
	Result string          `json:"result"`
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

// auditLicenseChanges audits processing's license changes at at in one
// batch row.
func (s *DB) auditLicenseChanges(ctx context.Context, tx *txn, tenantID, at string, items []auditItem) error {
	if len(items) == 0 {
		return nil
	}
	if s.singleAudit {
		rows := make([][]any, 0, len(items))
		for _, it := range items {
			rows = append(rows, auditRow(ctx, tenantID, at, activityUserLicense, "User", it.target, it.before, it.after, it.result))
		}
		return tx.insertRows(ctx, auditCols, rows)
	}
	ids, err := s.allocAuditIDs(ctx, tx, len(items))
	if err != nil {
		return err
	}
	b := make([]byte, 0, len(items)*300)
	b = append(b, '[')
	users := make([][]any, 0, len(items))
	seen := make(map[string]bool, len(items))
	last := ids[len(ids)-1]
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"target":`...)
		b = appendJSONString(b, it.target)
		b = append(b, `,"id":`...)
		b = strconv.AppendInt(b, ids[i], 10)
		b = append(b, `,"result":`...)
		b = appendJSONString(b, it.result)
		b = append(b, `,"before":`...)
		b = append(b, it.before...)
		b = append(b, `,"after":`...)
		b = append(b, it.after...)
		b = append(b, '}')
		if !seen[it.target] {
			seen[it.target] = true
			users = append(users, []any{tenantID, it.target, last, at})
		}
	}
	b = append(b, ']')
	// The row takes the last entry's id: the next row's is past it.
	row := append([]any{last}, auditRow(ctx, tenantID, at, activityUserLicense, "User", "", "", "", "")...)
	row = append(row, ids[0], string(b))
	if _, err := tx.Exec(ctx, `INSERT INTO audit (id, tenant_id, at, actor, actor_kind, actor_id, actor_role, activity, target_type, target_id, before_json, after_json, result, first_id, entries) VALUES (`+placeholders(len(row))+`)`, row...); err != nil {
		return err
	}
	return tx.insertRows(ctx, `INSERT INTO audit_users (tenant_id, user_id, audit_id, at) VALUES `, users)
}

// allocAuditIDs takes n ids of the audit log's sequence, in order. On
// SQLite, whose one writer holds the database, they follow the last one
// given; on PostgreSQL they come from the sequence at once, so another
// tenant's row may take an id between two of them, never this tenant's:
// its writes hold its lock (store/tx.go).
func (s *DB) allocAuditIDs(ctx context.Context, tx *txn, n int) ([]int64, error) {
	ids := make([]int64, 0, n)
	if tx.postgres() {
		seq, err := s.auditSequence(ctx, tx)
		if err != nil {
			return nil, err
		}
		rows, err := tx.Query(ctx, `SELECT nextval(CAST(? AS regclass)) FROM generate_series(1, ?)`, seq, n)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(ids) != n {
			return nil, fmt.Errorf("audit ids: %d of %d", len(ids), n)
		}
		slices.Sort(ids)
		return ids, nil
	}
	// AUTOINCREMENT keeps the largest id ever given in sqlite_sequence,
	// and moves it on when a row is inserted with a larger one.
	var base int64
	if err := tx.QueryRow(ctx, `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'audit'), 0)`).Scan(&base); err != nil {
		return nil, err
	}
	for i := range n {
		ids = append(ids, base+int64(i)+1)
	}
	return ids, nil
}

// auditSequence is the name of the sequence of audit ids, looked up once:
// naming it in the query for each id, through pg_get_serial_sequence,
// cost 17 ms per 4,000 ids, against 3 ms given its name (docs/PERFORMANCE.md,
// "Twelfth round").
func (s *DB) auditSequence(ctx context.Context, tx *txn) (string, error) {
	s.auditSeqMu.Lock()
	defer s.auditSeqMu.Unlock()
	if s.auditSeq == "" {
		if err := tx.QueryRow(ctx, `SELECT pg_get_serial_sequence('audit', 'id')`).Scan(&s.auditSeq); err != nil {
			return "", err
		}
	}
	return s.auditSeq, nil
}

// batchEntries expands a batch row's entries column; with targets, only
// the entries of those users (found by their text, so that "the audit of
// this user" does not decode every entry of the batch).
func batchEntries(entries string, targets []string) ([]batchEntry, error) {
	if targets == nil {
		var out []batchEntry
		if err := json.Unmarshal([]byte(entries), &out); err != nil {
			return nil, fmt.Errorf("audit batch: %w", err)
		}
		return out, nil
	}
	var out []batchEntry
	for _, t := range targets {
		key := string(appendJSONString([]byte(`{"target":`), t))
		rest := entries
		for {
			i := strings.Index(rest, key)
			if i < 0 {
				break
			}
			var e batchEntry
			if err := json.NewDecoder(strings.NewReader(rest[i:])).Decode(&e); err != nil {
				return nil, fmt.Errorf("audit batch: %w", err)
			}
			out = append(out, e)
			rest = rest[i+len(key):]
		}
	}
	slices.SortFunc(out, func(a, b batchEntry) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// entry is e as the log's entry in row r (whose other fields it shares).
func (e batchEntry) entry(r allot.AuditEntry) allot.AuditEntry {
	r.ID, r.TargetType, r.TargetID, r.Before, r.After, r.Result = e.ID, "User", e.Target, string(e.Before), string(e.After), e.Result
	return r
}

// batchAudit reads the entries of batch rows that f selects, after cur in
// its order, until it has need of them or none are left. Rows are read a
// few at a time in the page's order (a tenant's batches never overlap, so
// ordering them by the end of their range that comes first orders their
// entries); a row whose common fields already fail the filter is not read
// (batchWhere).
func batchAudit(ctx context.Context, tx *txn, tenantID string, f allot.AuditFilter, cur auditCursor, need int) ([]auditLine, error) {
	q := `SELECT a.id, a.first_id, a.at, a.actor, a.actor_kind, a.actor_id, a.actor_role, a.activity FROM audit a WHERE a.tenant_id = ? AND a.entries IS NOT NULL`
	args := []any{tenantID}
	span, sargs := auditSpan(f)
	q += span
	args = append(args, sargs...)
	if f.Expr != nil {
		cond, cargs, err := batchWhere(f.Expr, tenantID, true)
		if err != nil {
			return nil, err
		}
		q += ` AND ` + cond
		args = append(args, cargs...)
	}
	targets := auditTargets(f)
	if targets != nil {
		frag, fargs := tx.in(targets)
		q += ` AND a.id IN (SELECT u.audit_id FROM audit_users u WHERE u.tenant_id = ? AND u.user_id ` + frag + `)`
		args = append(append(args, tenantID), fargs...)
	}
	col := "a.first_id"
	if cur.asc {
		col = "a.id"
	}
	const chunk = 16
	var out []auditLine
	rowCur := cur
	for {
		keyset, kargs, order := rowCur.keyset(col)
		rows, err := tx.Query(ctx, q+keyset+order+` LIMIT ?`, append(append(slices.Clone(args), kargs...), chunk)...)
		if err != nil {
			return nil, err
		}
		var heads []auditLine
		var lastFirst int64 // the last row's first entry id: where a descending walk goes on
		for rows.Next() {
			var h auditLine
			var first int64
			var role string
			if err := rows.Scan(&h.ID, &first, &h.at, &h.Actor, &h.ActorKind, &h.ActorID, &role, &h.Activity); err != nil {
				rows.Close()
				return nil, err
			}
			h.Time, h.ActorRole = parseTime(h.at), allot.Role(role)
			heads = append(heads, h)
			lastFirst = first
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for _, h := range heads {
			var entries string
			if err := tx.QueryRow(ctx, `SELECT entries FROM audit WHERE id = ?`, h.ID).Scan(&entries); err != nil {
				return nil, err
			}
			es, err := batchEntries(entries, targets)
			if err != nil {
				return nil, err
			}
			for _, be := range es {
				e := auditLine{AuditEntry: be.entry(h.AuditEntry), at: h.at}
				if !cur.past(e) || f.TargetID != "" && e.TargetID != strings.ToLower(f.TargetID) || f.Expr != nil && !auditMatch(f.Expr, &e) {
					continue
				}
				out = append(out, e)
			}
			if len(out) >= need {
				return out, nil
			}
		}
		if len(heads) < chunk {
			return out, nil
		}
		last := len(heads) - 1
		rowCur.set, rowCur.at, rowCur.id = true, heads[last].at, heads[last].ID
		if !cur.asc {
			rowCur.id = lastFirst
		}
	}
}

// auditTargets are the users that every entry f selects is about, when
// f names them (the target, or a targetResources/any() that all of the
// filter requires): batch rows are then found by audit_users. Nil when f
// does not narrow.
func auditTargets(f allot.AuditFilter) []string {
	if f.TargetID != "" {
		return []string{strings.ToLower(f.TargetID)}
	}
	var walk func(e allot.Expr) []string
	walk = func(e allot.Expr) []string {
		switch e := e.(type) {
		case *allot.And:
			if ids := walk(e.Left); ids != nil {
				return ids
			}
			return walk(e.Right)
		case *allot.Any:
			c, ok := e.Cond.(*allot.Compare)
			if e.Collection != "targetResources" || !ok || c.Property != "targetResources/id" {
				return nil
			}
			var ids []string
			switch v := c.Value.(type) {
			case string:
				if c.Op == "eq" {
					ids = []string{strings.ToLower(v)}
				}
			case []any:
				if c.Op == "in" {
					ids = []string{}
					for _, x := range v {
						if s, ok := x.(string); ok {
							ids = append(ids, strings.ToLower(s))
						}
					}
				}
			}
			return ids
		}
		return nil
	}
	return walk(f.Expr)
}

// batchWhere is auditWhere for batch rows: what a row's common fields
// decide is decided in SQL; a condition on what differs between its
// entries (id, result, target) is left to auditMatch, here taken as true
// (false under an odd number of NOTs), so that no row that may hold a
// matching entry is left out.
func batchWhere(e allot.Expr, tenantID string, positive bool) (string, []any, error) {
	open := "1 = 0"
	if positive {
		open = "1 = 1"
	}
	where := func(x allot.Expr) (string, []any, error) { return batchWhere(x, tenantID, positive) }
	switch e := e.(type) {
	case *allot.And:
		return auditBoth(e.Left, e.Right, "AND", where)
	case *allot.Or:
		return auditBoth(e.Left, e.Right, "OR", where)
	case *allot.Not:
		x, args, err := batchWhere(e.X, tenantID, !positive)
		return "NOT (" + x + ")", args, err
	case *allot.Any:
		return open, nil, nil
	case *allot.Compare:
		if f := auditFields[e.Property]; f.id || f.col == "a.result" {
			return open, nil, nil
		}
	}
	return auditWhere(e, tenantID)
}

// auditMatch evaluates a filter that auditWhere accepted on entry e of a
// batch row, as the SQL it translates to would on a row of its own.
func auditMatch(x allot.Expr, e *auditLine) bool {
	switch x := x.(type) {
	case *allot.And:
		return auditMatch(x.Left, e) && auditMatch(x.Right, e)
	case *allot.Or:
		return auditMatch(x.Left, e) || auditMatch(x.Right, e)
	case *allot.Not:
		return !auditMatch(x.X, e)
	case *allot.Any:
		// A batch's entries change licenses, not memberships: only the
		// target can match.
		return elementMatch(x.Cond, e.TargetID)
	case *allot.Compare:
		return auditFields[x.Property].match(x, e)
	}
	return false
}

// elementMatch is auditElement's condition on a target id.
func elementMatch(x allot.Expr, target string) bool {
	switch x := x.(type) {
	case *allot.And:
		return elementMatch(x.Left, target) && elementMatch(x.Right, target)
	case *allot.Or:
		return elementMatch(x.Left, target) || elementMatch(x.Right, target)
	case *allot.Not:
		return !elementMatch(x.X, target)
	case *allot.Compare:
		var ids []any
		switch v := x.Value.(type) {
		case nil:
			return (target == "") != (x.Op == "ne")
		case string:
			ids = []any{v}
		case []any:
			ids = v
		}
		found := false
		for _, id := range ids {
			s, _ := id.(string)
			found = found || strings.ToLower(s) == target
		}
		return found != (x.Op == "ne")
	}
	return false
}

// value is the column f names, on e's row, as SQL compares it.
func (f auditField) value(e *auditLine) string {
	switch f.col {
	case "a.id":
		return strconv.FormatInt(e.ID, 10)
	case "a.activity":
		return e.Activity
	case "a.at":
		return e.at
	case "a.result":
		return e.Result
	case "a.actor_id":
		return e.ActorID
	}
	return e.Actor
}

// match is compare's condition on e.
func (f auditField) match(c *allot.Compare, e *auditLine) bool {
	col := f.value(e)
	var ok bool
	switch v := c.Value.(type) {
	case nil:
		switch {
		case f.kind != "":
			return (e.ActorKind != f.kind) != (c.Op == "ne")
		case f.id:
			return c.Op == "ne"
		}
		return (col == "") != (c.Op == "ne")
	case time.Time:
		at := fmtTime(v)
		switch c.Op {
		case "eq", "ne":
			ok = col == at
		case "ge":
			ok = col >= at
		case "gt":
			ok = col > at
		case "le":
			ok = col <= at
		case "lt":
			ok = col < at
		}
	case string:
		if c.Op == "startswith" {
			ok = strings.HasPrefix(strings.ToLower(col), strings.ToLower(v))
			break
		}
		ok = f.matchIn([]any{v}, e)
	case []any:
		ok = f.matchIn(v, e)
	}
	if f.kind != "" {
		ok = ok && e.ActorKind == f.kind
	}
	return ok != (c.Op == "ne")
}

// matchIn is in's condition on e.
func (f auditField) matchIn(vals []any, e *auditLine) bool {
	col := f.value(e)
	for _, x := range vals {
		s, _ := x.(string)
		switch {
		case f.id:
			if n, err := strconv.ParseInt(s, 10, 64); err == nil && n == e.ID {
				return true
			}
		case f.exact && !f.lowerValue:
			if col == s {
				return true
			}
		case f.exact:
			if col == strings.ToLower(s) {
				return true
			}
		default:
			if strings.ToLower(col) == strings.ToLower(s) {
				return true
			}
		}
	}
	return false
}
