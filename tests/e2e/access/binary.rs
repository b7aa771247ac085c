//! Keys and the binary itself: no key or Stripe secret reaches its logs at trace level (CLI, HTTP,
//! stdio), and a bad stdio key or bad rate limits stop it at start.

use std::process::Stdio;

use rmcp::ServiceExt;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

use crate::support::http::{json_rpc, tool_error, tools_call};
use crate::support::{A, BINARY, Backend, EXAMPLE_CATALOG, test_db};

/// The binary with every log level on: keys made by the CLI and by a tool, used over HTTP and
/// stdio, and a Stripe key in the environment, never appear in what it logs.
#[tokio::test]
async fn secrets_never_reach_the_binarys_logs() {
    let db = test_db(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let stripe_key = "sk_test_51NeverLogMe0000000000000000";
    // Stripe calls go out (and are refused: the test server knows another key), so the Stripe
    // client's own trace logging is searched too.
    let stripe = crate::support::stripe::StripeServer::start().await;
    let cli = tokio::process::Command::new(BINARY)
        .args([
            "keys",
            "create",
            "--role",
            "admin",
            "--database-url",
            &db.url,
        ])
        .env("RUST_LOG", "trace")
        .output()
        .await
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let admin = String::from_utf8(cli.stdout).unwrap().trim().to_string();
    assert!(
        admin.starts_with("bmcp_"),
        "the secret alone on stdout: {admin}"
    );
    let mut logs = String::from_utf8_lossy(&cli.stderr).to_string();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log_path = dir.path().join("http.log");
    let mut server = tokio::process::Command::new(BINARY)
        .args([
            "serve",
            "--http",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            &db.url,
        ])
        .args(["--catalog", EXAMPLE_CATALOG])
        .env("RUST_LOG", "trace")
        .env("STRIPE_SECRET_KEY", stripe_key)
        .env("STRIPE_API_BASE", &stripe.url)
        .stderr(std::fs::File::create(&log_path).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if crate::support::http_get(format!("{base}/healthz"))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let post = |key: String, tool: &'static str, args: Value| {
        let base = base.clone();
        async move {
            let resp = tools_call(&base, tool, args)
                .bearer_auth(key)
                .send()
                .await
                .unwrap();
            json_rpc(resp).await
        }
    };
    post(admin.clone(), "create_customer", json!({"customer": A})).await;
    let made = post(
        admin.clone(),
        "create_api_key",
        json!({"role": "customer", "customer": A}),
    )
    .await;
    let customer_key = made["result"]["structuredContent"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let rotated = post(
        admin.clone(),
        "rotate_api_key",
        json!({"key_id": made["result"]["structuredContent"]["key"]["key_id"]}),
    )
    .await;
    let rotated_key = rotated["result"]["structuredContent"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    post(customer_key.clone(), "get_usage", json!({})).await;
    let refused = post(admin.clone(), "list_products", json!({})).await;
    assert_eq!(tool_error(&refused)["stripe"]["status"], 401);
    assert!(!stripe.seen().is_empty());
    post(
        format!("{}x", &admin[..admin.len() - 1]),
        "list_plans",
        json!({}),
    )
    .await;
    server.kill().await.unwrap();
    logs.push_str(&std::fs::read_to_string(&log_path).unwrap());

    // stdio narrowed by BILLING_MCP_API_KEY: a customer key lists only its tools.
    let mut cmd = tokio::process::Command::new(BINARY);
    cmd.args([
        "serve",
        "--stdio",
        "--database-url",
        &db.url,
        "--catalog",
        EXAMPLE_CATALOG,
    ])
    .env("RUST_LOG", "trace")
    .env("BILLING_MCP_API_KEY", &rotated_key);
    let (transport, stderr) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drained while the server runs: trace logging fills a pipe quickly.
    let mut stderr = stderr.unwrap();
    let drain = tokio::spawn(async move {
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut text)
            .await
            .unwrap();
        text
    });
    let client = ().serve(transport).await.unwrap();
    let names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(
        names.contains(&"get_usage".to_string()) && !names.contains(&"record_usage".to_string())
    );
    client.cancel().await.unwrap();
    logs.push_str(&drain.await.unwrap());

    assert!(
        logs.len() > 1000,
        "trace logging was on: {} bytes",
        logs.len()
    );
    for secret in [&admin, &customer_key, &rotated_key] {
        assert!(
            !logs.contains(secret.as_str()),
            "a key secret reached the logs"
        );
        assert!(
            !logs.contains(&secret[22..]),
            "the random part of a key reached the logs"
        );
    }
    assert!(
        !logs.contains(stripe_key),
        "the Stripe key reached the logs"
    );
}

#[tokio::test]
async fn the_binary_refuses_a_bad_stdio_key_and_bad_rate_limits() {
    let db = test_db(Backend::Sqlite).await;
    let bad_key = tokio::process::Command::new(BINARY)
        .args(["serve", "--stdio", "--database-url", &db.url])
        .env(
            "BILLING_MCP_API_KEY",
            "bmcp_0000000000000000_".to_string() + &"0".repeat(64),
        )
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!bad_key.status.success());
    let err = String::from_utf8_lossy(&bad_key.stderr);
    assert!(
        err.contains("BILLING_MCP_API_KEY: the API key is not valid"),
        "{err}"
    );
    let bad_rate = tokio::process::Command::new(BINARY)
        .args([
            "serve",
            "--stdio",
            "--database-url",
            &db.url,
            "--rate-limit",
            "customer=fast",
        ])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!bad_rate.status.success());
    let err = String::from_utf8_lossy(&bad_rate.stderr);
    assert!(err.contains("--rate-limit `fast`"), "{err}");
}
