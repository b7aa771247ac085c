//! `record_usage` and `record_usage_batch`: append events (one, or up to 1,000 in one durable
//! commit) and answer where the customer stands against its plan's limit. Recording never
//! waits on anything but the ledger's commit.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::{App, BillingError};
use crate::core::period::rfc3339;
use crate::store::Recorded;

pub use super::usage_event::*;
pub use super::usage_report::*;

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
        _ => return Err(app.refused_customer(&customer).await),
    };
    metrics::counter!("billing_usage_events_total", "status" => status).increment(1);
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
    /// `recorded`, `duplicate`, `unknown_customer` or `customer_deleted` (that event was not
    /// stored).
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
    let customers: Vec<String> = events.iter().map(|e| e.customer.clone()).collect();
    let results = app.store.record_usage(events).await?;
    let refused = refusals(app, &customers, &results).await;
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
                (
                    refused
                        .get(&customers[index])
                        .copied()
                        .unwrap_or("unknown_customer"),
                    None,
                )
            }
        };
        out.events.push(BatchItem {
            index,
            status: status.into(),
            event_id,
        });
    }
    metrics::counter!("billing_usage_events_total", "status" => "recorded")
        .increment(out.recorded as u64);
    metrics::counter!("billing_usage_events_total", "status" => "duplicate")
        .increment(out.duplicates as u64);
    Ok(out)
}

/// The code of each customer the ledger refused events of: `unknown_customer`, or
/// `customer_deleted` (one read per refused customer).
async fn refusals(
    app: &App,
    customers: &[String],
    results: &[Recorded],
) -> BTreeMap<String, &'static str> {
    let mut codes = BTreeMap::new();
    for (customer, result) in customers.iter().zip(results) {
        if matches!(result, Recorded::UnknownCustomer) && !codes.contains_key(customer) {
            let code = app.refused_customer(customer).await.code;
            codes.insert(customer.clone(), code);
        }
    }
    codes
}
