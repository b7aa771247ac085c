//! Events that do not go, or not yet: refused by Stripe (until retried by hand), waiting for a
//! Stripe customer, kept by the ledger for meters Stripe cannot price, released at once when a
//! link arrives during a round.

use billing_mcp::service::outbox::{MeterApi, Outbox};
use serde_json::json;

use super::{STREAM, V1, events, settings, settings_for};
use crate::support::stripe::StripeServer;
use crate::support::{Backend, Client, Harness, NOW, backends};

/// Customer `acme` on the starter plan with one usage event of `quantity`.
async fn acme_with_one_event(c: &Client, quantity: u64) {
    c.ok(
        "create_customer",
        json!({"customer": "acme", "plan": "starter"}),
    )
    .await;
    c.ok(
        "record_usage",
        json!({"customer": "acme", "meter": "tool_calls", "quantity": quantity}),
    )
    .await;
}

#[tokio::test]
async fn an_event_stripe_refuses_fails_with_stripes_reason_and_is_not_retried() {
    for api in [MeterApi::Stream, MeterApi::V1] {
        let stripe = StripeServer::start().await;
        let h = Harness::with_stripe(Backend::Sqlite, &stripe.url).await;
        let c = h.client().await;
        acme_with_one_event(&c, 1).await;
        if api == MeterApi::Stream {
            // Stripe refuses the whole stream request; its event goes again alone through v1,
            // whose answer names the reason.
            stripe.fail_next_at(STREAM, 400, "invalid_request_error", "Invalid events.");
        }
        stripe.fail_next_at(
            V1,
            400,
            "invalid_request_error",
            "Timestamp must be within the past 35 calendar days.",
        );
        let outbox = Outbox::new(settings_for(api));
        outbox.send_due(&h.app).await.unwrap();
        h.set_now(NOW + 3_600_000);
        assert_eq!(
            outbox.send_due(&h.app).await.unwrap(),
            0,
            "{api:?}: a refused event is not claimed again"
        );
        let e = &events(&c, "acme").await[0];
        assert_eq!(e["stripe"]["state"], "failed", "{api:?}");
        assert_eq!(e["stripe"]["attempts"], 1);
        assert!(
            e["stripe"]["error"]
                .as_str()
                .unwrap()
                .contains("within the past 35 calendar days"),
            "{e}"
        );
        let status = c
            .ok("get_billing_status", json!({"customer": "acme"}))
            .await;
        assert_eq!(status["meter_events"]["failed"], 1);
        assert_eq!(stripe.requests("POST", V1).len(), 1);
        let streamed = usize::from(api == MeterApi::Stream);
        assert_eq!(stripe.requests("POST", STREAM).len(), streamed);

        // Once the cause is fixed, the failed event goes again, under its own identifier.
        let retried = c
            .ok("retry_meter_events", json!({"customer": "acme"}))
            .await;
        assert_eq!(retried["requeued"], 1, "{retried}");
        let again = c
            .ok("retry_meter_events", json!({"customer": "acme"}))
            .await;
        assert_eq!(again["requeued"], 0, "a repeat changes nothing");
        outbox.send_due(&h.app).await.unwrap();
        let e = &events(&c, "acme").await[0];
        assert_eq!(e["stripe"]["state"], "sent", "{e}");
        assert_eq!(stripe.meter_events().len(), 1);
        assert_eq!(stripe.meter_events()[0]["identifier"], e["event_id"]);
    }
}

#[tokio::test]
async fn a_stream_request_stripe_refuses_fails_only_the_events_stripe_refuses_alone() {
    let stripe = StripeServer::start().await;
    let h = Harness::with_stripe(Backend::Sqlite, &stripe.url).await;
    let c = h.client().await;
    acme_with_one_event(&c, 1).await;
    for quantity in [2, 3] {
        c.ok(
            "record_usage",
            json!({"customer": "acme", "meter": "tool_calls", "quantity": quantity}),
        )
        .await;
    }
    stripe.fail_next_at(STREAM, 400, "invalid_request_error", "Invalid events.");
    stripe.fail_next_at(V1, 400, "invalid_request_error", "No such customer.");
    Outbox::new(settings()).send_due(&h.app).await.unwrap();
    let all = events(&c, "acme").await;
    let state = |s: &str| all.iter().filter(|e| e["stripe"]["state"] == s).count();
    assert_eq!((state("sent"), state("failed")), (2, 1), "{all:?}");
    assert_eq!(stripe.meter_events().len(), 2);
    assert_eq!(stripe.requests("POST", STREAM).len(), 1);
    assert_eq!(
        stripe.requests("POST", V1).len(),
        3,
        "one by one after the refusal"
    );
}

#[tokio::test]
async fn events_of_a_customer_without_a_stripe_customer_wait_until_it_has_one() {
    let stripe = StripeServer::start().await;
    // A ledger recorded without Stripe, then served with it.
    let plain = Harness::new(Backend::Sqlite).await;
    let c = plain.client().await;
    acme_with_one_event(&c, 2).await;
    let status = c
        .ok("get_billing_status", json!({"customer": "acme"}))
        .await;
    assert_eq!(status["meter_events"]["stripe_configured"], false);
    assert_eq!(status["meter_events"]["pending"], 1);

    let h = Harness::with_stripe_on(plain._db.url.clone(), &stripe.url).await;
    let c = h.client().await;
    let outbox = Outbox::new(settings());
    outbox.send_due(&h.app).await.unwrap();
    let e = &events(&c, "acme").await[0];
    assert_eq!(e["stripe"]["state"], "pending");
    assert_eq!(e["stripe"]["attempts"], 0, "nothing was sent");
    assert!(
        e["stripe"]["error"]
            .as_str()
            .unwrap()
            .contains("no Stripe customer"),
        "{e}"
    );
    // create_customer again links the Stripe customer, and the event is due at once.
    c.ok(
        "create_customer",
        json!({"customer": "acme", "plan": "starter"}),
    )
    .await;
    outbox.send_due(&h.app).await.unwrap();
    assert_eq!(events(&c, "acme").await[0]["stripe"]["state"], "sent");
    assert_eq!(stripe.meter_events().len(), 1);
}

#[tokio::test]
async fn usage_stripe_cannot_meter_is_kept_by_the_ledger_and_never_sent() {
    let stripe = StripeServer::start().await;
    for backend in backends() {
        let h = Harness::with_stripe(backend, &stripe.url).await;
        let c = h.client().await;
        c.ok(
            "create_customer",
            json!({"customer": "jeturing", "plan": "forensics"}),
        )
        .await;
        c.ok(
            "record_usage",
            json!({"customer": "jeturing", "meter": "agents", "quantity": 3}),
        )
        .await;
        c.ok(
            "record_usage",
            json!({"customer": "jeturing", "meter": "cases", "quantity": 1}),
        )
        .await;
        let usage = c.ok("get_usage", json!({"customer": "jeturing"})).await;
        let states: Vec<(&str, &str)> = usage["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["meter"].as_str().unwrap(),
                    e["stripe"]["state"].as_str().unwrap(),
                )
            })
            .collect();
        assert!(
            states.contains(&("agents", "ledger")),
            "{backend:?}: a max meter has no Stripe meter: {states:?}"
        );
        assert!(states.contains(&("cases", "pending")), "{states:?}");
        let status = c
            .ok("get_billing_status", json!({"customer": "jeturing"}))
            .await;
        assert_eq!(
            (
                status["meter_events"]["ledger_only"].as_i64(),
                status["meter_events"]["failed"].as_i64()
            ),
            (Some(1), Some(0)),
            "{backend:?}: {status}"
        );
    }
}

#[tokio::test]
async fn a_stripe_link_made_during_a_round_releases_the_parked_events_at_once() {
    use billing_mcp::store::{OutboxClaim, OutboxOutcome, StripeLink};
    for backend in backends() {
        let h = Harness::new(backend).await; // no Stripe: the customer stays unlinked
        let c = h.client().await;
        c.ok("create_customer", json!({"customer": "acme"})).await;
        c.ok(
            "record_usage",
            json!({"customer": "acme", "meter": "tool_calls", "quantity": 1}),
        )
        .await;
        let store = &h.app.store;
        let claimed = store
            .claim_outbox(OutboxClaim {
                sender: "s1".into(),
                now: NOW,
                lease_until: NOW + 60_000,
                limit: 10,
            })
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        // The round found no Stripe customer; meanwhile create_customer links one.
        store
            .link_stripe(StripeLink {
                customer: "acme".into(),
                stripe_customer_id: "cus_new".into(),
                now: NOW,
            })
            .await
            .unwrap();
        let parked = OutboxOutcome::Retry {
            ids: vec![claimed[0].id.clone()],
            next_at: NOW + 300_000,
            error: "no Stripe customer yet".into(),
            attempted: false,
        };
        store.settle_outbox(vec![parked]).await.unwrap();
        let due = store
            .claim_outbox(OutboxClaim {
                sender: "s1".into(),
                now: NOW + 1,
                lease_until: NOW + 60_000,
                limit: 10,
            })
            .await
            .unwrap();
        assert_eq!(
            due.len(),
            1,
            "{backend:?}: due at once, not after the backoff cap"
        );
        assert_eq!(due[0].stripe_customer_id.as_deref(), Some("cus_new"));
    }
}
