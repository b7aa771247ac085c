-- Stripe writes made with a caller's idempotency_key, kept beyond the 24 hours Stripe keeps its
-- own idempotency keys: a retry a day later answers with the first result instead of creating
-- again, and the same key with other arguments is refused.
CREATE TABLE stripe_writes (
    tool            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    -- Hex SHA-256 of the request's arguments as the tool read them.
    request_digest  TEXT NOT NULL,
    -- The id of the object Stripe made or changed, and the tool's answer as JSON.
    object_id       TEXT,
    result          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (tool, idempotency_key)
);
