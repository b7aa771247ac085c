//! Usage: append events (one or a batch of up to 1,000, one durable commit), and read totals and
//! events back. Recording never waits on anything but the ledger's commit.

use crate::core::text::quote;
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::{App, BillingError, PageInfo, PeriodView};
use crate::core::period::{Span, parse_rfc3339, rfc3339};
use crate::core::usage::Aggregation;
use crate::ids::new_id;
use crate::store::{Counted, EventQuery, NewEvent, Recorded};

/// Largest quantity one event may carry (keeps every sum far from overflow).
pub const MAX_QUANTITY: u64 = 1_000_000_000_000;
/// Most events one batch may carry.
pub const MAX_BATCH: usize = 1000;
const MAX_DIMENSIONS: usize = 16;
const FUTURE_SLACK_MS: i64 = 5 * 60_000;
/// Oldest usage the ledger takes: Stripe refuses meter events older than 35 days, so older usage
/// could be billed by the ledger but never reach Stripe.
pub const MAX_AGE_DAYS: i64 = 35;

#[derive(Debug, Clone, Default)]
pub struct UsageInput {
    pub customer: String,
    pub meter: String,
    pub quantity: u64,
    pub timestamp: Option<String>,
    pub dimensions: BTreeMap<String, String>,
    pub idempotency_key: Option<String>,
}

impl App {
    pub fn check_meter(&self, meter: &str) -> Result<(), BillingError> {
        if self.catalog.meters.contains_key(meter) {
            return Ok(());
        }
        let known: Vec<&str> = self.catalog.meters.keys().map(String::as_str).collect();
        Err(BillingError::new(
            "unknown_meter",
            format!(
                "meter `{meter}` is not in the catalog; use one of: {}",
                known.join(", ")
            ),
        )
        .with("known_meters", known))
    }

    /// Validate one usage input and turn it into an event to append.
    pub fn event_from(&self, input: UsageInput, now: i64) -> Result<NewEvent, BillingError> {
        self.check_meter(&input.meter)?;
        self.new_event(input, now)
    }

    /// The meter a snapshot counts, with its aggregation (`None` for no meter).
    pub fn counted<'a>(&self, meter: Option<&'a str>) -> Option<Counted<'a>> {
        meter.map(|m| Counted {
            meter: m,
            aggregation: self
                .catalog
                .meters
                .get(m)
                .map_or(Aggregation::Sum, |x| x.aggregation),
        })
    }

    /// An event from validated parts (the meter is checked by the caller; a boolean feature's
    /// own counter is no catalog meter). The ledger keeps the meter's priced dimension value
    /// apart, and a `unique` meter's counted value.
    pub fn new_event(&self, input: UsageInput, now: i64) -> Result<NewEvent, BillingError> {
        let meter = self.catalog.meters.get(&input.meter);
        let priced = meter.map_or("tool", |m| m.price_dimension.as_str());
        let distinct = match meter.and_then(|m| m.unique.as_deref()) {
            Some(dimension) => Some(input.dimensions.get(dimension).cloned().ok_or_else(|| {
                BillingError::invalid(format!(
                    "meter `{}` counts distinct values of `{dimension}`: give dimensions.{dimension}",
                    input.meter
                ))
            })?),
            None => None,
        };
        let priced_value = input.dimensions.get(priced).cloned().unwrap_or_default();
        let mut event = new_event(input, now)?;
        event.tool = priced_value;
        event.distinct = distinct;
        // Usage of a meter Stripe can mirror goes to Stripe; the rest the ledger alone bills.
        event.to_stripe =
            meter.is_some_and(|m| super::sync::desired::formula(m.aggregation).is_some());
        Ok(event)
    }
}

/// An event from validated parts, its priced value taken from the `tool` dimension.
fn new_event(input: UsageInput, now: i64) -> Result<NewEvent, BillingError> {
    if input.quantity > MAX_QUANTITY {
        return Err(BillingError::invalid(format!(
            "quantity {} is above the maximum of {MAX_QUANTITY} per event; split it",
            input.quantity
        )));
    }
    let occurred_at = match &input.timestamp {
        Some(t) => parse_rfc3339(t).ok_or_else(|| {
            BillingError::invalid(format!(
                "timestamp `{}` is not RFC 3339; use e.g. 2026-11-21T10:00:00Z",
                quote(t)
            ))
        })?,
        None => now,
    };
    if occurred_at > now + FUTURE_SLACK_MS {
        return Err(BillingError::invalid(format!(
            "timestamp {} is in the future; usage is recorded when it happened",
            rfc3339(occurred_at)
        )));
    }
    if occurred_at < now - MAX_AGE_DAYS * 86_400_000 {
        return Err(BillingError::invalid(format!(
            "timestamp {} is more than {MAX_AGE_DAYS} days ago; Stripe takes no meter event older than that, so usage is recorded from the last {MAX_AGE_DAYS} days up to 5 minutes ahead",
            rfc3339(occurred_at)
        )));
    }
    if input.dimensions.len() > MAX_DIMENSIONS {
        return Err(BillingError::invalid(format!(
            "at most {MAX_DIMENSIONS} dimensions per event"
        )));
    }
    if let Some((k, _)) = input
        .dimensions
        .iter()
        .find(|(k, v)| k.len() > 64 || v.len() > 256 || k.is_empty())
    {
        return Err(BillingError::invalid(format!(
            "dimension `{}` is too long: keys take 1–64 characters, values up to 256",
            quote(k)
        )));
    }
    let dimensions = serde_json::to_string(&input.dimensions)
        .map_err(|e| BillingError::invalid(e.to_string()))?;
    Ok(NewEvent {
        id: new_id("evt"),
        tool: input.dimensions.get("tool").cloned().unwrap_or_default(),
        customer: input.customer,
        meter: input.meter,
        quantity: i64::try_from(input.quantity)
            .map_err(|_| BillingError::invalid("quantity is too large"))?,
        occurred_at,
        dimensions,
        idempotency_key: input.idempotency_key,
        recorded_at: now,
        distinct: None,
        to_stripe: true,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct UsageRecorded {
    pub event_id: String,
    /// `recorded`, or `duplicate` when the idempotency_key was seen before (event_id is then the first event's).
    pub status: String,
    pub customer: String,
    pub meter: String,
    /// Units of this meter in the current billing period, this event included.
    pub used: u64,
    /// The plan's tightest limit on this meter (or its included units), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<String>,
}

pub async fn record(app: &App, input: UsageInput) -> Result<UsageRecorded, BillingError> {
    let now = app.now();
    let event = app.event_from(input, now)?;
    let (customer, meter) = (event.customer.clone(), event.meter.clone());
    let result = app.store.record_usage(vec![event]).await?.pop();
    let (event_id, status) = match result {
        Some(Recorded::Recorded { id }) => (id, "recorded"),
        Some(Recorded::Duplicate { id }) => (id, "duplicate"),
        _ => return Err(BillingError::unknown_customer(&customer)),
    };
    let allowance = super::entitlements::allowance(app, &customer, &meter, now).await?;
    Ok(UsageRecorded {
        event_id,
        status: status.into(),
        customer,
        meter,
        used: allowance.period_used,
        limit: allowance.limit,
        remaining: allowance.remaining,
        resets_at: allowance.resets_at.map(rfc3339),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BatchItem {
    /// Position of the event in the request (0-based).
    pub index: usize,
    /// `recorded`, `duplicate` or `unknown_customer` (that event was not stored).
    pub status: String,
    pub event_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BatchRecorded {
    pub recorded: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub events: Vec<BatchItem>,
}

pub async fn record_batch(
    app: &App,
    inputs: Vec<UsageInput>,
) -> Result<BatchRecorded, BillingError> {
    if inputs.is_empty() || inputs.len() > MAX_BATCH {
        return Err(BillingError::invalid(format!(
            "a batch takes 1 to {MAX_BATCH} events (got {}); split larger ones",
            inputs.len()
        )));
    }
    let now = app.now();
    let mut events = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.into_iter().enumerate() {
        let event = app.event_from(input, now).map_err(|mut e| {
            e.message = format!(
                "event {i}: {}; nothing in this batch was recorded",
                e.message
            );
            e.with("index", i)
        })?;
        events.push(event);
    }
    let results = app.store.record_usage(events).await?;
    let mut out = BatchRecorded {
        recorded: 0,
        duplicates: 0,
        rejected: 0,
        events: Vec::with_capacity(results.len()),
    };
    for (index, r) in results.into_iter().enumerate() {
        let (status, event_id) = match r {
            Recorded::Recorded { id } => {
                out.recorded += 1;
                ("recorded", Some(id))
            }
            Recorded::Duplicate { id } => {
                out.duplicates += 1;
                ("duplicate", Some(id))
            }
            Recorded::UnknownCustomer => {
                out.rejected += 1;
                ("unknown_customer", None)
            }
        };
        out.events.push(BatchItem {
            index,
            status: status.into(),
            event_id,
        });
    }
    Ok(out)
}

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
    let period = super::customers::period_of(record, app.now())?;
    let parse = |t: Option<&str>, default: i64| match t {
        Some(t) => parse_rfc3339(t).ok_or_else(|| {
            BillingError::invalid(format!(
                "`{}` is not RFC 3339; use e.g. 2026-11-01T00:00:00Z",
                quote(t)
            ))
        }),
        None => Ok(default),
    };
    let range = Span {
        start: parse(from, period.start)?,
        end: parse(to, period.end)?,
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
