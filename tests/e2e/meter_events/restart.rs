//! The binary killed with SIGKILL while sending: after a restart every event is at Stripe
//! exactly once, deduplicated by its identifier alone.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt;
use serde_json::{Value, json};

use crate::support::binary::stdio;
use crate::support::stripe::StripeServer;
use crate::support::{Backend, Client, test_db};

/// A client for the binary on stdio, and the child's pid.
async fn serve(db: &str, stripe: &StripeServer) -> (Client, u32) {
    let cmd = stdio(
        db,
        stripe,
        &[
            "--meter-events-api",
            "v1",
            "--meter-events-lease",
            "2",
            "--meter-events-concurrency",
            "4",
        ],
    );
    let transport = rmcp::transport::TokioChildProcess::new(cmd).unwrap();
    let pid = transport.id().unwrap();
    let inner = Arc::new(().serve(transport).await.unwrap());
    (Client { inner }, pid)
}

/// Call and expect success with a structured result.
async fn call(client: &Client, tool: &str, args: Value) -> Value {
    let r = client.raw(tool, args).await;
    assert_ne!(r.is_error, Some(true), "{tool}: {:?}", r.structured_content);
    r.structured_content.unwrap()
}

#[tokio::test]
async fn a_server_killed_while_sending_delivers_every_event_exactly_once_after_restart() {
    let stripe = StripeServer::start().await;
    stripe.delay_meter_events(Duration::from_millis(250));
    let db = test_db(Backend::Sqlite).await;
    let customers = ["c1", "c2", "c3", "c4"];
    let (client, pid) = serve(&db.url, &stripe).await;
    for customer in customers {
        call(
            &client,
            "create_customer",
            json!({"customer": customer, "plan": "starter"}),
        )
        .await;
        let batch: Vec<Value> = (0..10)
            .map(|i| json!({"customer": customer, "meter": "tool_calls", "quantity": 1, "idempotency_key": format!("{customer}-{i}")}))
            .collect();
        call(&client, "record_usage_batch", json!({"events": batch})).await;
    }
    let sending = || stripe.requests("POST", "/v1/billing/meter_events").len();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while sending() < 6 {
        assert!(
            std::time::Instant::now() < deadline,
            "the outbox never started sending"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    drop(client);
    let at_kill = sending();
    assert!(at_kill < 40, "killed mid-send ({at_kill} of 40 sent)");
    // More than a day later as far as Stripe's idempotency keys go: only identifiers dedupe now.
    stripe.forget_idempotency_keys();

    let (client, _) = serve(&db.url, &stripe).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mut pending = 0;
        for customer in customers {
            let s = call(&client, "get_billing_status", json!({"customer": customer})).await;
            pending += s["meter_events"]["pending"].as_i64().unwrap();
            assert_eq!(s["meter_events"]["failed"], 0, "{s}");
        }
        if pending == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{pending} events still pending"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut ledger_ids = BTreeSet::new();
    for customer in customers {
        let usage = call(
            &client,
            "get_usage",
            json!({"customer": customer, "limit": 100}),
        )
        .await;
        for e in usage["events"].as_array().unwrap() {
            assert_eq!(e["stripe"]["state"], "sent");
            ledger_ids.insert(e["event_id"].as_str().unwrap().to_string());
        }
    }
    let held: Vec<String> = stripe
        .meter_events()
        .iter()
        .map(|m| m["identifier"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(held.len(), 40, "every event at Stripe once");
    assert_eq!(held.into_iter().collect::<BTreeSet<_>>(), ledger_ids);
    assert!(
        sending() > 40,
        "events in flight at the kill were sent again"
    );
}
