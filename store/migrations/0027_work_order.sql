-- Allot schema, version 27: a tenant's work in queue order from an index.
--
-- A batch takes its tenant's first item, or its first users, in order of
-- id. No index held that order within a tenant, and PostgreSQL, whose
-- statistics of this table are usually those of an empty queue, read
-- every item of the tenant through work_target and sorted them: 9 ms per
-- batch each while 30,000 users waited to take seats just bought
-- (docs/PERFORMANCE.md, "Twelfth round").
CREATE INDEX work_order ON work (tenant_id, id);
