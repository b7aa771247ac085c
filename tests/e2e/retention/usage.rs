//! Usage events: old ones that Stripe holds and whose period is closed go, and nothing a tool
//! shows of their period changes; an undelivered one, one still inside the window, and one of a
//! period not yet invoiced stay; a retry with a removed event's key is still a duplicate.

use std::time::Duration;

use billing_mcp::service::outbox::{Outbox, OutboxSettings};
use billing_mcp::service::retention::prune;
use serde_json::{Value, json};

use super::{client_of, keeping, period, process};
use crate::support::stripe::StripeServer;
use crate::support::{Client, DAY, HOUR, Harness, NOW, backends};
use crate::webhooks::{NEW, event, setup};

const STREAM: &str = "/v2/billing/meter_event_stream";
const V1: &str = "/v1/billing/meter_events";

fn outbox() -> Outbox {
    Outbox::new(OutboxSettings {
        per_second: std::num::NonZeroU32::new(10_000).unwrap(),
        max_backoff: Duration::from_secs(8),
        ..OutboxSettings::default()
    })
}

async fn record(c: &Client, customer: &str, quantity: u64, key: &str, dimensions: Value) -> Value {
    c.ok(
        "record_usage",
        json!({"customer": customer, "meter": "tool_calls", "quantity": quantity,
               "idempotency_key": key, "dimensions": dimensions}),
    )
    .await
}

/// What the tools show of a customer's first period (and its upcoming invoice).
async fn figures(c: &Client, customer: &str, first: &Value) -> Value {
    let range = json!({"customer": customer, "from": first["start"], "to": first["end"]});
    json!({
        "totals": c.ok("get_usage", range.clone()).await["totals"],
        "stats": c.ok("get_usage_stats", range).await,
        "preview": c.ok("preview_invoice", json!({"customer": customer})).await,
        "balance": c.ok("get_credit_balance", json!({"customer": customer})).await["balance"],
    })
}

/// Timestamps and stripe states of the events `get_usage` lists for the range.
async fn listed(c: &Client, customer: &str, first: &Value) -> (Vec<(String, String)>, Value) {
    let page = c
        .ok(
            "get_usage",
            json!({"customer": customer, "from": first["start"], "to": first["end"], "limit": 100}),
        )
        .await;
    let events = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["idempotency_key"].as_str().unwrap_or("-").to_string(),
                e["stripe"]["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (events, page["events_removed_through"].clone())
}

#[tokio::test]
async fn old_delivered_billed_events_go_while_every_figure_of_their_period_stays() {
    for backend in backends() {
        let stripe = StripeServer::start().await;
        let h = Harness::with_stripe(backend, &stripe.url).await;
        let c = h.client().await;
        for (customer, plan) in [("acme", "per_call"), ("bob", "credits")] {
            c.ok(
                "create_customer",
                json!({"customer": customer, "plan": plan}),
            )
            .await;
        }
        c.ok("grant_credits", json!({"customer": "bob", "credits": 100}))
            .await;
        let first = period(&c, "acme").await;
        // The first period: two tools, a failed call, and credits burned by bob's calls.
        let first_id =
            record(&c, "acme", 3, "a-1", json!({"tool": "search"})).await["event_id"].clone();
        record(
            &c,
            "acme",
            2,
            "a-2",
            json!({"tool": "ai-image-generator", "outcome": "error"}),
        )
        .await;
        record(&c, "acme", 5, "a-3", json!({})).await;
        for (key, tool) in [("b-1", "search"), ("b-2", "ai-image-generator")] {
            let used = c
                .ok(
                    "check_entitlement",
                    json!({"customer": "bob", "feature": "tool_calls", "consume": true,
                           "tool": tool, "idempotency_key": key}),
                )
                .await;
            assert_eq!(used["allowed"], true, "{used}");
        }
        outbox().send_due(&h.app).await.unwrap();
        // An hour later one that Stripe refuses (undelivered), then one 25 days in.
        h.set_now(NOW + HOUR);
        record(&c, "acme", 7, "a-4", json!({})).await;
        stripe.fail_next_at(STREAM, 400, "invalid_request_error", "Invalid events.");
        stripe.fail_next_at(V1, 400, "invalid_request_error", "No such customer.");
        outbox().send_due(&h.app).await.unwrap();
        h.set_now(NOW + 25 * DAY);
        record(&c, "acme", 11, "a-5", json!({})).await;
        // Before it is sent the dashboard counts it pending, beside the one Stripe refused.
        assert_eq!(
            c.ok("get_dashboard", json!({})).await["delivery"],
            json!({"meter_events_pending": 1, "meter_events_failed": 1, "webhooks_failed": 0}),
            "{backend:?}"
        );
        outbox().send_due(&h.app).await.unwrap();

        // 40 days on, the first period is closed; a 30-day window keeps what is after day 10.
        h.set_now(NOW + 40 * DAY);
        let before = [
            figures(&c, "acme", &first).await,
            figures(&c, "bob", &first).await,
        ];
        let range = json!({"from": first["start"], "to": first["end"]});
        let dashboard = c.ok("get_dashboard", range.clone()).await;
        let (listed_before, none) = listed(&c, "acme", &first).await;
        assert_eq!(listed_before.len(), 5, "{listed_before:?}");
        assert_eq!(none, Value::Null, "nothing removed yet");

        let pruner = process(&h, keeping(30), Some(&stripe.url)).await;
        let pruned = prune(&pruner).await.unwrap();
        assert_eq!(pruned.usage_events, 5, "{backend:?}: acme's 3 and bob's 2");
        assert_eq!(
            prune(&pruner).await.unwrap().usage_events,
            0,
            "a second run finds nothing"
        );

        let after = [
            figures(&c, "acme", &first).await,
            figures(&c, "bob", &first).await,
        ];
        assert_eq!(before, after, "{backend:?}: the period's figures stay");
        assert!(after[1]["stats"]["credits_burned"].as_u64().unwrap() > 0);
        assert_eq!(after[0]["stats"]["failed"], 1, "{}", after[0]["stats"]);
        assert_eq!(c.ok("get_dashboard", range).await, dashboard);
        let (listed_after, through) = listed(&c, "acme", &first).await;
        assert_eq!(
            listed_after,
            [
                ("a-5".to_string(), "sent".to_string()),
                ("a-4".to_string(), "failed".to_string())
            ],
            "{backend:?}: the one inside the window and the undelivered one stay"
        );
        assert_eq!(through, json!("2026-11-21T10:30:00.000Z"));

        let status = client_of(&h, &pruner)
            .await
            .ok("get_billing_status", json!({"customer": "acme"}))
            .await;
        let r = &status["retention"];
        assert_eq!(r["usage_events_days"], 30, "{status}");
        assert_eq!(r["events_removed"], 3);
        assert_eq!(r["oldest_event_kept"], "2026-11-21T11:30:00.000Z");
        assert_eq!(r["events_removed_through"], "2026-11-21T10:30:00.000Z");
        assert_eq!(r["last_run_at"], "2026-12-31T10:30:00.000Z");

        // A late retry of a removed event, with its key and no timestamp, still counts once.
        let retried = record(&c, "acme", 3, "a-1", json!({"tool": "search"})).await;
        assert_eq!(retried["status"], "duplicate", "{retried}");
        assert_eq!(retried["event_id"], first_id);
        let batch = c
            .ok(
                "record_usage_batch",
                json!({"events": [
                    {"customer": "acme", "meter": "tool_calls", "quantity": 2, "idempotency_key": "a-2"},
                    {"customer": "acme", "meter": "tool_calls", "quantity": 1, "idempotency_key": "a-6"}]}),
            )
            .await;
        let statuses: Vec<&str> = batch["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["duplicate", "recorded"], "{batch}");
        let again = c
            .ok(
                "check_entitlement",
                json!({"customer": "bob", "feature": "tool_calls", "consume": true,
                       "tool": "ai-image-generator", "idempotency_key": "b-2"}),
            )
            .await;
        assert_eq!(again["duplicate"], true, "{again}");
        let now = c.ok("get_usage", json!({"customer": "acme"})).await;
        let events: u64 = now["totals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["events"].as_u64().unwrap())
            .sum();
        assert_eq!(
            events, 1,
            "{backend:?}: only a-6 is new in this period: {now}"
        );
        assert_eq!(
            figures(&c, "bob", &first).await["balance"],
            after[1]["balance"],
            "no credits burned twice"
        );
    }
}

/// Without Stripe, a pending event goes once past the window, its period invoiced, and 35 days
/// old (Stripe would refuse it after that, should a key come).
#[tokio::test]
async fn an_event_of_a_period_not_yet_invoiced_or_that_stripe_could_still_take_stays() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let c = h.client().await;
        c.ok(
            "create_customer",
            json!({"customer": "acme", "plan": "per_call"}),
        )
        .await;
        record(&c, "acme", 4, "k-1", json!({})).await;
        let pruner = process(&h, keeping(1), None).await;
        let removed = |days: i64| {
            let (h, pruner) = (&h, &pruner);
            async move {
                h.set_now(NOW + days * DAY);
                prune(pruner).await.unwrap().usage_events
            }
        };
        assert_eq!(removed(2).await, 0, "{backend:?}: its period is still open");
        assert_eq!(
            removed(32).await,
            0,
            "{backend:?}: Stripe could still take it"
        );
        assert_eq!(removed(36).await, 1, "{backend:?}");
        let status = c
            .ok("get_billing_status", json!({"customer": "acme"}))
            .await;
        assert_eq!(status["retention"]["events_removed"], 1, "{status}");
        assert_eq!(status["retention"]["oldest_event_kept"], Value::Null);
        assert_eq!(
            status["retention"]["usage_events_days"],
            Value::Null,
            "this process keeps everything"
        );
    }
}

/// An invoice of acme's from `start` (seconds before now) to now.
fn invoice(id: &str, start: i64) -> Value {
    json!({"id": id, "object": "invoice", "customer": "cus_w1",
        "metadata": {"billing_mcp_customer": "acme"}, "period_start": NOW / 1000 - start, "period_end": NOW / 1000})
}

/// While the customer has an open Stripe invoice, its events wait until a paid invoice marks
/// them billed.
#[tokio::test]
async fn events_wait_for_a_paid_invoice_while_the_customer_has_an_open_one() {
    for backend in backends() {
        let (h, hook, c) = setup(backend).await;
        c.ok(
            "record_usage",
            json!({"customer": "acme", "meter": "tool_calls", "quantity": 4,
                   "timestamp": "2026-11-21T08:30:00Z"}),
        )
        .await;
        let open = event(
            "evt_o",
            "invoice.finalized",
            10,
            invoice("in_1", 30 * 86_400),
        );
        assert_eq!(hook.deliver(&open, NEW).await.0, 200);
        let pruner = process(&h, keeping(1), None).await;
        h.set_now(NOW + 40 * DAY);
        assert_eq!(prune(&pruner).await.unwrap().usage_events, 0, "{backend:?}");
        h.set_now(NOW);
        let paid = event("evt_p", "invoice.paid", 20, invoice("in_2", 86_400));
        assert_eq!(hook.deliver(&paid, NEW).await.0, 200);
        h.set_now(NOW + 40 * DAY);
        assert_eq!(prune(&pruner).await.unwrap().usage_events, 1, "{backend:?}");
    }
}
