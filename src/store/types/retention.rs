//! Records and requests of retention: which of a customer's usage events may go, a cutoff for
//! the other kinds, and what a kind's runs removed.

/// A customer's usage events that may be removed: older than `before`, delivered to Stripe (or
/// never to be: `sent` or `ledger`, and `pending` ones older than `pending_before`), and billed
/// (marked billed by a paid invoice, or the customer has no draft or open Stripe invoice).
/// Events a removal takes are folded into what stays: their idempotency keys, their hours by
/// outcome (`usage_removed`), their debits' meter and time, and the customer's count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRemoval {
    pub customer: String,
    pub before: i64,
    /// `i64::MIN` for none: with Stripe configured, a pending event waits to be delivered.
    pub pending_before: i64,
    /// Most events one removal takes (one writer transaction).
    pub limit: i64,
}

/// Records older than `before`, at most `limit` of them in one writer transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoff {
    pub before: i64,
    pub limit: i64,
}

/// The kinds of record retention removes, as stored in `retention_runs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RetentionKind {
    UsageEvents,
    WebhookPayloads,
    AuditLog,
}

impl RetentionKind {
    pub const ALL: [RetentionKind; 3] = [
        RetentionKind::UsageEvents,
        RetentionKind::WebhookPayloads,
        RetentionKind::AuditLog,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RetentionKind::UsageEvents => "usage_events",
            RetentionKind::WebhookPayloads => "webhook_payloads",
            RetentionKind::AuditLog => "audit_log",
        }
    }
}

/// What one kind's latest run did (by any process on the ledger).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RetentionRun {
    pub kind: String,
    /// Records before this could go (for usage events, each customer's own billing may have
    /// held back more).
    pub cutoff: i64,
    pub ran_at: i64,
    /// Records the run removed (payloads cleared).
    pub removed: i64,
    /// Over every run so far.
    pub removed_total: i64,
}
