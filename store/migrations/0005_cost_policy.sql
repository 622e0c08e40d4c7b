-- Prices per seat and the direct-assignment policy
-- (docs/WAITING-ROOM-COST-POLICY.md). The waiting room needs no table: it
-- is the CountViolation rows of license_states, in the order of the
-- license_states_waiting index.
--
-- A price is an exact integer of ten-thousandths of its currency (ISO 4217),
-- so spend is summed without rounding; BIGINT since PostgreSQL's INTEGER is
-- 32 bits.
CREATE TABLE subscription_prices (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    sku_id      TEXT NOT NULL,
    price_units BIGINT NOT NULL,
    currency    TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sku_id)
);

-- SKUs a tenant allows only through groups: assignLicense on a user may not
-- add them.
CREATE TABLE direct_assignment_blocks (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    sku_id     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sku_id)
);
