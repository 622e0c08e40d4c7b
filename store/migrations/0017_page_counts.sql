-- Allot schema, version 17: the admin center's counts on big groups read
-- indexes only (docs/PERFORMANCE.md, "Admin center page timings").
--
-- license_states_kind holds a tenant's states by state, product, source
-- and kind: the users holding a product (a product's Users tab) and a group
-- panel's counts of one product are a range of it, the errors from groups
-- (the home page's groups in error) the range of the errors, each state
-- probing its user's membership. memberships_kind holds a group's members
-- by kind: a group's user members are counted on it (the product's Groups
-- tab, the group panel) without reading a membership row.
CREATE INDEX license_states_kind ON license_states (tenant_id, state, sku_id, source, error, user_id);
CREATE INDEX memberships_kind ON memberships (tenant_id, group_id, member_kind, member_id);
