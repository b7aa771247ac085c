//! Tools as a user sees them: exact prices, clear errors, windows that reset, plans that apply
//! at once.

use serde_json::json;

use crate::support::{Backend, HOUR, Harness, NOW};

#[tokio::test]
async fn graduated_sub_cent_quote_and_invoice_match_a_hand_computation() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    // plan `metered`: 0.5¢ a call up to 10,000, then 0.25¢.
    c.ok(
        "create_customer",
        json!({"customer": "acme", "plan": "metered"}),
    )
    .await;
    c.ok(
        "record_usage",
        json!({"customer": "acme", "meter": "tool_calls", "quantity": 9_999}),
    )
    .await;
    let q = c
        .ok(
            "quote_price",
            json!({"customer": "acme", "meter": "tool_calls", "quantity": 3}),
        )
        .await;
    // before: 9,999 × 0.5 = 4,999.5 → 5,000; after: 10,000 × 0.5 + 2 × 0.25 = 5,000.5 → 5,001
    assert_eq!(q["amount"]["amount"], 1);
    assert_eq!(q["lines"][0]["quantity"], 1);
    assert_eq!(q["lines"][0]["amount"], "0.5");
    assert_eq!(q["lines"][1]["quantity"], 2);
    assert_eq!(q["lines"][1]["amount"], "0.5");
    c.ok(
        "record_usage",
        json!({"customer": "acme", "meter": "tool_calls", "quantity": 2_346}),
    )
    .await;
    let inv = c.ok("preview_invoice", json!({"customer": "acme"})).await;
    // 12,345 calls: 10,000 × 0.5 + 2,345 × 0.25 = 5,000 + 586.25 = 5,586.25 → $55.86
    assert_eq!(inv["total"]["amount"], 5_586);
    assert_eq!(inv["total"]["display"], "55.86");
    let calls = inv["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["meter"] == "tool_calls")
        .unwrap();
    assert_eq!(calls["tiers"][1]["amount"], "586.25");
}

#[tokio::test]
async fn volume_tiers_and_per_tool_prices_match_a_hand_computation() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    // plan `per_call`: volume 50¢ (1–99), 40¢ (100–999), 30¢ (1,000+); ai-image-generator $2.
    c.ok(
        "create_customer",
        json!({"customer": "acme", "plan": "per_call"}),
    )
    .await;
    let q = c
        .ok(
            "quote_price",
            json!({"plan": "per_call", "meter": "tool_calls", "quantity": 150}),
        )
        .await;
    assert_eq!(q["amount"]["amount"], 150 * 40);
    c.ok(
        "record_usage",
        json!({"customer": "acme", "meter": "tool_calls", "quantity": 99}),
    )
    .await;
    let crossing = c
        .ok(
            "quote_price",
            json!({"customer": "acme", "meter": "tool_calls", "quantity": 1}),
        )
        .await;
    assert_eq!(
        crossing["amount"]["amount"],
        4_000 - 4_950,
        "the 100th call moves all calls to 40¢"
    );
    c.ok("record_usage", json!({"customer": "acme", "meter": "tool_calls", "quantity": 3, "dimensions": {"tool": "ai-image-generator"}})).await;
    let tool_quote = c.ok("quote_price", json!({"customer": "acme", "meter": "tool_calls", "tool": "ai-image-generator", "quantity": 2})).await;
    assert_eq!(tool_quote["amount"]["amount"], 400);
    let inv = c.ok("preview_invoice", json!({"customer": "acme"})).await;
    assert_eq!(inv["total"]["amount"], 99 * 50 + 3 * 200);
}

#[tokio::test]
async fn bad_input_is_a_tool_error_with_a_code_and_the_server_keeps_serving() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    c.ok("create_customer", json!({"customer": "acme"})).await;
    let cases = [
        (
            json!({"customer": "acme", "meter": "tool_calls", "quantity": -1}),
            "invalid_params",
            "quantity",
        ),
        (
            json!({"customer": "nobody", "meter": "tool_calls", "quantity": 1}),
            "unknown_customer",
            "create_customer",
        ),
        (
            json!({"customer": "acme", "meter": "nope", "quantity": 1}),
            "unknown_meter",
            "tool_calls",
        ),
        (
            json!({"customer": "x".repeat(10 * 1024 * 1024), "meter": "tool_calls", "quantity": 1}),
            "invalid_params",
            "128",
        ),
        (
            json!({"customer": "acme", "meter": "tool_calls", "quantity": "five"}),
            "invalid_params",
            "quantity",
        ),
        (
            json!({"customer": "acme", "meter": "tool_calls", "quantity": 1, "extra": true}),
            "invalid_params",
            "unknown field",
        ),
        (
            json!({"customer": "acme", "meter": "tool_calls", "quantity": 1, "timestamp": "yesterday"}),
            "invalid_params",
            "RFC 3339",
        ),
        (
            json!({"customer": "acme", "meter": "tool_calls", "quantity": 1, "timestamp": "0001-01-01T00:00:00Z"}),
            "invalid_params",
            "35 days",
        ),
        (
            json!({"customer": "acme", "meter": "tool_calls"}),
            "invalid_params",
            "quantity",
        ),
    ];
    for (args, code, hint) in cases {
        let (got, message) = c.err("record_usage", args).await;
        assert_eq!(got, code);
        assert!(
            message.contains(hint),
            "`{message}` should mention `{hint}`"
        );
        assert!(message.len() < 1000, "errors stay short");
    }
    let (code, _) = c
        .err(
            "check_entitlement",
            json!({"customer": "nobody", "feature": "tool_calls"}),
        )
        .await;
    assert_eq!(code, "unknown_customer");
    let (code, _) = c
        .err(
            "check_entitlement",
            json!({"customer": "acme", "feature": "teleport"}),
        )
        .await;
    assert_eq!(code, "unknown_feature");
    let (code, _) = c
        .err(
            "set_customer_plan",
            json!({"customer": "acme", "plan": "platinum"}),
        )
        .await;
    assert_eq!(code, "unknown_plan");
    let (code, _) = c
        .err("grant_credits", json!({"customer": "acme", "credits": 0}))
        .await;
    assert_eq!(code, "invalid_params");
    // still serving
    assert_eq!(
        c.ok(
            "record_usage",
            json!({"customer": "acme", "meter": "tool_calls", "quantity": 1})
        )
        .await["status"],
        "recorded"
    );
}

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

#[tokio::test]
async fn credits_burn_in_priority_then_expiry_order() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    c.ok(
        "create_customer",
        json!({"customer": "acme", "plan": "credits"}),
    )
    .await;
    let late = c
        .ok("grant_credits", json!({"customer": "acme", "credits": 10}))
        .await;
    let soon = c
        .ok(
            "grant_credits",
            json!({"customer": "acme", "credits": 4, "expires_at": "2026-11-22T00:00:00Z"}),
        )
        .await;
    let again = c.ok("grant_credits", json!({"customer": "acme", "credits": 4, "expires_at": "2026-11-22T00:00:00Z", "idempotency_key": "x"})).await;
    let dup = c
        .ok(
            "grant_credits",
            json!({"customer": "acme", "credits": 4, "idempotency_key": "x"}),
        )
        .await;
    assert_eq!(
        (dup["status"].as_str(), dup["grant_id"].clone()),
        (Some("duplicate"), again["grant_id"].clone())
    );
    assert_eq!(dup["balance"], 18);
    // ai-image-generator costs 5 credits: burns the two expiring grants (4 + 1) first
    let r = c.ok("check_entitlement", json!({"customer": "acme", "feature": "tool_calls", "tool": "ai-image-generator", "consume": true})).await;
    assert_eq!(r["cost"]["credits"], 5);
    let b = c
        .ok("get_credit_balance", json!({"customer": "acme"}))
        .await;
    assert_eq!(b["balance"], 13);
    let remaining = |id: &serde_json::Value| {
        b["grants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["grant_id"] == *id)
            .unwrap()["remaining"]
            .clone()
    };
    assert_eq!(
        remaining(&late["grant_id"]),
        10,
        "the grant without expiry burns last"
    );
    assert_eq!(
        remaining(&soon["grant_id"]).as_i64().unwrap()
            + remaining(&again["grant_id"]).as_i64().unwrap(),
        3
    );
    h.set_now(NOW + 24 * HOUR);
    assert_eq!(
        c.ok("get_credit_balance", json!({"customer": "acme"}))
            .await["balance"],
        10,
        "expired credits stop counting"
    );
}

#[tokio::test]
async fn usage_and_customers_page_with_cursors() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    for id in ["a", "b", "c"] {
        c.ok("create_customer", json!({"customer": id})).await;
    }
    let page = c.ok("list_customers", json!({"limit": 2})).await;
    assert_eq!(
        (page["has_more"].as_bool(), page["next_cursor"].as_str()),
        (Some(true), Some("b"))
    );
    let rest = c
        .ok("list_customers", json!({"limit": 2, "starting_after": "b"}))
        .await;
    assert_eq!(
        (
            rest["customers"][0]["customer"].as_str(),
            rest["has_more"].as_bool()
        ),
        (Some("c"), Some(false))
    );
    let batch: Vec<_> = (0..25)
        .map(|i| json!({"customer": "a", "meter": "tool_calls", "quantity": i}))
        .collect();
    let recorded = c.ok("record_usage_batch", json!({"events": batch})).await;
    assert_eq!(recorded["recorded"], 25);
    let first = c
        .ok("get_usage", json!({"customer": "a", "limit": 10}))
        .await;
    let second = c
        .ok(
            "get_usage",
            json!({"customer": "a", "limit": 10, "starting_after": first["next_cursor"]}),
        )
        .await;
    let third = c
        .ok(
            "get_usage",
            json!({"customer": "a", "limit": 10, "starting_after": second["next_cursor"]}),
        )
        .await;
    let ids: Vec<String> = [&first, &second, &third]
        .iter()
        .flat_map(|p| p["events"].as_array().unwrap().clone())
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!((ids.len(), third["has_more"].as_bool()), (25, Some(false)));
    let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), 25, "no event on two pages");
    assert_eq!(first["totals"][0]["quantity"], (0..25).sum::<i64>());
}

#[tokio::test]
async fn a_batch_with_one_malformed_event_stores_nothing() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    c.ok("create_customer", json!({"customer": "a"})).await;
    let (code, message) = c
        .err(
            "record_usage_batch",
            json!({"events": [
                {"customer": "a", "meter": "tool_calls", "quantity": 1},
                {"customer": "a", "meter": "nope", "quantity": 1}
            ]}),
        )
        .await;
    assert_eq!(code, "unknown_meter");
    assert!(message.starts_with("event 1:"), "{message}");
    assert_eq!(
        c.ok("get_usage", json!({"customer": "a"})).await["totals"],
        json!([])
    );
}

#[tokio::test]
async fn record_usage_and_check_entitlement_report_the_same_allowance() {
    // 100 calls included; `render` has its own price, so its calls do not use the included ones.
    let h = Harness::with_catalog(
        Backend::Sqlite,
        r#"
[meters.calls]
event_name = "calls"
[features.calls]
meter = "calls"
[plans.p]
features = ["calls"]
at_limit = "charge_overage"
[plans.p.meters.calls]
included = 100
price = { unit_amount = 2 }
tool_prices = { "render" = { unit_amount = 50 } }
"#,
    )
    .await;
    let c = h.client().await;
    c.ok("create_customer", json!({"customer": "acme", "plan": "p"}))
        .await;
    c.ok("record_usage", json!({"customer": "acme", "meter": "calls", "quantity": 30, "dimensions": {"tool": "render"}})).await;
    let recorded = c
        .ok(
            "record_usage",
            json!({"customer": "acme", "meter": "calls", "quantity": 10}),
        )
        .await;
    let checked = c
        .ok(
            "check_entitlement",
            json!({"customer": "acme", "feature": "calls"}),
        )
        .await;
    assert_eq!(recorded["used"], 40, "all calls of the period");
    assert_eq!(
        recorded["remaining"], 90,
        "render's calls are priced on their own"
    );
    assert_eq!(checked["remaining"], recorded["remaining"]);
}
