//! `/metrics` on the HTTP server: refused without a key (401) or with a customer key (403), the
//! Prometheus text format with an admin or service key, and the counters a scrape shows move
//! with the calls made. (The recorder is one per process, shared by every test in this binary,
//! so counts are compared before and after; `tests/acceptance/prometheus.py` checks exact counts
//! through a real Prometheus server.)

use billing_mcp::access::Role;
use serde_json::json;

use crate::support::http::Server;
use crate::support::{Backend, Harness};

async fn scrape(base: &str, key: Option<&str>) -> (u16, String) {
    let mut req = crate::support::http_client().get(format!("{base}/metrics"));
    if let Some(k) = key {
        req = req.header("authorization", format!("Bearer {k}"));
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// The value of the sample whose line starts with `series` (name and labels), 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_need_an_admin_or_service_key_and_count_the_calls_made() {
    let h = Harness::new(Backend::Sqlite).await;
    let server = Server::start(&h).await;
    let admin = h.key(Role::Admin, None).await;
    let service = h.key(Role::Service, None).await;
    let c = server.client(&admin).await;
    c.ok(
        "create_customer",
        json!({"customer": "acme", "plan": "free"}),
    )
    .await;
    let customer = h.key(Role::Customer, Some("acme")).await;

    let (status, _) = scrape(&server.base, None).await;
    assert_eq!(status, 401);
    let (status, _) = scrape(&server.base, Some("bmcp_not_a_key")).await;
    assert_eq!(status, 401);
    let (status, body) = scrape(&server.base, Some(&customer)).await;
    assert_eq!(status, 403, "{body}");

    let calls = r#"billing_mcp_operations_total{operation="check_entitlement",status="ok"}"#;
    let decisions = r#"billing_entitlement_decisions_total{reason="ok",consume="true"}"#;
    let (status, before) = scrape(&server.base, Some(&service)).await;
    assert_eq!(status, 200);
    for i in 0..3 {
        c.ok(
            "check_entitlement",
            json!({"customer": "acme", "feature": "tool_calls", "consume": true, "idempotency_key": format!("m{i}")}),
        )
        .await;
    }
    let (status, after) = scrape(&server.base, Some(&admin)).await;
    assert_eq!(status, 200);
    assert!(
        value(&after, calls) - value(&before, calls) >= 3.0,
        "{after}"
    );
    assert!(value(&after, decisions) - value(&before, decisions) >= 3.0);
    for name in [
        "# TYPE billing_mcp_operation_duration_seconds histogram",
        "# TYPE billing_ledger_batch_operations histogram",
        "# TYPE billing_meter_events_pending gauge",
        "billing_usage_events_total{status=\"recorded\"}",
    ] {
        assert!(after.contains(name), "{name} missing from:\n{after}");
    }
    assert!(
        !after.contains(&admin) && !after.contains(&service),
        "no secret in the metrics"
    );
}
