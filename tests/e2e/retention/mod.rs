//! Retention: old usage events removed once delivered and billed while every figure of their
//! period stays (totals, invoice preview, usage statistics, credits, the dashboard) and a late
//! retry with a removed event's key is still a duplicate; undelivered, unbilled and recent events
//! kept; webhook payloads cleared while a redelivery is still a duplicate; old audit entries
//! removed; two processes removing at once on one ledger; the binary's flags.

mod processes;
mod records;
mod usage;

use std::sync::Arc;
use std::time::Duration;

use billing_mcp::access::limits::RoleRates;
use billing_mcp::service::App;
use billing_mcp::service::retention::RetentionSettings;
use billing_mcp::store;
use billing_mcp::stripe::{Payments, Retry, StripeSettings};
use serde_json::{Value, json};

use crate::support::{Client, Harness, fixed_clock};

/// Windows of `days` for every kind, in batches of 7 rows (so a run takes several).
fn keeping(days: u32) -> RetentionSettings {
    RetentionSettings {
        usage_events: Some(days),
        webhook_payloads: Some(days),
        audit_log: Some(days),
        batch: 7,
        ..RetentionSettings::default()
    }
}

/// Another server process on `h`'s ledger (its own store, writer and cache), with `h`'s clock and
/// catalog, keeping records as `settings` say; with the Stripe test server at `stripe`, or
/// ledger-only.
async fn process(h: &Harness, settings: RetentionSettings, stripe: Option<&str>) -> Arc<App> {
    let store = store::open(&h._db.url).await.unwrap();
    let app = App::with(
        store,
        (*h.app.catalog).clone(),
        fixed_clock(h.now.clone()),
        RoleRates::default(),
    )
    .with_retention(settings);
    Arc::new(match stripe {
        Some(url) => app.with_stripe(
            Payments::connect(&StripeSettings {
                secret_key: crate::support::stripe::KEY.to_string().into(),
                api_base: Some(url.to_string()),
                account: None,
                allow_live: false,
                retry: Retry {
                    attempts: 3,
                    backoff: Duration::from_millis(1),
                },
                meter_events_base: None,
            })
            .unwrap(),
        ),
        None => app,
    })
}

/// A client of a server on `app` (its retention settings are what `get_billing_status` shows).
async fn client_of(h: &Harness, app: &Arc<App>) -> Client {
    h.client_of(billing_mcp::transport::Shared {
        app: Arc::clone(app),
        ..h.shared()
    })
    .await
}

/// The customer's current billing period, `{start, end}`.
async fn period(c: &Client, customer: &str) -> Value {
    c.ok("get_billing_status", json!({"customer": customer}))
        .await["current_period"]
        .clone()
}
