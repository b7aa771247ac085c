//! `charge_failed = true`: a call the upstream ran and failed (an error result, an error while
//! running, the timeout) is charged, with `outcome` = `error` on its event; a request the
//! upstream refused before running anything (JSON-RPC invalid params) never is.

use std::time::Duration;

use rmcp::model::{CallToolRequestParams, ErrorCode};
use serde_json::{Value, json};

use super::{CATALOG, acme_with, impatient_client, upstream};
use crate::support::backends;

#[tokio::test]
async fn with_charge_failed_a_failed_call_is_charged_and_a_refused_request_is_not() {
    let catalog = CATALOG.replace("[gateway]\n", "[gateway]\ncharge_failed = true\n");
    assert_ne!(catalog, CATALOG, "the fixture has a [gateway] table");
    for backend in backends() {
        let (url, _) = upstream::start().await;
        let (h, owner) = acme_with(backend, &catalog, "team").await;
        let c = impatient_client(&h, &url, "acme").await;
        let call = |tool: &str, args: Value| {
            c.inner.call_tool(
                CallToolRequestParams::new(tool.to_string())
                    .with_arguments(args.as_object().unwrap().clone()),
            )
        };
        // Refused before anything ran: the upstream's error reaches the client unchanged.
        let refused = call("refuse", json!({})).await.unwrap_err();
        let rmcp::ServiceError::McpError(e) = &refused else {
            panic!("{backend:?}: {refused:?}")
        };
        assert_eq!(e.code, ErrorCode::INVALID_PARAMS, "{backend:?}: {e:?}");
        assert_eq!(e.message, "refuse takes no call");
        // Ran and failed: an error result, an internal error, the timeout.
        let failed = call("fail", json!({})).await.unwrap();
        assert_eq!(failed.is_error, Some(true), "{backend:?}");
        let crashed = call("crash", json!({})).await.unwrap_err();
        assert!(
            matches!(&crashed, rmcp::ServiceError::McpError(e) if e.code == ErrorCode::INTERNAL_ERROR),
            "{backend:?}: {crashed:?}"
        );
        assert!(
            call("slow", json!({"ms": 5000})).await.is_err(),
            "{backend:?}"
        );
        c.ok("echo", json!({"text": "hi"})).await;
        // Holds end a moment after the client stops waiting.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let usage = owner
            .ok("get_usage", json!({"customer": "acme", "limit": 100}))
            .await;
        let mut charged: Vec<(String, String)> = usage["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let d = &e["dimensions"];
                (
                    d["tool"].as_str().unwrap().into(),
                    d["outcome"].as_str().unwrap().into(),
                )
            })
            .collect();
        charged.sort();
        let want: Vec<(String, String)> = [
            ("crash", "error"),
            ("echo", "ok"),
            ("fail", "error"),
            ("slow", "error"),
        ]
        .map(|(t, o)| (t.to_string(), o.to_string()))
        .into();
        assert_eq!(charged, want, "{backend:?}: {usage}");
        let check = owner
            .ok(
                "check_entitlement",
                json!({"customer": "acme", "feature": "tool_calls"}),
            )
            .await;
        assert_eq!(
            check["remaining"], 96,
            "{backend:?}: no hold left standing: {check}"
        );
    }
}
