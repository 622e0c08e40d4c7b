-- Allot schema, version 21: processing audits a batch in one row.
--
-- A processed batch's license changes were one audit row per user, with
-- four indexes: a quarter to a third of a group-wide assignment's time
-- (docs/PERFORMANCE.md, "Second round"). Now a batch writes one row whose
-- entries column lists each user's change ({"target", "id", "result",
-- "before", "after"}, by id); its entries keep the ids that single rows
-- would have had, first_id the smallest. Readers expand it into the same
-- per-user entries (store/auditbatch.go). Rows written before stay single.
ALTER TABLE audit ADD COLUMN first_id BIGINT;
ALTER TABLE audit ADD COLUMN entries TEXT;
-- Batch rows are few (one per batch), so their own orders cost nothing
-- to keep: newest first by their smallest entry, oldest first by their
-- largest (a tenant's batches never overlap: its writes are serialised).
CREATE INDEX audit_batch_first ON audit (tenant_id, first_id) WHERE entries IS NOT NULL;
CREATE INDEX audit_batch_last ON audit (tenant_id, id) WHERE entries IS NOT NULL;
CREATE INDEX audit_batch_time_first ON audit (tenant_id, at, first_id) WHERE entries IS NOT NULL;
CREATE INDEX audit_batch_time_last ON audit (tenant_id, at, id) WHERE entries IS NOT NULL;
-- The narrow index of "the audit of this user" and of the delta queries'
-- license changes: one short row per user and batch.
CREATE TABLE audit_users (
    tenant_id {{id}} NOT NULL,
    user_id   {{id}} NOT NULL,
    audit_id  BIGINT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, audit_id)
){{without_rowid}};
CREATE INDEX audit_users_time ON audit_users (tenant_id, at, user_id);
