//! When Stripe says no or fails: a retried refund refunds once, Stripe's errors reach the agent in
//! Stripe's words (4xx, 429 retried, 5xx after three attempts), a wrong key is Stripe's 401, and
//! no key means not configured.

use serde_json::{Value, json};

use crate::support::stripe::{StripeServer, setup};
use crate::support::{Backend, Harness};

#[tokio::test]
async fn a_retried_refund_refunds_once_and_needs_confirmation() {
    let (stripe, _h, c) = setup().await;
    let pi = stripe.seed_payment_intent(5000, None);
    let (code, message) = c
        .err(
            "create_refund",
            json!({"payment_intent": pi, "amount": 2000, "idempotency_key": "refund-1"}),
        )
        .await;
    assert_eq!(code, "confirmation_required", "{message}");
    assert!(
        stripe.requests("POST", "/v1/refunds").is_empty(),
        "nothing is sent unconfirmed"
    );
    let (code, _) = c
        .err(
            "create_refund",
            json!({"payment_intent": pi, "confirm": true}),
        )
        .await;
    assert_eq!(code, "invalid_params", "a refund needs an idempotency_key");

    let args = json!({"payment_intent": pi, "amount": 2000, "reason": "requested_by_customer", "idempotency_key": "refund-1", "confirm": true});
    let first = c.ok("create_refund", args.clone()).await;
    let again = c.ok("create_refund", args).await;
    assert_eq!(first["id"], again["id"]);
    assert_eq!(first["amount"]["amount"], 2000);
    assert_eq!(first["status"], "succeeded");
    assert_eq!(
        stripe.objects("refund").len(),
        1,
        "the retry refunded nothing more"
    );
    let sent = stripe.requests("POST", "/v1/refunds");
    assert_eq!(
        sent.len(),
        1,
        "the retry is answered from the ledger's record"
    );
    assert_eq!(
        sent[0].idempotency_key.as_deref(),
        Some("create_refund:refund-1")
    );
    assert_eq!(sent[0].param("payment_intent"), Some(pi.as_str()));
    assert_eq!(sent[0].param("amount"), Some("2000"));
    assert_eq!(sent[0].param("reason"), Some("requested_by_customer"));

    // The same key for a different refund is refused, naming the first request's object.
    let e = c
        .call("create_refund", json!({"payment_intent": pi, "amount": 100, "idempotency_key": "refund-1", "confirm": true}))
        .await
        .unwrap_err();
    assert_eq!(e["code"], "idempotency_key_reused", "{e}");
    assert_eq!(e["first_object_id"], first["id"]);
    assert_eq!(stripe.requests("POST", "/v1/refunds").len(), 1);
}

#[tokio::test]
async fn a_refund_retried_a_day_later_returns_the_first_refund_on_both_ledgers() {
    for backend in crate::support::backends() {
        let stripe = StripeServer::start().await;
        let h = Harness::with_stripe(backend, &stripe.url).await;
        let c = h.client().await;
        let pi = stripe.seed_payment_intent(5000, None);
        let args = json!({"payment_intent": pi, "amount": 1500, "idempotency_key": "late-1", "confirm": true});
        let first = c.ok("create_refund", args.clone()).await;
        // Stripe keeps an idempotency key for 24 hours; the retry comes 25 hours later.
        h.now
            .fetch_add(25 * 3_600_000, std::sync::atomic::Ordering::SeqCst);
        let late = c.ok("create_refund", args).await;
        assert_eq!(
            late, first,
            "{backend:?}: the first refund, as it was answered"
        );
        assert_eq!(stripe.objects("refund").len(), 1, "{backend:?}");
        assert_eq!(
            stripe.requests("POST", "/v1/refunds").len(),
            1,
            "{backend:?}: Stripe was not asked again"
        );
        // Without a key there is nothing to remember: each product is its own.
        let a = c.ok("create_product", json!({"name": "A"})).await;
        let b = c.ok("create_product", json!({"name": "A"})).await;
        assert_ne!(a["id"], b["id"], "{backend:?}");
    }
}

#[tokio::test]
async fn stripe_failures_reach_the_agent_in_stripes_own_words() {
    let (stripe, _h, c) = setup().await;
    let pi = stripe.seed_payment_intent(1000, None);
    // 400 invalid_request_error with its param and request id.
    let e = c
        .call("create_refund", json!({"payment_intent": pi, "amount": 5000, "idempotency_key": "r-big", "confirm": true}))
        .await
        .unwrap_err();
    assert_eq!(e["code"], "stripe_error");
    assert_eq!(e["stripe"]["type"], "invalid_request_error");
    assert_eq!(e["stripe"]["code"], "amount_too_large");
    assert_eq!(e["stripe"]["param"], "amount");
    assert_eq!(e["stripe"]["request_id"], "req_test123");
    assert_eq!(e["stripe"]["status"], 400);
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains("Refund amount (5000) is greater than unrefunded amount on charge (1000)"),
        "{message}"
    );
    assert!(!message.contains("Failed to"));
    // 404 for an unknown id.
    let e = c
        .call(
            "create_refund",
            json!({"payment_intent": "pi_missing", "idempotency_key": "r-404", "confirm": true}),
        )
        .await
        .unwrap_err();
    assert_eq!(e["stripe"]["code"], "resource_missing");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("No such payment_intent: 'pi_missing'")
    );
    // card_error with Stripe's message.
    stripe.fail_next(
        402,
        "card_error",
        Some("card_declined"),
        "Your card was declined.",
    );
    let e = c
        .call("create_invoice", json!({"customer": "cus_x"}))
        .await
        .unwrap_err();
    assert_eq!(e["stripe"]["type"], "card_error");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("Your card was declined.")
    );
    // 429 then success: retried with the same key, one invoice.
    stripe.fail_next(
        429,
        "invalid_request_error",
        Some("rate_limit"),
        "Too many requests.",
    );
    let inv = c
        .ok(
            "create_invoice",
            json!({"customer": "cus_x", "idempotency_key": "inv-1"}),
        )
        .await;
    assert_eq!(inv["status"], "draft");
    let tries: Vec<_> = stripe
        .requests("POST", "/v1/invoices")
        .into_iter()
        .filter(|s| s.idempotency_key.as_deref() == Some("create_invoice:inv-1"))
        .collect();
    assert_eq!(tries.len(), 2);
    assert_eq!(stripe.objects("invoice").len(), 1);
    // 500 on every attempt: the agent hears it after three.
    for _ in 0..3 {
        stripe.fail_next(500, "api_error", None, "An unknown error occurred.");
    }
    let e = c.call("retrieve_balance", json!({})).await.unwrap_err();
    assert_eq!(e["stripe"]["type"], "api_error");
    assert!(
        e["message"].as_str().unwrap().contains("after 3 attempts"),
        "{e}"
    );
    let balance = c.ok("retrieve_balance", json!({})).await;
    assert_eq!(balance["available"][0]["display"], "1234.56");
}

#[tokio::test]
async fn a_wrong_key_is_stripes_401_and_no_key_means_not_configured() {
    let stripe = StripeServer::start().await;
    let db = crate::support::test_db(Backend::Sqlite).await;
    let store = billing_mcp::store::open(&db.url).await.unwrap();
    let settings = billing_mcp::stripe::StripeSettings {
        secret_key: "sk_test_wrong".to_string().into(),
        api_base: Some(stripe.url.clone()),
        account: Some("acct_123".into()),
        allow_live: false,
        retry: billing_mcp::stripe::Retry::default(),
        meter_events_base: None,
    };
    let app = billing_mcp::service::App::new(store, crate::support::example_catalog())
        .with_stripe(billing_mcp::stripe::Payments::connect(&settings).unwrap());
    let e = app
        .list_products(serde_json::from_value(json!({})).unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.code, "stripe_error");
    assert!(
        e.message.contains("HTTP 401") && e.message.contains("Invalid API Key provided"),
        "{}",
        e.message
    );
    assert_eq!(stripe.seen()[0].stripe_account.as_deref(), Some("acct_123"));
    assert_eq!(stripe.seen().len(), 1, "a 401 is not retried");
    drop(app);

    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    let (code, message) = c.err("list_products", json!({})).await;
    assert_eq!(code, "stripe_not_configured");
    assert!(message.contains("STRIPE_SECRET_KEY"));
    let created = c.ok("create_customer", json!({"customer": "acme"})).await;
    assert_eq!(
        created["stripe_customer_id"],
        Value::Null,
        "ledger tools keep working"
    );
}
