-- Holds: units and credits reserved for a call in flight (`check_entitlement` with `hold`, and
-- every call through the gateway). A live hold (`held`, not yet expired) counts in every decision
-- as if consumed; settling it records the usage and burns the credits in the same transaction,
-- releasing it (or its expiry) gives them back. The row stays as the hold's history.
CREATE TABLE holds (
    id              TEXT PRIMARY KEY,
    customer_id     TEXT NOT NULL REFERENCES customers(id),
    feature         TEXT NOT NULL,
    meter           TEXT NOT NULL,
    tool            TEXT NOT NULL DEFAULT '',
    dimensions      TEXT NOT NULL DEFAULT '{}',
    quantity        BIGINT NOT NULL,
    credits         BIGINT NOT NULL,
    status          TEXT NOT NULL,
    idempotency_key TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    ended_at        BIGINT,
    settled_quantity BIGINT,
    event_id        TEXT
);
CREATE UNIQUE INDEX holds_idempotency ON holds (customer_id, idempotency_key);
CREATE INDEX holds_live ON holds (customer_id, expires_at) WHERE status = 'held';
