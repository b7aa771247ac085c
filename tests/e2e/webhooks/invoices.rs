//! Invoice events: a failed payment makes the customer overdue until a newer invoice is paid, and
//! a paid invoice marks its period's usage billed, once.

use serde_json::{Value, json};

use super::{NEW, event, setup};
use crate::support::{Backend, NOW, backends};

/// An invoice of acme's for the day before now.
fn invoice(id: &str) -> Value {
    json!({"id": id, "object": "invoice", "customer": "cus_w1",
        "metadata": {"billing_mcp_customer": "acme"}, "period_start": NOW / 1000 - 86_400, "period_end": NOW / 1000})
}

#[tokio::test]
async fn a_failed_invoice_payment_makes_the_customer_overdue_until_a_newer_invoice_is_paid() {
    let (_h, hook, c) = setup(Backend::Sqlite).await;
    c.ok(
        "set_customer_plan",
        json!({"customer": "acme", "plan": "forensics"}),
    )
    .await;
    let failed = event("evt_f", "invoice.payment_failed", 10, invoice("in_1"));
    assert_eq!(hook.deliver(&failed, NEW).await.0, 200);
    let status = c
        .ok("get_billing_status", json!({"customer": "acme"}))
        .await;
    assert_eq!(status["is_delinquent"], true);
    let denied = c
        .ok(
            "check_entitlement",
            json!({"customer": "acme", "feature": "forensics"}),
        )
        .await;
    assert_eq!(denied["allowed"], false);
    assert_eq!(
        denied["reason"], "payment_overdue",
        "the plan blocks when overdue"
    );

    let paid = event("evt_p", "invoice.paid", 20, invoice("in_1"));
    let (_, answer) = hook.deliver(&paid, NEW).await;
    assert!(
        answer["event"]["outcome"]
            .as_str()
            .unwrap()
            .contains("paid"),
        "{answer}"
    );
    assert_eq!(
        c.ok("get_billing_status", json!({"customer": "acme"}))
            .await["is_delinquent"],
        false
    );
    assert_eq!(
        c.ok(
            "check_entitlement",
            json!({"customer": "acme", "feature": "forensics"})
        )
        .await["allowed"],
        true
    );
}

#[tokio::test]
async fn a_paid_invoice_marks_its_periods_usage_billed_once() {
    for backend in backends() {
        let (_h, hook, c) = setup(backend).await;
        let at = |offset_s: i64| {
            chrono::DateTime::from_timestamp(NOW / 1000 + offset_s, 0)
                .unwrap()
                .to_rfc3339()
        };
        // before the invoice's period, inside it, and at its end (the end is not in it)
        for (key, offset) in [("before", -2 * 86_400), ("inside", -3_600), ("at_end", 0)] {
            c.ok(
                "record_usage",
                json!({"customer": "acme", "meter": "tool_calls", "quantity": 1,
                       "timestamp": at(offset), "idempotency_key": key}),
            )
            .await;
        }
        let (_, answer) = hook
            .deliver(
                &event("evt_paid1", "invoice.paid", 10, invoice("in_9")),
                NEW,
            )
            .await;
        assert!(
            answer["event"]["outcome"]
                .as_str()
                .unwrap()
                .contains("usage marked billed"),
            "{answer}"
        );
        // an invoice for the same period paid later does not take the events over
        hook.deliver(
            &event("evt_paid2", "invoice.paid", 20, invoice("in_10")),
            NEW,
        )
        .await;
        let usage = c
            .ok(
                "get_usage",
                json!({"customer": "acme", "from": at(-3 * 86_400), "to": at(60), "limit": 10}),
            )
            .await;
        let billed: Vec<(String, Value)> = usage["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["idempotency_key"].as_str().unwrap().to_string(),
                    e["stripe"]["invoice"].clone(),
                )
            })
            .collect();
        assert_eq!(billed.len(), 3, "{usage}");
        for (key, invoice) in billed {
            let want = if key == "inside" {
                json!("in_9")
            } else {
                Value::Null
            };
            assert_eq!(invoice, want, "{backend:?} {key}");
        }
    }
}
