//! Usage at volume, at real-world latency, from two server processes on one ledger: one busy
//! customer's backlog drains in seconds on the v2 stream, Stripe never sees more requests per
//! second than configured nor more in flight, and two processes killed mid-drain twice still
//! deliver each event exactly once.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use serde_json::{Value, json};

use crate::support::binary::stdio;
use crate::support::stripe::StripeServer;
use crate::support::{Backend, Client, backends, test_db};

/// `billing-mcp serve --stdio` on ledger `db` with these meter-event flags; its client and pid.
async fn serve(db: &str, stripe: &StripeServer, flags: &[&str]) -> (Client, u32) {
    let transport = rmcp::transport::TokioChildProcess::new(stdio(db, stripe, flags)).unwrap();
    let pid = transport.id().unwrap();
    let inner = Arc::new(().serve(transport).await.unwrap());
    (Client { inner }, pid)
}

fn kill(pid: u32) {
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
}

/// 100 usage events of `customer` in one call.
async fn record_100(c: &Client, customer: &str) {
    let batch: Vec<Value> = (0..100)
        .map(|_| json!({"customer": customer, "meter": "tool_calls", "quantity": 1}))
        .collect();
    let r = c.raw("record_usage_batch", json!({"events": batch})).await;
    assert_ne!(r.is_error, Some(true), "{r:?}");
}

/// The customer's events by Stripe state: (pending, sent, failed).
async fn states(c: &Client, customer: &str) -> (i64, i64, i64) {
    let r = c
        .raw("get_billing_status", json!({"customer": customer}))
        .await;
    let s = &r.structured_content.unwrap()["meter_events"];
    let n = |k: &str| s[k].as_i64().unwrap();
    (n("pending"), n("sent"), n("failed"))
}

/// Each identifier Stripe holds, checked against the count of events.
fn held_once(stripe: &StripeServer, events: usize) {
    let held: Vec<String> = stripe
        .meter_events()
        .iter()
        .map(|m| m["identifier"].as_str().unwrap().to_string())
        .collect();
    let unique: BTreeSet<&String> = held.iter().collect();
    assert_eq!(
        (held.len(), unique.len()),
        (events, events),
        "each event once at Stripe"
    );
}

const FLAGS: &[&str] = &[
    "--meter-events-per-second",
    "20",
    "--meter-events-concurrency",
    "8",
    "--meter-events-lease",
    "5",
];

#[tokio::test]
async fn a_busy_customer_at_200_ms_drains_within_seconds_and_within_the_rate_from_two_processes() {
    for backend in backends() {
        let stripe = StripeServer::start().await;
        stripe.delay_meter_events(Duration::from_millis(200));
        let db = test_db(backend).await;
        let (a, _) = serve(&db.url, &stripe, FLAGS).await;
        let (b, _) = serve(&db.url, &stripe, FLAGS).await;
        let linked = a
            .raw(
                "create_customer",
                json!({"customer": "hot", "plan": "starter"}),
            )
            .await;
        assert_ne!(linked.is_error, Some(true));
        // 1,000 events a second for 10 seconds, half through each process.
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        for i in 0..100 {
            tick.tick().await;
            record_100(if i % 2 == 0 { &a } else { &b }, "hot").await;
        }
        let stopped = Instant::now();
        loop {
            let (pending, _, failed) = states(&a, "hot").await;
            assert_eq!(failed, 0, "{backend:?}");
            if pending == 0 {
                break;
            }
            assert!(
                stopped.elapsed() < Duration::from_secs(10),
                "{backend:?}: {pending} events still pending 10 s after the load stopped"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let drained = stopped.elapsed();
        held_once(&stripe, 10_000);
        let streamed = stripe.requests("POST", super::STREAM);
        let sent: usize = streamed
            .iter()
            .map(|r| r.body.matches("\"identifier\"").count())
            .sum();
        assert_eq!(
            sent, 10_000,
            "{backend:?}: no event sent twice without a fault"
        );
        assert!(
            stripe.max_per_second() <= 20,
            "{backend:?}: {} requests in one second, 20 allowed",
            stripe.max_per_second()
        );
        assert!(
            stripe.max_in_flight() <= 8,
            "{backend:?}: {}",
            stripe.max_in_flight()
        );
        eprintln!(
            "{backend:?}: 10,000 events drained {} ms after the load stopped, {} stream requests, at most {} a second",
            drained.as_millis(),
            stripe.requests("POST", super::STREAM).len(),
            stripe.max_per_second()
        );
    }
}

#[tokio::test]
async fn v1_sends_one_request_at_a_time_per_customer_and_meter_across_two_processes() {
    let stripe = StripeServer::start().await;
    stripe.delay_meter_events(Duration::from_millis(50));
    let db = test_db(Backend::Sqlite).await;
    let flags = [&["--meter-events-api", "v1"], FLAGS].concat();
    let (a, _) = serve(&db.url, &stripe, &flags).await;
    let (b, _) = serve(&db.url, &stripe, &flags).await;
    for customer in ["c1", "c2"] {
        a.raw(
            "create_customer",
            json!({"customer": customer, "plan": "starter"}),
        )
        .await;
        record_100(&a, customer).await;
        record_100(&b, customer).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while states(&a, "c1").await.0 + states(&a, "c2").await.0 > 0 {
        assert!(Instant::now() < deadline, "never drained");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    held_once(&stripe, 400);
    assert_eq!(stripe.max_in_flight_per_customer_meter(), 1);
    assert!(stripe.max_per_second() <= 20, "{}", stripe.max_per_second());
}

#[tokio::test]
async fn two_processes_killed_mid_drain_twice_still_deliver_each_event_once() {
    let stripe = StripeServer::start().await;
    stripe.delay_meter_events(Duration::from_millis(200));
    let db = test_db(Backend::Sqlite).await;
    let flags = [
        "--meter-events-per-second",
        "4",
        "--meter-events-lease",
        "2",
    ];
    let (mut a, mut pa) = serve(&db.url, &stripe, &flags).await;
    let (mut b, mut pb) = serve(&db.url, &stripe, &flags).await;
    a.raw(
        "create_customer",
        json!({"customer": "hot", "plan": "starter"}),
    )
    .await;
    for i in 0..30 {
        record_100(if i % 2 == 0 { &a } else { &b }, "hot").await;
    }
    for kill_round in 1..=2 {
        // Let the sender get going, then kill both processes at once, mid-drain.
        let before = stripe.requests("POST", super::STREAM).len();
        let deadline = Instant::now() + Duration::from_secs(30);
        while stripe.requests("POST", super::STREAM).len() < before + 3 {
            assert!(Instant::now() < deadline, "the sender never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // A session ends too: the next requests wait for a new one, still one at a time.
        stripe.expire_sessions();
        tokio::time::sleep(Duration::from_millis(600)).await;
        kill(pa);
        kill(pb);
        let (pending, _, _) = {
            (a, pa) = serve(&db.url, &stripe, &flags).await;
            (b, pb) = serve(&db.url, &stripe, &flags).await;
            states(&a, "hot").await
        };
        assert!(pending > 0, "kill {kill_round} came mid-drain");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (pending, sent, failed) = states(&b, "hot").await;
        assert_eq!(failed, 0);
        if pending == 0 {
            assert_eq!(sent, 3_000);
            break;
        }
        assert!(Instant::now() < deadline, "{pending} still pending");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    held_once(&stripe, 3_000);
    assert!(stripe.max_per_second() <= 4, "{}", stripe.max_per_second());
    // Requests go evenly spaced (256 ms at 4 a second), never in a burst, not even after a new
    // session or a new sender.
    assert!(
        stripe.min_gap_ms() >= 150,
        "{} ms between two requests",
        stripe.min_gap_ms()
    );
}
