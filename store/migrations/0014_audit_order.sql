-- Allot schema, version 14: the audit log read in time order.
--
-- Graph's directoryAudits list is ordered by activityDateTime and paged on
-- (time, id); /allot/v1/audit pages on id. Each gets its index, so that a
-- page of a large log is a range read either way.
CREATE INDEX audit_time ON audit (tenant_id, at, id);
CREATE INDEX audit_tenant ON audit (tenant_id, id);
