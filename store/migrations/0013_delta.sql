-- Allot schema, version 13: delta queries (GET /users/delta and
-- /groups/delta, store/delta.go).
--
-- A round reads what changed as one stream ordered by (time, id), so that
-- each page is a keyset read of an index per source: users and groups by
-- modified_at; the audit log, by activity, for the changes that leave no
-- row behind (a license taken away, a member removed); and the tombstones
-- below.
CREATE INDEX users_modified ON users (tenant_id, modified_at, id);
CREATE INDEX dir_groups_modified ON dir_groups (tenant_id, modified_at, id);
CREATE INDEX audit_activity ON audit (tenant_id, activity, at, target_id);

-- What deleting a user or a group removes and nothing else records: the
-- object itself (kind 'user' or 'group', object_id the deleted object) and
-- each membership it had in a group (kind 'member', object_id the group,
-- member_id the deleted object). Kept as long as a delta token is valid,
-- and pruned by the next deletion in the tenant.
CREATE TABLE delta_tombstones (
    tenant_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    member_id   TEXT NOT NULL DEFAULT '',
    member_kind TEXT NOT NULL DEFAULT '',
    deleted_at  TEXT NOT NULL
);
CREATE INDEX delta_tombstones_at ON delta_tombstones (tenant_id, kind, deleted_at, object_id);
