//! The ledger: customers, append-only usage events (with hourly totals), credit grants and the
//! append-only credit ledger, behind one [`Ledger`] trait (a part per aggregate) with a SQLite and
//! a PostgreSQL backend (the URL scheme picks one). Both backends share their SQL (`ledger.rs` and
//! the file per aggregate it includes, included into each) and their writer: writes go through
//! one task per process that groups concurrent operations into one transaction (one commit for
//! many callers, each answered after the commit; `dispatch.rs` runs each), and every consume locks
//! its customer first, so limits and credits hold across processes too. API keys and the audit
//! log (`access.rs`, [`AccessLedger`]), Stripe webhooks (`webhooks.rs`: events, the order of
//! events per object, invoices and payment methods) and retention (`retention.rs`: old raw
//! records removed in batches) share the same writer.

mod cache;
pub mod postgres;
pub mod sqlite;
mod types;
mod writer;

use std::sync::Arc;

pub use cache::TTL_MS as CACHE_TTL_MS;
pub use types::*;

/// A storage failure the caller cannot fix by changing its input.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the ledger writer has stopped")]
    WriterGone,
    #[error("unsupported database URL `{0}`: use sqlite://FILE or postgres://…")]
    UnsupportedUrl(String),
    #[error("the ledger transaction failed: {0}")]
    Batch(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// A list's `starting_after` names no row that list, with its filters, could have returned.
    #[error("unknown cursor")]
    UnknownCursor,
}

/// API keys and the audit log.
#[async_trait::async_trait]
pub trait AccessLedger: Send + Sync {
    async fn write_key(&self, write: KeyWrite) -> Result<KeyOutcome, StoreError>;
    async fn get_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError>;
    async fn list_keys(&self, query: KeyQuery) -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Queue an entry; it commits with the writer's next transaction, so the caller never waits
    /// for it (a crash in the few milliseconds before that commit loses it).
    async fn append_audit(&self, entry: AuditEntry) -> Result<(), StoreError>;
    /// Store an entry and answer once it has committed (or failed to).
    async fn record_audit(&self, entry: AuditEntry) -> Result<(), StoreError>;
    /// Entries newest first, after every entry queued before the call has committed.
    async fn list_audit(&self, query: AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;
}

/// Stripe writes made with a caller's idempotency key, kept beyond Stripe's 24 hours.
#[async_trait::async_trait]
pub trait StripeWriteLedger: Send + Sync {
    /// Keep the first record of a tool and key; answers the record that stands (an earlier one
    /// when another call recorded it first).
    async fn record_stripe_write(&self, write: StripeWrite) -> Result<StripeWrite, StoreError>;
    async fn get_stripe_write(
        &self,
        tool: &str,
        idempotency_key: &str,
    ) -> Result<Option<StripeWrite>, StoreError>;
}

/// Sign-up flows.
#[async_trait::async_trait]
pub trait OnboardingLedger: Send + Sync {
    /// Insert a flow or merge it into the stored one (step results, once set, stay); answers the
    /// flow that stands.
    async fn save_onboarding(&self, flow: OnboardingRecord)
    -> Result<OnboardingRecord, StoreError>;
    async fn get_onboarding(&self, id: &str) -> Result<Option<OnboardingRecord>, StoreError>;
    /// The flows of an email (lower case), oldest first.
    async fn onboardings_of(&self, email: &str) -> Result<Vec<OnboardingRecord>, StoreError>;
}

/// Everything the services need from storage, one trait per aggregate. Each method is one atomic
/// use case.
pub trait Ledger:
    CustomerLedger
    + UsageLedger
    + EntitlementLedger
    + HoldLedger
    + CreditLedger
    + OutboxLedger
    + WebhookLedger
    + AccessLedger
    + OnboardingLedger
    + StripeWriteLedger
    + InsightsLedger
    + RetentionLedger
{
    fn backend(&self) -> &'static str;
}

/// Customers: their plan, status and period, personal fields, reserved capacity, Stripe link and
/// erasure.
#[async_trait::async_trait]
pub trait CustomerLedger: Send + Sync {
    async fn create_customer(&self, customer: NewCustomer) -> Result<Created, StoreError>;
    async fn get_customer(&self, id: &str) -> Result<Option<CustomerRecord>, StoreError>;
    /// Customers by id; deleted ones only with `include_deleted`.
    async fn list_customers(
        &self,
        page: Page<'_>,
        include_deleted: bool,
    ) -> Result<Vec<CustomerRecord>, StoreError>;
    async fn change_plan(&self, change: PlanChange) -> Result<Option<CustomerRecord>, StoreError>;
    /// Link a Stripe customer (kept if one is linked already); `None` for an unknown customer.
    async fn link_stripe(&self, link: StripeLink) -> Result<Option<CustomerRecord>, StoreError>;
    /// Change a customer's name, email or metadata (merged under its lock).
    async fn change_customer(&self, change: CustomerChange) -> Result<Changed, StoreError>;
    /// Erase a customer's personal fields and mark it deleted, keeping every money record;
    /// `None` for an unknown customer.
    async fn erase_customer(&self, erasure: CustomerErasure) -> Result<Option<Erased>, StoreError>;
    /// Changes of plan or interval between `from` and `to`, oldest first.
    async fn plan_changes(
        &self,
        customer: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<PlanChangeRecord>, StoreError>;
    /// Replace a customer's reserved capacity; `None` for an unknown customer.
    async fn set_reserved(
        &self,
        write: ReservedWrite,
    ) -> Result<Option<CustomerRecord>, StoreError>;
    async fn customer_by_stripe(
        &self,
        stripe_customer_id: &str,
    ) -> Result<Option<CustomerRecord>, StoreError>;
}

/// Usage events, appended once each, and the usage read back from them.
#[async_trait::async_trait]
pub trait UsageLedger: Send + Sync {
    /// Append events; each answers recorded, duplicate (with the first event's id) or unknown customer.
    async fn record_usage(&self, events: Vec<NewEvent>) -> Result<Vec<Recorded>, StoreError>;
    /// Usage per meter and priced dimension value between `from` (inclusive) and `to`
    /// (exclusive), exact to the millisecond.
    async fn usage_totals(
        &self,
        customer: &str,
        from: i64,
        to: i64,
    ) -> Result<UsageTotals, StoreError>;
    async fn list_events(&self, query: EventQuery) -> Result<Vec<UsageEventRecord>, StoreError>;
}

/// The state entitlement decisions are made on, and the check that records what it allows.
#[async_trait::async_trait]
pub trait EntitlementLedger: Send + Sync {
    /// Check and record atomically: `decide` sees the customer's state under its lock.
    async fn consume(&self, request: ConsumeRequest) -> Result<Consumed, StoreError>;
    /// The same state `consume` shows `decide`, read without locking or writing; served from the
    /// in-process cache when fresh (`cache.rs` says why that stays exact).
    async fn snapshot(
        &self,
        customer: &str,
        meter: Option<Counted<'_>>,
        now: i64,
    ) -> Result<Option<Arc<Snapshot>>, StoreError>;
    /// Whether a `unique` meter's `value` occurred between `from` and `to`.
    async fn value_counted(
        &self,
        customer: &str,
        meter: &str,
        value: &str,
        from: i64,
        to: i64,
    ) -> Result<bool, StoreError>;
}

/// Holds: units and credits reserved for calls in flight (see `holds.rs`).
#[async_trait::async_trait]
pub trait HoldLedger: Send + Sync {
    /// Decide and, when allowed, store a hold atomically (like a consumption).
    async fn place_hold(&self, request: HoldRequest) -> Result<Placed, StoreError>;
    /// End a hold and consume the actual quantity in one step.
    async fn settle_hold(&self, request: SettleRequest) -> Result<Settled, StoreError>;
    /// Release a hold, and whether this call released it; `None` when the customer has no
    /// such hold.
    async fn release_hold(
        &self,
        request: ReleaseRequest,
    ) -> Result<Option<(HoldRecord, bool)>, StoreError>;
    async fn get_hold(&self, customer: &str, id: &str) -> Result<Option<HoldRecord>, StoreError>;
}

/// Credit grants and the append-only credit ledger.
#[async_trait::async_trait]
pub trait CreditLedger: Send + Sync {
    /// Credits burned by usage events between `from` and `to`, per meter.
    async fn credits_burned(
        &self,
        customer: &str,
        from: i64,
        to: i64,
    ) -> Result<std::collections::BTreeMap<String, u64>, StoreError>;
    async fn grant_credits(&self, grant: NewGrant) -> Result<Granted, StoreError>;
    async fn adjust_credits(&self, adjustment: NewAdjustment) -> Result<Adjusted, StoreError>;
    /// Write off what expired grants still hold (an `expiry` entry each, once).
    async fn expire_credits(&self, customer: &str, now: i64) -> Result<u64, StoreError>;
    async fn credit_grants(&self, customer: &str) -> Result<Vec<GrantRecord>, StoreError>;
    async fn credit_entries(
        &self,
        customer: &str,
        limit: i64,
    ) -> Result<Vec<CreditEntryRecord>, StoreError>;
}

/// The outbox of usage events Stripe is to receive.
#[async_trait::async_trait]
pub trait OutboxLedger: Send + Sync {
    /// Claim events due for Stripe (see [`OutboxClaim`]); oldest due first.
    async fn claim_outbox(&self, claim: OutboxClaim) -> Result<Vec<OutboxEvent>, StoreError>;
    /// Put failed events back in the outbox (see [`Requeue`]); answers how many.
    async fn requeue(&self, requeue: Requeue) -> Result<u64, StoreError>;
    /// Record what became of claimed events.
    async fn settle_outbox(&self, outcomes: Vec<OutboxOutcome>) -> Result<(), StoreError>;
    /// Give up the sender lease `sender` holds (see [`OutboxClaim`]), if it holds it.
    async fn release_sender(&self, sender: &str) -> Result<(), StoreError>;
    /// A customer's events between `from` and `to` by Stripe state.
    async fn outbox_summary(
        &self,
        customer: &str,
        from: i64,
        to: i64,
    ) -> Result<OutboxSummary, StoreError>;
    /// A customer's events between `from` and `to` per meter and Stripe state.
    async fn outbox_by_meter(
        &self,
        customer: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<MeterDelivery>, StoreError>;
}

/// Stripe webhook events and what they say of a customer's Stripe account.
#[async_trait::async_trait]
pub trait WebhookLedger: Send + Sync {
    /// Store a webhook event unless its id is stored already; returns the stored row and
    /// whether this call stored it.
    async fn receive_webhook(
        &self,
        event: WebhookRecord,
    ) -> Result<(WebhookRecord, bool), StoreError>;
    /// Apply a stored event (see [`WebhookApply`]); `None` when the event is not stored.
    async fn apply_webhook(&self, apply: WebhookApply)
    -> Result<Option<WebhookRecord>, StoreError>;
    async fn get_webhook(&self, id: &str) -> Result<Option<WebhookRecord>, StoreError>;
    /// Newest first.
    async fn list_webhooks(&self, query: WebhookQuery) -> Result<Vec<WebhookRecord>, StoreError>;
    /// A customer's open Stripe invoices and payment method, as webhooks reported them.
    async fn payment_standing(&self, customer: &str) -> Result<PaymentStanding, StoreError>;
}

/// Reads across all customers for the dashboard; every figure is a sum over the ledger's own
/// rows (usage from the hourly totals, so a range costs the same whatever the event count).
#[async_trait::async_trait]
pub trait InsightsLedger: Send + Sync {
    /// Every customer, by id.
    async fn all_customers(&self) -> Result<Vec<CustomerRecord>, StoreError>;
    /// Plan changes of all customers at or after `from`, by customer, oldest first.
    async fn plan_changes_since(&self, from: i64) -> Result<Vec<PlanChangeRecord>, StoreError>;
    /// Status changes of all customers at or after `from`, by customer, oldest first.
    async fn status_changes_since(&self, from: i64) -> Result<Vec<StatusChangeRecord>, StoreError>;
    /// Usage per meter, `tool` value and UTC day over all customers, whole hours in `[from, to)`;
    /// each row's `hour` is the day's first hour in the range (from the rollup the writer keeps:
    /// the cost follows the days, not the events).
    async fn usage_by_hour(&self, from: i64, to: i64) -> Result<Vec<HourUsage>, StoreError>;
    /// Events of each of `customers` over whole hours in `[from, to)`.
    async fn events_of(
        &self,
        customers: &[String],
        from: i64,
        to: i64,
    ) -> Result<Vec<CustomerEvents>, StoreError>;
    /// Paid Stripe invoices (what they collected, when paid) and credit packs bought in
    /// `[from, to)`.
    async fn receipts(
        &self,
        from: i64,
        to: i64,
    ) -> Result<(Vec<Receipt>, Vec<Receipt>), StoreError>;
    /// Credit entries in `[from, to)` by kind, and what live grants hold at `now`.
    async fn credit_flows(&self, from: i64, to: i64, now: i64) -> Result<CreditFlows, StoreError>;
    async fn delivery_health(&self) -> Result<DeliveryHealth, StoreError>;
    /// Each customer's monthly usage pieces that touch its span (a customer once), for the
    /// upcoming invoices of many customers at once.
    async fn usage_pieces(
        &self,
        spans: &[(String, crate::core::period::Span)],
    ) -> Result<Vec<UsagePiece>, StoreError>;
    /// Credits each customer's usage of its span burned, per meter (as `credits_burned`).
    async fn credits_burned_in(
        &self,
        spans: &[(String, crate::core::period::Span)],
    ) -> Result<Vec<Burned>, StoreError>;
    /// The customers with values of a `unique` meter in their span (whose distinct counts the
    /// pieces do not hold).
    async fn distinct_customers(
        &self,
        spans: &[(String, crate::core::period::Span)],
    ) -> Result<Vec<String>, StoreError>;
    /// The live grants (credits remaining) of every customer.
    async fn live_grants_all(&self) -> Result<Vec<GrantRecord>, StoreError>;
    /// A customer's events in `[from, to)` (exact to the millisecond) per UTC day, meter, `tool`
    /// value and whether they failed.
    async fn usage_by_day(
        &self,
        customer: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<DayUsage>, StoreError>;
}

/// Retention: removing old raw records while keeping what the tools read of them (see
/// [`EventRemoval`]), and what the runs did.
#[async_trait::async_trait]
pub trait RetentionLedger: Send + Sync {
    /// Whether the customer has events `removal` would take (read without the writer).
    async fn has_removable_events(&self, removal: &EventRemoval) -> Result<bool, StoreError>;
    /// Remove up to `removal.limit` of them; answers how many went.
    async fn remove_events(&self, removal: EventRemoval) -> Result<u64, StoreError>;
    /// Clear the payloads of processed and ignored webhook events received before the cutoff.
    async fn clear_webhook_payloads(&self, cutoff: Cutoff) -> Result<u64, StoreError>;
    async fn remove_audit(&self, cutoff: Cutoff) -> Result<u64, StoreError>;
    /// Add a run to its kind's row (its cutoff and time replace the last run's).
    async fn record_retention_run(&self, run: RetentionRun) -> Result<(), StoreError>;
    async fn retention_runs(&self) -> Result<Vec<RetentionRun>, StoreError>;
    /// The time of the customer's oldest usage event still stored.
    async fn oldest_event(&self, customer: &str) -> Result<Option<i64>, StoreError>;
}

pub type Store = Arc<dyn Ledger>;

/// Open (and migrate) the ledger named by `url`.
pub async fn open(url: &str) -> Result<Store, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::Backend::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::Backend::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_string()))
    }
}

/// Apply migrations only (the `migrate` command).
pub async fn migrate(url: &str) -> Result<&'static str, StoreError> {
    Ok(open(url).await?.backend())
}
