//! Plans over time: freemium windows that deny then reset, a plan change applied to the next
//! check, and a trial that bills nothing before included units and overage.

use serde_json::json;

use crate::support::{Backend, HOUR, Harness, NOW};

#[tokio::test]
async fn freemium_windows_deny_then_reset_with_time() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    c.ok(
        "create_customer",
        json!({"customer": "acme", "plan": "free"}),
    )
    .await;
    let consume = json!({"customer": "acme", "feature": "tool_calls", "consume": true});
    for _ in 0..5 {
        assert_eq!(
            c.ok("check_entitlement", consume.clone()).await["allowed"],
            true
        );
    }
    let denied = c.ok("check_entitlement", consume.clone()).await;
    assert_eq!(
        (denied["reason"].as_str(), denied["window"].as_str()),
        (Some("quota_exceeded"), Some("hour"))
    );
    assert_eq!(denied["upgrade"]["plan"], "professional");
    assert_eq!(denied["resets_at"], "2026-11-21T11:00:00.000Z");
    h.set_now(NOW + HOUR);
    for _ in 0..5 {
        assert_eq!(
            c.ok("check_entitlement", consume.clone()).await["allowed"],
            true,
            "a new hour"
        );
    }
    h.set_now(NOW + 2 * HOUR);
    let day = c.ok("check_entitlement", consume.clone()).await;
    assert_eq!(
        (
            day["reason"].as_str(),
            day["window"].as_str(),
            day["limit"].as_u64()
        ),
        (Some("quota_exceeded"), Some("day"), Some(10))
    );
    let status = c
        .ok(
            "record_usage",
            json!({"customer": "acme", "meter": "tool_calls", "quantity": 0}),
        )
        .await;
    assert_eq!(
        (status["used"].as_u64(), status["remaining"].as_u64()),
        (Some(10), Some(0))
    );
}

#[tokio::test]
async fn a_plan_change_applies_to_the_next_check() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    c.ok(
        "create_customer",
        json!({"customer": "acme", "plan": "starter"}),
    )
    .await;
    let premium = json!({"customer": "acme", "feature": "premium_tools"});
    assert_eq!(
        c.ok("check_entitlement", premium.clone()).await["reason"],
        "feature_not_in_plan"
    );
    c.ok(
        "set_customer_plan",
        json!({"customer": "acme", "plan": "professional"}),
    )
    .await;
    assert_eq!(
        c.ok("check_entitlement", premium.clone()).await["allowed"],
        true
    );
    c.ok(
        "set_customer_plan",
        json!({"customer": "acme", "plan": "professional", "status": "past_due"}),
    )
    .await;
    assert_eq!(
        c.ok("check_entitlement", premium.clone()).await["reason"],
        "payment_overdue"
    );
    let status = c
        .ok("get_billing_status", json!({"customer": "acme"}))
        .await;
    assert_eq!(status["is_delinquent"], true);
    c.ok(
        "set_customer_plan",
        json!({"customer": "acme", "plan": "professional", "status": "canceled"}),
    )
    .await;
    assert_eq!(
        c.ok("check_entitlement", premium).await["reason"],
        "subscription_inactive"
    );
}

#[tokio::test]
async fn a_trial_bills_nothing_then_included_units_and_overage_show_in_status_and_invoice() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    c.ok(
        "create_customer",
        json!({"customer": "acme", "plan": "starter", "interval": "month"}),
    )
    .await;
    let check = c
        .ok(
            "check_entitlement",
            json!({"customer": "acme", "feature": "tool_calls", "quantity": 1200}),
        )
        .await;
    assert_eq!(check["allowed"], true);
    assert_eq!(
        check["cost"]["amount"]["amount"], 0,
        "Stripe bills no usage during a trial"
    );
    let quote = c
        .ok(
            "quote_price",
            json!({"customer": "acme", "meter": "tool_calls", "quantity": 1200}),
        )
        .await;
    assert_eq!(quote["amount"]["amount"], 0, "{quote}");
    c.ok(
        "record_usage",
        json!({"customer": "acme", "meter": "tool_calls", "quantity": 1250}),
    )
    .await;
    let trial = c.ok("preview_invoice", json!({"customer": "acme"})).await;
    assert_eq!(trial["in_trial"], true);
    assert_eq!(
        (
            trial["period"]["start"].as_str(),
            trial["period"]["end"].as_str()
        ),
        (
            Some("2026-11-21T10:00:00.000Z"),
            Some("2026-12-05T11:00:00.000Z")
        ),
        "the trial is a period of its own, from sign-up to its end"
    );
    assert_eq!(trial["total"]["amount"], 0, "{trial}");
    let usage = trial["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "usage")
        .unwrap();
    assert_eq!(
        (
            usage["quantity"].as_u64(),
            usage["amount"]["amount"].as_i64()
        ),
        (Some(1250), Some(0))
    );

    h.set_now(NOW + 15 * 24 * HOUR); // the 14-day trial is over: a paid period began at its end
    let status = c
        .ok("get_billing_status", json!({"customer": "acme"}))
        .await;
    assert_eq!(status["status"], "active", "{status}");
    c.ok(
        "record_usage",
        json!({"customer": "acme", "meter": "tool_calls", "quantity": 1200}),
    )
    .await;
    let check = c
        .ok(
            "check_entitlement",
            json!({"customer": "acme", "feature": "tool_calls", "quantity": 1}),
        )
        .await;
    assert_eq!(check["cost"]["amount"]["amount"], 5);
    assert_eq!(
        (check["used"].as_u64(), check["limit"].as_u64()),
        (Some(1200), Some(1000))
    );
    let inv = c.ok("preview_invoice", json!({"customer": "acme"})).await;
    assert_eq!(inv["in_trial"], false);
    assert_eq!(
        inv["total"]["amount"],
        2_900 + 200 * 5,
        "the base fee and the 200 calls above the 1,000 included, not the trial's: {inv}"
    );
    assert_eq!(
        c.ok("get_billing_status", json!({"customer": "acme"}))
            .await["next_invoice_amount"]["amount"],
        3_900
    );
}
