//! From sign-up to paying customer: discount codes made and looked up, a subscription to a synced
//! plan with its trial and a promotion code in one request (the ledger following at once), an
//! expired code refused in Stripe's words, payment methods collected and listed, and a credit
//! pack sold and granted once — each with exactly what Stripe is sent.

use serde_json::{Value, json};

use crate::support::stripe::{StripeServer, setup};
use crate::support::{Client, DAY, HOUR, Harness, NOW, backends};
use crate::webhooks::{Hook, NEW, event};

async fn coupon(c: &Client, percent: &str) -> String {
    let coupon = c
        .ok(
            "create_coupon",
            json!({"name": "Launch", "percent_off": percent, "duration": "repeating", "duration_in_months": 3}),
        )
        .await;
    coupon["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_plan_with_its_trial_and_a_promotion_code_is_one_subscription_request_and_the_ledger_follows()
 {
    for backend in backends() {
        let stripe = StripeServer::start().await;
        let h = Harness::with_stripe(backend, &stripe.url).await;
        let c = h.client().await;
        let cus = c.ok("create_customer", json!({"customer": "acme"})).await["stripe_customer_id"]
            .as_str()
            .unwrap()
            .to_string();
        c.ok("sync_catalog", json!({"dry_run": false})).await;
        let coupon = coupon(&c, "50").await;

        let code = c
            .ok(
                "create_promotion_code",
                json!({"coupon": coupon, "code": "LAUNCH50", "max_redemptions": 100,
                       "first_time_transaction": true, "idempotency_key": "promo-1"}),
            )
            .await;
        let sent = stripe
            .requests("POST", "/v1/promotion_codes")
            .pop()
            .unwrap();
        assert_eq!(sent.param("promotion[type]"), Some("coupon"));
        assert_eq!(sent.param("promotion[coupon]"), Some(coupon.as_str()));
        assert_eq!(sent.param("code"), Some("LAUNCH50"));
        assert_eq!(sent.param("max_redemptions"), Some("100"));
        assert_eq!(
            sent.param("restrictions[first_time_transaction]"),
            Some("true")
        );
        assert_eq!(code["coupon"]["percent_off"], "50", "{code}");
        let promo = code["id"].as_str().unwrap().to_string();

        let found = c.ok("get_discount", json!({"code": "launch50"})).await;
        assert_eq!(found["code"], "LAUNCH50");
        assert_eq!(found["redeemable"], true, "{found}");
        assert_eq!(found["promotion_code"]["id"], promo.as_str());
        let listed = c
            .ok("list_promotion_codes", json!({"coupon": coupon}))
            .await;
        assert_eq!(listed["data"].as_array().unwrap().len(), 1);

        let args = json!({"customer": "acme", "plan": "starter", "interval": "monthly",
                          "promotion_code": "LAUNCH50", "idempotency_key": "sub-1"});
        let sub = c.ok("create_subscription", args.clone()).await;
        let sent = stripe.requests("POST", "/v1/subscriptions");
        assert_eq!(sent.len(), 1, "one request to Stripe");
        let sent = &sent[0];
        assert_eq!(sent.param("customer"), Some(cus.as_str()));
        assert_eq!(
            sent.param("items[0][price]"),
            Some(stripe.price_id("starter_monthly").as_str())
        );
        assert_eq!(sent.param("items[0][quantity]"), Some("1"));
        assert_eq!(
            sent.param("items[1][price]"),
            Some(stripe.price_id("starter_tool_calls_monthly").as_str())
        );
        assert_eq!(sent.param("items[1][quantity]"), None, "a usage price");
        assert_eq!(sent.param("trial_period_days"), Some("14"));
        assert_eq!(
            sent.param("discounts[0][promotion_code]"),
            Some(promo.as_str())
        );
        assert_eq!(sent.param("payment_behavior"), Some("default_incomplete"));
        assert_eq!(sent.param("metadata[billing_mcp_customer]"), Some("acme"));
        assert_eq!(sent.param("metadata[billing_mcp_plan]"), Some("starter"));
        assert_eq!(
            sent.idempotency_key.as_deref(),
            Some("create_subscription:sub-1")
        );
        assert_eq!(sub["status"], "trialing", "{sub}");
        assert_eq!(sub["trial_days"], 14);
        assert_eq!(sub["promotion_code"], "LAUNCH50");
        // Nothing is due in a trial: the secret saves a payment method for after it.
        assert_eq!(sub["client_secret_type"], "setup", "{sub}");
        assert!(sub["client_secret"].as_str().unwrap().starts_with("seti_"));
        assert!(
            sub["note"].as_str().unwrap().contains("the ledger follows"),
            "{sub}"
        );

        // The ledger follows at once.
        let customer = c.ok("get_customer", json!({"customer": "acme"})).await;
        assert_eq!(customer["plan"], "starter", "{customer}");
        assert_eq!(customer["status"], "trialing", "{customer}");
        // Stripe's trial end on the hour (the test clock is at half past), where the ledger's
        // first paid period starts, as Stripe's billing cycle does.
        let trial_end = (NOW + 14 * DAY) / HOUR * HOUR;
        assert_eq!(
            customer["trial_ends_at"],
            billing_mcp::core::period::rfc3339(trial_end),
            "{customer}"
        );
        assert_eq!(
            customer["current_period"]["end"],
            billing_mcp::core::period::rfc3339(trial_end),
            "the trial is a period of its own: {customer}"
        );

        // The same key again: the first subscription, nothing sent again.
        let again = c.ok("create_subscription", args).await;
        assert_eq!(again["id"], sub["id"]);
        assert_eq!(stripe.requests("POST", "/v1/subscriptions").len(), 1);
        let used = c.ok("get_discount", json!({"code": "LAUNCH50"})).await;
        assert_eq!(used["promotion_code"]["times_redeemed"], 1, "{used}");

        // Without a trial, the first invoice waits for the customer's payment.
        c.ok("create_customer", json!({"customer": "beta"})).await;
        let paid = c
            .ok(
                "create_subscription",
                json!({"customer": "beta", "plan": "starter", "trial_days": 0}),
            )
            .await;
        let sent = stripe.requests("POST", "/v1/subscriptions").pop().unwrap();
        assert_eq!(sent.param("trial_period_days"), None);
        assert_eq!(paid["status"], "incomplete", "{paid}");
        assert_eq!(paid["client_secret_type"], "payment", "{paid}");
        assert!(paid["client_secret"].as_str().unwrap().contains("_secret_"));

        // Codes and coupons apply to Checkout sessions and subscription changes too.
        c.ok(
            "create_checkout_session",
            json!({"mode": "subscription", "customer": "beta", "plan": "starter",
                   "success_url": "https://example.com/ok", "promotion_code": "LAUNCH50"}),
        )
        .await;
        let sent = stripe
            .requests("POST", "/v1/checkout/sessions")
            .pop()
            .unwrap();
        assert_eq!(
            sent.param("discounts[0][promotion_code]"),
            Some(promo.as_str())
        );
        c.ok(
            "update_subscription",
            json!({"subscription": paid["id"], "coupon": coupon}),
        )
        .await;
        let path = format!("/v1/subscriptions/{}", paid["id"].as_str().unwrap());
        let sent = stripe.requests("POST", &path).pop().unwrap();
        assert_eq!(sent.param("discounts[0][coupon]"), Some(coupon.as_str()));
        let (code, message) = c
            .err(
                "create_checkout_session",
                json!({"mode": "subscription", "customer": "beta", "plan": "starter",
                       "success_url": "https://example.com/ok", "coupon": coupon,
                       "allow_promotion_codes": true}),
            )
            .await;
        assert_eq!(code, "invalid_params", "{message}");
    }
}

#[tokio::test]
async fn an_expired_code_is_refused_in_stripes_words_and_an_unknown_one_by_name() {
    let (stripe, _h, c) = setup().await;
    c.ok("create_customer", json!({"customer": "acme"})).await;
    c.ok("sync_catalog", json!({"dry_run": false})).await;
    let coupon = coupon(&c, "20").await;
    stripe.seed_promotion_code("SUMMER2024", &coupon, NOW / 1000 - 86_400);

    let found = c.ok("get_discount", json!({"code": "summer2024"})).await;
    assert_eq!(found["redeemable"], false);
    assert!(
        found["reason"].as_str().unwrap().contains("expired"),
        "{found}"
    );
    let (code, message) = c
        .err(
            "create_subscription",
            json!({"customer": "acme", "plan": "starter", "promotion_code": "SUMMER2024"}),
        )
        .await;
    assert!(code.starts_with("stripe"), "{code}: {message}");
    assert!(
        message.contains("This promotion code cannot be redeemed because it has expired."),
        "{message}"
    );
    assert!(stripe.objects("subscription").is_empty());
    let customer = c.ok("get_customer", json!({"customer": "acme"})).await;
    assert_ne!(customer["plan"], "starter", "{customer}");

    let (code, message) = c.err("get_discount", json!({"code": "NOPE"})).await;
    assert_eq!(code, "promotion_code_not_found", "{message}");
    let (code, _) = c
        .err(
            "create_subscription",
            json!({"customer": "acme", "plan": "starter", "promotion_code": "NOPE"}),
        )
        .await;
    assert_eq!(code, "promotion_code_not_found");
    let (code, _) = c
        .err(
            "create_subscription",
            json!({"customer": "acme", "plan": "starter", "trial_days": 3, "trial_end": "2027-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(code, "invalid_params");
}

#[tokio::test]
async fn a_payment_method_is_collected_with_a_setup_intent_and_listed_with_the_default() {
    let (stripe, _h, c) = setup().await;
    let cus = c.ok("create_customer", json!({"customer": "acme"})).await["stripe_customer_id"]
        .as_str()
        .unwrap()
        .to_string();
    let intent = c
        .ok("create_setup_intent", json!({"customer": "acme"}))
        .await;
    assert!(
        intent["client_secret"]
            .as_str()
            .unwrap()
            .starts_with("seti_")
    );
    assert_eq!(intent["status"], "requires_payment_method");
    let sent = stripe.requests("POST", "/v1/setup_intents").pop().unwrap();
    assert_eq!(sent.param("customer"), Some(cus.as_str()));
    assert_eq!(sent.param("usage"), Some("off_session"));
    assert_eq!(
        sent.param("automatic_payment_methods[enabled]"),
        Some("true")
    );
    assert_eq!(sent.param("metadata[billing_mcp_customer]"), Some("acme"));

    let visa = stripe.seed_card(&cus, "4242", true);
    stripe.seed_card(&cus, "0005", false);
    let listed = c
        .ok("list_payment_methods", json!({"customer": "acme"}))
        .await;
    assert_eq!(listed["default_payment_method"], visa.as_str(), "{listed}");
    let methods = listed["data"].as_array().unwrap();
    assert_eq!(methods.len(), 2);
    let defaults: Vec<&Value> = methods.iter().filter(|m| m["default"] == true).collect();
    assert_eq!(defaults.len(), 1);
    assert_eq!(defaults[0]["last4"], "4242");
    assert_eq!(defaults[0]["type"], "card");
    let (code, _) = c
        .err("list_payment_methods", json!({"customer": "ghost"}))
        .await;
    assert_eq!(code, "unknown_customer");
}

#[tokio::test]
async fn a_credit_pack_is_sold_through_checkout_and_granted_once() {
    for backend in backends() {
        let stripe = StripeServer::start().await;
        let h = Harness::with_stripe_and_webhooks(backend, &stripe.url, &[NEW]).await;
        let c = h.client().await;
        let cus = c
            .ok(
                "create_customer",
                json!({"customer": "acme", "plan": "credits"}),
            )
            .await["stripe_customer_id"]
            .as_str()
            .unwrap()
            .to_string();
        let session = c
            .ok(
                "create_credit_checkout",
                json!({"customer": "acme", "pack": "small_pack", "success_url": "https://example.com/ok",
                       "idempotency_key": "pack-1"}),
            )
            .await;
        assert!(
            session["url"]
                .as_str()
                .unwrap()
                .starts_with("https://checkout.stripe.com/")
        );
        let sent = stripe
            .requests("POST", "/v1/checkout/sessions")
            .pop()
            .unwrap();
        assert_eq!(sent.param("mode"), Some("payment"));
        assert_eq!(sent.param("customer"), Some(cus.as_str()));
        assert_eq!(sent.param("client_reference_id"), Some("acme"));
        assert_eq!(sent.param("line_items[0][quantity]"), Some("1"));
        assert_eq!(
            sent.param("line_items[0][price_data][unit_amount]"),
            Some("1000")
        );
        assert_eq!(
            sent.param("line_items[0][price_data][currency]"),
            Some("usd")
        );
        assert_eq!(
            sent.param("line_items[0][price_data][product_data][name]"),
            Some("Small pack (110 credits)")
        );
        assert_eq!(sent.param("metadata[billing_mcp_pack]"), Some("small_pack"));
        assert_eq!(sent.param("metadata[billing_mcp_customer]"), Some("acme"));

        // Stripe says it is paid, twice (a redelivery under another event id): granted once.
        let hook = Hook::start(&h).await;
        let paid = json!({"id": session["id"], "object": "checkout.session", "mode": "payment",
                          "payment_status": "paid", "customer": cus, "client_reference_id": "acme",
                          "amount_total": 1000, "currency": "usd",
                          "metadata": {"billing_mcp_pack": "small_pack", "billing_mcp_customer": "acme"}});
        for id in ["evt_pack_1", "evt_pack_2"] {
            let done = hook
                .accept(event(id, "checkout.session.completed", 5, paid.clone()))
                .await;
            assert_eq!(done["status"], "processed", "{done}");
        }
        let balance = c
            .ok("get_credit_balance", json!({"customer": "acme"}))
            .await;
        assert_eq!(balance["balance"], 110, "{balance}");

        let (code, message) = c
            .err(
                "create_credit_checkout",
                json!({"customer": "acme", "pack": "huge", "success_url": "https://example.com/ok"}),
            )
            .await;
        assert_eq!(code, "unknown_credit_pack");
        assert!(message.contains("small_pack"), "{message}");
    }
}
