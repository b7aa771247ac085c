//! The binary and Stripe: it talks to `STRIPE_API_BASE` as the connected account, its tool
//! selection flags combine, and a live key is refused without `--allow-live`.

use serde_json::json;

use crate::support::Backend;
use crate::support::binary::{stdio, tool_names};
use crate::support::stripe::StripeServer;

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
