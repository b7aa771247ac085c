-- Stripe webhook events, each stored once (Stripe's event id is the key) with what processing
-- made of it: `received` (stored, not yet processed), `processed`, `ignored` (nothing to do, or
-- older than state already applied) or `failed` (with the reason; retry_webhook_event re-runs it).
CREATE TABLE webhook_events (
    id           TEXT PRIMARY KEY,
    type         TEXT NOT NULL,
    object_id    TEXT,
    created      BIGINT NOT NULL,
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL,
    outcome      TEXT,
    attempts     BIGINT NOT NULL DEFAULT 0,
    received_at  BIGINT NOT NULL,
    processed_at BIGINT
);
CREATE INDEX webhook_events_by_time ON webhook_events (received_at, id);

-- The newest event applied per Stripe object: an event older than it changes nothing.
CREATE TABLE stripe_object_versions (
    object_id     TEXT PRIMARY KEY,
    event_created BIGINT NOT NULL,
    event_id      TEXT NOT NULL
);
