//! What an answer charges: never less than nothing, an upgrade link for a denied free customer,
//! and credits that expire once, are taken back never below zero and show on the invoice.

use serde_json::json;

use super::{amount, lines, record};
use crate::support::{Backend, DAY, Harness, NOW, backends};

#[tokio::test]
async fn no_entitlement_answer_costs_less_than_nothing() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    c.ok(
        "create_customer",
        json!({"customer": "acme", "plan": "per_call"}),
    )
    .await;
    record(&c, "acme", "tool_calls", 99).await;
    let crossing = c
        .ok(
            "check_entitlement",
            json!({"customer": "acme", "feature": "tool_calls", "quantity": 1}),
        )
        .await;
    assert_eq!(
        amount(&crossing["cost"]),
        40,
        "the 100th call at the 40¢ tier"
    );
    assert_eq!(crossing["cost"]["total_before"]["amount"], 99 * 50);
    assert_eq!(crossing["cost"]["total_after"]["amount"], 100 * 40);
    for q in [1, 5, 900, 901, 2000] {
        let a = c
            .ok(
                "check_entitlement",
                json!({"customer": "acme", "feature": "tool_calls", "quantity": q}),
            )
            .await;
        assert!(amount(&a["cost"]) >= 0, "{a}");
    }
}

#[tokio::test]
async fn a_denied_free_customer_gets_a_link_to_upgrade() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    c.ok("create_customer", json!({"customer": "ops@acme.io"}))
        .await;
    for _ in 0..5 {
        c.ok(
            "check_entitlement",
            json!({"customer": "ops@acme.io", "feature": "tool_calls", "consume": true}),
        )
        .await;
    }
    let denied = c
        .ok(
            "check_entitlement",
            json!({"customer": "ops@acme.io", "feature": "tool_calls"}),
        )
        .await;
    assert_eq!(denied["allowed"], false);
    assert_eq!(
        denied["upgrade"]["url"],
        "https://example.com/upgrade?customer=ops%40acme.io&plan=professional"
    );
    let status = c
        .ok("get_billing_status", json!({"customer": "ops@acme.io"}))
        .await;
    assert_eq!(status["plan"], "free");
}

#[tokio::test]
async fn credits_expire_once_are_taken_back_never_below_zero_and_show_on_the_invoice() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let c = h.client().await;
        c.ok(
            "create_customer",
            json!({"customer": "acme", "plan": "credits"}),
        )
        .await;
        c.ok(
            "grant_credits",
            json!({"customer": "acme", "credits": 100, "expires_at": "2026-11-22T10:30:00Z"}),
        )
        .await;
        let keep = c
            .ok(
                "grant_credits",
                json!({"customer": "acme", "credits": 50, "priority": 60}),
            )
            .await["grant_id"]
            .as_str()
            .unwrap()
            .to_string();
        for _ in 0..2 {
            let used = c
                .ok(
                    "check_entitlement",
                    json!({"customer": "acme", "feature": "tool_calls", "tool": "ai-image-generator", "consume": true}),
                )
                .await;
            assert_eq!(used["cost"]["credits"], 5, "{used}");
        }
        let inv = c.ok("preview_invoice", json!({"customer": "acme"})).await;
        let paid = lines(&inv, "credits");
        assert_eq!(
            (
                paid.len(),
                paid[0]["credits"].as_u64(),
                paid[0]["quantity"].as_u64(),
                amount(paid[0])
            ),
            (1, Some(10), Some(2), 0),
            "{backend:?}: usage paid with credits is on the invoice at 0: {inv}"
        );

        h.set_now(NOW + 2 * DAY);
        for _ in 0..2 {
            let b = c
                .ok("get_credit_balance", json!({"customer": "acme"}))
                .await;
            assert_eq!(b["balance"], 50);
            let expiries: Vec<i64> = b["recent_entries"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["kind"] == "expiry")
                .map(|e| e["credits"].as_i64().unwrap())
                .collect();
            assert_eq!(expiries, vec![-90], "{backend:?}: written off once: {b}");
        }
        let (code, message) = c
            .err(
                "adjust_credits",
                json!({"customer": "acme", "credits": -60, "reason": "correction"}),
            )
            .await;
        assert_eq!(code, "insufficient_credits", "{message}");
        let refund = json!({"customer": "acme", "grant_id": keep, "reason": "pack refunded", "idempotency_key": "refund-1"});
        let taken = c.ok("adjust_credits", refund.clone()).await;
        assert_eq!(
            (taken["credits"].as_i64(), taken["balance"].as_u64()),
            (Some(-50), Some(0)),
            "{taken}"
        );
        let again = c.ok("adjust_credits", refund).await;
        assert_eq!(
            (again["status"].as_str(), again["balance"].as_u64()),
            (Some("duplicate"), Some(0))
        );
        let goodwill = c
            .ok(
                "adjust_credits",
                json!({"customer": "acme", "credits": 20, "reason": "goodwill"}),
            )
            .await;
        assert_eq!(goodwill["balance"], 20, "{backend:?}");
    }
}
