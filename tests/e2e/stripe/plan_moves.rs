//! `change_plan`: Stripe's own preview of a plan change beside the ledger's, exactly what Stripe
//! is sent for the preview and for the change, and the ledger following the change.

use serde_json::json;

use crate::support::stripe::StripeServer;
use crate::support::{DAY, Harness, NOW, backends};

#[tokio::test]
async fn a_plan_change_is_previewed_by_stripe_beside_the_ledger_then_made_and_followed() {
    for backend in backends() {
        let stripe = StripeServer::start().await;
        let h = Harness::with_stripe(backend, &stripe.url).await;
        let c = h.client().await;
        c.ok("create_customer", json!({"customer": "acme"})).await;
        c.ok("create_customer", json!({"customer": "solo"})).await;
        c.ok("sync_catalog", json!({"dry_run": false})).await;
        let sub = c
            .ok(
                "create_subscription",
                json!({"customer": "acme", "plan": "starter", "trial_days": 0,
                       "payment_behavior": "allow_incomplete"}),
            )
            .await;
        assert_eq!(sub["status"], "active", "{sub}");
        let old_items: Vec<String> = sub["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        let price = |key: &str| stripe.price_id(key);

        // Half way through the 30-day period.
        h.set_now(NOW + 15 * DAY);
        let preview = c
            .ok(
                "change_plan",
                json!({"customer": "acme", "plan": "professional"}),
            )
            .await;
        assert_eq!(preview["dry_run"], true);
        let sent = stripe
            .requests("POST", "/v1/invoices/create_preview")
            .pop()
            .unwrap();
        assert_eq!(sent.param("subscription"), sub["id"].as_str());
        assert_eq!(
            sent.param("subscription_details[items][0][id]"),
            Some(old_items[0].as_str())
        );
        assert_eq!(
            sent.param("subscription_details[items][0][deleted]"),
            Some("true")
        );
        assert_eq!(
            sent.param("subscription_details[items][1][deleted]"),
            Some("true")
        );
        assert_eq!(
            sent.param("subscription_details[items][2][price]"),
            Some(price("professional_monthly").as_str())
        );
        assert_eq!(
            sent.param("subscription_details[items][2][quantity]"),
            Some("1")
        );
        assert_eq!(
            sent.param("subscription_details[items][3][price]"),
            Some(price("professional_tool_calls_monthly").as_str())
        );
        assert_eq!(
            sent.param("subscription_details[items][3][quantity]"),
            None,
            "a usage price"
        );
        assert_eq!(
            sent.param("subscription_details[proration_behavior]"),
            Some("create_prorations")
        );
        let at = ((NOW + 15 * DAY) / 1000).to_string();
        assert_eq!(
            sent.param("subscription_details[proration_date]"),
            Some(at.as_str())
        );
        // Stripe's prorations for the half period left: $29.00 credited, $99.00 charged.
        let lines = preview["stripe_preview"]["lines"].as_array().unwrap();
        let amounts: Vec<i64> = lines
            .iter()
            .filter(|l| l["proration"] == true)
            .map(|l| l["amount"]["amount"].as_i64().unwrap())
            .collect();
        assert_eq!(amounts, vec![-1450, 4950], "{preview}");
        // The ledger's view of the same change, beside it.
        assert_eq!(preview["ledger"]["plan"], "professional", "{preview}");
        assert!(preview["ledger"]["invoice"]["total"]["amount"].is_i64());
        assert!(
            stripe
                .requests(
                    "POST",
                    &format!("/v1/subscriptions/{}", sub["id"].as_str().unwrap())
                )
                .is_empty(),
            "a dry run changes nothing at Stripe"
        );
        let customer = c.ok("get_customer", json!({"customer": "acme"})).await;
        assert_eq!(customer["plan"], "starter");

        let moved = c
            .ok(
                "change_plan",
                json!({"customer": "acme", "plan": "professional", "dry_run": false,
                       "idempotency_key": "move-1"}),
            )
            .await;
        assert_eq!(moved["dry_run"], false);
        let path = format!("/v1/subscriptions/{}", sub["id"].as_str().unwrap());
        let sent = stripe.requests("POST", &path).pop().unwrap();
        assert_eq!(sent.param("items[0][id]"), Some(old_items[0].as_str()));
        assert_eq!(sent.param("items[0][deleted]"), Some("true"));
        assert_eq!(
            sent.param("items[2][price]"),
            Some(price("professional_monthly").as_str())
        );
        assert_eq!(sent.param("proration_behavior"), Some("create_prorations"));
        assert_eq!(sent.param("proration_date"), Some(at.as_str()));
        assert_eq!(
            sent.param("metadata[billing_mcp_plan]"),
            Some("professional")
        );
        assert_eq!(sent.idempotency_key.as_deref(), Some("change_plan:move-1"));
        let customer = c.ok("get_customer", json!({"customer": "acme"})).await;
        assert_eq!(customer["plan"], "professional", "{customer}");
        assert_eq!(customer["status"], "active");

        let (code, message) = c
            .err(
                "change_plan",
                json!({"customer": "acme", "plan": "professional", "dry_run": false}),
            )
            .await;
        assert_eq!(code, "invalid_params", "{message}");
        assert!(message.contains("already carries"), "{message}");
        let (code, _) = c
            .err(
                "change_plan",
                json!({"customer": "solo", "plan": "starter"}),
            )
            .await;
        assert_eq!(code, "no_subscription");
    }
}
