//! The record of a Stripe write made with a caller's idempotency key.

/// One Stripe write: which tool, the caller's key, what was asked (a digest) and what Stripe
/// answered (the object's id and the tool's answer as JSON).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StripeWrite {
    pub tool: String,
    pub idempotency_key: String,
    pub request_digest: String,
    pub object_id: Option<String>,
    pub result: String,
    pub created_at: i64,
}
