//! Webhook payloads and the audit log: old processed events lose their payload but stay known, so
//! a redelivery is still a duplicate that changes nothing; failed events keep theirs for a retry;
//! audit entries older than the window go.

use billing_mcp::service::retention::prune;
use billing_mcp::service::webhooks::receive;
use billing_mcp::stripe::signature::sign;
use serde_json::{Value, json};

use super::{keeping, process};
use crate::support::{DAY, Harness, NOW, backends};
use crate::webhooks::{NEW, event, setup, subscription};

/// Deliver `event` signed at the harness's now, as Stripe would; the answer's event.
pub(super) async fn deliver(
    h: &Harness,
    event: &Value,
) -> billing_mcp::service::webhooks::Delivered {
    let body = event.to_string();
    let t = h.app.now() / 1000;
    let header = format!("t={t},v1={}", sign(NEW, t, body.as_bytes()));
    receive(&h.app, body.as_bytes(), Some(&header))
        .await
        .unwrap()
}

async fn webhooks(c: &crate::support::Client) -> Vec<Value> {
    c.ok("list_webhook_events", json!({"limit": 100})).await["events"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn an_old_webhook_loses_its_payload_and_a_redelivery_is_still_a_duplicate() {
    for backend in backends() {
        let (h, _hook, c) = setup(backend).await;
        let upgraded = event(
            "evt_sub",
            "customer.subscription.updated",
            0,
            subscription("sub_1", "acme", "professional", "active"),
        );
        assert_eq!(deliver(&h, &upgraded).await.event.status, "processed");
        // An event that cannot apply (no such ledger customer) waits for a retry.
        let mut nobodys = subscription("sub_2", "nobody", "professional", "active");
        nobodys["customer"] = json!("cus_nobody");
        let orphan = event("evt_orphan", "customer.subscription.updated", 0, nobodys);
        assert_eq!(deliver(&h, &orphan).await.event.status, "failed");
        h.set_now(NOW + 40 * DAY);
        let recent = event("evt_new", "charge.succeeded", 0, json!({"id": "ch_1"}));
        assert_eq!(deliver(&h, &recent).await.event.status, "ignored");
        let before = webhooks(&c).await;

        let pruner = process(&h, keeping(30), None).await;
        assert_eq!(prune(&pruner).await.unwrap().webhook_payloads, 1);
        let after = webhooks(&c).await;
        assert_eq!(after.len(), 3, "{backend:?}: every event stays listed");
        for (b, a) in before.iter().zip(&after) {
            let removed = a["event_id"] == "evt_sub";
            assert_eq!(a["payload_removed"], removed, "{a}");
            let mut a = a.clone();
            a["payload_removed"] = json!(false);
            assert_eq!(&a, b, "{backend:?}: status, outcome and times stay");
        }

        // Stripe delivers it again (a retry on its side): known, and nothing applies twice.
        let again = deliver(&h, &upgraded).await;
        assert!(again.duplicate, "{backend:?}");
        assert_eq!(again.event.status, "processed");
        assert_eq!(again.event.attempts, 1);
        assert!(again.event.payload_removed);
        let customer = c.ok("get_customer", json!({"customer": "acme"})).await;
        assert_eq!(customer["plan"], "professional", "{customer}");
        // The failed one still has its payload: it can be retried.
        let retried = c
            .ok("retry_webhook_event", json!({"event_id": "evt_orphan"}))
            .await;
        assert_eq!(retried["status"], "failed", "{retried}");
        assert_eq!(retried["attempts"], 2, "processed again from its payload");
    }
}

#[tokio::test]
async fn audit_entries_older_than_the_window_go() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let c = h.client().await;
        for customer in ["old_1", "old_2", "old_3"] {
            c.ok("create_customer", json!({"customer": customer})).await;
        }
        h.set_now(NOW + 29 * DAY);
        c.ok("create_customer", json!({"customer": "recent"})).await;
        h.set_now(NOW + 31 * DAY);
        let pruner = process(&h, keeping(30), None).await;
        assert_eq!(prune(&pruner).await.unwrap().audit_log, 3, "{backend:?}");
        let log = c.ok("get_audit_log", json!({})).await;
        let customers: Vec<&str> = log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["customer"].as_str().unwrap())
            .collect();
        assert_eq!(customers, ["recent"], "{backend:?}");
    }
}
