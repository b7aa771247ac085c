//! The properties that must hold under retries and concurrency, through real MCP clients, on
//! every backend: idempotent usage, limits never exceeded, credits never overdrawn.

use std::collections::HashMap;

use serde_json::json;

use crate::support::{Backend, Client, Harness, backends};

/// A plan with 100 calls a month, a credit plan and a tool that costs 5 credits (shared with the
/// Python acceptance check).
const MONTHLY_100: &str = include_str!("../fixtures/limits.toml");

#[tokio::test]
async fn five_hundred_calls_with_repeated_keys_count_each_key_once() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let client = h.client().await;
        client
            .ok(
                "create_customer",
                json!({"customer": "acme", "plan": "metered"}),
            )
            .await;
        // Call i uses key k{i}, except every fifth call repeats the key of the call before it.
        let key = |i: usize| {
            if i % 5 == 4 {
                format!("k{}", i - 1)
            } else {
                format!("k{i}")
            }
        };
        let mut tasks = Vec::new();
        for i in 0..500 {
            let c = client.clone();
            let k = key(i);
            tasks.push(tokio::spawn(async move {
                let r = c.ok("record_usage", json!({"customer": "acme", "meter": "tool_calls", "quantity": 1, "idempotency_key": k})).await;
                (k, r["status"].as_str().unwrap().to_string(), r["event_id"].as_str().unwrap().to_string())
            }));
        }
        let mut by_key: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for t in tasks {
            let (k, status, id) = t.await.unwrap();
            by_key.entry(k).or_default().push((status, id));
        }
        assert_eq!(by_key.len(), 400, "{backend:?}");
        for (k, answers) in &by_key {
            let recorded: Vec<_> = answers.iter().filter(|(s, _)| s == "recorded").collect();
            assert_eq!(
                recorded.len(),
                1,
                "{backend:?}: key {k} must be recorded exactly once: {answers:?}"
            );
            for (status, id) in answers {
                assert_eq!(
                    id, &recorded[0].1,
                    "{backend:?}: {status} for {k} must carry the first event's id"
                );
            }
        }
        let usage = client
            .ok(
                "get_usage",
                json!({"customer": "acme", "meter": "tool_calls"}),
            )
            .await;
        assert_eq!(usage["totals"][0]["quantity"], 400, "{backend:?}");
    }
}

#[tokio::test]
async fn three_hundred_concurrent_consumes_allow_exactly_the_monthly_limit() {
    for backend in backends() {
        let h = Harness::with_catalog(backend, MONTHLY_100).await;
        h.client()
            .await
            .ok("create_customer", json!({"customer": "acme"}))
            .await;
        // Several clients, as several connections would be.
        let clients = [
            h.client().await,
            h.client().await,
            h.client().await,
            h.client().await,
        ];
        let mut tasks = Vec::new();
        for i in 0..300 {
            let c = clients[i % clients.len()].clone();
            tasks.push(tokio::spawn(async move {
                c.ok("check_entitlement", json!({"customer": "acme", "feature": "tool_calls", "consume": true, "idempotency_key": format!("c{i}")})).await
            }));
        }
        let mut allowed = 0;
        for t in tasks {
            let r = t.await.unwrap();
            if r["allowed"] == true {
                allowed += 1;
            } else {
                assert_eq!(r["reason"], "quota_exceeded", "{backend:?}: {r}");
                assert_eq!(r["remaining"], 0, "{backend:?}: {r}");
                assert_eq!(
                    r["resets_at"], "2026-12-21T10:00:00.000Z",
                    "{backend:?}: the month window from the period start"
                );
            }
        }
        assert_eq!(
            allowed, 100,
            "{backend:?}: exactly the limit may be consumed"
        );
        let usage = clients[0]
            .ok("get_usage", json!({"customer": "acme"}))
            .await;
        assert_eq!(usage["totals"][0]["quantity"], 100, "{backend:?}");
    }
}

/// A customer `acme` on the credit plan with `credits` granted.
async fn with_credits(backend: Backend, credits: u64) -> (Harness, Client) {
    let h = Harness::with_catalog(backend, MONTHLY_100).await;
    let client = h.client().await;
    client
        .ok(
            "create_customer",
            json!({"customer": "acme", "plan": "credits"}),
        )
        .await;
    client
        .ok(
            "grant_credits",
            json!({"customer": "acme", "credits": credits}),
        )
        .await;
    (h, client)
}

#[tokio::test]
async fn concurrent_credit_consumes_never_overdraw() {
    for backend in backends() {
        let (_h, client) = with_credits(backend, 1000).await;
        // 64 workers share 300 attempts of a tool that costs 5 credits.
        let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut workers = Vec::new();
        for _ in 0..64 {
            let (c, next) = (client.clone(), next.clone());
            workers.push(tokio::spawn(async move {
                let mut allowed = 0;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if i >= 300 {
                        return allowed;
                    }
                    let r = c
                        .ok("check_entitlement", json!({"customer": "acme", "feature": "tool_calls", "tool": "render", "consume": true, "idempotency_key": format!("r{i}")}))
                        .await;
                    if r["allowed"] == true {
                        assert_eq!(r["cost"]["credits"], 5);
                        allowed += 1;
                    } else {
                        assert_eq!(r["reason"], "insufficient_credits", "{r}");
                    }
                }
            }));
        }
        let mut allowed = 0;
        for w in workers {
            allowed += w.await.unwrap();
        }
        assert_eq!(
            allowed, 200,
            "{backend:?}: 1,000 credits pay for exactly 200 calls at 5"
        );
        let balance = client
            .ok("get_credit_balance", json!({"customer": "acme"}))
            .await;
        assert_eq!(balance["balance"], 0, "{backend:?}");
        assert_eq!(
            balance["grants"][0]["remaining"], 0,
            "{backend:?}: never negative"
        );
    }
}

#[tokio::test]
async fn a_retried_consume_with_the_same_key_consumes_once() {
    for backend in backends() {
        let (_h, client) = with_credits(backend, 10).await;
        let args = json!({"customer": "acme", "feature": "tool_calls", "tool": "render", "consume": true, "idempotency_key": "same"});
        let first = client.ok("check_entitlement", args.clone()).await;
        let retry = client.ok("check_entitlement", args).await;
        assert_eq!(
            (
                first["consumed"].clone(),
                retry["consumed"].clone(),
                retry["duplicate"].clone()
            ),
            (json!(true), json!(false), json!(true))
        );
        assert_eq!(first["event_id"], retry["event_id"]);
        assert_eq!(
            client
                .ok("get_credit_balance", json!({"customer": "acme"}))
                .await["balance"],
            5,
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn many_customers_consuming_at_once_each_stop_at_their_own_limit() {
    // Six customers of 100 calls a month have used 60, 65, … 85 already; 50 calls each arrive at
    // once, so the writer decides many customers in one group: each may make exactly what its own
    // usage leaves, whichever other customers share the group.
    for backend in backends() {
        let h = Harness::with_catalog(backend, MONTHLY_100).await;
        let client = h.client().await;
        let used = |i: usize| 60 + 5 * i;
        for i in 0..6 {
            let customer = format!("c{i}");
            client
                .ok("create_customer", json!({"customer": customer}))
                .await;
            client
                .ok(
                    "record_usage",
                    json!({"customer": customer, "meter": "tool_calls", "quantity": used(i)}),
                )
                .await;
        }
        let clients = [h.client().await, h.client().await, h.client().await];
        let mut tasks = Vec::new();
        for n in 0..300 {
            let c = clients[n % clients.len()].clone();
            let customer = format!("c{}", n % 6);
            tasks.push(tokio::spawn(async move {
                let r = c
                    .ok(
                        "check_entitlement",
                        json!({"customer": customer, "feature": "tool_calls", "consume": true}),
                    )
                    .await;
                (n % 6, r["allowed"] == true)
            }));
        }
        let mut allowed = [0usize; 6];
        for t in tasks {
            let (i, ok) = t.await.unwrap();
            allowed[i] += usize::from(ok);
        }
        let want: Vec<usize> = (0..6).map(|i| 100 - used(i)).collect();
        assert_eq!(
            allowed.to_vec(),
            want,
            "{backend:?}: calls allowed per customer"
        );
        for i in 0..6 {
            let usage = client
                .ok("get_usage", json!({"customer": format!("c{i}")}))
                .await;
            assert_eq!(usage["totals"][0]["quantity"], 100, "{backend:?}: c{i}");
        }
    }
}
