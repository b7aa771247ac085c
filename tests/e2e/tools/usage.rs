//! Recording and reading usage: bad input is a tool error with a code, a batch with one bad event
//! stores nothing, usage and customers page with cursors, and recording and checking report the
//! same allowance.

use serde_json::json;

use crate::support::{Backend, Harness};

#[tokio::test]
async fn bad_input_is_a_tool_error_with_a_code_and_the_server_keeps_serving() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    c.ok("create_customer", json!({"customer": "acme"})).await;
    let cases = [
        (
            json!({"customer": "acme", "meter": "tool_calls", "quantity": -1}),
            "invalid_params",
            "quantity",
        ),
        (
            json!({"customer": "nobody", "meter": "tool_calls", "quantity": 1}),
            "unknown_customer",
            "create_customer",
        ),
        (
            json!({"customer": "acme", "meter": "nope", "quantity": 1}),
            "unknown_meter",
            "tool_calls",
        ),
        (
            json!({"customer": "x".repeat(10 * 1024 * 1024), "meter": "tool_calls", "quantity": 1}),
            "invalid_params",
            "128",
        ),
        (
            json!({"customer": "acme", "meter": "tool_calls", "quantity": "five"}),
            "invalid_params",
            "quantity",
        ),
        (
            json!({"customer": "acme", "meter": "tool_calls", "quantity": 1, "extra": true}),
            "invalid_params",
            "unknown field",
        ),
        (
            json!({"customer": "acme", "meter": "tool_calls", "quantity": 1, "timestamp": "yesterday"}),
            "invalid_params",
            "RFC 3339",
        ),
        (
            json!({"customer": "acme", "meter": "tool_calls", "quantity": 1, "timestamp": "0001-01-01T00:00:00Z"}),
            "invalid_params",
            "35 days",
        ),
        (
            json!({"customer": "acme", "meter": "tool_calls"}),
            "invalid_params",
            "quantity",
        ),
    ];
    for (args, code, hint) in cases {
        let (got, message) = c.err("record_usage", args).await;
        assert_eq!(got, code);
        assert!(
            message.contains(hint),
            "`{message}` should mention `{hint}`"
        );
        assert!(message.len() < 1000, "errors stay short");
    }
    let (code, _) = c
        .err(
            "check_entitlement",
            json!({"customer": "nobody", "feature": "tool_calls"}),
        )
        .await;
    assert_eq!(code, "unknown_customer");
    let (code, _) = c
        .err(
            "check_entitlement",
            json!({"customer": "acme", "feature": "teleport"}),
        )
        .await;
    assert_eq!(code, "unknown_feature");
    let (code, _) = c
        .err(
            "set_customer_plan",
            json!({"customer": "acme", "plan": "platinum"}),
        )
        .await;
    assert_eq!(code, "unknown_plan");
    let (code, _) = c
        .err("grant_credits", json!({"customer": "acme", "credits": 0}))
        .await;
    assert_eq!(code, "invalid_params");
    // still serving
    assert_eq!(
        c.ok(
            "record_usage",
            json!({"customer": "acme", "meter": "tool_calls", "quantity": 1})
        )
        .await["status"],
        "recorded"
    );
}

#[tokio::test]
async fn usage_and_customers_page_with_cursors() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    for id in ["a", "b", "c"] {
        c.ok("create_customer", json!({"customer": id})).await;
    }
    let page = c.ok("list_customers", json!({"limit": 2})).await;
    assert_eq!(
        (page["has_more"].as_bool(), page["next_cursor"].as_str()),
        (Some(true), Some("b"))
    );
    let rest = c
        .ok("list_customers", json!({"limit": 2, "starting_after": "b"}))
        .await;
    assert_eq!(
        (
            rest["customers"][0]["customer"].as_str(),
            rest["has_more"].as_bool()
        ),
        (Some("c"), Some(false))
    );
    let batch: Vec<_> = (0..25)
        .map(|i| json!({"customer": "a", "meter": "tool_calls", "quantity": i}))
        .collect();
    let recorded = c.ok("record_usage_batch", json!({"events": batch})).await;
    assert_eq!(recorded["recorded"], 25);
    let first = c
        .ok("get_usage", json!({"customer": "a", "limit": 10}))
        .await;
    let second = c
        .ok(
            "get_usage",
            json!({"customer": "a", "limit": 10, "starting_after": first["next_cursor"]}),
        )
        .await;
    let third = c
        .ok(
            "get_usage",
            json!({"customer": "a", "limit": 10, "starting_after": second["next_cursor"]}),
        )
        .await;
    let ids: Vec<String> = [&first, &second, &third]
        .iter()
        .flat_map(|p| p["events"].as_array().unwrap().clone())
        .map(|e| e["event_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!((ids.len(), third["has_more"].as_bool()), (25, Some(false)));
    let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), 25, "no event on two pages");
    assert_eq!(first["totals"][0]["quantity"], (0..25).sum::<i64>());
}

#[tokio::test]
async fn a_batch_with_one_malformed_event_stores_nothing() {
    let h = Harness::new(Backend::Sqlite).await;
    let c = h.client().await;
    c.ok("create_customer", json!({"customer": "a"})).await;
    let (code, message) = c
        .err(
            "record_usage_batch",
            json!({"events": [
                {"customer": "a", "meter": "tool_calls", "quantity": 1},
                {"customer": "a", "meter": "nope", "quantity": 1}
            ]}),
        )
        .await;
    assert_eq!(code, "unknown_meter");
    assert!(message.starts_with("event 1:"), "{message}");
    assert_eq!(
        c.ok("get_usage", json!({"customer": "a"})).await["totals"],
        json!([])
    );
}

#[tokio::test]
async fn record_usage_and_check_entitlement_report_the_same_allowance() {
    // 100 calls included; `render` has its own price, so its calls do not use the included ones.
    let h = Harness::with_catalog(
        Backend::Sqlite,
        r#"
[meters.calls]
event_name = "calls"
[features.calls]
meter = "calls"
[plans.p]
features = ["calls"]
at_limit = "charge_overage"
[plans.p.meters.calls]
included = 100
price = { unit_amount = 2 }
tool_prices = { "render" = { unit_amount = 50 } }
"#,
    )
    .await;
    let c = h.client().await;
    c.ok("create_customer", json!({"customer": "acme", "plan": "p"}))
        .await;
    c.ok("record_usage", json!({"customer": "acme", "meter": "calls", "quantity": 30, "dimensions": {"tool": "render"}})).await;
    let recorded = c
        .ok(
            "record_usage",
            json!({"customer": "acme", "meter": "calls", "quantity": 10}),
        )
        .await;
    let checked = c
        .ok(
            "check_entitlement",
            json!({"customer": "acme", "feature": "calls"}),
        )
        .await;
    assert_eq!(recorded["used"], 40, "all calls of the period");
    assert_eq!(
        recorded["remaining"], 90,
        "render's calls are priced on their own"
    );
    assert_eq!(checked["remaining"], recorded["remaining"]);
}

/// `compact: true` answers with structured content alone (no text copy) and what a gate acts on:
/// the same decision and figures as the full answer, the message only when refused.
#[tokio::test]
async fn a_compact_check_carries_the_decision_alone_and_the_same_figures() {
    for backend in crate::support::backends() {
        let h = Harness::new(backend).await;
        let c = h.client().await;
        c.ok(
            "create_customer",
            json!({"customer": "acme", "plan": "free"}),
        )
        .await;
        let ask = |consume: bool, compact: bool| json!({"customer": "acme", "feature": "tool_calls", "consume": consume, "compact": compact});
        let raw = c.raw("check_entitlement", ask(true, true)).await;
        assert!(raw.content.is_empty(), "{backend:?}: {raw:?}");
        let compact = raw.structured_content.unwrap();
        let full = c.ok("check_entitlement", ask(false, false)).await;
        for field in [
            "allowed",
            "reason",
            "customer",
            "feature",
            "limit",
            "remaining",
            "resets_at",
        ] {
            assert_eq!(compact[field], full[field], "{backend:?}: {field}");
        }
        assert_eq!(
            (compact["consumed"].clone(), full["remaining"].clone()),
            (json!(true), json!(4)),
            "{backend:?}"
        );
        assert!(compact["event_id"].is_string(), "{backend:?}: {compact}");
        assert_eq!(compact["message"], "", "{backend:?}");
        for dropped in ["used", "meter", "window"] {
            assert!(
                compact.get(dropped).is_none(),
                "{backend:?}: {dropped} in {compact}"
            );
        }
        assert!(
            full["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{backend:?}"
        );
        for _ in 0..4 {
            c.ok("check_entitlement", ask(true, false)).await;
        }
        let refused = c.raw("check_entitlement", ask(true, true)).await;
        let refused = refused.structured_content.unwrap();
        assert_eq!(
            (
                refused["allowed"].clone(),
                refused["reason"].clone(),
                refused["remaining"].clone(),
                refused["consumed"].clone()
            ),
            (
                json!(false),
                json!("quota_exceeded"),
                json!(0),
                json!(false)
            ),
            "{backend:?}"
        );
        assert!(
            refused["message"]
                .as_str()
                .is_some_and(|m| m.contains("limit of 5")),
            "{backend:?}: {refused}"
        );
    }
}
