//! Selling a synced catalog plan through a payment link or a Checkout session: its synced
//! prices, exactly as Stripe receives them, and its trial — the plan's days for a new customer,
//! the days left for one in its trial, none for one whose trial has ended.

use serde_json::{Value, json};

use crate::support::stripe::{StripeServer, setup};
use crate::support::{Client, DAY, Harness, NOW, backends};

#[tokio::test]
async fn a_plan_is_sold_with_its_synced_prices_by_link_or_checkout() {
    let (stripe, _h, c) = setup().await;
    c.ok("create_customer", json!({"customer": "acme"})).await;
    let (code, message) = c
        .err(
            "create_payment_link",
            json!({"customer": "acme", "plan": "starter", "interval": "annual"}),
        )
        .await;
    assert_eq!(code, "catalog_not_synced", "{message}");
    assert!(message.contains("sync_catalog"));

    c.ok("sync_catalog", json!({"dry_run": false})).await;
    let price = |key: &str| stripe.price_id(key);
    let link = c
        .ok(
            "create_payment_link",
            json!({"customer": "acme", "plan": "starter", "interval": "annual"}),
        )
        .await;
    assert!(
        link["url"]
            .as_str()
            .unwrap()
            .starts_with("https://buy.stripe.com/")
    );
    assert_eq!(link["metadata"]["billing_mcp_customer"], "acme");
    assert_eq!(link["metadata"]["billing_mcp_plan"], "starter");
    assert!(
        link["note"]
            .as_str()
            .unwrap()
            .contains(&price("starter_tool_calls_yearly"))
    );
    let sent = stripe.requests("POST", "/v1/payment_links").pop().unwrap();
    assert_eq!(
        sent.param("line_items[0][price]"),
        Some(price("starter_yearly").as_str())
    );
    assert_eq!(sent.param("line_items[0][quantity]"), Some("1"));
    assert_eq!(sent.param("line_items[1][price]"), None);
    // starter's 14-day trial, and the tags on the subscription the link starts.
    assert_eq!(
        sent.param("subscription_data[trial_period_days]"),
        Some("14")
    );
    assert_eq!(
        sent.param("subscription_data[metadata][billing_mcp_plan]"),
        Some("starter")
    );
    assert_eq!(
        sent.param("subscription_data[metadata][billing_mcp_customer]"),
        Some("acme")
    );
    assert_eq!(link["trial_days"], 14);

    let session = c
        .ok(
            "create_checkout_session",
            json!({"mode": "subscription", "customer": "acme", "plan": "starter", "interval": "monthly",
                   "success_url": "https://example.com/ok"}),
        )
        .await;
    assert!(session["url"].is_string());
    let sent = stripe
        .requests("POST", "/v1/checkout/sessions")
        .pop()
        .unwrap();
    assert_eq!(
        sent.param("line_items[0][price]"),
        Some(price("starter_monthly").as_str())
    );
    assert_eq!(sent.param("line_items[0][quantity]"), Some("1"));
    assert_eq!(
        sent.param("line_items[1][price]"),
        Some(price("starter_tool_calls_monthly").as_str())
    );
    assert_eq!(
        sent.param("line_items[1][quantity]"),
        None,
        "a usage price takes no quantity"
    );
    assert_eq!(sent.param("metadata[billing_mcp_plan]"), Some("starter"));
    assert_eq!(
        sent.param("subscription_data[trial_period_days]"),
        Some("14")
    );
    assert_eq!(session["trial_days"], 14, "{session}");

    // A plan without a trial sends none.
    c.ok(
        "create_checkout_session",
        json!({"mode": "subscription", "customer": "acme", "plan": "per_call", "interval": "monthly",
               "success_url": "https://example.com/ok"}),
    )
    .await;
    let sent = last(&stripe, "/v1/checkout/sessions");
    assert_eq!(sent.param("subscription_data[trial_period_days]"), None);

    let (code, message) = c
        .err(
            "create_payment_link",
            json!({"plan": "per_call", "interval": "monthly"}),
        )
        .await;
    assert_eq!(code, "invalid_params");
    assert!(message.contains("create_checkout_session"), "{message}");
    let (code, _) = c
        .err(
            "create_payment_link",
            json!({"plan": "per_call", "interval": "yearly"}),
        )
        .await;
    assert_eq!(code, "invalid_params");
}

fn last(stripe: &StripeServer, path: &str) -> crate::support::stripe::Seen {
    stripe.requests("POST", path).pop().unwrap()
}

async fn checkout(c: &Client, customer: &str, plan: &str) -> Value {
    c.ok(
        "create_checkout_session",
        json!({"mode": "subscription", "customer": customer, "plan": plan, "interval": "monthly",
               "success_url": "https://example.com/ok"}),
    )
    .await
}

#[tokio::test]
async fn a_customer_gets_one_trial_the_days_left_of_it_or_none_once_it_ended() {
    for backend in backends() {
        let stripe = StripeServer::start().await;
        let h = Harness::with_stripe(backend, &stripe.url).await;
        let c = h.client().await;
        one_trial(&stripe, &h, &c).await;
    }
}

async fn one_trial(stripe: &StripeServer, h: &Harness, c: &Client) {
    c.ok("sync_catalog", json!({"dry_run": false})).await;
    // Both start on starter's 14-day trial in the ledger.
    for customer in ["globex", "initech"] {
        c.ok(
            "create_customer",
            json!({"customer": customer, "plan": "starter"}),
        )
        .await;
    }
    // Ten days and an hour in: the 3 days 23 hours left are 4 trial days, not 14 more.
    h.set_now(NOW + 10 * DAY + 3_600_000);
    let session = checkout(c, "globex", "professional").await;
    let sent = last(stripe, "/v1/checkout/sessions");
    assert_eq!(
        sent.param("subscription_data[trial_period_days]"),
        Some("4")
    );
    assert_eq!(session["trial_days"], 4);
    assert!(
        session["note"].as_str().unwrap().contains("one trial"),
        "{session}"
    );

    // initech pays from day two (its trial ends then), so a later sale gives no trial.
    h.set_now(NOW + 2 * DAY);
    c.ok(
        "set_customer_plan",
        json!({"customer": "initech", "plan": "starter", "status": "active"}),
    )
    .await;
    let initech = c.ok("get_customer", json!({"customer": "initech"})).await;
    assert_eq!(
        initech["trial_ends_at"], "2026-11-23T10:30:00.000Z",
        "the trial stays on record: {initech}"
    );
    h.set_now(NOW + 20 * DAY);
    let session = checkout(c, "initech", "professional").await;
    let sent = last(stripe, "/v1/checkout/sessions");
    assert_eq!(sent.param("subscription_data[trial_period_days]"), None);
    assert!(session.get("trial_days").is_none(), "{session}");
    assert!(
        session["note"]
            .as_str()
            .unwrap()
            .contains("had one already"),
        "{session}"
    );
    let link = c
        .ok(
            "create_payment_link",
            json!({"customer": "globex", "plan": "starter", "interval": "monthly"}),
        )
        .await;
    let sent = last(stripe, "/v1/payment_links");
    assert_eq!(
        sent.param("subscription_data[trial_period_days]"),
        None,
        "globex's trial ended on day 14"
    );
    assert!(
        link["note"].as_str().unwrap().contains("had one already"),
        "{link}"
    );
}
