//! `get_usage`: a customer's totals per meter over a range (its current period unless given)
//! and its events, newest first, a page at a time, with where each stands on its way to Stripe.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::{App, BillingError, PageInfo, PeriodView};
use crate::core::period::{Span, rfc3339};
use crate::core::usage::Aggregation;
use crate::store::EventQuery;

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct UsageTotalView {
    pub meter: String,
    /// The value of the meter's priced dimension (`tool` unless the meter names another), when
    /// the events had one; a `unique` meter has one row for all values.
    pub tool: Option<String>,
    /// The meter's quantity over the range by its aggregation (sum, count, max, last or the
    /// number of distinct values).
    pub quantity: u64,
    /// Events counted.
    pub events: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct UsageEventView {
    pub event_id: String,
    pub meter: String,
    pub quantity: i64,
    pub timestamp: String,
    pub dimensions: BTreeMap<String, String>,
    pub idempotency_key: Option<String>,
    pub recorded_at: String,
    /// Where the event stands as a Stripe meter event.
    pub stripe: StripeDelivery,
}

/// An event's delivery to Stripe: `pending` (not sent yet, or being retried), `sent` (Stripe
/// holds it), `failed` (Stripe refused it for good: `error` says why) or `ledger` (usage the
/// ledger alone bills — a `max` or `unique` meter, a boolean feature — never sent).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct StripeDelivery {
    pub state: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub sent_at: Option<String>,
    /// The paid Stripe invoice that billed the event (set by `invoice.paid`).
    pub invoice: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct UsageReport {
    pub customer: String,
    /// The range reported: the current billing period unless `from`/`to` were given.
    pub range: PeriodView,
    /// Totals per meter and priced dimension value over the range, exact to the millisecond.
    pub totals: Vec<UsageTotalView>,
    /// Events in the range, newest first.
    pub events: Vec<UsageEventView>,
    /// Set when retention removed events of this customer in the range: those up to this time
    /// are no longer listed (the totals still count them).
    pub events_removed_through: Option<String>,
    #[serde(flatten)]
    pub page: PageInfo,
}

#[derive(Debug, Clone, Default)]
pub struct UsageQuery {
    pub customer: String,
    pub meter: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: u32,
    pub starting_after: Option<String>,
}

/// `from`/`to` (RFC 3339) as a span, each defaulting to the customer's current billing period.
pub fn range_of(
    app: &App,
    record: &crate::store::CustomerRecord,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Span, BillingError> {
    let period = super::terms::period_of(record, app.now())?;
    let range = Span {
        start: super::terms::time_or(from, period.start)?,
        end: super::terms::time_or(to, period.end)?,
    };
    if range.end <= range.start {
        return Err(BillingError::invalid("`to` must be after `from`"));
    }
    Ok(range)
}

pub async fn report(app: &App, q: UsageQuery) -> Result<UsageReport, BillingError> {
    if let Some(m) = &q.meter {
        app.check_meter(m)?;
    }
    let record = app.customer(&q.customer).await?;
    let range = range_of(app, &record, q.from.as_deref(), q.to.as_deref())?;
    let mut totals = Vec::new();
    for (meter, by_value) in app
        .store
        .usage_totals(&q.customer, range.start, range.end)
        .await?
    {
        if q.meter.as_ref().is_some_and(|m| *m != meter) {
            continue;
        }
        let aggregation = app
            .counted(Some(&meter))
            .map_or(Aggregation::Sum, |c| c.aggregation);
        if !aggregation.combines() {
            let all = crate::core::usage::merged(by_value.values());
            totals.push(UsageTotalView {
                meter,
                tool: None,
                quantity: all.value(aggregation),
                events: all.count,
            });
            continue;
        }
        for (value, t) in by_value {
            totals.push(UsageTotalView {
                meter: meter.clone(),
                tool: (!value.is_empty()).then_some(value),
                quantity: t.value(aggregation),
                events: t.count,
            });
        }
    }
    let limit = i64::from(q.limit.clamp(1, 100));
    let mut rows = app
        .store
        .list_events(EventQuery {
            customer: q.customer.clone(),
            meter: q.meter.clone(),
            from: range.start,
            to: range.end,
            limit: limit + 1,
            starting_after: q.starting_after.clone(),
        })
        .await?;
    let page = PageInfo::cut(&mut rows, limit, |r| r.id.clone());
    Ok(UsageReport {
        events_removed_through: (record.events_removed > 0
            && record.removed_through >= range.start)
            .then(|| rfc3339(record.removed_through)),
        customer: q.customer,
        range: range.into(),
        totals,
        page,
        events: rows
            .into_iter()
            .map(|r| UsageEventView {
                event_id: r.id,
                meter: r.meter,
                quantity: r.quantity,
                timestamp: rfc3339(r.occurred_at),
                dimensions: serde_json::from_str(&r.dimensions).unwrap_or_default(),
                idempotency_key: r.idempotency_key,
                recorded_at: rfc3339(r.recorded_at),
                stripe: StripeDelivery {
                    state: r.stripe_state,
                    attempts: r.stripe_attempts,
                    error: r.stripe_error,
                    sent_at: r.stripe_sent_at.map(rfc3339),
                    invoice: r.billed_invoice,
                },
            })
            .collect(),
    })
}
