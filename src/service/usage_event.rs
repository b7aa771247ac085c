//! A usage event as a call describes it: the meter (known to the catalog), the quantity
//! (bounded), the dimensions, and the time (from the last 35 days, as Stripe takes meter
//! events, to a few minutes ahead), checked and turned into the ledger's new event.

use crate::core::text::quote;
use std::collections::BTreeMap;

use super::{App, BillingError};
use crate::core::period::{parse_rfc3339, rfc3339};
use crate::core::usage::Aggregation;
use crate::ids::new_id;
use crate::store::{Counted, NewEvent};

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
