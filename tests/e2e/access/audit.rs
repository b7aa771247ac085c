//! The audit log: every mutating call (and every refused one) with its key, role, customer and
//! arguments, secrets redacted, newest first, in pages and by tool.

use serde_json::json;

use crate::support::{A, Backend, Harness};

#[tokio::test]
async fn mutating_calls_are_audited_with_secrets_redacted() {
    let h = Harness::new(Backend::Sqlite).await;
    let owner = h.client().await;
    owner
        .ok(
            "create_customer",
            json!({"customer": A, "plan": "starter", "metadata": {"stripe": "sk_test_leaked"}}),
        )
        .await;
    let issued = owner.ok("create_api_key", json!({"role": "service"})).await;
    let secret = issued["secret"].as_str().unwrap();
    let key_id = issued["key"]["key_id"].as_str().unwrap();
    let service = h.client_as(secret).await;
    service
        .ok(
            "check_entitlement",
            json!({"customer": A, "feature": "tool_calls"}),
        )
        .await;
    service
        .ok(
            "check_entitlement",
            json!({"customer": A, "feature": "tool_calls", "consume": true, "idempotency_key": "c-1"}),
        )
        .await;
    service
        .err(
            "set_customer_plan",
            json!({"customer": A, "plan": "professional"}),
        )
        .await;

    let log = owner.ok("get_audit_log", json!({})).await;
    let entries = log["entries"].as_array().unwrap();
    let tools_logged: Vec<&str> = entries
        .iter()
        .map(|e| e["tool"].as_str().unwrap())
        .collect();
    assert_eq!(
        tools_logged,
        [
            "set_customer_plan",
            "check_entitlement",
            "create_api_key",
            "create_customer"
        ],
        "newest first; a check without consume changes nothing and is not logged"
    );
    assert_eq!(entries[0]["result"], "forbidden");
    assert_eq!(entries[0]["key_id"], key_id);
    assert_eq!(entries[0]["role"], "service");
    assert_eq!(entries[1]["result"], "ok");
    assert_eq!(entries[1]["customer"], A);
    assert_eq!(entries[1]["arguments"]["idempotency_key"], "c-1");
    assert!(
        entries[3]["key_id"].is_null(),
        "the operator on stdio has no key"
    );
    assert_eq!(entries[3]["arguments"]["metadata"]["stripe"], "[redacted]");
    let text = log.to_string();
    assert!(
        !text.contains(secret) && !text.contains("sk_test_leaked"),
        "{text}"
    );

    let page = owner.ok("get_audit_log", json!({"limit": 2})).await;
    assert_eq!(page["has_more"], true);
    let rest = owner
        .ok(
            "get_audit_log",
            json!({"limit": 2, "starting_after": page["next_cursor"]}),
        )
        .await;
    assert_eq!(rest["entries"][0]["tool"], "create_api_key");
    assert_eq!(rest["has_more"], false);
    let by_tool = owner
        .ok("get_audit_log", json!({"tool": "create_api_key"}))
        .await;
    assert_eq!(by_tool["entries"].as_array().unwrap().len(), 1);

    // A usage dimension named like a count of tokens is not a secret; a key in a value is.
    owner
        .ok(
            "record_usage",
            json!({"customer": A, "meter": "tool_calls", "quantity": 1,
                   "dimensions": {"token_count": "512", "note": "key sk_test_leaked2"}}),
        )
        .await;
    let usage = owner
        .ok("get_audit_log", json!({"tool": "record_usage"}))
        .await;
    let dimensions = &usage["entries"][0]["arguments"]["dimensions"];
    assert_eq!(dimensions["token_count"], "512", "{usage}");
    assert_eq!(dimensions["note"], "[redacted]", "{usage}");
}
