-- Identity and access: API keys (only a SHA-256 of each secret is kept) and the audit log.
CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY,
    secret_hash     TEXT NOT NULL,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL,
    customer_id     TEXT REFERENCES customers(id),
    rate_per_minute BIGINT,
    burst           BIGINT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT,
    revoked_at      BIGINT,
    rotated_from    TEXT,
    idempotency_key TEXT
);
CREATE UNIQUE INDEX api_keys_idempotency ON api_keys (idempotency_key);

-- One row per mutating tool call (allowed or refused); ids are UUIDv7, so id order is time order.
CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    at          BIGINT NOT NULL,
    key_id      TEXT,
    role        TEXT NOT NULL,
    tool        TEXT NOT NULL,
    customer_id TEXT,
    arguments   TEXT NOT NULL,
    result      TEXT NOT NULL
);
CREATE INDEX audit_log_by_customer ON audit_log (customer_id, id);
CREATE INDEX audit_log_by_key ON audit_log (key_id, id);
