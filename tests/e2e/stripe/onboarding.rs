//! Seed 003's onboarding through MCP alone: email → customer → payment method (Stripe's webhook)
//! → plan and discount code → subscription → complete, every step called twice making nothing
//! twice; an abandoned flow; and the binary killed between Stripe creating the subscription and
//! the ledger recording it, then resumed.

use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt;
use serde_json::{Value, json};

use crate::support::binary::stdio;
use crate::support::stripe::StripeServer;
use crate::support::{Backend, Client, DAY, Harness, NOW, backends, test_db};
use crate::webhooks::{Hook, NEW, event};

/// The customer completes the flow's setup intent: the card it saved, and Stripe's event saying so.
fn set_up(stripe: &StripeServer, id: &str) -> (String, Value) {
    let intent = stripe.objects("setup_intent").into_iter().last().unwrap();
    let card = stripe.confirm_setup_intent(intent["id"].as_str().unwrap());
    let event = event(
        id,
        "setup_intent.succeeded",
        30,
        json!({"id": intent["id"], "object": "setup_intent", "customer": intent["customer"],
               "payment_method": card, "status": "succeeded", "metadata": {}}),
    );
    (card, event)
}

#[tokio::test]
async fn a_customer_is_onboarded_from_an_email_with_every_step_idempotent() {
    for backend in backends() {
        let stripe = StripeServer::start().await;
        let h = Harness::with_stripe_and_webhooks(backend, &stripe.url, &[NEW]).await;
        let c = h.client().await;
        c.ok("sync_catalog", json!({"dry_run": false})).await;
        let coupon = c
            .ok(
                "create_coupon",
                json!({"percent_off": "50", "duration": "repeating", "duration_in_months": 3}),
            )
            .await["id"]
            .clone();
        c.ok(
            "create_promotion_code",
            json!({"coupon": coupon, "code": "LAUNCH50"}),
        )
        .await;

        let start = json!({"email": " Ada@Example.com ", "name": "Ada", "company": "Analytical"});
        let flow = c.ok("start_onboarding", start.clone()).await;
        assert_eq!(flow["step"], "payment_method", "{flow}");
        assert_eq!(flow["email"], "ada@example.com");
        let id = flow["onboarding_id"].as_str().unwrap().to_string();
        let customer = flow["customer"].as_str().unwrap().to_string();
        assert!(
            customer.starts_with("c-") && !customer.contains("ada"),
            "{customer}"
        );
        assert!(
            flow["setup_client_secret"]
                .as_str()
                .unwrap()
                .starts_with("seti_")
        );
        let sent = stripe.requests("POST", "/v1/customers").pop().unwrap();
        assert_eq!(sent.param("email"), Some("ada@example.com"));
        assert_eq!(sent.param("metadata[company]"), Some("Analytical"));
        let sent = stripe.requests("POST", "/v1/setup_intents").pop().unwrap();
        assert_eq!(sent.param("usage"), Some("off_session"));

        // Again: the same flow, nothing made twice.
        let again = c.ok("start_onboarding", start).await;
        assert_eq!(again["onboarding_id"], id.as_str());
        assert_eq!(stripe.objects("customer").len(), 1);
        assert_eq!(stripe.objects("setup_intent").len(), 1);

        // A code that cannot be redeemed is refused at once.
        let (code, _) = c
            .err(
                "continue_onboarding",
                json!({"onboarding_id": id, "plan": "starter", "promotion_code": "NOPE"}),
            )
            .await;
        assert_eq!(code, "promotion_code_not_found");
        let chosen = c
            .ok(
                "continue_onboarding",
                json!({"onboarding_id": id, "plan": "starter", "promotion_code": "LAUNCH50"}),
            )
            .await;
        assert_eq!(chosen["step"], "payment_method", "still waiting: {chosen}");
        assert_eq!(chosen["plan"], "starter");
        assert!(stripe.objects("subscription").is_empty());

        // Stripe's webhook: the payment method is on file.
        let hook = Hook::start(&h).await;
        let (card, succeeded) = set_up(&stripe, "evt_onb_1");
        hook.accept(succeeded).await;
        let shown = c
            .ok("get_onboarding", json!({"onboarding": "Ada@example.com"}))
            .await;
        assert_eq!(shown["step"], "subscription", "{shown}");
        assert!(
            shown["next_call"]
                .as_str()
                .unwrap()
                .contains("continue_onboarding")
        );
        assert!(shown["setup_client_secret"].is_null());
        assert!(
            stripe.objects("subscription").is_empty(),
            "get changes nothing"
        );

        let done = c
            .ok("continue_onboarding", json!({"onboarding_id": id}))
            .await;
        assert_eq!(done["step"], "complete", "{done}");
        let subs = stripe.requests("POST", "/v1/subscriptions");
        assert_eq!(subs.len(), 1);
        assert_eq!(subs[0].param("trial_period_days"), Some("14"));
        // The card the customer saved is the one charged when the trial ends, and the default for
        // the customer's other invoices.
        assert_eq!(subs[0].param("default_payment_method"), Some(card.as_str()));
        let cus = stripe.objects("customer")[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let set = stripe
            .requests("POST", &format!("/v1/customers/{cus}"))
            .pop()
            .unwrap();
        assert_eq!(
            set.param("invoice_settings[default_payment_method]"),
            Some(card.as_str())
        );
        let methods = c
            .ok("list_payment_methods", json!({"customer": customer}))
            .await;
        assert_eq!(methods["default_payment_method"], card.as_str());
        assert!(
            subs[0]
                .param("discounts[0][promotion_code]")
                .unwrap()
                .starts_with("promo_")
        );
        assert_eq!(
            subs[0].param("metadata[billing_mcp_customer]"),
            Some(customer.as_str())
        );
        assert_eq!(
            done["subscription_id"],
            stripe.objects("subscription")[0]["id"]
        );
        let ledger = c.ok("get_customer", json!({"customer": customer})).await;
        assert_eq!(ledger["plan"], "starter", "{ledger}");
        assert_eq!(ledger["status"], "trialing");

        let again = c
            .ok("continue_onboarding", json!({"onboarding_id": id}))
            .await;
        assert_eq!(again["step"], "complete");
        assert_eq!(stripe.objects("subscription").len(), 1);
        let (code, message) = c
            .err(
                "continue_onboarding",
                json!({"onboarding_id": id, "plan": "professional"}),
            )
            .await;
        assert_eq!(code, "invalid_params");
        assert!(message.contains("change_plan"), "{message}");

        // An abandoned flow: expired after 7 days, and a new start opens a new flow.
        let bob = c
            .ok("start_onboarding", json!({"email": "bob@example.com"}))
            .await;
        h.set_now(NOW + 8 * DAY);
        let shown = c
            .ok(
                "get_onboarding",
                json!({"onboarding": bob["onboarding_id"]}),
            )
            .await;
        assert_eq!(shown["step"], "expired", "{shown}");
        let (code, _) = c
            .err(
                "continue_onboarding",
                json!({"onboarding_id": bob["onboarding_id"]}),
            )
            .await;
        assert_eq!(code, "onboarding_expired");
        let renewed = c
            .ok("start_onboarding", json!({"email": "bob@example.com"}))
            .await;
        assert_ne!(renewed["onboarding_id"], bob["onboarding_id"]);
        assert_eq!(renewed["customer"], bob["customer"], "the same customer");
        // A completed flow stays complete.
        let ada = c.ok("get_onboarding", json!({"onboarding": id})).await;
        assert_eq!(ada["step"], "complete");
    }
}

/// A client for the binary on stdio on ledger `db`, and the child's pid.
async fn binary(db: &str, stripe: &StripeServer) -> (Client, u32) {
    let transport = rmcp::transport::TokioChildProcess::new(stdio(db, stripe, &[])).unwrap();
    let pid = transport.id().unwrap();
    let inner = Arc::new(().serve(transport).await.unwrap());
    (Client { inner }, pid)
}

#[tokio::test]
async fn a_server_killed_between_stripe_creating_the_subscription_and_the_ledger_resumes_without_a_second()
 {
    let stripe = StripeServer::start().await;
    let db = test_db(Backend::Sqlite).await;
    let h = Harness::with_stripe_and_webhooks_on(db.url.clone(), &stripe.url, &[NEW]).await;
    // The binary runs on the real clock: so does this flow.
    let real_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    h.set_now(real_now);
    let c = h.client().await;
    c.ok("sync_catalog", json!({"dry_run": false})).await;
    let flow = c
        .ok(
            "start_onboarding",
            json!({"email": "grace@example.com", "plan": "starter"}),
        )
        .await;
    let id = flow["onboarding_id"].as_str().unwrap().to_string();
    // The test's webhooks are signed at the fixed test time.
    h.set_now(NOW);
    let hook = Hook::start(&h).await;
    hook.accept(set_up(&stripe, "evt_onb_crash").1).await;
    h.set_now(real_now);

    // Stripe makes the subscription at once and answers late: the server dies in between.
    stripe.delay_path("/v1/subscriptions", Duration::from_secs(5));
    let (server, pid) = binary(&db.url, &stripe).await;
    let call = tokio::spawn({
        let id = id.clone();
        async move {
            server
                .raw("continue_onboarding", json!({"onboarding_id": id}))
                .await
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while stripe.requests("POST", "/v1/subscriptions").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no subscription request"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    call.abort();
    assert_eq!(stripe.objects("subscription").len(), 1, "Stripe made it");
    let shown = c.ok("get_onboarding", json!({"onboarding": id})).await;
    assert_eq!(
        shown["step"], "subscription",
        "the ledger never heard: {shown}"
    );

    // Resumed by a new process: Stripe's answer to the same key, not a second subscription.
    stripe.delay_path("/v1/subscriptions", Duration::ZERO);
    let (server, _) = binary(&db.url, &stripe).await;
    let done = server
        .raw("continue_onboarding", json!({"onboarding_id": id}))
        .await;
    let done = done.structured_content.unwrap();
    assert_eq!(done["step"], "complete", "{done}");
    let sent = stripe.requests("POST", "/v1/subscriptions");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].idempotency_key, sent[1].idempotency_key);
    let subs = stripe.objects("subscription");
    assert_eq!(subs.len(), 1, "one subscription");
    assert_eq!(done["subscription_id"], subs[0]["id"]);
    let ledger = c
        .ok("get_customer", json!({"customer": flow["customer"]}))
        .await;
    assert_eq!(ledger["plan"], "starter", "{ledger}");
}
