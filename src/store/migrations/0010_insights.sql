-- What the dashboard reads beyond the ledger's own rows: when each customer's status changed (for
-- MRR at any moment: churn, reactivation), what paid Stripe invoices collected and when, what a
-- credit pack purchase paid, and usage per hour over all customers (`usage_rollup`: the hourly
-- totals summed across customers, in a few shards so writers of different customers rarely meet
-- on one row; existing history goes to shard 0).
CREATE TABLE status_changes (
    id              TEXT PRIMARY KEY,
    customer_id     TEXT NOT NULL REFERENCES customers(id),
    at              BIGINT NOT NULL,
    previous_status TEXT NOT NULL,
    status          TEXT NOT NULL
);
CREATE INDEX status_changes_by_time ON status_changes (at);
CREATE INDEX plan_changes_by_time ON plan_changes (at);

ALTER TABLE stripe_invoices ADD COLUMN amount_paid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE stripe_invoices ADD COLUMN paid_at BIGINT;
CREATE INDEX stripe_invoices_by_paid ON stripe_invoices (paid_at);

ALTER TABLE credit_grants ADD COLUMN pack TEXT;
ALTER TABLE credit_grants ADD COLUMN paid_amount BIGINT;
ALTER TABLE credit_grants ADD COLUMN paid_currency TEXT;
CREATE INDEX credit_grants_by_time ON credit_grants (created_at);
CREATE INDEX credit_entries_by_time ON credit_entries (created_at);
CREATE INDEX usage_events_undelivered ON usage_events (stripe_state) WHERE stripe_state <> 'sent' AND stripe_state <> 'ledger';

CREATE TABLE usage_rollup (
    hour     BIGINT NOT NULL,
    meter    TEXT NOT NULL,
    tool     TEXT NOT NULL,
    shard    BIGINT NOT NULL,
    quantity BIGINT NOT NULL,
    events   BIGINT NOT NULL,
    PRIMARY KEY (hour, meter, tool, shard)
);
INSERT INTO usage_rollup (hour, meter, tool, shard, quantity, events)
    SELECT hour, meter, tool, 0, CAST(SUM(quantity) AS BIGINT), CAST(SUM(events) AS BIGINT)
    FROM usage_hourly GROUP BY hour, meter, tool;
