package store

import (
	"context"
	"strconv"
	"strings"

	"github.com/allot-dev/allot"
)

// auditCols are the columns of an audit row, in the order of auditRow.
const auditCols = `INSERT INTO audit (tenant_id, at, actor, actor_kind, actor_id, actor_role, activity, target_type, target_id, before_json, after_json, result) VALUES `

// auditRow is one row for auditCols. The actor's name alone is free text
// that anyone creating a token or account chooses, so the row also records
// what the name cannot fake: the kind of actor, its token's or account's
// id, and its role.
func auditRow(ctx context.Context, tenantID, at, activity, targetType, targetID, before, after, result string) []any {
	a, _ := allot.ActorFromContext(ctx)
	return []any{tenantID, at, actorName(ctx), a.Kind(), a.ID(), string(a.Role), activity, targetType, targetID, before, after, result}
}

func (s *DB) audit(ctx context.Context, tx *txn, tenantID, activity, targetType, targetID, before, after, result string) error {
	_, err := tx.Exec(ctx, auditCols+`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		auditRow(ctx, tenantID, fmtTime(s.now()), activity, targetType, targetID, before, after, result)...)
	return err
}

// Audit lists audit entries, newest first.
func (s *DB) Audit(ctx context.Context, f allot.AuditFilter) (*allot.Page[allot.AuditEntry], error) {
	a, err := actorOf(ctx)
	if err != nil {
		return nil, err
	}
	q := `SELECT id, at, actor, actor_kind, actor_id, actor_role, activity, target_type, target_id, before_json, after_json, result FROM audit WHERE tenant_id = ?`
	args := []any{a.TenantID}
	if f.TargetID != "" {
		q += ` AND target_id = ?`
		args = append(args, strings.ToLower(f.TargetID))
	}
	if !f.Since.IsZero() {
		q += ` AND at >= ?`
		args = append(args, fmtTime(f.Since))
	}
	if !f.Until.IsZero() {
		q += ` AND at < ?`
		args = append(args, fmtTime(f.Until))
	}
	if f.After != "" {
		after, err := strconv.ParseInt(f.After, 10, 64)
		if err != nil {
			return nil, allot.Errorf(allot.EINVALID, "The $skiptoken is invalid.")
		}
		q += ` AND id < ?`
		args = append(args, after)
	}
	top := topOf(allot.ListOptions{Top: f.Top})
	return read(ctx, s, func(tx *txn) (*allot.Page[allot.AuditEntry], error) { return auditPage(ctx, tx, q, args, top) })
}

func auditPage(ctx context.Context, tx *txn, q string, args []any, top int) (*allot.Page[allot.AuditEntry], error) {
	rows, err := tx.Query(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, top+1)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	page := &allot.Page[allot.AuditEntry]{Items: []allot.AuditEntry{}}
	for rows.Next() {
		var e allot.AuditEntry
		var at, role string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.ActorKind, &e.ActorID, &role, &e.Activity, &e.TargetType, &e.TargetID, &e.Before, &e.After, &e.Result); err != nil {
			return nil, err
		}
		e.Time, e.ActorRole = parseTime(at), allot.Role(role)
		if e.ActorKind == "" {
			// Written before migration 10: only the name is known, and a
			// name proves nothing.
			e.ActorKind = allot.ActorUnknown
		}
		page.Items = append(page.Items, e)
	}
	if len(page.Items) > top {
		page.Items = page.Items[:top]
		page.NextCursor = strconv.FormatInt(page.Items[top-1].ID, 10)
	}
	return page, rows.Err()
}
