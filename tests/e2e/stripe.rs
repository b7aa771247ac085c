//! The Stripe toolset through a real MCP client against the Stripe-compatible test server: what
//! an agent gets back, and exactly what Stripe is sent (method, path, form, Idempotency-Key).

use serde_json::{Value, json};

use crate::support::binary::{stdio, tool_names};
use crate::support::stripe::{StripeServer, setup};
use crate::support::{Backend, Harness, backends};

#[tokio::test]
async fn an_agent_creates_a_product_with_a_monthly_price_and_a_graduated_tiered_price() {
    let (stripe, _h, c) = setup().await;
    let product = c
        .ok(
            "create_product",
            json!({"name": "Pro", "description": "Pro plan", "idempotency_key": "p-1"}),
        )
        .await;
    let prod = product["id"].as_str().unwrap();
    assert_eq!(product["name"], "Pro");
    let sent = &stripe.requests("POST", "/v1/products")[0];
    assert_eq!(sent.param("name"), Some("Pro"));
    assert_eq!(sent.param("description"), Some("Pro plan"));
    assert_eq!(sent.idempotency_key.as_deref(), Some("create_product:p-1"));

    let monthly = c
        .ok(
            "create_price",
            json!({"product": prod, "currency": "usd", "unit_amount": 2900,
            "recurring": {"interval": "month"}, "lookup_key": "pro_monthly"}),
        )
        .await;
    assert_eq!(monthly["type"], "recurring");
    assert_eq!(monthly["recurring"]["interval"], "month");
    assert_eq!(monthly["unit_amount"], 2900);
    let sent = &stripe.requests("POST", "/v1/prices")[0];
    for (k, v) in [
        ("product", prod),
        ("currency", "usd"),
        ("unit_amount", "2900"),
        ("recurring[interval]", "month"),
        ("lookup_key", "pro_monthly"),
    ] {
        assert_eq!(sent.param(k), Some(v), "{k} in {:?}", sent.form);
    }
    assert!(
        sent.idempotency_key
            .as_deref()
            .is_some_and(|k| k.starts_with("create_price:"))
    );

    let tiered = c
        .ok("create_price", json!({"product": prod, "currency": "usd", "recurring": {"interval": "month", "usage_type": "metered", "meter": "mtr_1"},
            "tiers_mode": "graduated", "tiers": [
                {"up_to": 1000, "unit_amount": 0},
                {"up_to": 10000, "unit_amount_decimal": "0.5"},
                {"unit_amount_decimal": "0.25", "flat_amount": 100}]}))
        .await;
    assert_eq!(tiered["billing_scheme"], "tiered");
    assert_eq!(tiered["tiers_mode"], "graduated");
    assert_eq!(tiered["tiers"][1]["unit_amount_decimal"], "0.5");
    assert_eq!(tiered["tiers"][2]["up_to"], Value::Null);
    let sent = &stripe.requests("POST", "/v1/prices")[1];
    for (k, v) in [
        ("billing_scheme", "tiered"),
        ("tiers_mode", "graduated"),
        ("recurring[usage_type]", "metered"),
        ("recurring[meter]", "mtr_1"),
        ("tiers[0][up_to]", "1000"),
        ("tiers[0][unit_amount]", "0"),
        ("tiers[1][up_to]", "10000"),
        ("tiers[1][unit_amount_decimal]", "0.5"),
        ("tiers[2][up_to]", "inf"),
        ("tiers[2][unit_amount_decimal]", "0.25"),
        ("tiers[2][flat_amount]", "100"),
        ("expand[0]", "tiers"),
    ] {
        assert_eq!(sent.param(k), Some(v), "{k} in {:?}", sent.form);
    }
    assert_eq!(sent.param("unit_amount"), None);

    let found = c
        .ok("list_prices", json!({"lookup_keys": ["pro_monthly"]}))
        .await;
    assert_eq!(found["data"].as_array().unwrap().len(), 1);
    assert_eq!(found["data"][0]["id"], monthly["id"]);
}

#[tokio::test]
async fn a_price_must_say_how_it_is_priced_before_anything_reaches_stripe() {
    let (stripe, _h, c) = setup().await;
    let (code, message) = c
        .err("create_price", json!({"product": "prod_x", "currency": "usd", "unit_amount": 100, "unit_amount_decimal": "1.5"}))
        .await;
    assert_eq!(code, "invalid_params");
    assert!(message.contains("exactly one of"), "{message}");
    let (code, message) = c
        .err(
            "create_price",
            json!({"product": "prod_x", "currency": "usd", "tiers_mode": "volume",
            "tiers": [{"up_to": 10, "unit_amount": 5}, {"up_to": 20, "unit_amount": 4}]}),
        )
        .await;
    assert_eq!(code, "invalid_params");
    assert!(message.contains("last tier"), "{message}");
    let (code, _) = c
        .err(
            "create_price",
            json!({"product": "prod_x", "currency": "usd", "unit_amount_decimal": 0.5}),
        )
        .await;
    assert_eq!(
        code, "invalid_params",
        "a JSON number is refused: decimals travel as strings"
    );
    assert!(stripe.seen().is_empty());
}

#[tokio::test]
async fn a_payment_link_for_a_customer_and_plan_comes_back_with_its_url() {
    let (stripe, _h, c) = setup().await;
    c.ok("create_customer", json!({"customer": "acme"})).await;
    let prod = c.ok("create_product", json!({"name": "Pro"})).await;
    let price = c
        .ok("create_price", json!({"product": prod["id"], "currency": "usd", "unit_amount": 2900, "recurring": {"interval": "month"}}))
        .await;
    let link = c
        .ok("create_payment_link", json!({"line_items": [{"price": price["id"], "quantity": 2}],
            "customer": "acme", "plan": "professional", "redirect_url": "https://example.com/thanks", "idempotency_key": "link-1"}))
        .await;
    assert!(
        link["url"]
            .as_str()
            .unwrap()
            .starts_with("https://buy.stripe.com/"),
        "{link}"
    );
    assert_eq!(link["metadata"]["billing_mcp_customer"], "acme");
    assert_eq!(link["metadata"]["billing_mcp_plan"], "professional");
    let sent = &stripe.requests("POST", "/v1/payment_links")[0];
    for (k, v) in [
        ("line_items[0][price]", price["id"].as_str().unwrap()),
        ("line_items[0][quantity]", "2"),
        ("metadata[billing_mcp_customer]", "acme"),
        ("metadata[billing_mcp_plan]", "professional"),
        ("after_completion[type]", "redirect"),
        (
            "after_completion[redirect][url]",
            "https://example.com/thanks",
        ),
    ] {
        assert_eq!(sent.param(k), Some(v), "{k} in {:?}", sent.form);
    }
    assert_eq!(
        sent.idempotency_key.as_deref(),
        Some("create_payment_link:link-1")
    );

    let (code, _) = c
        .err(
            "create_payment_link",
            json!({"line_items": [{"price": price["id"]}], "customer": "nobody"}),
        )
        .await;
    assert_eq!(code, "unknown_customer");
    let (code, _) = c
        .err(
            "create_payment_link",
            json!({"line_items": [{"price": price["id"]}], "plan": "platinum"}),
        )
        .await;
    assert_eq!(code, "unknown_plan");
    assert_eq!(stripe.requests("POST", "/v1/payment_links").len(), 1);
}

#[tokio::test]
async fn coupons_keep_their_exact_percentage_and_need_one_kind_of_discount() {
    let (stripe, _h, c) = setup().await;
    let coupon = c
        .ok("create_coupon", json!({"name": "Launch", "percent_off": "25.5", "duration": "repeating", "duration_in_months": 3, "max_redemptions": 100}))
        .await;
    assert_eq!(coupon["percent_off"], "25.5");
    assert_eq!(coupon["duration"], "repeating");
    let sent = &stripe.requests("POST", "/v1/coupons")[0];
    for (k, v) in [
        ("percent_off", "25.5"),
        ("duration", "repeating"),
        ("duration_in_months", "3"),
        ("max_redemptions", "100"),
        ("name", "Launch"),
    ] {
        assert_eq!(sent.param(k), Some(v), "{k} in {:?}", sent.form);
    }
    let off = c
        .ok(
            "create_coupon",
            json!({"amount_off": 500, "currency": "usd", "duration": "once"}),
        )
        .await;
    assert_eq!(off["amount_off"]["display"], "5.00");
    let (code, _) = c.err("create_coupon", json!({"amount_off": 500})).await;
    assert_eq!(code, "invalid_params");
    let (code, _) = c
        .err(
            "create_coupon",
            json!({"percent_off": "10", "amount_off": 5, "currency": "usd"}),
        )
        .await;
    assert_eq!(code, "invalid_params");
    let listed = c.ok("list_coupons", json!({})).await;
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn products_list_across_three_pages_with_cursors() {
    let (stripe, _h, c) = setup().await;
    for i in 0..7 {
        c.ok("create_product", json!({"name": format!("P{i}")}))
            .await;
    }
    let mut names = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut args = json!({"limit": 3});
        if let Some(a) = &after {
            args["starting_after"] = json!(a);
        }
        let page = c.ok("list_products", args).await;
        pages += 1;
        names.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_string()),
        );
        if page["has_more"] == false {
            assert_eq!(page["next_cursor"], Value::Null);
            break;
        }
        after = Some(page["next_cursor"].as_str().unwrap().to_string());
    }
    assert_eq!(pages, 3);
    assert_eq!(names, ["P6", "P5", "P4", "P3", "P2", "P1", "P0"]);
    let lists = stripe.requests("GET", "/v1/products");
    assert_eq!(lists[0].param("limit"), Some("3"));
    assert_eq!(
        lists[1].param("starting_after"),
        Some(lists_id(&stripe, "P4").as_str())
    );
    assert!(
        lists.iter().all(|s| s.idempotency_key.is_none()),
        "GETs carry no idempotency key"
    );
    let (code, _) = c.err("list_products", json!({"limit": 101})).await;
    assert_eq!(code, "invalid_params");
}

fn lists_id(stripe: &StripeServer, name: &str) -> String {
    stripe
        .objects("product")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

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
    assert_eq!(sent.len(), 2);
    assert!(
        sent.iter()
            .all(|s| s.idempotency_key.as_deref() == Some("create_refund:refund-1"))
    );
    assert_eq!(sent[0].param("payment_intent"), Some(pi.as_str()));
    assert_eq!(sent[0].param("amount"), Some("2000"));
    assert_eq!(sent[0].param("reason"), Some("requested_by_customer"));

    // The same key for a different refund is Stripe's idempotency_error, in Stripe's words.
    let (code, message) = c
        .err("create_refund", json!({"payment_intent": pi, "amount": 100, "idempotency_key": "refund-1", "confirm": true}))
        .await;
    assert_eq!(code, "stripe_error");
    assert!(
        message.contains("idempotency_error") && message.contains("same parameters"),
        "{message}"
    );
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
    };
    let app = billing_mcp::service::App::new(store, crate::support::example_catalog())
        .with_stripe(billing_mcp::stripe::Payments::connect(&settings).unwrap());
    let e = billing_mcp::stripe::Payments::connect(&settings)
        .unwrap()
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

#[tokio::test]
async fn the_binary_talks_to_stripe_at_stripe_api_base_as_the_connected_account() {
    use rmcp::ServiceExt;
    use rmcp::model::CallToolRequestParams;
    let stripe = StripeServer::start().await;
    let db = crate::support::test_db(Backend::Sqlite).await;
    let cmd = stdio(&db.url, &stripe, &["--stripe-account", "acct_9"]);
    let client = ().serve(rmcp::transport::TokioChildProcess::new(cmd).unwrap()).await.unwrap();
    let args = json!({"name": "Pro", "idempotency_key": "bin-1"});
    let made = client
        .call_tool(
            CallToolRequestParams::new("create_product")
                .with_arguments(args.as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    assert_ne!(made.is_error, Some(true), "{made:?}");
    assert_eq!(made.structured_content.unwrap()["name"], "Pro");
    client.cancel().await.unwrap();
    let sent = &stripe.requests("POST", "/v1/products")[0];
    assert_eq!(sent.stripe_account.as_deref(), Some("acct_9"));
    assert_eq!(
        sent.idempotency_key.as_deref(),
        Some("create_product:bin-1")
    );
    assert_eq!(sent.param("name"), Some("Pro"));
}

#[tokio::test]
async fn tool_selection_flags_combine_and_read_only_keeps_only_reads() {
    let stripe = StripeServer::start().await;
    let db = crate::support::test_db(Backend::Sqlite).await;
    let read_only = tool_names(stdio(&db.url, &stripe, &["--read-only"])).await;
    let registry = billing_mcp::mcp::tools::all();
    for name in &read_only {
        assert!(
            registry.get(name).unwrap().hints.read_only,
            "{name} is not read-only"
        );
    }
    for name in [
        "list_products",
        "list_prices",
        "retrieve_balance",
        "list_invoices",
    ] {
        assert!(
            read_only.contains(&name.to_string()),
            "{name} missing from --read-only"
        );
    }
    assert!(
        !read_only
            .iter()
            .any(|n| n == "create_refund" || n == "create_product")
    );
    // Two actions on one resource both stay (Stripe's own server kept only the last one given).
    let picked = tool_names(stdio(
        &db.url,
        &stripe,
        &["--tools", "create_product,list_products"],
    ))
    .await;
    assert_eq!(picked, ["create_product", "list_products"]);
    let mixed = tool_names(stdio(
        &db.url,
        &stripe,
        &[
            "--toolsets",
            "catalog",
            "--tools",
            "create_coupon",
            "--exclude-tools",
            "create_price",
        ],
    ))
    .await;
    assert!(
        mixed.contains(&"create_coupon".to_string()) && mixed.contains(&"list_prices".to_string())
    );
    assert!(
        !mixed.contains(&"create_price".to_string())
            && !mixed.contains(&"create_refund".to_string())
    );
}

#[tokio::test]
async fn a_live_key_is_refused_without_allow_live() {
    let stripe = StripeServer::start().await;
    let db = crate::support::test_db(Backend::Sqlite).await;
    let mut cmd = stdio(&db.url, &stripe, &[]);
    cmd.env("STRIPE_SECRET_KEY", "rk_live_x")
        .stderr(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null());
    let out = cmd.output().await.unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--allow-live") && !err.contains("rk_live_x"),
        "{err}"
    );
    let mut restricted = stdio(&db.url, &stripe, &[]);
    restricted.env("STRIPE_SECRET_KEY", "rk_test_x");
    assert!(
        !tool_names(restricted).await.is_empty(),
        "restricted test keys are accepted"
    );
}
