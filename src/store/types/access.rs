//! Records and requests of identity and access: API keys (secrets only as SHA-256 digests) and
//! audit-log entries.

/// A stored API key. `secret_hash` is the hex SHA-256 of the whole secret.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRecord {
    pub id: String,
    pub secret_hash: String,
    pub name: String,
    pub role: String,
    pub customer_id: Option<String>,
    pub rate_per_minute: Option<i64>,
    pub burst: Option<i64>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub rotated_from: Option<String>,
    pub idempotency_key: Option<String>,
}

/// A key to store; `rotated_from` names the key it replaces.
pub type NewApiKey = ApiKeyRecord;

/// One change to the key table, run atomically by the writer.
#[derive(Debug, Clone)]
pub enum KeyWrite {
    Create(NewApiKey),
    /// Replace key `from` by a new secret (`id`, `secret_hash`) that inherits its role, customer,
    /// name and rate; `from` then expires at `old_expires_at` (or earlier, if it already does).
    Rotate {
        from: String,
        id: String,
        secret_hash: String,
        at: i64,
        old_expires_at: i64,
        idempotency_key: Option<String>,
    },
    Revoke {
        id: String,
        at: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOutcome {
    /// The key as written (created, rotated-to or just revoked).
    Written(ApiKeyRecord),
    /// The idempotency key was used before: the key that request created.
    Duplicate(ApiKeyRecord),
    /// The key to rotate is revoked or expired; nothing changed.
    Inactive(ApiKeyRecord),
    NotFound,
    UnknownCustomer,
}

/// Filters for listing keys, in id order.
#[derive(Debug, Clone, Default)]
pub struct KeyQuery {
    pub role: Option<String>,
    pub customer: Option<String>,
    /// Only keys neither revoked nor expired at this time.
    pub active_at: Option<i64>,
    pub starting_after: Option<String>,
    pub limit: i64,
}

/// One audited tool call. Ids are UUIDv7, so id order is time order.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: String,
    pub at: i64,
    pub key_id: Option<String>,
    pub role: String,
    pub tool: String,
    pub customer_id: Option<String>,
    /// The call's arguments as JSON, secrets redacted.
    pub arguments: String,
    /// `ok` or the tool error's code.
    pub result: String,
}

/// Filters for reading the audit log, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub key_id: Option<String>,
    pub tool: Option<String>,
    pub customer: Option<String>,
    pub result: Option<String>,
    pub from: i64,
    pub to: i64,
    pub starting_after: Option<String>,
    pub limit: i64,
}
