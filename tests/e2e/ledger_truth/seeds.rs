//! The seeds' worked examples: seed 003's forensics invoice (the agents' peak, $382.64) and
//! seed 001's reserved tiers ($20 and $5 of overage, not granted again by a plan change).

use serde_json::json;

use super::{amount, lines, on_plan, record};
use crate::support::{HOUR, Harness, NOW, RESERVED_JSON, backends};

#[tokio::test]
async fn seed_003_forensics_invoice_bills_the_agents_peak_and_totals_382_64() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let c = h.client().await;
        on_plan(&c, "jeturing", "forensics", "month").await;
        record(&c, "jeturing", "agents", 3).await;
        h.set_now(NOW + HOUR);
        record(&c, "jeturing", "agents", 5).await;
        record(&c, "jeturing", "cases", 1).await;
        record(&c, "jeturing", "cases", 1).await;
        record(&c, "jeturing", "events_ingested", 1234).await;
        record(&c, "jeturing", "api_calls", 2500).await;
        let inv = c
            .ok("preview_invoice", json!({"customer": "jeturing"}))
            .await;
        let agents = lines(&inv, "usage")
            .into_iter()
            .find(|l| l["meter"] == "agents")
            .unwrap();
        assert_eq!(
            (agents["quantity"].as_u64(), amount(agents)),
            (Some(5), 5 * 5000),
            "{backend:?}: a max meter bills the peak, 5 agents, not 3 + 5: {agents}"
        );
        // $100 base + 2 × $10 + 1,234 × 1¢ + ⌈2,500 / 1,000⌉ × 10¢ + 5 × $50
        assert_eq!(
            inv["total"]["amount"],
            10_000 + 2_000 + 1_234 + 30 + 25_000,
            "{backend:?}: {inv}"
        );
        assert_eq!(inv["total"]["display"], "382.64");
        let usage = c
            .ok(
                "get_usage",
                json!({"customer": "jeturing", "meter": "agents"}),
            )
            .await;
        assert_eq!(usage["totals"][0]["quantity"], 5, "{backend:?}: {usage}");
        assert_eq!(usage["totals"][0]["events"], 2);
        // One more agent asks whether the level plus one fits, and costs one agent.
        let more = c
            .ok(
                "check_entitlement",
                json!({"customer": "jeturing", "feature": "agents", "quantity": 1, "consume": true}),
            )
            .await;
        assert_eq!(amount(&more["cost"]), 5000, "{backend:?}: {more}");
        let inv = c
            .ok("preview_invoice", json!({"customer": "jeturing"}))
            .await;
        assert_eq!(
            inv["total"]["display"], "432.64",
            "{backend:?}: 6 agents now"
        );
    }
}

#[tokio::test]
async fn seed_001_acme_reserved_tiers_price_20_and_5_dollars_of_overage() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let c = h.client().await;
        c.ok("create_customer", json!({"customer": "acme"})).await;
        let dry = c
            .ok(
                "set_reserved_tiers",
                json!({"reserved_json": RESERVED_JSON}),
            )
            .await;
        assert_eq!(dry["dry_run"], true);
        assert_eq!(dry["customers"][0]["changed"], true);
        let before = c.ok("preview_invoice", json!({"customer": "acme"})).await;
        assert_eq!(before["total"]["amount"], 0, "a dry run stores nothing");
        c.ok(
            "set_reserved_tiers",
            json!({"reserved_json": RESERVED_JSON, "dry_run": false}),
        )
        .await;
        let again = c
            .ok(
                "set_reserved_tiers",
                json!({"reserved_json": RESERVED_JSON}),
            )
            .await;
        assert_eq!(again["customers"][0]["changed"], false);
        let fu = &again["customers"][0]["meters"][0];
        assert_eq!(
            (
                fu["meter"].as_str(),
                fu["overage_tiers"][0]["price_per_unit"].as_str()
            ),
            (Some("fu"), Some("0.001")),
            "the decimal stays exact"
        );
        record(&c, "acme", "vex", 9_000).await;
        record(&c, "acme", "fu", 80_000).await;
        // A plan change inside the period does not grant the reserved units again.
        h.set_now(NOW + HOUR);
        c.ok(
            "set_customer_plan",
            json!({"customer": "acme", "plan": "professional"}),
        )
        .await;
        record(&c, "acme", "vex", 8_000).await;
        let inv = c.ok("preview_invoice", json!({"customer": "acme"})).await;
        let by_meter = |m: &str| {
            lines(&inv, "usage")
                .into_iter()
                .find(|l| l["meter"] == m)
                .map(amount)
        };
        // 7,000 overage VEx, 2,000 above the 5,000 threshold × $0.01; 30,000 FU, 5,000 × $0.001
        assert_eq!(by_meter("vex"), Some(2_000), "{backend:?}: {inv}");
        assert_eq!(by_meter("fu"), Some(500), "{backend:?}: {inv}");
        let quote = c
            .ok(
                "quote_price",
                json!({"customer": "acme", "meter": "vex", "quantity": 100}),
            )
            .await;
        assert_eq!(amount(&quote), 100, "100 more VEx at $0.01: {quote}");
    }
}
