-- SCIM provisioning (docs/SCIM.md): the externalId an identity provider
-- gives a user or group has no place in Allot's model, yet SCIM must return
-- it and filter on it ("externalId eq ..."). Ids are unique across a
-- tenant's users and groups, so (tenant_id, id) is the key; kind ('user' or
-- 'group') keeps a filter on one resource type from matching the other.
-- Rows of objects deleted outside SCIM are ignored by every read (joined
-- with their object) and replaced by the next write.
CREATE TABLE scim_external_ids (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    id          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    external_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX scim_external_ids_lookup ON scim_external_ids (tenant_id, kind, external_id);
