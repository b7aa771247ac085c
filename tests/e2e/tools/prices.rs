//! Prices and credits matching a hand computation: graduated sub-cent tiers, volume tiers and
//! per-tool prices, credits burned in priority then expiry order.

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
