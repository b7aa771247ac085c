//! How each kind of meter counts: tokens priced per model, a level meter (`last`) that caps the
//! level, a peak meter (`max`) that costs only above its peak, a unique meter that counts each
//! value once.

use serde_json::json;

use super::{amount, lines, on_plan, record};
use crate::support::{HOUR, Harness, NOW, backends};

#[tokio::test]
async fn tokens_are_priced_per_model_and_unique_tools_count_once() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let c = h.client().await;
        c.ok(
            "create_customer",
            json!({"customer": "acme", "plan": "metered"}),
        )
        .await;
        for (model, tokens) in [
            ("large-model", 1_000_000),
            ("small-model", 2_500_000),
            ("other", 10_000),
        ] {
            c.ok(
                "record_usage",
                json!({"customer": "acme", "meter": "llm_tokens", "quantity": tokens, "dimensions": {"model": model}}),
            )
            .await;
        }
        for tool in ["search", "search", "fetch"] {
            c.ok(
                "record_usage",
                json!({"customer": "acme", "meter": "tools_used", "quantity": 1, "dimensions": {"tool": tool}}),
            )
            .await;
        }
        let inv = c.ok("preview_invoice", json!({"customer": "acme"})).await;
        let token_lines: Vec<(Option<&str>, i64)> = lines(&inv, "usage")
            .into_iter()
            .filter(|l| l["meter"] == "llm_tokens")
            .map(|l| (l["dimension_value"].as_str(), amount(l)))
            .collect();
        // 1,000,000 × 0.0015¢ = $15.00; 2,500,000 × 0.00006¢ = $1.50; 10,000 × 0.0002¢ = 2¢
        assert_eq!(
            token_lines,
            vec![
                (Some("large-model"), 1500),
                (Some("small-model"), 150),
                (None, 2)
            ],
            "{backend:?}: {inv}"
        );
        let usage = c
            .ok(
                "get_usage",
                json!({"customer": "acme", "meter": "tools_used"}),
            )
            .await;
        assert_eq!(
            usage["totals"][0]["quantity"], 2,
            "{backend:?}: search and fetch: {usage}"
        );
        let (code, message) = c
            .err(
                "record_usage",
                json!({"customer": "acme", "meter": "tools_used", "quantity": 1}),
            )
            .await;
        assert_eq!(code, "invalid_params", "{message}");
        assert!(message.contains("dimensions.tool"), "{message}");
    }
}

const SEATS: &str = r#"
currency = "usd"
default_plan = "team"
[meters.seats]
event_name = "seats"
aggregation = "last"
[plans.team]
features = ["seats"]
at_limit = "block"
[plans.team.meters.seats]
limits = { month = 10 }
price = { unit_amount = 1000 }
"#;

#[tokio::test]
async fn a_level_meter_caps_the_level_and_every_read_shows_the_level_recorded() {
    for backend in backends() {
        let h = Harness::with_catalog(backend, SEATS).await;
        let c = h.client().await;
        c.ok("create_customer", json!({"customer": "acme"})).await;
        let check = |q: u64, consume: bool| json!({"customer": "acme", "feature": "seats", "quantity": q, "consume": consume});
        // warm the cache, then add 3 seats and 2 more: the level is 5, not 2
        c.ok("check_entitlement", check(1, false)).await;
        c.ok("check_entitlement", check(3, true)).await;
        let more = c.ok("check_entitlement", check(2, true)).await;
        assert_eq!(
            amount(&more["cost"]),
            2000,
            "{backend:?}: two more seats: {more}"
        );
        let now = c.ok("check_entitlement", check(6, false)).await;
        assert_eq!(
            (
                now["allowed"].as_bool(),
                now["used"].as_u64(),
                now["remaining"].as_u64()
            ),
            (Some(false), Some(5), Some(5)),
            "{backend:?}: 5 + 6 seats do not fit 10: {now}"
        );
        let fits = c.ok("check_entitlement", check(5, false)).await;
        assert_eq!(fits["allowed"], true, "{backend:?}: {fits}");
        let fresh = h.second_process().await;
        let other = fresh
            .client()
            .await
            .ok("check_entitlement", check(6, false))
            .await;
        assert_eq!(
            other["used"], now["used"],
            "{backend:?}: a fresh read agrees with the cache"
        );
        let inv = c.ok("preview_invoice", json!({"customer": "acme"})).await;
        assert_eq!(inv["total"]["amount"], 5 * 1000, "{backend:?}: {inv}");
    }
}

#[tokio::test]
async fn a_peak_meter_adds_to_the_level_and_costs_only_above_the_peak() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let c = h.client().await;
        on_plan(&c, "jeturing", "forensics", "month").await;
        record(&c, "jeturing", "agents", 5).await;
        h.set_now(NOW + HOUR);
        record(&c, "jeturing", "agents", 3).await; // two agents decommissioned
        let one = c
            .ok(
                "check_entitlement",
                json!({"customer": "jeturing", "feature": "agents", "quantity": 1, "consume": true}),
            )
            .await;
        assert_eq!(
            amount(&one["cost"]),
            0,
            "{backend:?}: 4 agents stay under the peak of 5: {one}"
        );
        let three = c
            .ok(
                "check_entitlement",
                json!({"customer": "jeturing", "feature": "agents", "quantity": 3}),
            )
            .await;
        assert_eq!(
            amount(&three["cost"]),
            2 * 5000,
            "{backend:?}: 4 + 3 = 7 is 2 above the peak: {three}"
        );
        let inv = c
            .ok("preview_invoice", json!({"customer": "jeturing"}))
            .await;
        let agents = lines(&inv, "usage")
            .into_iter()
            .find(|l| l["meter"] == "agents")
            .unwrap();
        assert_eq!(agents["quantity"], 5, "{backend:?}: {agents}");
    }
}

const TOOLS: &str = r#"
currency = "usd"
default_plan = "team"
[meters.tools_used]
event_name = "tools_used"
aggregation = "unique"
unique = "tool"
dimensions = ["tool"]
[plans.team]
features = ["tools_used"]
at_limit = "block"
[plans.team.meters.tools_used]
limits = { month = 2 }
"#;

#[tokio::test]
async fn a_unique_limit_counts_each_value_once() {
    for backend in backends() {
        let h = Harness::with_catalog(backend, TOOLS).await;
        let c = h.client().await;
        c.ok("create_customer", json!({"customer": "acme"})).await;
        let ask = |tool: &str, consume: bool| json!({"customer": "acme", "feature": "tools_used", "dimensions": {"tool": tool}, "consume": consume});
        for tool in ["search", "fetch"] {
            let a = c.ok("check_entitlement", ask(tool, true)).await;
            assert_eq!(a["allowed"], true, "{backend:?}: {a}");
        }
        for consume in [false, true] {
            let again = c.ok("check_entitlement", ask("search", consume)).await;
            assert_eq!(
                again["allowed"], true,
                "{backend:?}: search is counted already: {again}"
            );
        }
        let third = c.ok("check_entitlement", ask("render", false)).await;
        assert_eq!(
            (third["allowed"].as_bool(), third["used"].as_u64()),
            (Some(false), Some(2)),
            "{backend:?}: a third tool is over the limit of 2: {third}"
        );
    }
}
