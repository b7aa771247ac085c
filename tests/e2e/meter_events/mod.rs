//! Usage to Stripe as meter events through the ledger's outbox: recording never waits on Stripe,
//! every event reaches the Stripe test server exactly once through an outage of 500s, 429s and
//! lost answers, and through a server killed mid-send; each event's state shows in `get_usage`
//! and `get_billing_status`; at volume and 200 ms of latency, from two processes, the backlog
//! drains in seconds within the configured rate, and survives two processes killed twice.

mod outages;
mod restart;
mod unsent;
mod volume;

use std::time::Duration;

use billing_mcp::service::outbox::{MeterApi, OutboxSettings};
use serde_json::{Value, json};

use crate::support::Client;

/// Stripe's meter-event paths: v1 (one event per request) and the v2 stream.
const V1: &str = "/v1/billing/meter_events";
const STREAM: &str = "/v2/billing/meter_event_stream";

/// The default (the v2 stream), fast enough for tests.
fn settings() -> OutboxSettings {
    settings_for(MeterApi::Stream)
}

fn settings_for(api: MeterApi) -> OutboxSettings {
    OutboxSettings {
        api,
        per_second: std::num::NonZeroU32::new(10_000).unwrap(),
        backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(8),
        ..OutboxSettings::default()
    }
}

/// Every event of `customer` this period, from `get_usage` (all pages).
async fn events(c: &Client, customer: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut args = json!({"customer": customer, "limit": 100});
        if let Some(a) = &after {
            args["starting_after"] = json!(a);
        }
        let page = c.ok("get_usage", args).await;
        all.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) if page["has_more"] == true => after = Some(next.to_string()),
            _ => return all,
        }
    }
}
