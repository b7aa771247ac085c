-- Retention (`--retention-days` and its per-kind overrides): a background task removes raw records
-- older than their window, in small batches through the writer. Usage events go only once billed
-- and delivered; what the tools show of an old period stays the same, from what this keeps.

-- A customer's removed events: how many, and the newest time among them. Recording reads the
-- row under the customer's lock anyway, so only a customer with removed events pays for looking
-- up the keys below.
ALTER TABLE customers ADD COLUMN events_removed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN removed_through BIGINT NOT NULL DEFAULT 0;

-- The idempotency key of every removed event, so a retry with the same key stays a duplicate
-- (answered with the removed event's id) however late it comes.
CREATE TABLE usage_event_keys (
    customer_id     TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    PRIMARY KEY (customer_id, idempotency_key)
);

-- Removed events per customer, UTC hour, meter, `tool` value and outcome (failed or not), for
-- get_usage_stats (the hourly totals keep no outcome).
CREATE TABLE usage_removed (
    customer_id TEXT NOT NULL,
    hour        BIGINT NOT NULL,
    meter       TEXT NOT NULL,
    tool        TEXT NOT NULL,
    failed      BIGINT NOT NULL,
    events      BIGINT NOT NULL,
    quantity    BIGINT NOT NULL,
    PRIMARY KEY (customer_id, hour, meter, tool, failed)
);

-- A debit's event, once the event is removed: its meter and time (the credits a window burned
-- are counted by the event's time and meter).
ALTER TABLE credit_entries ADD COLUMN event_meter TEXT;
ALTER TABLE credit_entries ADD COLUMN event_at BIGINT;
CREATE INDEX credit_entries_by_event ON credit_entries (event_id);

-- What each kind's runs removed (any process on the ledger), for get_billing_status.
CREATE TABLE retention_runs (
    kind          TEXT PRIMARY KEY,
    cutoff        BIGINT NOT NULL,
    ran_at        BIGINT NOT NULL,
    removed       BIGINT NOT NULL,
    removed_total BIGINT NOT NULL
);

-- The oldest records first, without reading those already handled.
CREATE INDEX audit_log_by_time ON audit_log (at);
CREATE INDEX webhook_events_with_payload ON webhook_events (received_at, id) WHERE payload <> '';
