//! `sync_reserved_tiers`: seed 001's reserved tiers become subscription items once, change and go
//! with the file, and what cannot be placed is refused before anything is written.

use serde_json::{Value, json};

use super::{meter_id, posts};
use crate::support::stripe::{StripeServer, setup};
use crate::support::{Client, RESERVED_JSON as RESERVED};

/// acme, linked to Stripe, subscribed to Starter monthly, with the catalog synced.
async fn acme_subscribed(stripe: &StripeServer, c: &Client) -> String {
    c.ok(
        "create_customer",
        json!({"customer": "acme", "plan": "starter"}),
    )
    .await;
    c.ok("sync_catalog", json!({"dry_run": false})).await;
    let cus = c.ok("get_customer", json!({"customer": "acme"})).await["stripe_customer_id"]
        .as_str()
        .unwrap()
        .to_string();
    let base = stripe
        .objects("price")
        .into_iter()
        .find(|p| p["lookup_key"] == "starter_monthly")
        .unwrap();
    stripe.seed_subscription(&cus, base["id"].as_str().unwrap())
}

fn subscription(stripe: &StripeServer, id: &str) -> Value {
    stripe
        .objects("subscription")
        .into_iter()
        .find(|s| s["id"] == id)
        .unwrap()
}

#[tokio::test]
async fn reserved_tiers_from_seed_001_become_subscription_items_once() {
    let (stripe, _h, c) = setup().await;
    let sub = acme_subscribed(&stripe, &c).await;
    let before = posts(&stripe);

    let plan = c
        .ok("sync_reserved_tiers", json!({"reserved_json": RESERVED}))
        .await;
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["changes"], 4, "{plan}");
    let acme = &plan["customers"][0];
    assert_eq!(
        (acme["customer"].as_str(), acme["subscription"].as_str()),
        (Some("acme"), Some(sub.as_str()))
    );
    let items = acme["items"].as_array().unwrap();
    let vex = items.iter().find(|i| i["key"] == "vex/5000").unwrap();
    assert_eq!(vex["action"], "add");
    assert_eq!(
        (vex["price_per_unit"].as_str(), vex["band_start"].as_u64()),
        (Some("0.01"), Some(15_000))
    );
    let fu = items.iter().find(|i| i["key"] == "fu/25000").unwrap();
    assert_eq!(
        (fu["price_per_unit"].as_str(), fu["band_start"].as_u64()),
        (Some("0.001"), Some(75_000))
    );
    assert_eq!(acme["prices"].as_array().unwrap().len(), 2);
    assert_eq!(posts(&stripe), before, "a dry run only reads");

    let applied = c
        .ok(
            "sync_reserved_tiers",
            json!({"reserved_json": RESERVED, "customer": "acme", "dry_run": false}),
        )
        .await;
    assert_eq!(applied["changes"], 4);
    // the fu tier: free up to 75,000 units, then 0.1¢ ($0.001) a unit, exactly
    let fu_price = stripe
        .requests("POST", "/v1/prices")
        .into_iter()
        .find(|r| {
            r.param("lookup_key")
                .is_some_and(|k| k.starts_with("reserved_fu_"))
        })
        .unwrap();
    for (k, v) in [
        ("tiers[0][up_to]", "75000"),
        ("tiers[0][unit_amount_decimal]", "0"),
        ("tiers[1][up_to]", "inf"),
        ("tiers[1][unit_amount_decimal]", "0.1"),
        ("recurring[usage_type]", "metered"),
        ("recurring[meter]", meter_id(&stripe, "signet_fu").as_str()),
        ("currency", "usd"),
    ] {
        assert_eq!(fu_price.param(k), Some(v), "{k}");
    }
    let updates = stripe.requests("POST", &format!("/v1/subscriptions/{sub}"));
    assert_eq!(updates.len(), 1, "one subscription update per customer");
    assert_eq!(updates[0].param("proration_behavior"), Some("none"));
    let held = subscription(&stripe, &sub);
    let tiers: Vec<&Value> = held["items"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["metadata"]["billing_mcp_tier"].is_string())
        .collect();
    assert_eq!(held["items"]["data"].as_array().unwrap().len(), 3);
    let fu_item = tiers
        .iter()
        .find(|i| i["metadata"]["billing_mcp_tier"] == "fu/25000")
        .unwrap();
    assert_eq!(fu_item["metadata"]["billing_mcp_tier_price"], "0.001");
    assert_eq!(fu_item["metadata"]["billing_mcp_tier_band"], "75000-");
    assert_eq!(fu_item["price"]["id"], fu_price_id(&stripe));
    assert_eq!(
        fu_item["quantity"],
        Value::Null,
        "a metered item has no quantity"
    );

    // applying twice changes nothing
    let after = posts(&stripe);
    assert_eq!(
        c.ok("sync_reserved_tiers", json!({"reserved_json": RESERVED}))
            .await["changes"],
        0
    );
    let again = c
        .ok(
            "sync_reserved_tiers",
            json!({"reserved_json": RESERVED, "dry_run": false}),
        )
        .await;
    assert_eq!(again["changes"], 0);
    assert_eq!(posts(&stripe), after);

    // vex gets dearer, fu loses its overage tier: one update, one removal, one new price
    let changed = RESERVED.replace("0.01,", "0.02,").replace(
        r#""fu_overage_tiers": [
      {
        "threshold": 25000,
        "price_per_unit": 0.001,
        "stripe_item": "si_acme_fu_tier1"
      }
    ]"#,
        r#""fu_overage_tiers": []"#,
    );
    let plan = c
        .ok("sync_reserved_tiers", json!({"reserved_json": changed}))
        .await;
    let items = plan["customers"][0]["items"].as_array().unwrap();
    let vex = items.iter().find(|i| i["key"] == "vex/5000").unwrap();
    assert_eq!(
        (
            vex["action"].as_str(),
            vex["from"].as_str(),
            vex["to"].as_str()
        ),
        (Some("update"), Some("0.01"), Some("0.02"))
    );
    assert!(
        items
            .iter()
            .any(|i| i["key"] == "fu/25000" && i["action"] == "remove")
    );
    assert_eq!(plan["changes"], 3);
    c.ok(
        "sync_reserved_tiers",
        json!({"reserved_json": changed, "dry_run": false}),
    )
    .await;
    let held = subscription(&stripe, &sub);
    let items = held["items"]["data"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let vex_item = items
        .iter()
        .find(|i| i["metadata"]["billing_mcp_tier"] == "vex/5000")
        .unwrap();
    assert_eq!(vex_item["price"]["tiers"][1]["unit_amount_decimal"], "2");
    assert_eq!(
        c.ok("sync_reserved_tiers", json!({"reserved_json": changed}))
            .await["changes"],
        0
    );
}

fn fu_price_id(stripe: &StripeServer) -> Value {
    stripe
        .objects("price")
        .into_iter()
        .find(|p| {
            p["lookup_key"]
                .as_str()
                .is_some_and(|k| k.starts_with("reserved_fu_"))
        })
        .unwrap()["id"]
        .clone()
}

#[tokio::test]
async fn reserved_tiers_refuse_what_they_cannot_place() {
    let (stripe, _h, c) = setup().await;
    acme_subscribed(&stripe, &c).await;
    c.ok("create_customer", json!({"customer": "globex"})).await;
    let (code, message) = c
        .err(
            "sync_reserved_tiers",
            json!({"reserved_json": r#"{"globex": {"vex_reserved": 10}}"#}),
        )
        .await;
    assert_eq!(code, "no_subscription", "{message}");
    let (code, message) = c
        .err(
            "sync_reserved_tiers",
            json!({"reserved_json": r#"{"acme": {"zap_reserved": 10}}"#}),
        )
        .await;
    assert_eq!(code, "unknown_meter");
    assert!(message.contains("zap"), "{message}");
    let (code, _) = c
        .err(
            "sync_reserved_tiers",
            json!({"reserved_json": RESERVED, "customer": "initech"}),
        )
        .await;
    assert_eq!(code, "invalid_params");
    let (code, _) = c
        .err(
            "sync_reserved_tiers",
            json!({"reserved_json": {"acme": {}}}),
        )
        .await;
    assert_eq!(
        code, "invalid_params",
        "an object instead of the file's text is refused"
    );
}

#[tokio::test]
async fn a_dry_run_already_says_the_meters_are_not_synced() {
    let (stripe, _h, c) = setup().await;
    c.ok("create_customer", json!({"customer": "acme"})).await;
    let product = c.ok("create_product", json!({"name": "Base"})).await;
    let price = c
        .ok(
            "create_price",
            json!({"product": product["id"], "currency": "usd", "unit_amount": 2900,
                   "recurring": {"interval": "month"}}),
        )
        .await;
    let cus = c.ok("get_customer", json!({"customer": "acme"})).await["stripe_customer_id"]
        .as_str()
        .unwrap()
        .to_string();
    stripe.seed_subscription(&cus, price["id"].as_str().unwrap());
    let before = posts(&stripe);
    let (code, message) = c
        .err("sync_reserved_tiers", json!({"reserved_json": RESERVED}))
        .await;
    assert_eq!(code, "meter_not_synced");
    assert!(message.contains("sync_catalog"), "{message}");
    assert_eq!(posts(&stripe), before, "nothing was written");
}
