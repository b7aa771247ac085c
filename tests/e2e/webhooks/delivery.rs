//! Each event stored and applied once, in per-object order: a checkout delivered three times,
//! subscription events out of order, an event failed for an unknown customer and retried,
//! concurrent copies across two processes, an older checkout arriving last.

use serde_json::json;

use super::{Hook, NEW, event, setup, stored, subscription};
use crate::support::{Backend, backends};

#[tokio::test]
async fn a_credit_pack_checkout_delivered_three_times_grants_its_credits_once() {
    for backend in backends() {
        let (_h, hook, c) = setup(backend).await;
        let e = event(
            "evt_pack",
            "checkout.session.completed",
            0,
            json!({
            "id": "cs_1", "object": "checkout.session", "mode": "payment", "payment_status": "paid",
            "customer": "cus_w1", "client_reference_id": "acme", "amount_total": 1000, "currency": "usd",
            "metadata": {"billing_mcp_customer": "acme", "billing_mcp_pack": "small_pack"}}),
        );
        let mut answers = Vec::new();
        for _ in 0..3 {
            let (status, answer) = hook.deliver(&e, NEW).await;
            assert_eq!(status, 200, "{answer}");
            answers.push(answer);
        }
        assert_eq!(answers[0]["duplicate"], false);
        assert_eq!(answers[0]["event"]["status"], "processed");
        assert!(answers[1..].iter().all(|a| a["duplicate"] == true));
        let balance = c
            .ok("get_credit_balance", json!({"customer": "acme"}))
            .await;
        assert_eq!(
            balance["balance"], 110,
            "100 credits + 10 bonus, once: {balance}"
        );
        let events = stored(&c).await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["attempts"], 1, "processed once");
        let acme = c.ok("get_customer", json!({"customer": "acme"})).await;
        assert_eq!(
            acme["stripe_customer_id"], "cus_w1",
            "linked by the session"
        );
    }
}

#[tokio::test]
async fn subscription_events_change_the_plan_in_order_and_entitlements_follow_at_once() {
    for backend in backends() {
        let (_h, hook, c) = setup(backend).await;
        let premium = json!({"customer": "acme", "feature": "premium_tools"});
        let before = c.ok("check_entitlement", premium.clone()).await;
        assert_eq!(
            before["allowed"], false,
            "free has no premium_tools: {before}"
        );

        let newer = event(
            "evt_2",
            "customer.subscription.updated",
            20,
            subscription("sub_1", "acme", "professional", "active"),
        );
        assert_eq!(hook.deliver(&newer, NEW).await.0, 200);
        let acme = c.ok("get_customer", json!({"customer": "acme"})).await;
        assert_eq!(acme["plan"], "professional", "{acme}");
        assert_eq!(acme["interval"], "year");
        let after = c.ok("check_entitlement", premium.clone()).await;
        assert_eq!(
            after["allowed"], true,
            "the cached decision followed the plan: {after}"
        );

        // An older update of the same subscription arrives late: ignored.
        let older = event(
            "evt_1",
            "customer.subscription.updated",
            10,
            subscription("sub_1", "acme", "starter", "past_due"),
        );
        let (status, answer) = hook.deliver(&older, NEW).await;
        assert_eq!(status, 200);
        assert_eq!(answer["event"]["status"], "ignored", "{answer}");
        assert!(
            answer["event"]["outcome"]
                .as_str()
                .unwrap()
                .contains("evt_2")
        );
        let acme = c.ok("get_customer", json!({"customer": "acme"})).await;
        assert_eq!(acme["plan"], "professional");
        assert_eq!(acme["status"], "active");

        // Deleted: back on the catalog's default plan.
        let gone = event(
            "evt_3",
            "customer.subscription.deleted",
            30,
            subscription("sub_1", "acme", "professional", "canceled"),
        );
        assert_eq!(hook.deliver(&gone, NEW).await.0, 200);
        let acme = c.ok("get_customer", json!({"customer": "acme"})).await;
        assert_eq!(acme["plan"], "free");
        assert_eq!(c.ok("check_entitlement", premium).await["allowed"], false);
    }
}

#[tokio::test]
async fn an_event_for_an_unknown_customer_fails_and_is_retried_after_the_customer_exists() {
    let (_h, hook, c) = setup(Backend::Sqlite).await;
    let e = event(
        "evt_new",
        "customer.subscription.created",
        0,
        subscription("sub_9", "globex", "starter", "trialing"),
    );
    let (status, answer) = hook.deliver(&e, NEW).await;
    assert_eq!(status, 200, "stored: Stripe need not send it again");
    assert_eq!(answer["event"]["status"], "failed");
    assert!(
        answer["event"]["outcome"]
            .as_str()
            .unwrap()
            .contains("create_customer"),
        "{answer}"
    );
    let failed = c
        .ok("list_webhook_events", json!({"status": "failed"}))
        .await;
    assert_eq!(failed["events"][0]["event_id"], "evt_new");

    c.ok("create_customer", json!({"customer": "globex"})).await;
    let retried = c
        .ok("retry_webhook_event", json!({"event_id": "evt_new"}))
        .await;
    assert_eq!(retried["status"], "processed", "{retried}");
    assert_eq!(retried["attempts"], 2);
    let globex = c.ok("get_customer", json!({"customer": "globex"})).await;
    assert_eq!(globex["plan"], "starter");
    assert_eq!(globex["status"], "trialing");
    let (code, _) = c
        .err("retry_webhook_event", json!({"event_id": "evt_new"}))
        .await;
    assert_eq!(code, "already_processed");
    let (code, _) = c
        .err("retry_webhook_event", json!({"event_id": "evt_missing"}))
        .await;
    assert_eq!(code, "unknown_webhook_event");
    // Unhandled types are stored and ignored, with the reason.
    let other = event("evt_o", "charge.succeeded", 0, json!({"id": "ch_1"}));
    assert_eq!(
        hook.deliver(&other, NEW).await.1["event"]["status"],
        "ignored"
    );
}

#[tokio::test]
async fn concurrent_copies_of_one_event_apply_it_once() {
    for backend in backends() {
        let (h, hook, c) = setup(backend).await;
        let other = h.second_process_accepting(&[NEW]).await;
        let hook2 = Hook::start(&other).await;
        let e = event(
            "evt_storm",
            "customer.subscription.updated",
            0,
            subscription("sub_storm", "acme", "professional", "active"),
        );
        let copies = (0..50).map(|i| {
            let hook = if i % 2 == 0 { &hook } else { &hook2 };
            let e = &e;
            async move { hook.deliver(e, NEW).await }
        });
        let answers = futures::future::join_all(copies).await;
        assert!(
            answers.iter().all(|(s, _)| *s == 200),
            "{backend:?}: {answers:?}"
        );
        let events = stored(&c).await;
        let storm = events
            .iter()
            .find(|e| e["event_id"] == "evt_storm")
            .unwrap();
        assert_eq!(
            (storm["status"].as_str(), storm["attempts"].as_i64()),
            (Some("processed"), Some(1)),
            "{backend:?}: 50 copies across two processes apply once: {storm}"
        );
    }
}

#[tokio::test]
async fn an_older_checkout_arriving_last_changes_nothing() {
    for backend in backends() {
        let (_h, hook, c) = setup(backend).await;
        let before = c.ok("get_customer", json!({"customer": "acme"})).await;
        let newer = event(
            "evt_sub_new",
            "customer.subscription.updated",
            10,
            subscription("sub_co", "acme", "professional", "active"),
        );
        assert_eq!(hook.deliver(&newer, NEW).await.0, 200);
        let after_sub = c.ok("get_customer", json!({"customer": "acme"})).await;
        let older = event(
            "evt_checkout_old",
            "checkout.session.completed",
            0,
            json!({"id": "cs_old", "object": "checkout.session", "mode": "subscription", "payment_status": "paid",
                "customer": "cus_w1", "subscription": "sub_co", "client_reference_id": "acme",
                "metadata": {"billing_mcp_customer": "acme", "billing_mcp_plan": "starter"}}),
        );
        let (status, answer) = hook.deliver(&older, NEW).await;
        assert_eq!(status, 200);
        assert_eq!(
            answer["event"]["status"], "ignored",
            "{backend:?}: {answer}"
        );
        let now = c.ok("get_customer", json!({"customer": "acme"})).await;
        assert_eq!(now["plan"], "professional", "{backend:?}");
        assert_eq!(
            now["current_period"], after_sub["current_period"],
            "{backend:?}: the period stays"
        );
        assert_ne!(before["plan"], now["plan"]);
    }
}
