-- PostgreSQL only (SQLite compares text bytewise already). Ids, keys and
-- the timestamps in indexes compare by bytes ("C") instead of through the
-- database's collation: every index step of processing compares them, and
-- under a linguistic collation that is a call into the C library each time
-- (processing a 100,000-member group took 10–15% longer). Byte order is
-- also the order Go compares the same values in (the waiting room, cursors);
-- a linguistic collation could order mixed-case ids differently.
-- Display names keep the database's collation: people read those lists.
ALTER TABLE users ALTER COLUMN tenant_id TYPE TEXT COLLATE "C", ALTER COLUMN id TYPE TEXT COLLATE "C", ALTER COLUMN upn_key TYPE TEXT COLLATE "C";
ALTER TABLE dir_groups ALTER COLUMN tenant_id TYPE TEXT COLLATE "C", ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE memberships ALTER COLUMN tenant_id TYPE TEXT COLLATE "C", ALTER COLUMN group_id TYPE TEXT COLLATE "C", ALTER COLUMN member_id TYPE TEXT COLLATE "C", ALTER COLUMN added_at TYPE TEXT COLLATE "C";
ALTER TABLE assignments ALTER COLUMN tenant_id TYPE TEXT COLLATE "C", ALTER COLUMN target_id TYPE TEXT COLLATE "C", ALTER COLUMN sku_id TYPE TEXT COLLATE "C";
ALTER TABLE license_states ALTER COLUMN tenant_id TYPE TEXT COLLATE "C", ALTER COLUMN user_id TYPE TEXT COLLATE "C", ALTER COLUMN sku_id TYPE TEXT COLLATE "C", ALTER COLUMN source TYPE TEXT COLLATE "C", ALTER COLUMN state TYPE TEXT COLLATE "C", ALTER COLUMN error TYPE TEXT COLLATE "C", ALTER COLUMN waiting_since TYPE TEXT COLLATE "C";
ALTER TABLE addresses ALTER COLUMN tenant_id TYPE TEXT COLLATE "C", ALTER COLUMN address TYPE TEXT COLLATE "C", ALTER COLUMN owner_id TYPE TEXT COLLATE "C";
ALTER TABLE mailboxes ALTER COLUMN tenant_id TYPE TEXT COLLATE "C", ALTER COLUMN user_id TYPE TEXT COLLATE "C";
ALTER TABLE work ALTER COLUMN tenant_id TYPE TEXT COLLATE "C", ALTER COLUMN kind TYPE TEXT COLLATE "C", ALTER COLUMN target_id TYPE TEXT COLLATE "C", ALTER COLUMN group_id TYPE TEXT COLLATE "C";
ALTER TABLE audit ALTER COLUMN tenant_id TYPE TEXT COLLATE "C", ALTER COLUMN target_id TYPE TEXT COLLATE "C";
