//! Catalog and reserved tiers to Stripe, through a real MCP client against the Stripe test server:
//! the dry-run plan on the seeds' examples, exactly what applying creates at Stripe, a second
//! apply that changes nothing, changes and removals, progress notifications; `selling` sells a
//! synced plan through a payment link or a Checkout session.

mod catalog;
mod reserved;
mod selling;

use crate::support::stripe::StripeServer;

fn posts(stripe: &StripeServer) -> usize {
    stripe.seen().iter().filter(|r| r.method == "POST").count()
}

fn meter_id(stripe: &StripeServer, event_name: &str) -> String {
    stripe
        .objects("meter")
        .iter()
        .find(|m| m["event_name"] == event_name)
        .map(|m| m["id"].as_str().unwrap().to_string())
        .unwrap()
}
