//! `reconcile_usage` against the Stripe test server: usage not sent yet is named as pending,
//! delivered usage is in agreement, an event Stripe dropped is named `missing_at_stripe` with the
//! exact quantity, and the upcoming invoice is compared with the ledger's preview; without
//! Stripe, or without a Stripe link, the tool says what to do.

use std::time::Duration;

use billing_mcp::service::outbox::{MeterApi, Outbox, OutboxSettings};
use serde_json::{Value, json};

use crate::support::stripe::StripeServer;
use crate::support::{Backend, Client, Harness, backends};

fn outbox(api: MeterApi) -> Outbox {
    Outbox::new(OutboxSettings {
        api,
        per_second: std::num::NonZeroU32::new(10_000).unwrap(),
        backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(8),
        ..OutboxSettings::default()
    })
}

async fn record(c: &Client, meter: &str, quantity: u64) {
    c.ok(
        "record_usage",
        json!({"customer": "acme", "meter": meter, "quantity": quantity, "dimensions": {"tool": "search"}}),
    )
    .await;
}

/// The row of `meter` in a reconciliation.
fn meter<'a>(r: &'a Value, meter: &str) -> &'a Value {
    r["meters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["meter"] == meter)
        .unwrap_or_else(|| panic!("no row for {meter}: {r}"))
}

#[tokio::test]
async fn reconcile_usage_agrees_after_delivery_and_names_the_event_stripe_dropped() {
    for backend in backends() {
        for api in [MeterApi::Stream, MeterApi::V1] {
            let stripe = StripeServer::start().await;
            let h = Harness::with_stripe(backend, &stripe.url).await;
            let c = h.client().await;
            c.ok("sync_catalog", json!({"dry_run": false})).await;
            c.ok(
                "create_customer",
                json!({"customer": "acme", "plan": "starter"}),
            )
            .await;
            record(&c, "tool_calls", 3).await;
            record(&c, "tool_calls", 4).await;

            let before = c.ok("reconcile_usage", json!({"customer": "acme"})).await;
            assert_eq!(before["status"], "differences", "{api:?} {before}");
            let row = meter(&before, "tool_calls");
            assert_eq!(row["difference"]["reason"], "pending_delivery", "{row}");
            assert_eq!(row["difference"]["quantity"], "-7");
            assert_eq!(row["delivery"]["pending"], 2);

            let out = outbox(api);
            out.send_due(&h.app).await.unwrap();
            let agreed = c.ok("reconcile_usage", json!({"customer": "acme"})).await;
            assert_eq!(
                agreed["status"], "in_agreement",
                "{backend:?} {api:?} {agreed}"
            );
            assert!(
                agreed["summary"]
                    .as_str()
                    .unwrap()
                    .starts_with("Stripe and the ledger agree"),
                "{agreed}"
            );
            let row = meter(&agreed, "tool_calls");
            assert_eq!(row["ledger"], json!({"quantity": 7, "events": 2}));
            assert_eq!(
                row["delivery"],
                json!({"sent": 2, "pending": 0, "failed": 0, "ledger_only": 0, "quantity_sent": 7})
            );
            assert_eq!(row["stripe"]["aggregated_value"], "7");
            assert_eq!(row["difference"]["reason"], "in_agreement");
            assert_eq!(row["difference"]["quantity"], "0");
            assert_eq!(agreed["meters"].as_array().unwrap().len(), 1, "{agreed}");
            assert_eq!(
                agreed["invoices"]["difference"]["reason"],
                "no_subscription"
            );

            // Stripe's summaries were asked for the customer over whole minutes: the window.
            let mtr = row["stripe"]["meter"].as_str().unwrap();
            let asked =
                stripe.requests("GET", &format!("/v1/billing/meters/{mtr}/event_summaries"));
            let last = asked.last().unwrap();
            assert_eq!(last.param("customer"), agreed["stripe_customer"].as_str());
            let start: i64 = last.param("start_time").unwrap().parse().unwrap();
            let end: i64 = last.param("end_time").unwrap().parse().unwrap();
            assert_eq!((start % 60, end % 60), (0, 0));
            let window = &agreed["window"];
            assert_eq!(
                chrono::DateTime::parse_from_rfc3339(window["start"].as_str().unwrap())
                    .unwrap()
                    .timestamp(),
                start
            );
            assert_eq!(last.param("value_grouping_window"), None);

            // Stripe takes the next event and drops it.
            stripe.drop_next_meter_event();
            record(&c, "tool_calls", 5).await;
            out.send_due(&h.app).await.unwrap();
            let dropped = c.ok("reconcile_usage", json!({"customer": "acme"})).await;
            assert_eq!(dropped["status"], "differences", "{dropped}");
            let row = meter(&dropped, "tool_calls");
            assert_eq!(row["difference"]["reason"], "missing_at_stripe", "{row}");
            assert_eq!(row["difference"]["quantity"], "-5");
            assert_eq!(row["ledger"]["quantity"], 12);
            assert_eq!(row["delivery"]["sent"], 3);
            assert_eq!(row["delivery"]["quantity_sent"], 12);
            assert_eq!(row["stripe"]["aggregated_value"], "7");
            assert!(
                dropped["summary"]
                    .as_str()
                    .unwrap()
                    .contains("tool_calls missing_at_stripe (-5)"),
                "{dropped}"
            );
        }
    }
}

/// A plan of $29 a month and 5¢ a call, no trial, nothing included.
const PRO: &str = r#"
currency = "usd"
[meters.calls]
event_name = "calls"
[features.calls]
meter = "calls"
[plans.pro]
name = "Pro"
monthly = 2900
features = ["calls"]
at_limit = "charge_overage"
[plans.pro.meters.calls]
price = { unit_amount = 5 }
"#;

#[tokio::test]
async fn reconcile_usage_compares_the_upcoming_invoice_with_the_ledgers_preview() {
    let stripe = StripeServer::start().await;
    let h = Harness::with_stripe_catalog(Backend::Sqlite, &stripe.url, PRO).await;
    let c = h.client().await;
    c.ok("sync_catalog", json!({"dry_run": false})).await;
    let created = c
        .ok(
            "create_customer",
            json!({"customer": "acme", "plan": "pro"}),
        )
        .await;
    let cus = created["stripe_customer_id"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| {
            stripe.objects("customer")[0]["id"]
                .as_str()
                .unwrap()
                .to_string()
        });
    let sub = stripe.seed_subscription(&cus, &stripe.price_id("pro_monthly"));
    c.ok(
        "update_subscription",
        json!({"subscription": sub, "items": [{"price": stripe.price_id("pro_calls_monthly")}]}),
    )
    .await;
    let draft = c.ok("create_invoice", json!({"customer": "acme"})).await;
    record(&c, "calls", 7).await;
    let out = outbox(MeterApi::Stream);
    out.send_due(&h.app).await.unwrap();

    let agreed = c.ok("reconcile_usage", json!({"customer": "acme"})).await;
    assert_eq!(agreed["status"], "in_agreement", "{agreed}");
    let inv = &agreed["invoices"];
    assert_eq!(inv["subscriptions"], json!([sub]));
    assert_eq!(inv["ledger_preview"]["amount"], 2935);
    assert_eq!(inv["stripe_preview"]["total"]["amount"], 2935);
    assert_eq!(inv["difference"]["reason"], "in_agreement");
    assert_eq!(inv["difference"]["amount"], 0);
    assert_eq!(inv["issued"]["data"][0]["id"], draft["id"], "{inv}");
    assert_eq!(inv["issued"]["data"][0]["status"], "draft");
    let listed = stripe.requests("GET", "/v1/invoices");
    let start = chrono::DateTime::parse_from_rfc3339(agreed["range"]["start"].as_str().unwrap())
        .unwrap()
        .timestamp();
    assert_eq!(
        listed[0].param("created[gte]"),
        Some(start.to_string().as_str())
    );
    assert_eq!(listed[0].param("customer"), Some(cus.as_str()));
    let previews = stripe.requests("POST", "/v1/invoices/create_preview");
    assert_eq!(previews.len(), 1);
    assert_eq!(previews[0].param("subscription"), Some(sub.as_str()));
    assert_eq!(
        previews[0].idempotency_key, None,
        "a preview creates nothing"
    );

    stripe.drop_next_meter_event();
    record(&c, "calls", 1).await;
    out.send_due(&h.app).await.unwrap();
    let differs = c.ok("reconcile_usage", json!({"customer": "acme"})).await;
    assert_eq!(differs["status"], "differences");
    let inv = &differs["invoices"];
    assert_eq!(inv["difference"]["reason"], "amounts_differ", "{inv}");
    assert_eq!(inv["difference"]["amount"], -5);
    assert_eq!(meter(&differs, "calls")["difference"]["quantity"], "-1");
    let summary = differs["summary"].as_str().unwrap();
    assert!(
        summary.contains("calls missing_at_stripe (-1)"),
        "{summary}"
    );
    assert!(
        summary.contains("upcoming invoice amounts_differ (-5 minor units)"),
        "{summary}"
    );
}

#[tokio::test]
async fn reconcile_usage_needs_stripe_and_a_linked_customer() {
    let plain = Harness::new(Backend::Sqlite).await;
    let c = plain.client().await;
    c.ok("create_customer", json!({"customer": "acme"})).await;
    let (code, message) = c.err("reconcile_usage", json!({"customer": "acme"})).await;
    assert_eq!(code, "stripe_not_configured", "{message}");

    let stripe = StripeServer::start().await;
    let h = Harness::with_stripe_on(plain._db.url.clone(), &stripe.url).await;
    let c = h.client().await;
    let (code, message) = c.err("reconcile_usage", json!({"customer": "acme"})).await;
    assert_eq!(code, "customer_not_linked");
    assert!(message.contains("create_customer"), "{message}");
    let (code, _) = c
        .err("reconcile_usage", json!({"customer": "nobody"}))
        .await;
    assert_eq!(code, "unknown_customer");
    let (code, _) = c
        .err(
            "reconcile_usage",
            json!({"customer": "acme", "from": "2026-11-21T11:00:00Z", "to": "2026-11-21T10:00:00Z"}),
        )
        .await;
    assert_eq!(code, "invalid_params");
}
