//! Records the ledger stores and the requests it accepts.

use std::collections::BTreeMap;

use crate::core::credit::Grant;
use crate::core::entitlement::Decision;
use crate::core::period::Window;
use crate::core::reserved::{OverageTier, ReservedMeter};
use crate::core::usage::{Aggregation, Tally};
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CustomerRecord {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub plan: Option<String>,
    pub billing_interval: String,
    pub status: String,
    pub delinquent: i64,
    pub period_anchor: i64,
    pub trial_ends_at: Option<i64>,
    pub stripe_customer_id: Option<String>,
    pub metadata: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// When the current plan's billing began, if a plan change inside a period set it (0 = the
    /// period start).
    pub plan_since: i64,
    /// Reserved capacity per meter (JSON, see [`ReservedTiers`]).
    pub reserved_tiers: String,
}

/// The customer columns, in [`CustomerRecord`]'s order.
pub const CUSTOMER_COLUMNS: &str = "id, name, email, plan, billing_interval, status, delinquent, period_anchor, \
     trial_ends_at, stripe_customer_id, metadata, created_at, updated_at, plan_since, reserved_tiers";

/// Reserved capacity of one customer, by meter, as stored: decimals as exact strings.
pub type ReservedTiers = BTreeMap<String, StoredReserved>;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredReserved {
    pub reserved: u64,
    pub tiers: Vec<StoredTier>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredTier {
    pub threshold: u64,
    pub price_per_unit: String,
    pub stripe_item: Option<String>,
}

impl CustomerRecord {
    /// The customer's reserved capacity as the core prices it. Only `set_reserved_tiers` writes
    /// it, after validation, so an unreadable entry means the stored row was damaged.
    pub fn reserved(&self) -> Result<BTreeMap<String, ReservedMeter>, StoreError> {
        let damaged = |why: String| {
            StoreError::Corrupt(format!("customer {}'s reserved tiers: {why}", self.id))
        };
        // Most customers reserve nothing: no parse on the entitlement path for them.
        if self.reserved_tiers == "{}" {
            return Ok(BTreeMap::new());
        }
        let stored: ReservedTiers =
            serde_json::from_str(&self.reserved_tiers).map_err(|e| damaged(e.to_string()))?;
        stored
            .into_iter()
            .map(|(meter, r)| {
                let tiers = r
                    .tiers
                    .iter()
                    .map(|t| {
                        Ok(OverageTier {
                            threshold: t.threshold,
                            price_per_unit: t.price_per_unit.parse().map_err(|_| {
                                damaged(format!("`{}` is no decimal", t.price_per_unit))
                            })?,
                            stripe_item: t.stripe_item.clone(),
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                Ok((
                    meter,
                    ReservedMeter {
                        reserved: r.reserved,
                        tiers,
                    },
                ))
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct NewCustomer {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub plan: Option<String>,
    pub billing_interval: String,
    pub status: String,
    pub period_anchor: i64,
    pub trial_ends_at: Option<i64>,
    pub metadata: String,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    Created(CustomerRecord),
    Existing(CustomerRecord),
}

#[derive(Debug, Clone)]
pub struct PlanChange {
    pub customer: String,
    pub plan: Option<String>,
    pub billing_interval: String,
    pub status: String,
    pub period_anchor: i64,
    pub trial_ends_at: Option<i64>,
    /// A new billing period starts at `period_anchor` (even when the anchor is the same hour).
    pub new_period: bool,
    /// When the change took effect (a Stripe event's time for webhooks), at most `now`.
    pub at: i64,
    pub now: i64,
}

/// A change of plan or interval, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PlanChangeRecord {
    pub id: String,
    pub customer_id: String,
    pub at: i64,
    pub previous_plan: Option<String>,
    pub previous_interval: String,
    /// The anchor of the period the change closed, when it started a new one.
    pub previous_anchor: Option<i64>,
    pub plan: Option<String>,
    pub billing_interval: String,
}

/// Replace a customer's reserved capacity (JSON of [`ReservedTiers`]).
#[derive(Debug, Clone)]
pub struct ReservedWrite {
    pub customer: String,
    pub reserved_tiers: String,
    pub now: i64,
}

#[derive(Debug, Clone)]
pub struct StripeLink {
    pub customer: String,
    pub stripe_customer_id: String,
    pub now: i64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Page<'a> {
    pub limit: i64,
    pub starting_after: Option<&'a str>,
}

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

/// The meter a snapshot counts, and how it aggregates (what the ledger must read for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted<'a> {
    pub meter: &'a str,
    pub aggregation: Aggregation,
}

/// The state a decision is made on.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When (app clock) the figures were read.
    pub loaded_at: i64,
    pub customer: CustomerRecord,
    /// The meter's usage in the window of each kind containing now (all values).
    pub in_window: BTreeMap<Window, Tally>,
    /// The meter's usage over the whole billing period (all values, whatever plan changes).
    pub period_total: Tally,
    /// The meter's billable usage (since the plan's billing began: see
    /// [`crate::core::period::billable_from`]) in the month window containing now and in the
    /// billing period, per priced dimension value ('' = none).
    pub month_by_value: BTreeMap<String, Tally>,
    pub period_by_value: BTreeMap<String, Tally>,
    pub grants: Vec<Grant>,
    /// For a `unique` meter's request: its value is counted already in the month window.
    pub value_counted: bool,
}

/// What `consume` should do after deciding.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub decision: Decision,
    /// Credits to burn (0 for none).
    pub credits: u64,
    /// The quantity to record instead of the event's (a gauge records its new level).
    pub record_quantity: Option<u64>,
}

pub type Decide = Box<dyn FnOnce(&Snapshot) -> Verdict + Send>;

pub struct ConsumeRequest {
    pub customer: String,
    /// The event to append when allowed; its meter is the one the snapshot covers. A closure
    /// may set its quantity from the snapshot (a gauge records its new level).
    pub event: Option<NewEvent>,
    pub meter: Option<(String, Aggregation)>,
    pub now: i64,
    pub decide: Decide,
}

#[derive(Debug, Clone)]
pub enum Consumed {
    UnknownCustomer,
    /// The idempotency key was used before: nothing was consumed again.
    Duplicate {
        event_id: String,
    },
    Decided {
        verdict: Box<Verdict>,
        event_id: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GrantRecord {
    pub id: String,
    pub customer_id: String,
    pub credits: i64,
    pub remaining: i64,
    pub priority: i64,
    pub expires_at: Option<i64>,
    pub source: String,
    pub description: Option<String>,
    pub idempotency_key: Option<String>,
    pub created_at: i64,
}

impl GrantRecord {
    pub fn to_core(&self) -> Grant {
        Grant {
            id: self.id.clone(),
            remaining: u64::try_from(self.remaining).unwrap_or(0),
            priority: u32::try_from(self.priority).unwrap_or(u32::MAX),
            expires_at: self.expires_at,
            created_at: self.created_at,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewGrant {
    pub id: String,
    pub customer: String,
    pub credits: i64,
    pub priority: i64,
    pub expires_at: Option<i64>,
    pub source: String,
    pub description: Option<String>,
    pub idempotency_key: Option<String>,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Granted {
    Granted(GrantRecord),
    Duplicate(GrantRecord),
    UnknownCustomer,
}

/// Add credits (`credits > 0`, a new grant) or take them back (`credits < 0`, from `grant_id` or
/// in burn order; `0` with a `grant_id`: all the grant still holds).
#[derive(Debug, Clone)]
pub struct NewAdjustment {
    pub id: String,
    pub customer: String,
    pub credits: i64,
    pub grant_id: Option<String>,
    pub reason: String,
    pub idempotency_key: Option<String>,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AdjustmentRecord {
    pub id: String,
    pub customer_id: String,
    /// Signed: what was added or taken back.
    pub credits: i64,
    /// The grant made (added) or taken from (one named grant).
    pub grant_id: Option<String>,
    pub reason: String,
    pub idempotency_key: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adjusted {
    Adjusted(AdjustmentRecord),
    Duplicate(AdjustmentRecord),
    UnknownCustomer,
    UnknownGrant,
    /// Taking back more than there is: nothing was taken.
    Insufficient {
        balance: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CreditEntryRecord {
    pub id: String,
    pub customer_id: String,
    pub grant_id: String,
    pub kind: String,
    pub credits: i64,
    pub event_id: Option<String>,
    pub created_at: i64,
}

/// Take up to `limit` events due for Stripe (pending, due by `now`) and push them out to
/// `lease_until`, so no other sender takes them meanwhile.
#[derive(Debug, Clone, Copy)]
pub struct OutboxClaim {
    pub now: i64,
    pub lease_until: i64,
    pub limit: i64,
}

/// A claimed event with what sending it needs.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxEvent {
    pub id: String,
    pub customer_id: String,
    pub meter: String,
    pub quantity: i64,
    pub occurred_at: i64,
    pub dimensions: String,
    pub stripe_attempts: i64,
    pub stripe_customer_id: Option<String>,
}

/// What became of a claimed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboxOutcome {
    /// Stripe holds it.
    Sent { id: String, at: i64 },
    /// Not delivered yet: due again at `next_at`. `attempted` is false when nothing was sent
    /// (the customer has no Stripe customer yet).
    Retry {
        id: String,
        next_at: i64,
        error: String,
        attempted: bool,
    },
    /// Stripe refused it for good.
    Failed { id: String, error: String },
}

/// Put a customer's `failed` events between `from` and `to` (of one meter, or all) back in the
/// outbox, due at once.
#[derive(Debug, Clone)]
pub struct Requeue {
    pub customer: String,
    pub meter: Option<String>,
    pub from: i64,
    pub to: i64,
}

/// A customer's events in a range by Stripe state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxSummary {
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    /// Events the ledger alone bills (never sent).
    pub ledger_only: i64,
    pub oldest_pending_at: Option<i64>,
    /// The newest reason an event is not delivered (pending or failed).
    pub last_error: Option<String>,
}
