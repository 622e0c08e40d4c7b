-- Allot schema, version 1. Written once for SQLite and PostgreSQL alike:
-- TEXT ids and timestamps (fixed-width RFC 3339, so they sort as text),
-- INTEGER flags, and {{serial}} for an auto-increment primary key.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE tenants (
    id                     TEXT PRIMARY KEY,
    display_name           TEXT NOT NULL,
    default_usage_location TEXT NOT NULL DEFAULT '',
    created_at             TEXT NOT NULL
);

CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    role       TEXT NOT NULL,
    name       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL DEFAULT '',
    revoked    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE subscriptions (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    sku_id     TEXT NOT NULL,
    id         TEXT NOT NULL,
    enabled    INTEGER NOT NULL,
    suspended  INTEGER NOT NULL DEFAULT 0,
    warning    INTEGER NOT NULL DEFAULT 0,
    locked_out INTEGER NOT NULL DEFAULT 0,
    consumed   INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sku_id)
);

CREATE TABLE users (
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    id              TEXT NOT NULL,
    upn             TEXT NOT NULL,
    upn_key         TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    mail            TEXT NOT NULL DEFAULT '',
    usage_location  TEXT NOT NULL DEFAULT '',
    proxy_addresses TEXT NOT NULL DEFAULT '[]',
    account_enabled INTEGER NOT NULL DEFAULT 1,
    mailbox         INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, upn_key)
);
CREATE INDEX users_name ON users (tenant_id, display_name, id);

CREATE TABLE dir_groups (
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    id               TEXT NOT NULL,
    display_name     TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    mail_nickname    TEXT NOT NULL DEFAULT '',
    group_types      TEXT NOT NULL DEFAULT '[]',
    mail_enabled     INTEGER NOT NULL DEFAULT 0,
    security_enabled INTEGER NOT NULL DEFAULT 1,
    proxy_addresses  TEXT NOT NULL DEFAULT '[]',
    created_at       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX dir_groups_name ON dir_groups (tenant_id, display_name, id);

-- Every address listed by a user or a group, normalised. Whether a user's
-- listing makes it an owner depends on users.mailbox.
CREATE TABLE addresses (
    tenant_id  TEXT NOT NULL,
    address    TEXT NOT NULL,
    owner_id   TEXT NOT NULL,
    owner_kind TEXT NOT NULL,
    PRIMARY KEY (tenant_id, address, owner_id)
);
CREATE INDEX addresses_owner ON addresses (tenant_id, owner_id);

CREATE TABLE memberships (
    tenant_id   TEXT NOT NULL,
    group_id    TEXT NOT NULL,
    member_id   TEXT NOT NULL,
    member_kind TEXT NOT NULL,
    added_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, member_id)
);
CREATE INDEX memberships_member ON memberships (tenant_id, member_id);
CREATE INDEX memberships_order ON memberships (tenant_id, group_id, added_at, member_id);

CREATE TABLE assignments (
    tenant_id      TEXT NOT NULL,
    target_id      TEXT NOT NULL,
    target_kind    TEXT NOT NULL,
    sku_id         TEXT NOT NULL,
    disabled_plans TEXT NOT NULL DEFAULT '[]',
    created_at     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, target_id, sku_id)
);

-- source is '' for a direct assignment, else the group id.
CREATE TABLE license_states (
    tenant_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    sku_id         TEXT NOT NULL,
    source         TEXT NOT NULL,
    state          TEXT NOT NULL,
    error          TEXT NOT NULL,
    disabled_plans TEXT NOT NULL DEFAULT '[]',
    detail         TEXT NOT NULL DEFAULT '',
    updated_at     TEXT NOT NULL,
    waiting_since  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, user_id, sku_id, source)
);
CREATE INDEX license_states_source ON license_states (tenant_id, source, state);
CREATE INDEX license_states_waiting ON license_states (tenant_id, sku_id, error, waiting_since, user_id);

-- The work queue. A 'user' item evaluates one user; a 'group' item walks
-- the group's direct user members in batches, keeping its cursor and
-- progress here so a restart resumes where it stopped.
CREATE TABLE work (
    id          {{serial}},
    tenant_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    group_id    TEXT NOT NULL DEFAULT '',
    started     INTEGER NOT NULL DEFAULT 0,
    cursor      TEXT NOT NULL DEFAULT '',
    done        INTEGER NOT NULL DEFAULT 0,
    total       INTEGER NOT NULL DEFAULT 0,
    licensed    INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    enqueued_at TEXT NOT NULL
);
CREATE INDEX work_target ON work (tenant_id, kind, target_id);
CREATE INDEX work_group ON work (tenant_id, group_id);

CREATE TABLE audit (
    id          {{serial}},
    tenant_id   TEXT NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    activity    TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    before_json TEXT NOT NULL DEFAULT '',
    after_json  TEXT NOT NULL DEFAULT '',
    result      TEXT NOT NULL DEFAULT 'success'
);
CREATE INDEX audit_target ON audit (tenant_id, target_id, id);
