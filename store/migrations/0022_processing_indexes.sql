-- Allot schema, version 22: the indexes a group's processing writes and
-- reads, cut to what their readers need.
--
-- license_states_waiting held every state, keyed (tenant, SKU, error,
-- waiting since, user). Users' ids are random, so every state written
-- took a random insert into it, as into the primary key and
-- license_states_kind: a fifth of what writing a state costs, for an index
-- whose readers all ask for the states in CountViolation (the waiting
-- room, the count of the waiting, the queue of who gets freed seats).
-- Those are now all it holds; the metrics' count of users in error by
-- code reads license_states_kind, which holds the states in error by SKU.
DROP INDEX license_states_waiting;
CREATE INDEX license_states_waiting ON license_states (tenant_id, sku_id, error, waiting_since, user_id) WHERE error = 'CountViolation';
-- A batch reads the groups of its users by member. The index held only
-- the member, so each membership found cost a second lookup, in the table,
-- for its group; now the index answers alone.
DROP INDEX memberships_member;
CREATE INDEX memberships_member ON memberships (tenant_id, member_id, group_id);
