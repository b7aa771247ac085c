//! Through Stripe's outages nothing is lost or sent twice: a minute of 500s, 429s and lost
//! answers, and an edge answering HTML pages.

use std::collections::{BTreeMap, BTreeSet};

use billing_mcp::service::outbox::{MeterApi, Outbox};
use serde_json::{Value, json};

use super::{STREAM, V1, events, settings_for};
use crate::support::stripe::StripeServer;
use crate::support::{Harness, NOW, backends};

#[tokio::test]
async fn usage_reaches_stripe_once_through_a_minute_of_500s_and_429s() {
    let runs = backends()
        .into_iter()
        .flat_map(|b| [(b, MeterApi::Stream), (b, MeterApi::V1)]);
    for (backend, api) in runs {
        let stripe = StripeServer::start().await;
        let h = Harness::with_stripe(backend, &stripe.url).await;
        let c = h.client().await;
        c.ok(
            "create_customer",
            json!({"customer": "acme", "plan": "starter"}),
        )
        .await;
        let stripe_customer = stripe.objects("customer")[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let batch: Vec<Value> = (0..30)
            .map(|i| {
                json!({"customer": "acme", "meter": "tool_calls", "quantity": i % 4 + 1,
                "dimensions": {"tool": format!("t{}", i % 3), "server_id": "s1", "region": "eu"}})
            })
            .collect();
        c.ok("record_usage_batch", json!({"events": batch})).await;
        // Recording did not wait on Stripe: nothing was sent yet, every event is pending.
        assert!(stripe.requests("POST", V1).is_empty());
        assert!(stripe.requests("POST", STREAM).is_empty());
        let before = events(&c, "acme").await;
        assert_eq!(before.len(), 30);
        assert!(before.iter().all(|e| e["stripe"]["state"] == "pending"));

        // A minute of 500s, 429s and answers lost after Stripe took the event; the stream's
        // session expires halfway.
        let outbox = Outbox::new(settings_for(api));
        stripe.outage(true);
        for second in 0..=60 {
            h.set_now(NOW + second * 1000);
            outbox.send_due(&h.app).await.unwrap();
            if second == 30 {
                stripe.expire_sessions();
            }
        }
        let status = c
            .ok("get_billing_status", json!({"customer": "acme"}))
            .await;
        let during = &status["meter_events"];
        assert!(during["pending"].as_i64().unwrap() > 0, "{during}");
        assert_eq!(during["stripe_configured"], true);
        let why = during["last_error"].as_str().unwrap();
        assert!(
            why.contains("HTTP 500") || why.contains("HTTP 429"),
            "{why}"
        );

        stripe.outage(false);
        for second in 61..=90 {
            h.set_now(NOW + second * 1000);
            outbox.send_due(&h.app).await.unwrap();
        }

        let after = events(&c, "acme").await;
        assert!(
            after.iter().all(|e| e["stripe"]["state"] == "sent"),
            "{after:?}"
        );
        let held = stripe.meter_events();
        assert_eq!(held.len(), 30, "each event once at Stripe");
        let by_id: BTreeMap<&str, &Value> = held
            .iter()
            .map(|m| (m["identifier"].as_str().unwrap(), m))
            .collect();
        assert_eq!(by_id.len(), 30);
        let requests = stripe.requests("POST", if api == MeterApi::V1 { V1 } else { STREAM });
        for e in &after {
            let id = e["event_id"].as_str().unwrap();
            let m = by_id
                .get(id)
                .unwrap_or_else(|| panic!("{id} not at Stripe"));
            assert_eq!(m["event_name"], "tool_call_executed");
            assert_eq!(m["payload"]["value"], e["quantity"].to_string());
            assert_eq!(m["payload"]["stripe_customer_id"], stripe_customer.as_str());
            assert_eq!(m["payload"]["tool"], e["dimensions"]["tool"]);
            assert_eq!(m["payload"]["server_id"], "s1");
            assert!(
                m["payload"].get("region").is_none(),
                "only the meter's dimensions"
            );
            let seconds = chrono::DateTime::parse_from_rfc3339(e["timestamp"].as_str().unwrap())
                .unwrap()
                .timestamp();
            assert_eq!(m["timestamp"], seconds);
            // Every request for the event is an attempt the ledger counted: none after it was sent.
            let tries: Vec<_> = requests
                .iter()
                .filter(|r| r.param("identifier") == Some(id) || r.body.contains(id))
                .collect();
            assert_eq!(
                tries.len() as i64,
                e["stripe"]["attempts"].as_i64().unwrap(),
                "{api:?} {id}"
            );
            if api == MeterApi::V1 {
                assert!(tries.iter().all(
                    |r| r.idempotency_key.as_deref() == Some(&format!("meter_event:{id}")[..])
                ));
            }
        }
        assert!(
            requests.len() > if api == MeterApi::V1 { 30 } else { 1 },
            "the outage made the sender retry"
        );
        if api == MeterApi::Stream {
            assert!(
                stripe
                    .requests("POST", "/v2/billing/meter_event_session")
                    .len()
                    >= 2,
                "a new session after the first expired"
            );
        }
        let status = c
            .ok("get_billing_status", json!({"customer": "acme"}))
            .await;
        assert_eq!(status["meter_events"]["sent"], 30);
        assert_eq!(status["meter_events"]["pending"], 0);
        assert_eq!(status["meter_events"]["last_error"], Value::Null);
    }
}

#[tokio::test]
async fn an_outage_answered_with_html_pages_loses_no_usage() {
    let runs = backends()
        .into_iter()
        .flat_map(|b| [(b, MeterApi::Stream), (b, MeterApi::V1)]);
    for (backend, api) in runs {
        let stripe = StripeServer::start().await;
        let h = Harness::with_stripe(backend, &stripe.url).await;
        let c = h.client().await;
        for customer in ["acme", "globex"] {
            c.ok(
                "create_customer",
                json!({"customer": customer, "plan": "starter"}),
            )
            .await;
        }
        let batch: Vec<Value> = (0..60)
            .map(|i| json!({"customer": if i % 2 == 0 { "acme" } else { "globex" }, "meter": "tool_calls", "quantity": 1}))
            .collect();
        c.ok("record_usage_batch", json!({"events": batch})).await;
        // Stripe's edge answers HTML 502 and 503 pages, and loses answers of events it took.
        let outbox = Outbox::new(settings_for(api));
        stripe.edge_outage(true);
        for second in 0..=60 {
            h.set_now(NOW + second * 1000);
            outbox.send_due(&h.app).await.unwrap();
        }
        let during = c
            .ok("get_billing_status", json!({"customer": "acme"}))
            .await;
        assert_eq!(
            during["meter_events"]["failed"], 0,
            "{backend:?} {api:?}: an HTML page is no refusal: {during}"
        );
        stripe.edge_outage(false);
        for second in 61..=400 {
            h.set_now(NOW + second * 1000);
            outbox.send_due(&h.app).await.unwrap();
        }
        let mut states = BTreeSet::new();
        for customer in ["acme", "globex"] {
            for e in events(&c, customer).await {
                states.insert(e["stripe"]["state"].as_str().unwrap().to_string());
            }
        }
        assert_eq!(
            states,
            BTreeSet::from(["sent".to_string()]),
            "{backend:?} {api:?}"
        );
        let held = stripe.meter_events();
        let ids: BTreeSet<&str> = held
            .iter()
            .map(|m| m["identifier"].as_str().unwrap())
            .collect();
        assert_eq!(
            (held.len(), ids.len()),
            (60, 60),
            "{backend:?} {api:?}: every event once at Stripe"
        );
    }
}
