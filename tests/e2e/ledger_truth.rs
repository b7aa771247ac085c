//! The figures a billing expert checks by hand, through an MCP client, on both backends: the
//! seeds' worked examples (seed 003's forensics invoice, seed 001's reserved tiers), plan changes
//! with Stripe's prorations, trials, monthly allowances on yearly plans, and costs that are
//! never negative.

use serde_json::{Value, json};

use crate::support::{Backend, Client, DAY, HOUR, Harness, NOW, RESERVED_JSON, backends};

/// A customer on `plan` with a period starting now (no trial), so the figures are the plan's.
async fn on_plan(c: &Client, customer: &str, plan: &str, interval: &str) {
    c.ok("create_customer", json!({"customer": customer})).await;
    c.ok(
        "set_customer_plan",
        json!({"customer": customer, "plan": plan, "interval": interval, "status": "active", "reset_period": true}),
    )
    .await;
}

async fn record(c: &Client, customer: &str, meter: &str, quantity: u64) {
    c.ok(
        "record_usage",
        json!({"customer": customer, "meter": meter, "quantity": quantity}),
    )
    .await;
}

fn lines<'a>(invoice: &'a Value, kind: &str) -> Vec<&'a Value> {
    invoice["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == kind)
        .collect()
}

fn amount(v: &Value) -> i64 {
    v["amount"]["amount"].as_i64().unwrap()
}

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

#[tokio::test]
async fn a_plan_change_halfway_keeps_what_the_old_plan_owes_and_prorates_both_base_fees() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let c = h.client().await;
        on_plan(&c, "acme", "starter", "month").await;
        let period = c.ok("get_customer", json!({"customer": "acme"})).await;
        // 2026-11-21T10:00Z to 2026-12-21T10:00Z: 30 days
        assert_eq!(
            period["current_period"]["start"],
            "2026-11-21T10:00:00.000Z"
        );
        assert_eq!(period["current_period"]["end"], "2026-12-21T10:00:00.000Z");
        record(&c, "acme", "tool_calls", 1250).await;
        h.set_now(NOW - 30 * 60_000 + 15 * DAY); // exactly half of the period
        let dry = c
            .ok(
                "set_customer_plan",
                json!({"customer": "acme", "plan": "professional", "dry_run": true}),
            )
            .await;
        assert_eq!(dry["dry_run"], true);
        let still = c.ok("get_customer", json!({"customer": "acme"})).await;
        assert_eq!(still["plan"], "starter", "a dry run changes nothing");
        let applied = c
            .ok(
                "set_customer_plan",
                json!({"customer": "acme", "plan": "professional"}),
            )
            .await;
        let inv = c.ok("preview_invoice", json!({"customer": "acme"})).await;
        assert_eq!(
            dry["invoice"]["lines"], inv["lines"],
            "the dry run showed the invoice it made"
        );
        assert_eq!(applied["invoice"]["total"], inv["total"]);
        let base = lines(&inv, "base");
        assert_eq!(
            (base.len(), amount(base[0])),
            (1, 2900),
            "{backend:?}: {inv}"
        );
        let prorations: Vec<i64> = lines(&inv, "proration").into_iter().map(amount).collect();
        // Stripe: price × (period end − change) / (period end − period start), to the cent
        assert_eq!(prorations, vec![-1450, 4950], "{backend:?}: {inv}");
        let usage = lines(&inv, "usage");
        let starter = usage.iter().find(|l| l["plan"] == "starter").unwrap();
        assert_eq!(
            (
                starter["quantity"].as_u64(),
                starter["billable"].as_u64(),
                amount(starter)
            ),
            (Some(1250), Some(250), 250 * 5),
            "{backend:?}: the 250 calls owed under Starter stay"
        );
        assert_eq!(inv["total"]["amount"], 2900 - 1450 + 4950 + 1250);
        let check = c
            .ok(
                "check_entitlement",
                json!({"customer": "acme", "feature": "tool_calls", "quantity": 1}),
            )
            .await;
        assert_eq!(
            (check["used"].as_u64(), check["limit"].as_u64()),
            (Some(0), Some(5000)),
            "{backend:?}: Professional's allowance starts at the change: {check}"
        );
        // Back again at the same moment: nothing extra.
        c.ok(
            "set_customer_plan",
            json!({"customer": "acme", "plan": "starter"}),
        )
        .await;
        let back = c.ok("preview_invoice", json!({"customer": "acme"})).await;
        assert_eq!(back["total"]["amount"], 2900 + 1250, "{backend:?}: {back}");
    }
}

#[tokio::test]
async fn a_yearly_starter_customer_gets_1000_included_calls_each_month() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let c = h.client().await;
        on_plan(&c, "acme", "starter", "year").await;
        record(&c, "acme", "tool_calls", 1200).await;
        h.set_now(NOW + 31 * DAY);
        let fresh = c
            .ok(
                "check_entitlement",
                json!({"customer": "acme", "feature": "tool_calls", "quantity": 1}),
            )
            .await;
        assert_eq!(
            (
                fresh["used"].as_u64(),
                fresh["limit"].as_u64(),
                amount(&fresh["cost"])
            ),
            (Some(0), Some(1000), 0),
            "{backend:?}: a new month, a new allowance: {fresh}"
        );
        assert_eq!(
            fresh["resets_at"], "2027-01-21T10:00:00.000Z",
            "{backend:?}: the allowance resets with the month, not the year"
        );
        record(&c, "acme", "tool_calls", 1300).await;
        let inv = c.ok("preview_invoice", json!({"customer": "acme"})).await;
        let months: Vec<(u64, i64)> = lines(&inv, "usage")
            .into_iter()
            .map(|l| (l["quantity"].as_u64().unwrap(), amount(l)))
            .collect();
        assert_eq!(
            months[..2],
            [(1200, 1000), (1300, 1500)],
            "{backend:?}: {inv}"
        );
        assert_eq!(inv["total"]["amount"], 29_000 + 1000 + 1500);
    }
}

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

#[tokio::test]
async fn a_trial_set_by_hand_ends_and_a_dry_run_during_a_trial_bills_what_applying_does() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let c = h.client().await;
        c.ok("create_customer", json!({"customer": "acme"})).await;
        let (code, message) = c
            .err(
                "set_customer_plan",
                json!({"customer": "acme", "plan": "free", "status": "trialing"}),
            )
            .await;
        assert_eq!(code, "invalid_params", "{message}");
        let trial = c
            .ok(
                "set_customer_plan",
                json!({"customer": "acme", "plan": "starter", "status": "trialing"}),
            )
            .await;
        assert_eq!(
            trial["trial_ends_at"], "2026-12-05T10:30:00.000Z",
            "{backend:?}: the plan's 14 days"
        );
        h.set_now(NOW + 5 * DAY);
        let dry = c
            .ok(
                "set_customer_plan",
                json!({"customer": "acme", "plan": "professional", "dry_run": true}),
            )
            .await;
        let applied = c
            .ok(
                "set_customer_plan",
                json!({"customer": "acme", "plan": "professional"}),
            )
            .await;
        assert_eq!(
            dry["invoice"]["total"], applied["invoice"]["total"],
            "{backend:?}: {dry}"
        );
        assert!(
            applied["invoice"]["total"]["amount"].as_i64() > Some(0),
            "{backend:?}: the trial ended with the change"
        );
    }
}

#[tokio::test]
async fn a_change_to_yearly_halfway_starts_a_new_period_and_keeps_what_the_month_owed() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let c = h.client().await;
        on_plan(&c, "acme", "starter", "month").await;
        record(&c, "acme", "tool_calls", 1250).await;
        h.set_now(NOW - 30 * 60_000 + 15 * DAY); // half of the 30-day month
        let dry = c
            .ok(
                "set_customer_plan",
                json!({"customer": "acme", "plan": "starter", "interval": "year", "dry_run": true}),
            )
            .await;
        c.ok(
            "set_customer_plan",
            json!({"customer": "acme", "plan": "starter", "interval": "year"}),
        )
        .await;
        let inv = c.ok("preview_invoice", json!({"customer": "acme"})).await;
        assert_eq!(
            inv["period"]["start"], "2026-12-06T10:00:00.000Z",
            "{backend:?}: a new period: {inv}"
        );
        let by_kind: Vec<(&str, i64)> = inv["lines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| amount(l) != 0)
            .map(|l| (l["kind"].as_str().unwrap(), amount(l)))
            .collect();
        // the month's 250 calls above 1,000 and the unused half of $29, then the year's $290
        assert_eq!(
            by_kind,
            vec![("usage", 1250), ("proration", -1450), ("base", 29_000)],
            "{backend:?}: {inv}"
        );
        assert_eq!(inv["total"]["amount"], 29_000 + 1250 - 1450);
        assert_eq!(
            dry["invoice"]["total"], inv["total"],
            "{backend:?}: the dry run showed it"
        );
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
