-- Opt-in nested groups (docs/NESTED-GROUPS.md): a group's assignment of a
-- SKU with include_nested = 1 also licenses the users of the groups nested
-- in the group, up to a depth limit. 0, the default, keeps the reference's
-- behaviour: direct members only. No index: a tenant's assignments are few
-- and read by the primary key's tenant prefix.
ALTER TABLE assignments ADD COLUMN include_nested INTEGER NOT NULL DEFAULT 0;
