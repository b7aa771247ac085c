//! A call retried with the gateway's `_meta` idempotency key: one call, charged once, and the key
//! never buys another call.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::{acme_on, balance, customer_client, gateway, options, upstream};
use crate::support::Client;

/// Call `tool` with the gateway's `_meta` idempotency key.
async fn call_keyed(c: &Client, tool: &str, args: Value, key: &str) -> Result<Value, Value> {
    let mut meta = rmcp::model::RequestMetaObject::new();
    meta.insert(
        "billing-mcp/idempotency_key".into(),
        Value::String(key.into()),
    );
    let params = rmcp::model::CallToolRequestParams::new(tool.to_string())
        .with_arguments(args.as_object().unwrap().clone());
    let mut request = rmcp::model::CallToolRequest::new(params);
    request.params.meta = Some(meta);
    let answer = c
        .inner
        .send_request(rmcp::model::ClientRequest::CallToolRequest(request))
        .await
        .unwrap();
    let rmcp::model::ServerResult::CallToolResult(r) = answer else {
        panic!("{answer:?}")
    };
    if r.is_error == Some(true) {
        // The gateway's errors are JSON; an upstream's error result is its own text.
        let text = r.content[0].as_text().unwrap().text.clone();
        Err(serde_json::from_str(&text).unwrap_or(Value::String(text)))
    } else {
        Ok(r.structured_content.clone().unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn an_idempotency_key_names_one_call_charged_once_and_never_buys_another() {
    let (url, counts) = upstream::start().await;
    let (h, owner) = acme_on(crate::support::Backend::Sqlite, "credits").await;
    owner
        .ok("grant_credits", json!({"customer": "acme", "credits": 100}))
        .await;
    let g = gateway(&url, options()).await;
    let c = customer_client(&h, &g, "acme").await;
    call_keyed(&c, "render", json!({"text": "a"}), "k1")
        .await
        .unwrap();
    assert_eq!(balance(&owner, "acme").await, 95);
    // The same call again: answered once already, neither run nor charged again.
    let again = call_keyed(&c, "render", json!({"text": "a"}), "k1")
        .await
        .unwrap_err();
    assert_eq!(again["code"], "already_answered", "{again}");
    assert_eq!(counts.completed.load(Ordering::SeqCst), 1);
    // The key with another tool or other arguments is another call, charged as one.
    call_keyed(&c, "render", json!({"text": "b"}), "k1")
        .await
        .unwrap();
    call_keyed(&c, "echo", json!({"text": "b"}), "k1")
        .await
        .unwrap();
    assert_eq!(balance(&owner, "acme").await, 89, "5 + 1 more");
    // After a failed first call the retry runs, and is charged once.
    let failed = call_keyed(&c, "fail", json!({}), "k2").await;
    assert!(failed.is_err());
    assert_eq!(
        balance(&owner, "acme").await,
        89,
        "a failure is not charged"
    );
    let retried = call_keyed(&c, "fail", json!({}), "k2").await;
    assert!(retried.is_err(), "runs again: {retried:?}");
    assert_eq!(counts.completed.load(Ordering::SeqCst), 5);
    // A malformed key is refused, not ignored.
    let bad = call_keyed(&c, "render", json!({"text": "a"}), "has space")
        .await
        .unwrap_err();
    assert_eq!(bad["code"], "invalid_params", "{bad}");
}
