-- Allot schema, version 25: a group walk's page of members from the index alone.
--
-- A walk reads its group's direct user members in order of membership
-- (tenant, group, added_at, member_id), and memberships_order held that
-- order but not member_kind, so every member of every page cost a lookup
-- of its row in the table to be told apart from a nested group: a random
-- page per user, 9% of a 100,000-user walk's CPU (docs/PERFORMANCE.md,
-- "Ninth round"). With the kind at the end the index answers alone and
-- keeps its order for every other reader.
DROP INDEX memberships_order;
CREATE INDEX memberships_order ON memberships (tenant_id, group_id, added_at, member_id, member_kind);
