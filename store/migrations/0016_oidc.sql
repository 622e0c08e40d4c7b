-- Allot schema, version 16: single sign-on with OpenID Connect
-- (docs/SSO.md, store/oidc.go).
--
-- oidc_configs holds one identity provider per tenant. client_secret is
-- sealed with AES-256-GCM under the server's key (--sso-key-file), so a
-- copy of the database does not give the secret away; '' for a client
-- without one. scopes and role_mappings are JSON.
CREATE TABLE oidc_configs (
    tenant_id     TEXT PRIMARY KEY REFERENCES tenants (id),
    issuer        TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    client_secret TEXT NOT NULL DEFAULT '',
    scopes        TEXT NOT NULL DEFAULT '[]',
    role_claim    TEXT NOT NULL,
    role_mappings TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

-- A federated account is an ordinary row of accounts (so that sessions,
-- revocation and disabling work as for a local one), found at sign-in by
-- the provider's issuer and subject, never by a name the provider lets
-- people change.
CREATE TABLE oidc_identities (
    tenant_id  TEXT NOT NULL,
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (tenant_id, issuer, subject)
);
CREATE INDEX oidc_identities_account ON oidc_identities (account_id);

-- A sign-in between leaving for the provider and coming back, found by
-- the SHA-256 of its state; taken (deleted) when the browser returns, and
-- dropped once expired.
CREATE TABLE oidc_logins (
    state_hash TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    verifier   TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    next       TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX oidc_logins_expiry ON oidc_logins (expires_at);
