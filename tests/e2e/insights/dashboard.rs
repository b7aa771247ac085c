//! A month of a small business: four subscribers (one yearly, one upgraded, one churned, one out
//! of its trial), a credits customer who bought a pack, a paid invoice and a month of usage.
//! Every figure of the dashboard is worked by hand here, and the upcoming invoices equal the sum
//! of `preview_invoice` over the customers.

use serde_json::{Value, json};

use crate::support::{Backend, Client, DAY, Harness, NOW, backends};
use crate::webhooks::{Hook, NEW, event};

fn money(v: &Value) -> i64 {
    v["amount"]
        .as_i64()
        .unwrap_or_else(|| panic!("no amount in {v}"))
}

async fn subscribe(c: &Client, customer: &str, plan: &str, interval: &str) {
    c.ok("create_customer", json!({"customer": customer})).await;
    c.ok(
        "set_customer_plan",
        json!({"customer": customer, "plan": plan, "interval": interval, "status": "active", "reset_period": true}),
    )
    .await;
}

async fn usage(c: &Client, customer: &str, tool: &str, quantity: u64, outcome: &str) {
    c.ok(
        "record_usage",
        json!({"customer": customer, "meter": "tool_calls", "quantity": quantity,
               "dimensions": {"tool": tool, "outcome": outcome}}),
    )
    .await;
}

/// The month, as the test builds it; answers the harness (at NOW, 2026-11-21T10:30Z) and a client.
pub(crate) async fn seeded(backend: Backend) -> (Harness, Hook, Client) {
    let h = Harness::with_webhook_secrets(backend, &[NEW]).await;
    let hook = Hook::start(&h).await;
    let c = h.client().await;
    // 2 November: three subscribers; acme uses the tools.
    h.set_now(NOW - 19 * DAY);
    subscribe(&c, "acme", "starter", "month").await;
    subscribe(&c, "beta", "starter", "year").await;
    subscribe(&c, "gamma", "professional", "month").await;
    usage(&c, "acme", "search", 100, "ok").await;
    usage(&c, "acme", "search", 100, "ok").await;
    usage(&c, "acme", "fetch", 50, "ok").await;
    // 3 November: delta starts Starter's 14-day trial; echo pays with credits.
    h.set_now(NOW - 18 * DAY);
    c.ok(
        "create_customer",
        json!({"customer": "delta", "plan": "starter"}),
    )
    .await;
    c.ok(
        "create_customer",
        json!({"customer": "echo", "plan": "credits"}),
    )
    .await;
    // 10 November: acme upgrades; 15 November: gamma cancels.
    h.set_now(NOW - 11 * DAY);
    c.ok(
        "set_customer_plan",
        json!({"customer": "acme", "plan": "professional"}),
    )
    .await;
    h.set_now(NOW - 6 * DAY);
    c.ok(
        "set_customer_plan",
        json!({"customer": "gamma", "plan": "professional", "status": "canceled"}),
    )
    .await;
    // 19 November: delta (out of its trial) fails a call; echo burns 3 credits.
    h.set_now(NOW - 2 * DAY);
    usage(&c, "delta", "search", 10, "error").await;
    c.ok("grant_credits", json!({"customer": "echo", "credits": 100}))
        .await;
    let paid = c
        .ok(
            "check_entitlement",
            json!({"customer": "echo", "feature": "tool_calls", "quantity": 3, "consume": true}),
        )
        .await;
    assert_eq!(paid["allowed"], true, "{paid}");
    // 21 November: echo buys the small pack; acme's first invoice is paid.
    h.set_now(NOW);
    hook.accept(event(
        "evt_pack",
        "checkout.session.completed",
        0,
        json!({"id": "cs_1", "object": "checkout.session", "mode": "payment", "payment_status": "paid",
               "customer": "cus_e1", "amount_total": 1000, "currency": "usd",
               "metadata": {"billing_mcp_customer": "echo", "billing_mcp_pack": "small_pack"}}),
    ))
    .await;
    hook.accept(event(
        "evt_paid",
        "invoice.paid",
        0,
        json!({"id": "in_1", "object": "invoice", "customer": "cus_a1", "status": "paid",
               "amount_paid": 2900, "amount_remaining": 0, "currency": "usd",
               "status_transitions": {"paid_at": NOW / 1000},
               "metadata": {"billing_mcp_customer": "acme"}}),
    ))
    .await;
    (h, hook, c)
}

#[tokio::test]
async fn every_figure_of_the_month_is_worked_by_hand_and_the_upcoming_invoices_are_the_previews() {
    for backend in backends() {
        let (_h, _hook, c) = seeded(backend).await;
        let d = c.ok("get_dashboard", json!({})).await;
        assert_eq!(
            (
                d["from"].as_str(),
                d["to"].as_str(),
                d["granularity"].as_str()
            ),
            (
                Some("2026-11-01T00:00:00.000Z"),
                Some("2026-12-01T00:00:00.000Z"),
                Some("day")
            ),
            "{backend:?}: the default range is this calendar month"
        );
        let usd = &d["currencies"][0];
        assert_eq!(
            (
                d["currencies"].as_array().unwrap().len(),
                usd["currency"].as_str()
            ),
            (1, Some("usd"))
        );
        // MRR now: acme 99.00 + beta 290.00/12 + delta 29.00 (trial over) = 152.1666… → 152.17.
        // gamma churned, echo has no base price.
        assert_eq!(money(&usd["mrr"]), 15_217, "{backend:?}: {usd}");
        assert_eq!(usd["mrr"]["display"], "152.17");
        assert_eq!(
            money(&usd["arr"]),
            182_600,
            "12 × 152.1666… = 1,826.00 exactly"
        );
        assert_eq!(usd["paying_customers"], 3);
        assert_eq!(
            money(&usd["arpu"]),
            5_072,
            "152.1666… / 3 = 50.7222… → 50.72"
        );
        // Movements: new 29 (acme) + 24.1666… (beta) + 99 (gamma) + 29 (delta) = 181.1666…;
        // acme's upgrade +70; gamma's churn −99; net = MRR (nobody paid on 1 November).
        let m = &usd["mrr_movements"];
        let moves: Vec<i64> = [
            "new",
            "expansion",
            "contraction",
            "churn",
            "reactivation",
            "net",
        ]
        .iter()
        .map(|k| money(&m[*k]))
        .collect();
        assert_eq!(
            moves,
            vec![18_117, 7_000, 0, -9_900, 0, 15_217],
            "{backend:?}: {m}"
        );
        let series = usd["series"].as_array().unwrap();
        assert_eq!(series.len(), 30);
        assert_eq!(series[9]["at"], "2026-11-10T00:00:00.000Z");
        assert_eq!(
            (
                series[9]["expansion"].as_i64(),
                series[14]["churn"].as_i64()
            ),
            (Some(7_000), Some(-9_900))
        );
        assert_eq!(series[29]["mrr"], 15_217, "later buckets keep today's MRR");
        assert_eq!(series[20]["billed"], 2_900);
        assert_eq!(series[20]["credit_packs_sold"], 1_000);
        assert_eq!(
            (
                money(&usd["billed"]["total"]),
                usd["billed"]["invoices"].as_u64()
            ),
            (2_900, Some(1))
        );
        assert_eq!(
            (
                money(&usd["credit_packs_sold"]["total"]),
                usd["credit_packs_sold"]["packs"].as_u64()
            ),
            (1_000, Some(1))
        );
        // The upcoming invoices are preview_invoice's, summed over the customers not churned.
        let (mut total, mut base, mut prorations, mut usage) = (0, 0, 0, 0);
        for customer in ["acme", "beta", "delta", "echo"] {
            let p = c.ok("preview_invoice", json!({"customer": customer})).await;
            total += money(&p["total"]);
            for line in p["lines"].as_array().unwrap() {
                let slot = match line["kind"].as_str() {
                    Some("base") => &mut base,
                    Some("proration") => &mut prorations,
                    _ => &mut usage,
                };
                *slot += money(&line["amount"]);
            }
            let row = d["accounts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["customer"] == customer)
                .unwrap();
            assert_eq!(row["next_invoice"], p["total"], "{backend:?}: {customer}");
        }
        let up = &usd["upcoming"];
        assert_eq!(
            (
                money(&up["total"]),
                money(&up["base"]),
                money(&up["prorations"]),
                money(&up["usage"])
            ),
            (total, base, prorations, usage),
            "{backend:?}: {up}"
        );
        assert_eq!(up["invoices"], 4);
        assert_eq!(total, base + prorations + usage);
        let accounts = d["accounts"].as_array().unwrap();
        assert_eq!((accounts.len(), d["accounts_total"].as_u64()), (5, Some(5)));
        assert!(
            accounts[0]["next_invoice"]["amount"].as_i64()
                >= accounts[1]["next_invoice"]["amount"].as_i64()
        );
        let gamma = accounts.iter().find(|r| r["customer"] == "gamma").unwrap();
        assert_eq!(
            (gamma["status"].as_str(), &gamma["next_invoice"]),
            (Some("canceled"), &Value::Null)
        );
        assert_eq!(
            d["customers"],
            json!({"total": 5, "active": 4, "trialing": 0, "delinquent": 0, "churned": 1, "new": 5}),
            "{backend:?}"
        );
        // Usage: acme 100 + 100 + 50, delta 10, echo 3 (paid with credits).
        let calls = &d["usage"][0];
        assert_eq!(
            (
                calls["meter"].as_str(),
                calls["quantity"].as_u64(),
                calls["events"].as_u64()
            ),
            (Some("tool_calls"), Some(263), Some(5)),
            "{backend:?}: {calls}"
        );
        let per_day: u64 = calls["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["quantity"].as_u64().unwrap())
            .sum();
        assert_eq!(per_day, 263);
        assert_eq!(
            d["top_tools"][0],
            json!({"meter": "tool_calls", "tool": "search", "quantity": 210, "events": 3})
        );
        assert_eq!(
            d["credits"],
            json!({"sold": 110, "granted": 100, "adjusted": 0, "burned": 3, "expired": 0, "outstanding": 207}),
            "{backend:?}"
        );
        let echo = c
            .ok("get_credit_balance", json!({"customer": "echo"}))
            .await;
        assert_eq!(echo["balance"], 207);
        assert_eq!(d["stripe_balance"], Value::Null, "ledger-only");
    }
}

#[tokio::test]
async fn usage_stats_count_failed_calls_by_outcome_and_the_top_tools() {
    let (_h, _hook, c) = seeded(Backend::Sqlite).await;
    let acme = c
        .ok(
            "get_usage_stats",
            json!({"customer": "acme", "from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(
        (
            acme["calls"].as_u64(),
            acme["successful"].as_u64(),
            acme["failed"].as_u64(),
            acme["quantity"].as_u64()
        ),
        (Some(3), Some(3), Some(0), Some(250)),
        "{acme}"
    );
    assert_eq!(
        acme["top_tools"][0],
        json!({"tool": "search", "calls": 2, "successful": 2, "failed": 0, "quantity": 200})
    );
    assert_eq!(
        acme["per_day"],
        json!([{"day": "2026-11-02T00:00:00.000Z", "calls": 3, "successful": 3, "failed": 0, "quantity": 250}])
    );
    let delta = c.ok("get_usage_stats", json!({"customer": "delta"})).await;
    assert_eq!(
        (delta["calls"].as_u64(), delta["failed"].as_u64()),
        (Some(1), Some(1)),
        "{delta}"
    );
    let echo = c.ok("get_usage_stats", json!({"customer": "echo"})).await;
    assert_eq!(echo["credits_burned"], 3, "{echo}");
    let preview = c.ok("preview_invoice", json!({"customer": "acme"})).await;
    let usage_lines: i64 = preview["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == "usage")
        .map(|l| money(&l["amount"]))
        .sum();
    let stats = c.ok("get_usage_stats", json!({"customer": "acme"})).await;
    assert_eq!(money(&stats["period_usage_amount"]), usage_lines);
}

#[tokio::test]
async fn a_range_too_fine_for_its_buckets_is_refused_with_the_way_out() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    let (code, message) = c
        .err(
            "get_dashboard",
            json!({"from": "2024-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z", "granularity": "day"}),
        )
        .await;
    assert_eq!(code, "invalid_params");
    assert!(message.contains("week, month"), "{message}");
    let (code, _) = c
        .err(
            "get_dashboard",
            json!({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(code, "invalid_params");
}
