-- Allot schema, version 26 (SQLite only): a batch's users and the listers
-- of their addresses from indexes alone.
--
-- A group walk reads, for each batch, its users' location and addresses
-- and every lister of those addresses. Both came from the primary key's
-- index and then the table row: two random pages per user and per
-- address. Once checkpoints followed each batch (docs/PERFORMANCE.md,
-- "Tenth round"), those reads made ahead on the other core were what a
-- batch waited for; with the columns in the index they cost one lookup.
--
-- Not on PostgreSQL: a B-tree entry there is limited to about 2.7 kB, and
-- a user may list 100 addresses of 256 characters (TestLongestProxyAddresses); its walk
-- reads the heap all the same until VACUUM has marked the pages visible.
CREATE INDEX users_inputs ON users (tenant_id, id, usage_location, proxy_addresses);
CREATE INDEX addresses_listers ON addresses (tenant_id, address, owner_id, owner_kind);
