//! What a key may reach: a customer key neither reads nor changes another customer through any
//! tool in the registry (over HTTP and stdio), and each role lists only the tools it may call.

use billing_mcp::access::{Audience, Role};
use billing_mcp::mcp::tools;
use serde_json::{Value, json};

use crate::support::http::Server;
use crate::support::{A, B, Backend, Client, Harness, backends};

/// Arguments for every tool in the registry, aimed at `customer` (or at the caller's own
/// customer when `None`). A tool added without an entry here fails the isolation test.
fn sample(tool: &str, customer: Option<&str>, b_key: &str) -> Option<Value> {
    let mut args = match tool {
        "record_usage" => json!({"meter": "tool_calls", "quantity": 1}),
        "record_usage_batch" => {
            return Some(
                json!({"events": [{"customer": customer.unwrap_or(A), "meter": "tool_calls", "quantity": 1}]}),
            );
        }
        "check_entitlement" => json!({"feature": "tool_calls", "consume": true}),
        "settle_hold" | "release_hold" => json!({"hold_id": "hold_probe"}),
        "get_usage" | "get_credit_balance" | "get_customer" | "get_billing_status"
        | "preview_invoice" | "get_usage_stats" => json!({}),
        "quote_price" => json!({"meter": "tool_calls", "quantity": 10}),
        "grant_credits" => json!({"credits": 1000}),
        "adjust_credits" => json!({"credits": -1, "reason": "probe"}),
        "create_customer" => json!({"plan": "free"}),
        "update_customer" => json!({"name": "Probe", "metadata": {"probe": "1"}}),
        "delete_customer" => json!({"confirm": true}),
        "set_customer_plan" => json!({"plan": "professional"}),
        "list_customers" | "list_plans" => return Some(json!({})),
        "get_audit_log" => json!({}),
        // Webhook administration: admin keys only, about no customer.
        "list_webhook_events" | "get_dashboard" => return Some(json!({})),
        "sync_catalog" => return Some(json!({})),
        "sync_reserved_tiers" => return Some(json!({"reserved_json": "{}"})),
        "set_reserved_tiers" => return Some(json!({"reserved_json": "{}", "dry_run": false})),
        "retry_webhook_event" => return Some(json!({"event_id": "evt_1"})),
        "retry_meter_events" | "reconcile_usage" => json!({}),
        "create_api_key" => json!({"role": "customer"}),
        "list_api_keys" => json!({}),
        "rotate_api_key" | "revoke_api_key" => return Some(json!({"key_id": b_key})),
        // Stripe administration: admin keys only.
        "create_invoice"
        | "create_invoice_item"
        | "list_invoices"
        | "list_payment_intents"
        | "list_subscriptions"
        | "create_billing_portal_session"
        | "create_subscription"
        | "create_setup_intent"
        | "list_payment_methods"
        | "create_credit_checkout"
        | "create_checkout_session" => {
            json!({"mode": "payment", "line_items": [{"price": "price_1"}], "success_url": "https://example.com"})
        }
        "create_product"
        | "list_products"
        | "create_price"
        | "list_prices"
        | "create_payment_link"
        | "finalize_invoice"
        | "retrieve_balance"
        | "create_refund"
        | "update_subscription"
        | "change_plan"
        | "start_onboarding"
        | "continue_onboarding"
        | "get_onboarding"
        | "cancel_subscription"
        | "create_coupon"
        | "list_coupons"
        | "create_promotion_code"
        | "list_promotion_codes"
        | "get_discount"
        | "list_disputes"
        | "update_dispute"
        | "create_meter"
        | "list_meters" => {
            return Some(
                json!({"payment_intent": "pi_1", "idempotency_key": "k", "confirm": true}),
            );
        }
        _ => return None,
    };
    if let Some(c) = customer {
        args["customer"] = json!(c);
    }
    Some(args)
}

/// Everything the operator can see of a customer.
async fn state_of(owner: &Client, customer: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    for tool in [
        "get_customer",
        "get_usage",
        "get_credit_balance",
        "get_billing_status",
    ] {
        seen.push(owner.ok(tool, json!({"customer": customer})).await);
    }
    seen.push(
        owner
            .ok(
                "list_api_keys",
                json!({"customer": customer, "include_inactive": true}),
            )
            .await,
    );
    seen
}

async fn two_customers(h: &Harness) -> Client {
    let owner = h.client().await;
    for c in [A, B] {
        owner
            .ok("create_customer", json!({"customer": c, "plan": "starter"}))
            .await;
        owner
            .ok(
                "record_usage",
                json!({"customer": c, "meter": "tool_calls", "quantity": 7}),
            )
            .await;
        owner
            .ok("grant_credits", json!({"customer": c, "credits": 50}))
            .await;
    }
    owner
}

#[tokio::test]
async fn a_customer_key_can_neither_read_nor_change_another_customer_through_any_tool() {
    for backend in backends() {
        let h = Harness::new(backend).await;
        let owner = two_customers(&h).await;
        // Its own generous rate: this test walks every tool three times, past the role's burst.
        let a_key = billing_mcp::service::keys::create(
            &h.app,
            billing_mcp::service::keys::NewKey {
                rate_per_minute: Some(100_000),
                burst: Some(10_000),
                ..billing_mcp::service::keys::NewKey::new(Role::Customer, Some(A.into()))
            },
        )
        .await
        .unwrap()
        .secret
        .unwrap();
        let b_key = owner
            .ok("create_api_key", json!({"role": "customer", "customer": B}))
            .await["key"]["key_id"]
            .as_str()
            .unwrap()
            .to_string();
        let before = state_of(&owner, B).await;
        let server = Server::start(&h).await;
        let as_a = server.client(&a_key).await;
        let stdio_a = h.client_as(&a_key).await;

        for entry in tools::all().entries() {
            let name = entry.tool.name.as_ref();
            let aimed_at_b = sample(name, Some(B), &b_key).unwrap_or_else(|| {
                panic!("no sample arguments for `{name}`: add them to sample()")
            });
            for client in [&as_a, &stdio_a] {
                match client.call(name, aimed_at_b.clone()).await {
                    // A tool for anyone takes no customer and shows none.
                    Ok(body) if entry.audience == Audience::Anyone => {
                        assert!(!body.to_string().contains(B), "{name} showed B: {body}");
                    }
                    Ok(body) => panic!("{name} aimed at B answered {body}"),
                    Err(e) => {
                        assert_eq!(e["code"], "forbidden", "{name} aimed at B: {e}");
                        assert!(!e.to_string().contains(B), "{name}: the refusal names B");
                    }
                }
            }
            let mut own = sample(name, None, &b_key).unwrap();
            if name == "settle_hold" || name == "release_hold" {
                // A hold of A's own to end.
                let held = as_a
                    .ok(
                        "check_entitlement",
                        json!({"feature": "tool_calls", "hold": true}),
                    )
                    .await;
                own["hold_id"] = held["hold"]["hold_id"].clone();
            }
            let answer = as_a.call(name, own).await;
            match entry.audience {
                Audience::OwnCustomer | Audience::Anyone => {
                    let body = answer.unwrap_or_else(|e| panic!("{name} on its own customer: {e}"));
                    assert!(!body.to_string().contains(B), "{name} showed B: {body}");
                }
                Audience::Service | Audience::Admin => {
                    assert_eq!(answer.unwrap_err()["code"], "forbidden", "{name}");
                }
            }
        }
        assert_eq!(state_of(&owner, B).await, before, "{backend:?}: B changed");
        let own = as_a.ok("get_usage", json!({})).await;
        assert_eq!(
            own["customer"], A,
            "a customer key without `customer` acts on its own"
        );
        let forbidden = owner
            .ok(
                "get_audit_log",
                json!({"result": "forbidden", "limit": 200}),
            )
            .await;
        assert!(
            forbidden["entries"].as_array().unwrap().len()
                >= 2 * (tools::all().entries().len() - 1),
            "every forbidden attempt is audited"
        );
    }
}

#[tokio::test]
async fn each_role_lists_only_the_tools_it_may_call() {
    let h = Harness::new(Backend::Sqlite).await;
    h.client()
        .await
        .ok("create_customer", json!({"customer": A}))
        .await;
    let server = Server::start(&h).await;
    let mut listed = Vec::new();
    for (role, customer) in [
        (Role::Admin, None),
        (Role::Service, None),
        (Role::Customer, Some(A)),
    ] {
        let key = h.key(role, customer).await;
        let client = server.client(&key).await;
        let mut names: Vec<String> = client
            .inner
            .list_all_tools()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect();
        names.sort();
        listed.push(names);
    }
    let all: Vec<String> = tools::all()
        .entries()
        .iter()
        .map(|e| e.tool.name.to_string())
        .collect();
    assert_eq!(listed[0].len(), all.len(), "admin sees every tool");
    for admin_only in [
        "create_api_key",
        "revoke_api_key",
        "get_audit_log",
        "set_customer_plan",
    ] {
        assert!(
            !listed[1].contains(&admin_only.to_string()),
            "service sees {admin_only}"
        );
    }
    for service in [
        "record_usage",
        "check_entitlement",
        "grant_credits",
        "create_customer",
    ] {
        assert!(
            listed[1].contains(&service.to_string()),
            "service misses {service}"
        );
    }
    assert_eq!(
        listed[2],
        [
            "check_entitlement",
            "get_billing_status",
            "get_credit_balance",
            "get_customer",
            "get_usage",
            "get_usage_stats",
            "list_plans",
            "preview_invoice",
            "quote_price",
            "release_hold",
            "settle_hold"
        ],
        "a customer key sees its own entitlements, usage, balance and billing status"
    );
}
