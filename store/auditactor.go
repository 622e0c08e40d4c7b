package store

import (
	"context"

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
