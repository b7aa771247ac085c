//! The catalog at Stripe: products and prices (flat and tiered), checked before anything is sent;
//! payment links, coupons, and lists in pages.

use serde_json::{Value, json};

use crate::support::stripe::{StripeServer, setup};

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
