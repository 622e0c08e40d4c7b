-- Allot schema, version 18: subscription lifecycles (docs/RULES.md §2.6,
-- store/lifecycle.go).
--
-- A tenant holds any number of commercial subscriptions per SKU, each with
-- a quantity, a status and a term. The per-SKU subscriptions row stays as
-- the SKU's pool, which licensing reads: its enabled, warning, suspended and
-- locked_out columns are kept equal, in the transaction of every change, to
-- the sums of the quantities by status, and capability is the SKU's
-- capabilityStatus derived from them.
--
-- term_end NULL: the subscription renews by itself and never moves on.
-- next_lifecycle_at is when the status moves on if nothing is done (NULL:
-- never); the scheduler applies a step with an UPDATE guarded by status
-- and next_lifecycle_at, so racing replicas apply it once. alerted_days is
-- the nearest "days before the term ends" threshold already alerted in the
-- current term (0: none yet), next_alert_at when the next one is due.
CREATE TABLE company_subscriptions (
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    id                TEXT NOT NULL,
    sku_id            TEXT NOT NULL,
    quantity          INTEGER NOT NULL,
    status            TEXT NOT NULL,
    is_trial          INTEGER NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL,
    term_start        TEXT NOT NULL,
    term_end          TEXT,
    next_lifecycle_at TEXT,
    status_since      TEXT NOT NULL,
    alerted_days      INTEGER NOT NULL DEFAULT 0,
    next_alert_at     TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX company_subscriptions_sku ON company_subscriptions (tenant_id, sku_id, status, created_at);
CREATE INDEX company_subscriptions_due ON company_subscriptions (next_lifecycle_at);
CREATE INDEX company_subscriptions_alert ON company_subscriptions (next_alert_at);

-- Each existing pool becomes one subscription without a term, under the
-- pool's id. Only the enabled column was ever written before this version,
-- so the other counts are zero already; they are set so all the same.
INSERT INTO company_subscriptions (tenant_id, id, sku_id, quantity, status, is_trial, created_at, term_start, term_end, next_lifecycle_at, status_since)
    SELECT tenant_id, id, sku_id, enabled, 'Enabled', 0, created_at, created_at, NULL, NULL, created_at FROM subscriptions;
UPDATE subscriptions SET warning = 0, suspended = 0, locked_out = 0;
ALTER TABLE subscriptions ADD COLUMN capability TEXT NOT NULL DEFAULT 'Enabled';

-- A tenant's lifecycle periods; no row means allot.DefaultLifecycleSettings.
-- alert_days is a JSON list of days, nearest last.
CREATE TABLE lifecycle_settings (
    tenant_id      TEXT PRIMARY KEY REFERENCES tenants (id),
    grace_days     INTEGER NOT NULL,
    suspended_days INTEGER NOT NULL,
    retention_days INTEGER NOT NULL,
    alert_days     TEXT NOT NULL
);
