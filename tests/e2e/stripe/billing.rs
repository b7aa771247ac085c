//! Customers and billing at Stripe: one linked Stripe customer however often it is created, and
//! invoices, subscriptions, disputes, meters and checkout end to end.

use serde_json::json;

use crate::support::stripe::{StripeServer, setup};
use crate::support::{Harness, backends};

#[tokio::test]
async fn create_customer_links_one_stripe_customer_however_often_it_is_called() {
    for backend in backends() {
        let stripe = StripeServer::start().await;
        let h = Harness::with_stripe(backend, &stripe.url).await;
        let c = h.client().await;
        stripe.fail_next(500, "api_error", None, "An unknown error occurred.");
        stripe.fail_next(500, "api_error", None, "An unknown error occurred.");
        stripe.fail_next(500, "api_error", None, "An unknown error occurred.");
        let (code, message) = c
            .err(
                "create_customer",
                json!({"customer": "acme", "name": "Acme", "email": "ops@acme.test"}),
            )
            .await;
        assert_eq!(code, "stripe_error");
        assert!(
            message.contains("is in the ledger but has no Stripe customer yet"),
            "{message}"
        );
        let first = c
            .ok(
                "create_customer",
                json!({"customer": "acme", "name": "Acme"}),
            )
            .await;
        let cus = first["stripe_customer_id"].as_str().unwrap().to_string();
        assert!(cus.starts_with("cus_"));
        let again = c.ok("create_customer", json!({"customer": "acme"})).await;
        assert_eq!(again["stripe_customer_id"], cus.as_str());
        assert_eq!(stripe.objects("customer").len(), 1, "{backend:?}");
        let sent = stripe.requests("POST", "/v1/customers");
        assert!(
            sent.iter()
                .all(|s| s.idempotency_key.as_deref() == Some("create_customer:acme"))
        );
        assert_eq!(
            sent[0].param("metadata[billing_mcp_customer]"),
            Some("acme")
        );
        assert_eq!(sent[0].param("email"), Some("ops@acme.test"));

        // Stripe tools take the ledger id and send Stripe the linked customer.
        c.ok(
            "create_invoice",
            json!({"customer": "acme", "days_until_due": 14}),
        )
        .await;
        let sent = &stripe.requests("POST", "/v1/invoices")[0];
        assert_eq!(sent.param("customer"), Some(cus.as_str()));
        assert_eq!(sent.param("collection_method"), Some("send_invoice"));
        assert_eq!(sent.param("days_until_due"), Some("14"));
        let portal = c
            .ok(
                "create_billing_portal_session",
                json!({"customer": "acme", "return_url": "https://example.com"}),
            )
            .await;
        assert!(
            portal["url"]
                .as_str()
                .unwrap()
                .starts_with("https://billing.stripe.com/")
        );
        let (code, _) = c.err("create_invoice", json!({"customer": "ghost"})).await;
        assert_eq!(code, "unknown_customer");
    }
}

#[tokio::test]
async fn invoices_subscriptions_disputes_meters_and_checkout_work_end_to_end() {
    let (stripe, _h, c) = setup().await;
    let prod = c.ok("create_product", json!({"name": "Pro"})).await;
    let price = c
        .ok(
            "create_price",
            json!({"product": prod["id"], "currency": "usd", "unit_amount": 1500}),
        )
        .await;
    let inv = c.ok("create_invoice", json!({"customer": "cus_a"})).await;
    let item = c
        .ok(
            "create_invoice_item",
            json!({"customer": "cus_a", "invoice": inv["id"], "price": price["id"], "quantity": 2}),
        )
        .await;
    assert_eq!(item["amount"]["amount"], 3000);
    assert_eq!(
        stripe.requests("POST", "/v1/invoiceitems")[0].param("pricing[price]"),
        price["id"].as_str()
    );
    let done = c
        .ok("finalize_invoice", json!({"invoice": inv["id"]}))
        .await;
    assert_eq!(done["status"], "open");
    assert_eq!(done["total"]["display"], "30.00");
    assert!(done["hosted_invoice_url"].as_str().is_some());
    let (code, message) = c
        .err("finalize_invoice", json!({"invoice": inv["id"]}))
        .await;
    assert_eq!(code, "stripe_error");
    assert!(message.contains("already finalized"), "{message}");
    let listed = c
        .ok(
            "list_invoices",
            json!({"customer": "cus_a", "status": "open"}),
        )
        .await;
    assert_eq!(listed["data"][0]["id"], inv["id"]);

    let sub = stripe.seed_subscription("cus_a", price["id"].as_str().unwrap());
    let subs = c
        .ok("list_subscriptions", json!({"customer": "cus_a"}))
        .await;
    let item_id = subs["data"][0]["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let changed = c
        .ok("update_subscription", json!({"subscription": sub, "items": [{"id": item_id, "quantity": 5}], "proration_behavior": "none"}))
        .await;
    assert_eq!(changed["items"][0]["quantity"], 5);
    let sent = &stripe.requests("POST", &format!("/v1/subscriptions/{sub}"))[0];
    assert_eq!(sent.param("items[0][quantity]"), Some("5"));
    assert_eq!(sent.param("proration_behavior"), Some("none"));
    let (code, _) = c
        .err("cancel_subscription", json!({"subscription": sub}))
        .await;
    assert_eq!(code, "confirmation_required");
    let canceled = c
        .ok(
            "cancel_subscription",
            json!({"subscription": sub, "confirm": true, "idempotency_key": "c-1"}),
        )
        .await;
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(
        stripe
            .requests("DELETE", &format!("/v1/subscriptions/{sub}"))
            .len(),
        1
    );

    let pi = stripe.seed_payment_intent(4200, Some("cus_a"));
    let intents = c
        .ok("list_payment_intents", json!({"customer": "cus_a"}))
        .await;
    assert_eq!(intents["data"][0]["id"], pi.as_str());
    let dp = stripe.seed_dispute(&pi, 4200);
    let disputes = c.ok("list_disputes", json!({"payment_intent": pi})).await;
    assert_eq!(disputes["data"][0]["status"], "needs_response");
    let answered = c
        .ok("update_dispute", json!({"dispute": dp, "evidence": {"uncategorized_text": "Delivered on time."}, "submit": true}))
        .await;
    assert_eq!(answered["status"], "under_review");
    assert_eq!(
        stripe.requests("POST", &format!("/v1/disputes/{dp}"))[0]
            .param("evidence[uncategorized_text]"),
        Some("Delivered on time.")
    );

    let meter = c
        .ok(
            "create_meter",
            json!({"display_name": "API calls", "event_name": "api_calls", "aggregation": "sum"}),
        )
        .await;
    assert_eq!(meter["event_name"], "api_calls");
    assert_eq!(meter["customer_key"], "stripe_customer_id");
    let sent = &stripe.requests("POST", "/v1/billing/meters")[0];
    assert_eq!(sent.param("default_aggregation[formula]"), Some("sum"));
    assert_eq!(sent.param("customer_mapping[type]"), Some("by_id"));
    assert_eq!(
        c.ok("list_meters", json!({})).await["data"][0]["id"],
        meter["id"]
    );

    let session = c
        .ok("create_checkout_session", json!({"mode": "subscription", "line_items": [{"price": price["id"]}], "customer": "cus_a", "success_url": "https://example.com/ok"}))
        .await;
    assert!(
        session["url"]
            .as_str()
            .unwrap()
            .starts_with("https://checkout.stripe.com/")
    );
    let sent = &stripe.requests("POST", "/v1/checkout/sessions")[0];
    assert_eq!(sent.param("mode"), Some("subscription"));
    assert_eq!(sent.param("customer"), Some("cus_a"));
    assert_eq!(sent.param("success_url"), Some("https://example.com/ok"));
    // Every POST and DELETE carried an Idempotency-Key.
    assert!(
        stripe
            .seen()
            .iter()
            .filter(|s| s.method != "GET")
            .all(|s| s.idempotency_key.is_some())
    );
}
