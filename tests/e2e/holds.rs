//! Holds (`check_entitlement` with `hold`, `settle_hold`, `release_hold`), through MCP clients on
//! every backend (credits across two server processes): what is held counts as used, so concurrent
//! callers never pass a limit or overdraw credits; a settled hold is charged once, a released or
//! expired one never.

use serde_json::{Value, json};

use crate::support::{Client, Harness, backends};

/// 100 calls a month on `team`; `credits` pays `render` with 5 credits a call.
const LIMITS: &str = include_str!("../fixtures/limits.toml");

fn hold_args(customer: &str, tool: Option<&str>) -> Value {
    let mut args = json!({"customer": customer, "feature": "tool_calls", "hold": true});
    if let Some(t) = tool {
        args["tool"] = json!(t);
    }
    args
}

/// Hold, wait as an upstream call would, then settle: whether the call ran.
async fn held_call(c: Client, customer: &'static str, tool: Option<&'static str>) -> bool {
    let r = c.ok("check_entitlement", hold_args(customer, tool)).await;
    if r["allowed"] != json!(true) {
        return false;
    }
    let id = r["hold"]["hold_id"].as_str().unwrap().to_string();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let s = c
        .ok("settle_hold", json!({"customer": customer, "hold_id": id}))
        .await;
    assert_eq!(s["status"], "settled", "{s}");
    true
}

/// Customer `acme` on the `credits` plan with 1,000 credits.
async fn acme_with_a_thousand_credits(c: &Client) {
    c.ok(
        "create_customer",
        json!({"customer": "acme", "plan": "credits"}),
    )
    .await;
    c.ok(
        "grant_credits",
        json!({"customer": "acme", "credits": 1000}),
    )
    .await;
}

async fn balance(c: &Client, customer: &str) -> u64 {
    c.ok("get_credit_balance", json!({"customer": customer}))
        .await["balance"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn a_thousand_credits_at_five_a_call_pay_exactly_two_hundred_held_calls_from_two_processes() {
    for backend in backends() {
        let h = Harness::with_catalog(backend, LIMITS).await;
        let other = h.second_process().await;
        let (c1, c2) = (h.client().await, other.client().await);
        acme_with_a_thousand_credits(&c1).await;
        let mut tasks = Vec::new();
        for i in 0..300 {
            let c = if i % 2 == 0 { c1.clone() } else { c2.clone() };
            tasks.push(tokio::spawn(held_call(c, "acme", Some("render"))));
        }
        let mut ran = 0;
        for t in tasks {
            ran += usize::from(t.await.unwrap());
        }
        assert_eq!(ran, 200, "{backend:?}: 1,000 credits at 5 a call");
        assert_eq!(balance(&c1, "acme").await, 0, "{backend:?}");
        let usage = c1.ok("get_usage", json!({"customer": "acme"})).await;
        let events: u64 = usage["totals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["events"].as_u64().unwrap())
            .sum();
        assert_eq!(
            events, 200,
            "{backend:?}: one event per settled hold: {usage}"
        );
    }
}

#[tokio::test]
async fn a_hundred_call_quota_lets_exactly_a_hundred_of_three_hundred_concurrent_holds_through() {
    for backend in backends() {
        let h = Harness::with_catalog(backend, LIMITS).await;
        let c = h.client().await;
        c.ok(
            "create_customer",
            json!({"customer": "acme", "plan": "team"}),
        )
        .await;
        let mut tasks = Vec::new();
        for _ in 0..300 {
            let c = c.clone();
            tasks.push(tokio::spawn(async move {
                c.ok("check_entitlement", hold_args("acme", None)).await
            }));
        }
        let mut held = Vec::new();
        for t in tasks {
            let r = t.await.unwrap();
            if r["allowed"] == json!(true) {
                held.push(r["hold"]["hold_id"].as_str().unwrap().to_string());
            } else {
                assert_eq!(r["reason"], "quota_exceeded", "{r}");
            }
        }
        assert_eq!(held.len(), 100, "{backend:?}");
        // Releasing ten gives ten back; the rest settle into exactly 100 recorded calls.
        for id in &held[..10] {
            let r = c
                .ok("release_hold", json!({"customer": "acme", "hold_id": id}))
                .await;
            assert_eq!(r["status"], "released");
        }
        let check = c
            .ok(
                "check_entitlement",
                json!({"customer": "acme", "feature": "tool_calls"}),
            )
            .await;
        assert_eq!(
            (check["used"].as_u64(), check["remaining"].as_u64()),
            (Some(90), Some(10)),
            "{check}"
        );
        for id in &held[10..] {
            c.ok("settle_hold", json!({"customer": "acme", "hold_id": id}))
                .await;
        }
        for _ in 0..10 {
            assert!(held_call(c.clone(), "acme", None).await);
        }
        let denied = c.ok("check_entitlement", hold_args("acme", None)).await;
        assert_eq!(denied["reason"], "quota_exceeded");
        let check = c
            .ok(
                "check_entitlement",
                json!({"customer": "acme", "feature": "tool_calls"}),
            )
            .await;
        assert_eq!(check["used"], 100, "{backend:?}: {check}");
    }
}

#[tokio::test]
async fn released_expired_and_retried_holds_charge_nothing_and_a_settle_is_never_more_than_allowed()
{
    for backend in backends() {
        let h = Harness::with_catalog(backend, LIMITS).await;
        let c = h.client().await;
        c.ok(
            "create_customer",
            json!({"customer": "acme", "plan": "credits"}),
        )
        .await;
        c.ok("grant_credits", json!({"customer": "acme", "credits": 12}))
            .await;
        // A hold of 5 credits leaves 7 to hold; a second of 5 fits, a third does not.
        let first = c.ok("check_entitlement", json!({"customer": "acme", "feature": "tool_calls", "tool": "render", "hold": true, "hold_ttl_seconds": 60, "idempotency_key": "call-1"})).await;
        assert_eq!(first["hold"]["credits"], 5, "{first}");
        let again = c.ok("check_entitlement", json!({"customer": "acme", "feature": "tool_calls", "tool": "render", "hold": true, "idempotency_key": "call-1"})).await;
        assert_eq!(
            (again["hold"]["hold_id"].clone(), again["duplicate"].clone()),
            (first["hold"]["hold_id"].clone(), json!(true)),
            "a retried hold answers the first"
        );
        let second = c
            .ok("check_entitlement", hold_args("acme", Some("render")))
            .await;
        assert_eq!(second["allowed"], true);
        let third = c
            .ok("check_entitlement", hold_args("acme", Some("render")))
            .await;
        assert_eq!(third["reason"], "insufficient_credits", "{third}");
        assert_eq!(balance(&c, "acme").await, 12, "holds burn nothing");
        // Released: nothing charged, its credits free again; twice changes nothing.
        let id2 = second["hold"]["hold_id"].as_str().unwrap();
        let r = c
            .ok("release_hold", json!({"customer": "acme", "hold_id": id2}))
            .await;
        assert_eq!(
            (r["status"].as_str(), r["duplicate"].as_bool()),
            (Some("released"), Some(false))
        );
        let r = c
            .ok("release_hold", json!({"customer": "acme", "hold_id": id2}))
            .await;
        assert_eq!(r["duplicate"], true);
        let (code, _) = c
            .err("settle_hold", json!({"customer": "acme", "hold_id": id2}))
            .await;
        assert_eq!(code, "hold_released");
        // Settling more than the balance allows is refused and the hold stands.
        let id1 = first["hold"]["hold_id"].as_str().unwrap();
        let (code, msg) = c
            .err(
                "settle_hold",
                json!({"customer": "acme", "hold_id": id1, "quantity": 3}),
            )
            .await;
        assert_eq!(code, "settle_exceeds_allowed", "{msg}");
        let s = c
            .ok("settle_hold", json!({"customer": "acme", "hold_id": id1}))
            .await;
        assert_eq!(
            (s["status"].as_str(), s["settled_quantity"].as_u64()),
            (Some("settled"), Some(1)),
            "{s}"
        );
        let s2 = c
            .ok("settle_hold", json!({"customer": "acme", "hold_id": id1}))
            .await;
        assert_eq!(
            (s2["duplicate"].as_bool(), s2["event_id"].clone()),
            (Some(true), s["event_id"].clone())
        );
        assert_eq!(balance(&c, "acme").await, 7, "one settled call of 5");
        let (code, _) = c
            .err("release_hold", json!({"customer": "acme", "hold_id": id1}))
            .await;
        assert_eq!(code, "hold_settled");
        // A hold nobody ends stops counting at its expiry.
        let held = c
            .ok("check_entitlement", hold_args("acme", Some("render")))
            .await;
        let id = held["hold"]["hold_id"].as_str().unwrap().to_string();
        let blocked = c
            .ok(
                "check_entitlement",
                json!({"customer": "acme", "feature": "tool_calls", "tool": "render"}),
            )
            .await;
        assert_eq!(
            blocked["reason"], "insufficient_credits",
            "2 left beside the hold"
        );
        h.set_now(crate::support::NOW + 301_000);
        let free = c
            .ok(
                "check_entitlement",
                json!({"customer": "acme", "feature": "tool_calls", "tool": "render"}),
            )
            .await;
        assert_eq!(
            free["allowed"], true,
            "the expired hold counts no more: {free}"
        );
        let r = c
            .ok("release_hold", json!({"customer": "acme", "hold_id": id}))
            .await;
        assert_eq!(r["status"], "released");
        assert_eq!(
            balance(&c, "acme").await,
            7,
            "nothing charged for the expired hold"
        );
        // Another customer's hold is not found, whoever asks.
        c.ok(
            "create_customer",
            json!({"customer": "other", "plan": "credits"}),
        )
        .await;
        let (code, msg) = c
            .err("settle_hold", json!({"customer": "other", "hold_id": id1}))
            .await;
        assert_eq!(code, "hold_not_found");
        assert!(!msg.contains("acme"), "{msg}");
    }
}

#[tokio::test]
async fn settlements_arriving_together_each_charge_once_what_their_hold_reserved() {
    for backend in backends() {
        let h = Harness::with_catalog(backend, LIMITS).await;
        let c = h.client().await;
        acme_with_a_thousand_credits(&c).await;
        let mut held = Vec::new();
        for _ in 0..100 {
            let r = c
                .ok("check_entitlement", hold_args("acme", Some("render")))
                .await;
            held.push(r["hold"]["hold_id"].as_str().unwrap().to_string());
        }
        for id in &held[..10] {
            c.ok("release_hold", json!({"customer": "acme", "hold_id": id}))
                .await;
        }
        // All at once: every live hold settled twice (holds 90–99 at quantity 0), each released
        // one once.
        let mut tasks = Vec::new();
        for (i, id) in held.iter().enumerate() {
            for _ in 0..if i < 10 { 1 } else { 2 } {
                let mut args = json!({"customer": "acme", "hold_id": id});
                if i >= 90 {
                    args["quantity"] = json!(0);
                }
                let c = c.clone();
                tasks.push(tokio::spawn(async move {
                    (i, c.call("settle_hold", args).await)
                }));
            }
        }
        let mut first = std::collections::BTreeMap::new();
        for t in tasks {
            let (i, answer) = t.await.unwrap();
            let r = match answer {
                Err(e) => {
                    assert!(i < 10, "{backend:?}: hold {i}: {e}");
                    assert_eq!(e["code"], "hold_released", "{backend:?}: {e}");
                    continue;
                }
                Ok(r) => r,
            };
            assert_eq!(r["status"], "settled", "{backend:?}: {r}");
            let settled = if i >= 90 { 0 } else { 1 };
            assert_eq!(r["settled_quantity"], settled, "{backend:?}: {r}");
            let event = r["event_id"].as_str().unwrap().to_string();
            if r["duplicate"] == json!(false) {
                assert!(
                    first.insert(i, event).is_none(),
                    "{backend:?}: hold {i} settled twice"
                );
            } else {
                assert_eq!(first.get(&i).map_or(&event, |e| e), &event, "{backend:?}");
            }
        }
        assert_eq!(
            first.len(),
            90,
            "{backend:?}: one first settlement per live hold"
        );
        assert_eq!(
            balance(&c, "acme").await,
            1000 - 80 * 5,
            "{backend:?}: 80 calls at 5 credits, 10 at none"
        );
        let usage = c.ok("get_usage", json!({"customer": "acme"})).await;
        let sum = |field: &str| -> u64 {
            usage["totals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t[field].as_u64().unwrap())
                .sum()
        };
        assert_eq!(
            (sum("events"), sum("quantity")),
            (90, 80),
            "{backend:?}: {usage}"
        );
    }
}
