//! The dashboard's upcoming invoices read the ledger of every customer at once
//! (`invoice_reads::prefetch`) and price it as `preview_invoice` does one customer at a time: for
//! customers on monthly and yearly plans with months of usage, a plan change inside the period, a
//! new period on another grid, a trial, values of a `unique` meter, token usage priced by model,
//! and credits burned, each invoice is the same line for line. Both backends.

use billing_mcp::service::invoice::{self, InvoicePreviewView};
use billing_mcp::service::invoice_reads::{self, Reads};
use billing_mcp::store::{NewCustomer, NewEvent, PlanChange};
use serde_json::json;

use crate::support::{DAY, HOUR, Harness, NOW, backends};

fn customer(
    id: &str,
    plan: &str,
    interval: &str,
    anchor: i64,
    trial_ends_at: Option<i64>,
) -> NewCustomer {
    NewCustomer {
        id: id.into(),
        name: None,
        email: None,
        plan: Some(plan.into()),
        billing_interval: interval.into(),
        status: if trial_ends_at.is_some() {
            "trialing"
        } else {
            "active"
        }
        .into(),
        period_anchor: anchor,
        trial_ends_at,
        metadata: "{}".into(),
        now: anchor.min(NOW),
    }
}

/// `n` events of `meter` for `customer`, one every `step` from `from`.
fn events(customer: &str, meter: &str, n: i64, from: i64, step: i64) -> Vec<NewEvent> {
    (0..n)
        .map(|k| {
            let tool = ["search", "fetch", "summarize"][(k % 3) as usize];
            let (dimension, distinct) = match meter {
                "llm_tokens" => (
                    format!(
                        r#"{{"model":"{}"}}"#,
                        ["large-model", "small-model", "other"][(k % 3) as usize]
                    ),
                    None,
                ),
                "tools_used" => (format!(r#"{{"tool":"{tool}"}}"#), Some(tool.to_string())),
                _ => (format!(r#"{{"tool":"{tool}"}}"#), None),
            };
            NewEvent {
                id: format!("e-{customer}-{meter}-{k}"),
                customer: customer.into(),
                meter: meter.into(),
                quantity: if meter == "llm_tokens" {
                    1_000 + 37 * k
                } else {
                    1 + k % 4
                },
                occurred_at: from + k * step,
                tool: if meter == "llm_tokens" {
                    ["large-model", "small-model", "other"][(k % 3) as usize].into()
                } else {
                    tool.into()
                },
                dimensions: dimension,
                idempotency_key: None,
                recorded_at: NOW,
                distinct,
                to_stripe: false,
            }
        })
        .collect()
}

#[tokio::test]
async fn every_upcoming_invoice_read_at_once_equals_its_own_preview() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let store = &h.app.store;
        let odd = 1_234_567;
        let plans = [
            customer(
                "monthly",
                "professional",
                "month",
                NOW - 50 * DAY + odd,
                None,
            ),
            customer("yearly", "starter", "year", NOW - 100 * DAY + odd, None),
            customer("changed", "starter", "month", NOW - 40 * DAY, None),
            customer("regridded", "starter", "month", NOW - 70 * DAY + odd, None),
            customer(
                "trial",
                "professional",
                "month",
                NOW + 5 * DAY,
                Some(NOW + 5 * DAY),
            ),
            customer("tokens", "metered", "month", NOW - 20 * DAY + odd, None),
            customer("distinct", "per_call", "month", NOW - 35 * DAY, None),
            customer("credits", "credits", "month", NOW - 10 * DAY, None),
        ];
        for c in plans {
            store.create_customer(c).await.unwrap();
        }
        for (id, meter) in [
            ("monthly", "tool_calls"),
            ("yearly", "tool_calls"),
            ("changed", "tool_calls"),
            ("regridded", "tool_calls"),
            ("trial", "tool_calls"),
            ("tokens", "llm_tokens"),
            ("tokens", "tool_calls"),
            ("distinct", "tools_used"),
            ("distinct", "tool_calls"),
        ] {
            // 90 days of usage up to now, at a step no hour grid shares.
            store
                .record_usage(events(id, meter, 400, NOW - 90 * DAY, 90 * DAY / 400 - 7))
                .await
                .unwrap();
        }
        // A plan change inside the period, and a new period on another grid.
        for (id, plan, anchor, at, new_period) in [
            (
                "changed",
                "professional",
                NOW - 40 * DAY,
                NOW - 4 * DAY - 3 * HOUR,
                false,
            ),
            (
                "regridded",
                "professional",
                NOW - 6 * DAY + 777,
                NOW - 6 * DAY + 777,
                true,
            ),
        ] {
            store
                .change_plan(PlanChange {
                    customer: id.into(),
                    plan: Some(plan.into()),
                    billing_interval: "month".into(),
                    status: "active".into(),
                    period_anchor: anchor,
                    trial_ends_at: None,
                    new_period,
                    at,
                    now: at,
                })
                .await
                .unwrap();
            store
                .record_usage(events(id, "tool_calls", 50, at - 2 * DAY, HOUR + 11))
                .await
                .unwrap();
        }
        let client = h.client().await;
        client
            .ok(
                "grant_credits",
                json!({"customer": "credits", "credits": 500}),
            )
            .await;
        for k in 0..7 {
            client
                .ok(
                    "check_entitlement",
                    json!({"customer": "credits", "feature": "tool_calls", "consume": true, "idempotency_key": format!("burn-{k}")}),
                )
                .await;
        }

        let records = store.all_customers().await.unwrap();
        let all: Vec<_> = records.iter().collect();
        let held = invoice_reads::prefetch(&h.app, &all).await.unwrap();
        let mut priced_usage = 0;
        for r in &records {
            let one: InvoicePreviewView = invoice::preview(&h.app, r).await.unwrap();
            let at_once = invoice::preview_using(Reads::prefetched(&h.app, &held), r, None, None)
                .await
                .unwrap();
            assert_eq!(at_once, one, "{backend:?}: {}", r.id);
            priced_usage += one
                .lines
                .iter()
                .filter(|l| l.kind == "usage" && l.quantity > 0)
                .count();
            if r.id == "credits" {
                assert!(
                    one.credit_balance < 500
                        && one
                            .lines
                            .iter()
                            .any(|l| l.kind == "credits" && l.credits > 0),
                    "{one:?}"
                );
            }
        }
        // The invoices compared carry usage, not only base fees.
        assert!(priced_usage >= 8, "{backend:?}: {priced_usage} usage lines");
    }
}
