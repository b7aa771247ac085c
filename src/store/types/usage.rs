//! Records and requests of usage: a new event and what became of it, a stored event, a query of
//! events, and a span's usage totals.

use std::collections::BTreeMap;

use crate::core::usage::Tally;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub id: String,
    pub customer: String,
    pub meter: String,
    pub quantity: i64,
    pub occurred_at: i64,
    /// The `tool` dimension ('' when absent), kept apart for per-tool prices and totals.
    pub tool: String,
    pub dimensions: String,
    pub idempotency_key: Option<String>,
    pub recorded_at: i64,
    /// For a `unique` meter: the value of the dimension it counts.
    pub distinct: Option<String>,
    /// Whether Stripe bills the event (a meter event through the outbox); false for usage the
    /// ledger alone bills (`max` and `unique` meters, a boolean feature's own counter), which is
    /// stored with the state `ledger` and never sent.
    pub to_stripe: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    Recorded { id: String },
    Duplicate { id: String },
    UnknownCustomer,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UsageEventRecord {
    pub id: String,
    pub customer_id: String,
    pub meter: String,
    pub quantity: i64,
    pub occurred_at: i64,
    pub tool: String,
    pub dimensions: String,
    pub idempotency_key: Option<String>,
    pub recorded_at: i64,
    /// Where the event stands with Stripe: `pending`, `sent`, `failed`, or `ledger` (billed by
    /// the ledger alone, never sent).
    pub stripe_state: String,
    pub stripe_attempts: i64,
    /// Why the last attempt did not deliver it (kept while pending, final when failed).
    pub stripe_error: Option<String>,
    pub stripe_sent_at: Option<i64>,
    /// The paid Stripe invoice that billed it.
    pub billed_invoice: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub customer: String,
    pub meter: Option<String>,
    pub from: i64,
    pub to: i64,
    pub limit: i64,
    pub starting_after: Option<String>,
}

/// A span's usage: per meter and priced dimension value ('' = none); a `unique` meter's
/// distinct count is on its '' entry.
pub type UsageTotals = BTreeMap<String, BTreeMap<String, Tally>>;
