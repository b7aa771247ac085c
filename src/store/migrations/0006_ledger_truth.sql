-- Meter aggregations: each hourly row also keeps how many events it holds, the largest quantity
-- and the latest event (time and quantity), so count, max and last read the same few rows as sum.
ALTER TABLE usage_hourly ADD COLUMN events BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN max_q BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN last_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN last_q BIGINT NOT NULL DEFAULT 0;
UPDATE usage_hourly SET
    events = (SELECT COUNT(*) FROM usage_events e WHERE e.customer_id = usage_hourly.customer_id
              AND e.meter = usage_hourly.meter AND e.tool = usage_hourly.tool
              AND e.occurred_at >= usage_hourly.hour AND e.occurred_at < usage_hourly.hour + 3600000),
    max_q = COALESCE((SELECT MAX(e.quantity) FROM usage_events e WHERE e.customer_id = usage_hourly.customer_id
              AND e.meter = usage_hourly.meter AND e.tool = usage_hourly.tool
              AND e.occurred_at >= usage_hourly.hour AND e.occurred_at < usage_hourly.hour + 3600000), 0),
    last_at = COALESCE((SELECT MAX(e.occurred_at) FROM usage_events e WHERE e.customer_id = usage_hourly.customer_id
              AND e.meter = usage_hourly.meter AND e.tool = usage_hourly.tool
              AND e.occurred_at >= usage_hourly.hour AND e.occurred_at < usage_hourly.hour + 3600000), 0),
    last_q = COALESCE((SELECT e.quantity FROM usage_events e WHERE e.customer_id = usage_hourly.customer_id
              AND e.meter = usage_hourly.meter AND e.tool = usage_hourly.tool
              AND e.occurred_at >= usage_hourly.hour AND e.occurred_at < usage_hourly.hour + 3600000
              ORDER BY e.occurred_at DESC, e.recorded_at DESC, e.id DESC LIMIT 1), 0);

-- Distinct values of a `unique` meter's dimension per hour, with the first and last time each
-- occurred in the hour (so a span starting or ending inside the hour is counted exactly).
CREATE TABLE usage_distinct (
    customer_id TEXT NOT NULL,
    meter       TEXT NOT NULL,
    hour        BIGINT NOT NULL,
    value       TEXT NOT NULL,
    first_at    BIGINT NOT NULL,
    last_at     BIGINT NOT NULL,
    PRIMARY KEY (customer_id, meter, hour, value)
);

-- When the current plan's billing began (a plan change inside the period; 0 = since the period
-- start), and every change of plan or interval, so the invoice keeps what the old plan owed and
-- prorates both base fees.
ALTER TABLE customers ADD COLUMN plan_since BIGINT NOT NULL DEFAULT 0;
CREATE TABLE plan_changes (
    id                TEXT PRIMARY KEY,
    customer_id       TEXT NOT NULL REFERENCES customers(id),
    at                BIGINT NOT NULL,
    previous_plan     TEXT,
    previous_interval TEXT NOT NULL,
    previous_anchor   BIGINT,
    plan              TEXT,
    billing_interval  TEXT NOT NULL
);
CREATE INDEX plan_changes_by_customer ON plan_changes (customer_id, at);

-- Seed 001's reserved capacity per customer: {meter: {reserved, tiers: [{threshold,
-- price_per_unit (exact decimal string), stripe_item}]}}, read with the customer.
ALTER TABLE customers ADD COLUMN reserved_tiers TEXT NOT NULL DEFAULT '{}';

-- Credit adjustments: credits added (a grant) or taken back (entries of kind `adjustment` whose
-- event_id names the adjustment), idempotent per customer and key.
CREATE TABLE credit_adjustments (
    id              TEXT PRIMARY KEY,
    customer_id     TEXT NOT NULL REFERENCES customers(id),
    credits         BIGINT NOT NULL,
    grant_id        TEXT,
    reason          TEXT NOT NULL,
    idempotency_key TEXT,
    created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX credit_adjustments_idempotency ON credit_adjustments (customer_id, idempotency_key);
