//! The figures a billing expert checks by hand, through an MCP client, on both backends: the
//! seeds' worked examples (seed 003's forensics invoice, seed 001's reserved tiers), plan changes
//! with Stripe's prorations, trials, monthly allowances on yearly plans, and costs that are
//! never negative.

mod charges;
mod meters;
mod periods;
mod seeds;

use serde_json::{Value, json};

use crate::support::Client;

/// A customer on `plan` with a period starting now (no trial), so the figures are the plan's.
async fn on_plan(c: &Client, customer: &str, plan: &str, interval: &str) {
    c.ok("create_customer", json!({"customer": customer})).await;
    c.ok(
        "set_customer_plan",
        json!({"customer": customer, "plan": plan, "interval": interval, "status": "active", "reset_period": true}),
    )
    .await;
}

async fn record(c: &Client, customer: &str, meter: &str, quantity: u64) {
    c.ok(
        "record_usage",
        json!({"customer": customer, "meter": meter, "quantity": quantity}),
    )
    .await;
}

fn lines<'a>(invoice: &'a Value, kind: &str) -> Vec<&'a Value> {
    invoice["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == kind)
        .collect()
}

fn amount(v: &Value) -> i64 {
    v["amount"]["amount"].as_i64().unwrap()
}
