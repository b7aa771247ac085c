//! MCP logging through the binary on stdio: the operator who sets a level gets the server's own
//! events as `notifications/message` (secrets never in them); a customer key's client is
//! answered but sent nothing (a log line may name any customer).

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::support::{BINARY, EXAMPLE_CATALOG};

/// Run the binary on stdio with `key` (none: the operator), set the level to info, make a call the
/// key may make that fails (the server logs it at info), and collect every line until a ping after it is
/// answered, half a second later.
async fn session(db: &str, key: Option<&str>) -> Vec<Value> {
    let mut cmd = tokio::process::Command::new(BINARY);
    cmd.args([
        "serve",
        "--stdio",
        "--catalog",
        EXAMPLE_CATALOG,
        "--database-url",
        db,
    ])
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null())
    .kill_on_drop(true);
    if let Some(key) = key {
        cmd.env("BILLING_MCP_API_KEY", key);
    }
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let send = |v: Value| format!("{v}\n");
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let mut text = send(init);
    text += &send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    text += &send(
        json!({"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": {"level": "info"}}),
    );
    stdin.write_all(text.as_bytes()).await.unwrap();
    // The calls go once the level is set (requests are served concurrently).
    let mut calls = String::new();
    calls += &send(json!({"jsonrpc": "2.0", "id": 10, "method": "tools/call",
        "params": {"name": "create_customer", "arguments": {"customer": "cust_b"}}}));
    calls += &send(json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "check_entitlement", "arguments": {"customer": "cust_b", "feature": "nope"}}}));
    let mut seen = Vec::new();
    let read = async {
        let mut pinged = false;
        while let Some(line) = lines.next_line().await.unwrap() {
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["id"] == 2 {
                stdin.write_all(calls.as_bytes()).await.unwrap();
            }
            if v["id"] == 3 && !pinged {
                pinged = true;
                tokio::time::sleep(Duration::from_millis(500)).await;
                let ping = send(json!({"jsonrpc": "2.0", "id": 4, "method": "ping"}));
                stdin.write_all(ping.as_bytes()).await.unwrap();
            }
            let done = v["id"] == 4;
            seen.push(v);
            if done {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .unwrap();
    seen
}

#[tokio::test]
async fn the_operator_gets_log_messages_and_a_customer_key_gets_none() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let init = json!({"jsonrpc": "2.0", "id": 2, "method": "logging/setLevel", "params": {"level": "info"}});
    let owner = session(&db, None).await;
    assert!(
        owner
            .iter()
            .any(|v| v["id"] == 2 && v.get("result").is_some()),
        "{owner:#?} ({init})"
    );
    let logged: Vec<&Value> = owner
        .iter()
        .filter(|v| v["method"] == "notifications/message")
        .collect();
    assert!(
        logged.iter().any(|v| {
            v["params"]["level"] == "info"
                && v["params"]["logger"]
                    .as_str()
                    .is_some_and(|l| l.starts_with("billing_mcp"))
                && v["params"]["data"]["code"] == "unknown_feature"
        }),
        "the failed call is logged to the operator: {owner:#?}"
    );
    // A customer key on the same ledger: answered, sent no log line.
    let out = std::process::Command::new(BINARY)
        .args([
            "keys",
            "create",
            "--role",
            "customer",
            "--customer",
            "cust_b",
            "--database-url",
            &db,
        ])
        .output()
        .unwrap();
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(!key.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let customer = session(&db, Some(&key)).await;
    assert!(
        customer
            .iter()
            .any(|v| v["id"] == 2 && v.get("result").is_some()),
        "{customer:#?}"
    );
    assert!(
        !customer
            .iter()
            .any(|v| v["method"] == "notifications/message"),
        "a customer key is sent no log line: {customer:#?}"
    );
}
