//! Usage to Stripe as meter events through the ledger's outbox: recording never waits on Stripe,
//! every event reaches the Stripe test server exactly once through an outage of 500s, 429s and
//! lost answers, and through a server killed mid-send; each event's state shows in `get_usage`
//! and `get_billing_status`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use billing_mcp::service::outbox::{Outbox, OutboxSettings};
use rmcp::ServiceExt;
use serde_json::{Value, json};

use crate::support::binary::stdio;
use crate::support::stripe::StripeServer;
use crate::support::{Backend, Client, Harness, NOW, backends, test_db};

fn settings() -> OutboxSettings {
    OutboxSettings {
        per_second: std::num::NonZeroU32::new(10_000).unwrap(),
        backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(8),
        ..OutboxSettings::default()
    }
}

/// Every event of `customer` this period, from `get_usage` (all pages).
async fn events(c: &Client, customer: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut args = json!({"customer": customer, "limit": 100});
        if let Some(a) = &after {
            args["starting_after"] = json!(a);
        }
        let page = c.ok("get_usage", args).await;
        all.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) if page["has_more"] == true => after = Some(next.to_string()),
            _ => return all,
        }
    }
}

#[tokio::test]
async fn usage_reaches_stripe_once_through_a_minute_of_500s_and_429s() {
    for backend in backends() {
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
        assert!(
            stripe
                .requests("POST", "/v1/billing/meter_events")
                .is_empty()
        );
        let before = events(&c, "acme").await;
        assert_eq!(before.len(), 30);
        assert!(before.iter().all(|e| e["stripe"]["state"] == "pending"));

        // A minute of 500s, 429s and answers lost after Stripe took the event.
        let outbox = Outbox::new(settings());
        stripe.outage(true);
        for second in 0..=60 {
            h.set_now(NOW + second * 1000);
            outbox.send_due(&h.app).await.unwrap();
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
        let requests = stripe.requests("POST", "/v1/billing/meter_events");
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
                .filter(|r| r.param("identifier") == Some(id))
                .collect();
            assert_eq!(
                tries.len() as i64,
                e["stripe"]["attempts"].as_i64().unwrap(),
                "{id}"
            );
            assert!(tries.iter().all(|r| r.idempotency_key.as_deref() == Some(&format!("meter_event:{id}")[..])));
        }
        assert!(requests.len() > 30, "the outage made the sender retry");
        let status = c
            .ok("get_billing_status", json!({"customer": "acme"}))
            .await;
        assert_eq!(status["meter_events"]["sent"], 30);
        assert_eq!(status["meter_events"]["pending"], 0);
        assert_eq!(status["meter_events"]["last_error"], Value::Null);
    }
}

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
    let stripe = StripeServer::start().await;
    let h = Harness::with_stripe(Backend::Sqlite, &stripe.url).await;
    let c = h.client().await;
    acme_with_one_event(&c, 1).await;
    stripe.fail_next(
        400,
        "invalid_request_error",
        None,
        "Timestamp must be within the past 35 calendar days.",
    );
    let outbox = Outbox::new(settings());
    outbox.send_due(&h.app).await.unwrap();
    h.set_now(NOW + 3_600_000);
    assert_eq!(
        outbox.send_due(&h.app).await.unwrap(),
        0,
        "a refused event is not claimed again"
    );
    let e = &events(&c, "acme").await[0];
    assert_eq!(e["stripe"]["state"], "failed");
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
    assert_eq!(stripe.requests("POST", "/v1/billing/meter_events").len(), 1);

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

/// A client for the binary on stdio, and the child's pid.
async fn serve(db: &str, stripe: &StripeServer) -> (Client, u32) {
    let cmd = stdio(
        db,
        stripe,
        &[
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
async fn an_outage_answered_with_html_pages_loses_no_usage() {
    for backend in backends() {
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
        let outbox = Outbox::new(settings());
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
            "{backend:?}: an HTML page is no refusal: {during}"
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
        assert_eq!(states, BTreeSet::from(["sent".to_string()]), "{backend:?}");
        let held = stripe.meter_events();
        let ids: BTreeSet<&str> = held
            .iter()
            .map(|m| m["identifier"].as_str().unwrap())
            .collect();
        assert_eq!(
            (held.len(), ids.len()),
            (60, 60),
            "{backend:?}: every event once at Stripe"
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
            id: claimed[0].id.clone(),
            next_at: NOW + 300_000,
            error: "no Stripe customer yet".into(),
            attempted: false,
        };
        store.settle_outbox(vec![parked]).await.unwrap();
        let due = store
            .claim_outbox(OutboxClaim {
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
