-- Allot schema, version 2: local accounts of the admin center and their
-- sessions. Same dialect-neutral style as version 1.

-- username_key is the lower-case username; sign-in names no tenant, so it
-- is unique across the server. password_hash is a bcrypt hash. After
-- failed_attempts wrong passwords in a row the account is refused until
-- locked_until.
CREATE TABLE accounts (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    username        TEXT NOT NULL,
    username_key    TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    disabled        INTEGER NOT NULL DEFAULT 0,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL
);
CREATE INDEX accounts_tenant ON accounts (tenant_id, username_key);

-- A session is found by the SHA-256 of its random secret; the secret itself
-- is only ever in the browser's cookie.
CREATE TABLE sessions (
    hash       TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    tenant_id  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
