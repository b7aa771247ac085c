//! Removal with several processes on one ledger: two running at once neither fail nor count
//! anything twice; the binary removes at start as `--retention-days` (or its variable) says.

use std::sync::Arc;
use std::time::Duration;

use billing_mcp::service::retention::prune;
use rmcp::ServiceExt;
use serde_json::{Value, json};

use super::records::deliver;
use super::{keeping, period, process};
use crate::support::{BINARY, Backend, Client, DAY, EXAMPLE_CATALOG, Harness, NOW, backends};
use crate::webhooks::{event, setup};

const CUSTOMERS: [&str; 3] = ["acme", "bob", "carol"];
const EACH: usize = 150;

#[tokio::test]
async fn two_processes_removing_at_once_neither_fail_nor_count_anything_twice() {
    for backend in backends() {
        let (h, _hook, c) = setup(backend).await;
        for customer in CUSTOMERS {
            c.ok("create_customer", json!({"customer": customer})).await;
            let batch: Vec<Value> = (0..EACH)
                .map(|i| {
                    json!({"customer": customer, "meter": "tool_calls", "quantity": 2,
                                "idempotency_key": format!("{customer}-{i}"),
                                "dimensions": {"tool": format!("t{}", i % 3)}})
                })
                .collect();
            c.ok("record_usage_batch", json!({"events": batch})).await;
        }
        for i in 0..20 {
            let e = event(
                &format!("evt_{i}"),
                "charge.succeeded",
                0,
                json!({"id": "ch_1"}),
            );
            assert_eq!(deliver(&h, &e).await.event.status, "ignored");
        }
        let audited = c.ok("get_audit_log", json!({"limit": 100})).await["entries"]
            .as_array()
            .unwrap()
            .len() as u64;
        let first = period(&c, "acme").await;
        h.set_now(NOW + 40 * DAY);
        let mut before = Vec::new();
        for customer in CUSTOMERS {
            let range = json!({"customer": customer, "from": first["start"], "to": first["end"]});
            before.push(c.ok("get_usage_stats", range.clone()).await);
            before.push(c.ok("get_usage", range).await["totals"].clone());
        }

        let one = process(&h, keeping(30), None).await;
        let other = process(&h, keeping(30), None).await;
        let (a, b) = tokio::join!(prune(&one), prune(&other));
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            a.usage_events + b.usage_events,
            (CUSTOMERS.len() * EACH) as u64,
            "{backend:?}: {a:?} {b:?}"
        );
        assert_eq!(a.webhook_payloads + b.webhook_payloads, 20, "{backend:?}");
        assert_eq!(a.audit_log + b.audit_log, audited, "{backend:?}");

        let mut after = Vec::new();
        for customer in CUSTOMERS {
            let range = json!({"customer": customer, "from": first["start"], "to": first["end"]});
            after.push(c.ok("get_usage_stats", range.clone()).await);
            after.push(c.ok("get_usage", range).await["totals"].clone());
            let status = c
                .ok("get_billing_status", json!({"customer": customer}))
                .await;
            assert_eq!(
                status["retention"]["events_removed"], EACH,
                "{backend:?}: {status}"
            );
        }
        assert_eq!(before, after, "{backend:?}: counted once");
        assert_eq!(after[0]["calls"], EACH, "{}", after[0]);
        // Whichever removed what, the ledger's account of it adds up.
        let runs = one.store.retention_runs().await.unwrap();
        let usage = runs.iter().find(|r| r.kind == "usage_events").unwrap();
        assert_eq!(usage.removed_total, (CUSTOMERS.len() * EACH) as i64);
    }
}

#[tokio::test]
async fn the_binary_removes_old_events_at_start_as_its_flags_say() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    // The binary reads the system clock: the ledger's story is told relative to it.
    let now = chrono::Utc::now().timestamp_millis();
    h.set_now(now - 40 * DAY);
    c.ok(
        "create_customer",
        json!({"customer": "acme", "plan": "per_call"}),
    )
    .await;
    for key in ["old-1", "old-2"] {
        c.ok(
            "record_usage",
            json!({"customer": "acme", "meter": "tool_calls", "quantity": 1, "idempotency_key": key}),
        )
        .await;
    }
    h.set_now(now - DAY);
    c.ok(
        "record_usage",
        json!({"customer": "acme", "meter": "tool_calls", "quantity": 1, "idempotency_key": "new"}),
    )
    .await;

    let mut cmd = tokio::process::Command::new(BINARY);
    cmd.args(["serve", "--stdio", "--catalog", EXAMPLE_CATALOG])
        .args([
            "--database-url",
            &h._db.url,
            "--audit-retention-days",
            "forever",
        ])
        .env("BILLING_RETENTION_DAYS", "30")
        .env_remove("STRIPE_SECRET_KEY")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let transport = rmcp::transport::TokioChildProcess::new(cmd).unwrap();
    let binary = Client {
        inner: Arc::new(().serve(transport).await.unwrap()),
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let retention = loop {
        let status = binary
            .ok("get_billing_status", json!({"customer": "acme"}))
            .await;
        if status["retention"]["events_removed"] == 2 {
            break status["retention"].clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing removed at start: {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(retention["usage_events_days"], 30, "{retention}");
    assert_eq!(retention["webhook_payloads_days"], 30);
    assert_eq!(
        retention["audit_log_days"],
        Value::Null,
        "forever overrides"
    );
    let kept = binary
        .ok(
            "get_usage",
            json!({"customer": "acme", "from": "2000-01-01T00:00:00Z"}),
        )
        .await;
    let keys: Vec<&str> = kept["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["idempotency_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["new"], "{kept}");
    let audit = binary.ok("get_audit_log", json!({})).await;
    assert!(
        !audit["entries"].as_array().unwrap().is_empty(),
        "audit entries kept"
    );
    drop(binary);
}
