-- The ledger. Money in BIGINT minor units, timestamps in BIGINT epoch milliseconds.
CREATE TABLE customers (
    id                 TEXT PRIMARY KEY,
    name               TEXT,
    email              TEXT,
    plan               TEXT,
    billing_interval   TEXT NOT NULL DEFAULT 'month',
    status             TEXT NOT NULL DEFAULT 'active',
    delinquent         BIGINT NOT NULL DEFAULT 0,
    period_anchor      BIGINT NOT NULL,
    trial_ends_at      BIGINT,
    stripe_customer_id TEXT,
    metadata           TEXT NOT NULL DEFAULT '{}',
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

-- Append-only usage events; the idempotency key is unique per customer.
CREATE TABLE usage_events (
    id              TEXT PRIMARY KEY,
    customer_id     TEXT NOT NULL REFERENCES customers(id),
    meter           TEXT NOT NULL,
    quantity        BIGINT NOT NULL,
    occurred_at     BIGINT NOT NULL,
    tool            TEXT NOT NULL DEFAULT '',
    dimensions      TEXT NOT NULL DEFAULT '{}',
    idempotency_key TEXT,
    recorded_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX usage_events_idempotency ON usage_events (customer_id, idempotency_key);
CREATE INDEX usage_events_by_time ON usage_events (customer_id, occurred_at);

-- Hourly totals per customer, meter and tool, updated in the same transaction as each event,
-- so window and period sums read a few hundred rows whatever the event count.
CREATE TABLE usage_hourly (
    customer_id TEXT NOT NULL,
    meter       TEXT NOT NULL,
    tool        TEXT NOT NULL,
    hour        BIGINT NOT NULL,
    quantity    BIGINT NOT NULL,
    PRIMARY KEY (customer_id, meter, hour, tool)
);

CREATE TABLE credit_grants (
    id              TEXT PRIMARY KEY,
    customer_id     TEXT NOT NULL REFERENCES customers(id),
    credits         BIGINT NOT NULL,
    remaining       BIGINT NOT NULL CHECK (remaining >= 0),
    priority        BIGINT NOT NULL,
    expires_at      BIGINT,
    source          TEXT NOT NULL,
    description     TEXT,
    idempotency_key TEXT,
    created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX credit_grants_idempotency ON credit_grants (customer_id, idempotency_key);
CREATE INDEX credit_grants_by_customer ON credit_grants (customer_id);

-- Append-only credit ledger: grants (+) and debits (−), each debit naming the grant it burned.
CREATE TABLE credit_entries (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    grant_id    TEXT NOT NULL REFERENCES credit_grants(id),
    kind        TEXT NOT NULL,
    credits     BIGINT NOT NULL,
    event_id    TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX credit_entries_by_customer ON credit_entries (customer_id, created_at);
