//! Retention: how long raw records are kept (`--retention-days` and its per-kind overrides), and
//! the background task that removes older ones, once at start and then every hour, in batches of
//! a few hundred rows through the ledger writer (so it never holds the writer for long).
//!
//! - **Usage events** go only when older than their window, delivered to Stripe (`sent`, or
//!   `ledger`: usage Stripe never gets; without a Stripe key, `pending` ones older than the 35
//!   days Stripe would take them), and billed: before the earliest time the customer's upcoming
//!   invoice reads (its current period, or the period a change at its start closed early), and
//!   marked billed by a paid invoice unless the customer has no draft or open Stripe invoice.
//!   Their usage stays: the hourly totals (every period, invoice, limit and dashboard figure), the
//!   hours by outcome for `get_usage_stats`, their debits' meter and time, and their idempotency
//!   keys, so a retry however late stays a duplicate.
//! - **Webhook payloads** of processed and ignored events are cleared; the row (id, type, status,
//!   outcome) stays, so a redelivery is still a duplicate. Failed and unfinished events keep
//!   theirs for `retry_webhook_event`.
//! - **Audit entries** are removed.
//!
//! Several server processes may run it on one ledger at once: each removal locks what it removes
//! (the customer, or the rows with `SKIP LOCKED`), so nothing fails and nothing counts twice.

use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::terms::period_of;
use super::usage_event::MAX_AGE_DAYS;
use super::{App, BillingError};
use crate::core::period::{DAY_MS, rfc3339};
use crate::store::{
    CustomerRecord, Cutoff, EventRemoval, Page, RetentionKind, RetentionRun, StoreError,
};

/// How long each kind of raw record is kept, in days (`None`: forever), and how the task runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionSettings {
    pub usage_events: Option<u32>,
    pub webhook_payloads: Option<u32>,
    pub audit_log: Option<u32>,
    /// Time between runs.
    pub every: Duration,
    /// Rows one writer transaction removes at most.
    pub batch: i64,
}

impl Default for RetentionSettings {
    /// Everything kept.
    fn default() -> RetentionSettings {
        RetentionSettings {
            usage_events: None,
            webhook_payloads: None,
            audit_log: None,
            every: Duration::from_secs(3600),
            batch: 500,
        }
    }
}

impl RetentionSettings {
    pub fn days(&self, kind: RetentionKind) -> Option<u32> {
        match kind {
            RetentionKind::UsageEvents => self.usage_events,
            RetentionKind::WebhookPayloads => self.webhook_payloads,
            RetentionKind::AuditLog => self.audit_log,
        }
    }

    /// Whether anything is ever removed.
    pub fn removes_anything(&self) -> bool {
        RetentionKind::ALL.iter().any(|k| self.days(*k).is_some())
    }
}

/// What one run removed, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub usage_events: u64,
    pub webhook_payloads: u64,
    pub audit_log: u64,
}

/// Run until `cancel` fires: once now, then every `settings.every`. A failed run is logged and
/// the next one tries again.
pub async fn run(app: Arc<App>, cancel: CancellationToken) {
    tracing::info!(
        usage_events_days = ?app.retention.usage_events,
        webhook_payloads_days = ?app.retention.webhook_payloads,
        audit_log_days = ?app.retention.audit_log,
        "retention started"
    );
    loop {
        match prune(&app).await {
            Ok(p) if p == Pruned::default() => tracing::debug!("retention found nothing to remove"),
            Ok(p) => tracing::info!(
                usage_events = p.usage_events,
                webhook_payloads = p.webhook_payloads,
                audit_log = p.audit_log,
                "retention removed old records"
            ),
            Err(e) => tracing::error!(error = %e.message, "retention run failed"),
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep(app.retention.every) => {}
        }
    }
}

/// The start of the hour `days` before `now`: records before it are past the window.
fn window_start(now: i64, days: u32) -> i64 {
    let at = now.saturating_sub(i64::from(days).saturating_mul(DAY_MS));
    at.div_euclid(3_600_000) * 3_600_000
}

/// One run over every kind that has a window.
pub async fn prune(app: &App) -> Result<Pruned, BillingError> {
    let now = app.now();
    let settings = &app.retention;
    let mut pruned = Pruned::default();
    for kind in RetentionKind::ALL {
        let Some(days) = settings.days(kind) else {
            continue;
        };
        let cutoff = window_start(now, days);
        let removed = match kind {
            RetentionKind::UsageEvents => prune_events(app, cutoff, now).await?,
            RetentionKind::WebhookPayloads => {
                batches(
                    settings.batch,
                    |c| app.store.clear_webhook_payloads(c),
                    cutoff,
                )
                .await?
            }
            RetentionKind::AuditLog => {
                batches(settings.batch, |c| app.store.remove_audit(c), cutoff).await?
            }
        };
        match kind {
            RetentionKind::UsageEvents => pruned.usage_events = removed,
            RetentionKind::WebhookPayloads => pruned.webhook_payloads = removed,
            RetentionKind::AuditLog => pruned.audit_log = removed,
        }
        metrics::counter!("billing_retention_removed_total", "kind" => kind.as_str())
            .increment(removed);
        app.store
            .record_retention_run(RetentionRun {
                kind: kind.as_str().to_string(),
                cutoff,
                ran_at: now,
                removed: i64::try_from(removed).unwrap_or(i64::MAX),
                removed_total: 0,
            })
            .await?;
    }
    Ok(pruned)
}

/// Batches of `step` until one takes fewer than a batch.
async fn batches<F, Fut>(batch: i64, step: F, before: i64) -> Result<u64, StoreError>
where
    F: Fn(Cutoff) -> Fut,
    Fut: std::future::Future<Output = Result<u64, StoreError>>,
{
    let mut total = 0_u64;
    loop {
        let n = step(Cutoff {
            before,
            limit: batch,
        })
        .await?;
        total = total.saturating_add(n);
        if n < u64::try_from(batch).unwrap_or(0) {
            return Ok(total);
        }
    }
}

/// Every customer's removable events, a customer at a time.
async fn prune_events(app: &App, window: i64, now: i64) -> Result<u64, BillingError> {
    // Without a Stripe key nothing sends pending events, and Stripe would refuse them once past
    // its 35 days should a key come later.
    let pending_before = match app.stripe {
        Some(_) => i64::MIN,
        None => now.saturating_sub(MAX_AGE_DAYS * DAY_MS),
    };
    let mut total = 0_u64;
    let mut after: Option<String> = None;
    loop {
        let page = app
            .store
            .list_customers(
                Page {
                    limit: 100,
                    starting_after: after.as_deref(),
                },
                // A deleted customer's raw events go like anyone's: its totals stay.
                true,
            )
            .await?;
        let Some(last) = page.last() else {
            return Ok(total);
        };
        after = Some(last.id.clone());
        for record in &page {
            let removed = prune_customer(app, record, window, pending_before, now).await;
            match removed {
                Ok(n) => total = total.saturating_add(n),
                // One customer's unreadable terms do not keep the others' events.
                Err(e) if e.code != "internal_error" => {
                    tracing::warn!(customer = %record.id, error = %e.message, "retention skipped a customer");
                }
                Err(e) => return Err(e),
            }
        }
    }
}

async fn prune_customer(
    app: &App,
    record: &CustomerRecord,
    window: i64,
    pending_before: i64,
    now: i64,
) -> Result<u64, BillingError> {
    let period = period_of(record, now)?;
    let mut removal = EventRemoval {
        customer: record.id.clone(),
        before: window.min(period.start),
        pending_before,
        limit: app.retention.batch,
    };
    if !app.store.has_removable_events(&removal).await? {
        return Ok(0);
    }
    // The upcoming invoice may read further back (a period a change closed early).
    removal.before = removal
        .before
        .min(super::invoice::usage_from(app, record, now).await?);
    let mut total = 0_u64;
    loop {
        let n = app.store.remove_events(removal.clone()).await?;
        total = total.saturating_add(n);
        if n < u64::try_from(removal.limit).unwrap_or(0) {
            return Ok(total);
        }
    }
}

/// What `get_billing_status` says of retention for one customer.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RetentionView {
    /// Days this server keeps raw usage events once billed and delivered (null: forever). Their
    /// usage stays in the hourly totals, so no period's figures change.
    pub usage_events_days: Option<u32>,
    /// Days the payload of a processed or ignored Stripe webhook event is kept (null: forever);
    /// the event's id, type, status and outcome stay.
    pub webhook_payloads_days: Option<u32>,
    /// Days audit entries are kept (null: forever).
    pub audit_log_days: Option<u32>,
    /// The time of this customer's oldest usage event still kept.
    pub oldest_event_kept: Option<String>,
    /// This customer's usage events removed so far, and the newest time among them.
    pub events_removed: u64,
    pub events_removed_through: Option<String>,
    /// When usage events were last looked at for removal, by any server process on the ledger.
    pub last_run_at: Option<String>,
}

pub async fn view(app: &App, record: &CustomerRecord) -> Result<RetentionView, BillingError> {
    let last_run = app
        .store
        .retention_runs()
        .await?
        .into_iter()
        .find(|r| r.kind == RetentionKind::UsageEvents.as_str());
    let settings = &app.retention;
    Ok(RetentionView {
        usage_events_days: settings.usage_events,
        webhook_payloads_days: settings.webhook_payloads,
        audit_log_days: settings.audit_log,
        oldest_event_kept: app.store.oldest_event(&record.id).await?.map(rfc3339),
        events_removed: u64::try_from(record.events_removed).unwrap_or(0),
        events_removed_through: (record.events_removed > 0)
            .then(|| rfc3339(record.removed_through)),
        last_run_at: last_run.map(|r| rfc3339(r.ran_at)),
    })
}
