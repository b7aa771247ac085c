//! Rate limits: a key's own rate, refused calls with `retry_after_ms` and audited, the operator
//! never limited, a bucket per key, and a customer key's rate following its plan.

use billing_mcp::access::Role;
use serde_json::json;

use crate::support::http::Server;
use crate::support::{A, Backend, Harness};

#[tokio::test]
async fn calls_beyond_a_keys_rate_are_refused_with_retry_after_and_allowed_after_it() {
    let h = Harness::new(Backend::Sqlite).await;
    let owner = h.client().await;
    owner
        .ok("create_customer", json!({"customer": A, "plan": "starter"}))
        .await;
    let issued = owner
        .ok(
            "create_api_key",
            json!({"role": "service", "rate_per_minute": 60, "burst": 3}),
        )
        .await;
    let secret = issued["secret"].as_str().unwrap();
    let server = Server::start(&h).await;
    let service = server.client(secret).await;
    let check = json!({"customer": A, "feature": "tool_calls"});
    for _ in 0..3 {
        service.ok("check_entitlement", check.clone()).await;
    }
    let refused = service
        .call("check_entitlement", check.clone())
        .await
        .unwrap_err();
    assert_eq!(refused["code"], "rate_limited");
    assert_eq!(
        refused["retry_after_ms"], 1000,
        "60 per minute: one call a second"
    );
    h.set_now(crate::support::NOW + 999);
    let refused = service
        .call("check_entitlement", check.clone())
        .await
        .unwrap_err();
    assert_eq!(refused["retry_after_ms"], 1);
    h.set_now(crate::support::NOW + 1000);
    service.ok("check_entitlement", check.clone()).await;
    let refused = service
        .call(
            "record_usage",
            json!({"customer": A, "meter": "tool_calls", "quantity": 1}),
        )
        .await
        .unwrap_err();
    assert_eq!(refused["code"], "rate_limited");
    let usage = owner.ok("get_usage", json!({"customer": A})).await;
    assert_eq!(
        usage["events"].as_array().unwrap().len(),
        0,
        "a refused write records nothing"
    );
    let audit = owner
        .ok(
            "get_audit_log",
            json!({"key_id": issued["key"]["key_id"], "result": "rate_limited"}),
        )
        .await;
    assert_eq!(
        audit["entries"][0]["tool"], "record_usage",
        "refused writes are audited"
    );

    // The operator on stdio is never limited; another key has a bucket of its own.
    for _ in 0..10 {
        owner.ok("check_entitlement", check.clone()).await;
    }
    let other = h.key(Role::Service, None).await;
    server
        .client(&other)
        .await
        .ok("check_entitlement", check)
        .await;
}

#[tokio::test]
async fn a_customer_keys_rate_follows_its_plan() {
    let h = Harness::new(Backend::Sqlite).await;
    let owner = h.client().await;
    owner
        .ok("create_customer", json!({"customer": A, "plan": "free"}))
        .await;
    let key = h.key(Role::Customer, Some(A)).await;
    let customer = h.client_as(&key).await;
    // The example's free plan: rate_limit = { per_minute = 60, burst = 10 }.
    for _ in 0..10 {
        customer.ok("get_billing_status", json!({})).await;
    }
    let refused = customer
        .call("get_billing_status", json!({}))
        .await
        .unwrap_err();
    assert_eq!(refused["code"], "rate_limited");
    assert_eq!(refused["retry_after_ms"], 1000);
    owner
        .ok(
            "set_customer_plan",
            json!({"customer": A, "plan": "professional"}),
        )
        .await;
    customer.ok("get_billing_status", json!({})).await;
    let plans = owner.ok("list_plans", json!({})).await;
    let free = plans["plans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["plan"] == "free")
        .unwrap();
    assert_eq!(free["rate_limit"], json!({"per_minute": 60, "burst": 10}));
}
