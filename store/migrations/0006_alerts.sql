-- Alerts (docs/ALERTS.md): per-tenant webhook subscriptions and a durable
-- outbox. Events are inserted in the transaction that changes the state
-- they report, so none is lost on a crash and none exists for a change
-- that rolled back; the dispatcher of `allot serve` logs and delivers them.
--
-- events is a JSON list of event types; an empty list means every type.
-- The secret is kept in clear: it signs every delivery.
CREATE TABLE alert_webhooks (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    id         TEXT NOT NULL,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    events     TEXT NOT NULL,
    enabled    INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- logged is 0 until the dispatcher has written the event's log line.
CREATE TABLE alert_events (
    seq         {{serial}},
    id          TEXT NOT NULL UNIQUE,
    tenant_id   TEXT NOT NULL,
    type        TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    data        TEXT NOT NULL,
    logged      INTEGER NOT NULL
);
CREATE INDEX alert_events_unlogged ON alert_events (logged, seq);
-- One row per (event, webhook). status: pending, delivered or failed;
-- next_at is when a pending row is due, pushed forward by a lease while a
-- dispatcher is sending it and by the backoff after a failed attempt.
CREATE TABLE alert_deliveries (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    webhook_id      TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_at         TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    last_attempt_at TEXT NOT NULL,
    last_status     INTEGER NOT NULL,
    last_error      TEXT NOT NULL,
    delivered_at    TEXT NOT NULL
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (status, next_at);
CREATE INDEX alert_deliveries_tenant ON alert_deliveries (tenant_id, created_at);
-- Groups in Errors & issues that have been alerted about, so a group
-- alerts once when it enters the status, not on every batch that keeps it there.
CREATE TABLE alert_group_errors (
    tenant_id TEXT NOT NULL,
    group_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_id)
);
-- Rate limits of repeating events (the waiting room): key -> until when
-- no further event with that key is raised.
CREATE TABLE alert_throttle (
    tenant_id TEXT NOT NULL,
    key       TEXT NOT NULL,
    until_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
