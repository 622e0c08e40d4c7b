-- Deleted items (docs/DELETED-ITEMS.md, docs/RULES.md §2.3.6): a deleted
-- user or group leaves every live table at once, as before, so nothing
-- else (lists, lookups, the uniqueness of names and addresses, licensing)
-- ever sees it; what restoring it needs is kept here as a JSON snapshot
-- (its properties, a user's direct licenses and groups, a group's members
-- and the groups it was in) until purge_at, when it is deleted for good.
-- name is the userPrincipalName or mailNickname, for listing and search.
CREATE TABLE deleted_items (
    tenant_id    TEXT NOT NULL,
    id           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    display_name TEXT NOT NULL,
    name         TEXT NOT NULL,
    deleted_at   TEXT NOT NULL,
    purge_at     TEXT NOT NULL,
    snapshot     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX deleted_items_kind ON deleted_items (tenant_id, kind, id);
CREATE INDEX deleted_items_purge ON deleted_items (purge_at);
