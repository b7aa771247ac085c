//! Both transports through real clients: the binary on stdio (and killed with SIGKILL: nothing
//! acknowledged is lost), and streamable HTTP in both protocol eras with Origin checks.

use billing_mcp::access::Role;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;
use serde_json::{Value, json};

use crate::support::http::{Server, json_rpc};
use crate::support::{BINARY, Backend, EXAMPLE_CATALOG, Harness, test_db};

fn args(v: Value) -> serde_json::Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[tokio::test]
async fn the_binary_serves_stdio_and_a_kill_loses_nothing_acknowledged() {
    let db = test_db(Backend::Sqlite).await;
    let mut cmd = tokio::process::Command::new(BINARY);
    cmd.args([
        "serve",
        "--stdio",
        "--catalog",
        EXAMPLE_CATALOG,
        "--database-url",
        &db.url,
    ]);
    let transport = TokioChildProcess::new(cmd).unwrap();
    let pid = transport.id().unwrap();
    let client = ().serve(transport).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(
        tools.len(),
        billing_mcp::mcp::tools::all().entries().len(),
        "the operator on stdio sees every tool"
    );
    let call =
        |name: &str, a: Value| CallToolRequestParams::new(name.to_string()).with_arguments(args(a));
    client
        .call_tool(call("create_customer", json!({"customer": "acme"})))
        .await
        .unwrap();
    for i in 0..40 {
        let r = client.call_tool(call("record_usage", json!({"customer": "acme", "meter": "tool_calls", "quantity": 1, "idempotency_key": format!("k{i}")}))).await.unwrap();
        assert_eq!(r.is_error, Some(false));
    }
    client
        .call_tool(call(
            "grant_credits",
            json!({"customer": "acme", "credits": 7}),
        ))
        .await
        .unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    drop(client);
    let h = Harness::on(db).await;
    let c = h.client().await;
    let usage = c.ok("get_usage", json!({"customer": "acme", "from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"})).await;
    assert_eq!(usage["totals"][0]["quantity"], 40);
    assert_eq!(
        c.ok("get_credit_balance", json!({"customer": "acme"}))
            .await["balance"],
        7
    );
}

#[tokio::test]
async fn http_serves_clients_that_initialize() {
    let h = Harness::new(Backend::Sqlite).await;
    let server = Server::start(&h).await;
    let admin = h.key(Role::Admin, None).await;
    let client = server.client(&admin).await;
    assert_eq!(
        client
            .inner
            .peer_info()
            .and_then(|i| i.server_info.as_ref().map(|s| s.name.clone())),
        Some("billing-mcp".into())
    );
    client
        .ok(
            "create_customer",
            json!({"customer": "acme", "plan": "free"}),
        )
        .await;
    let r = client
        .ok(
            "check_entitlement",
            json!({"customer": "acme", "feature": "tool_calls", "consume": true}),
        )
        .await;
    assert_eq!(r["allowed"], true);
    let health: Value = crate::support::http_get(format!("{}/healthz", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok", "/healthz needs no key");
}

#[tokio::test]
async fn http_serves_stateless_2026_requests_and_refuses_foreign_origins() {
    let h = Harness::new(Backend::Sqlite).await;
    let server = Server::start(&h).await;
    let admin = h.key(Role::Admin, None).await;
    let resp = server
        .post(
            "create_customer",
            json!({"customer": "acme"}),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        json_rpc(resp).await["result"]["structuredContent"]["created"],
        true
    );
    let resp = server
        .post(
            "list_plans",
            json!({}),
            Some(&admin),
            Some("http://localhost:3000"),
        )
        .await;
    assert_eq!(resp.status(), 200, "a local browser origin is allowed");
    let evil = server
        .post(
            "create_customer",
            json!({"customer": "evil"}),
            Some(&admin),
            Some("http://evil.example"),
        )
        .await;
    assert_eq!(
        evil.status(),
        403,
        "a valid key does not excuse a foreign origin"
    );
    let keyless = server
        .post(
            "create_customer",
            json!({"customer": "evil"}),
            None,
            Some("http://evil.example"),
        )
        .await;
    assert_eq!(
        keyless.status(),
        403,
        "nor does its absence change the answer"
    );
    let c = h.client().await;
    let (code, _) = c.err("get_customer", json!({"customer": "evil"})).await;
    assert_eq!(
        code, "unknown_customer",
        "no tool ran for the forged origin"
    );
}

#[tokio::test]
async fn a_broken_catalog_stops_the_binary_with_the_field_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("billing.toml");
    std::fs::write(
        &path,
        "[meters.calls]\nevent_name = \"calls\"\n[features.f]\nmeter = \"cals\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(BINARY)
        .args([
            "serve",
            "--stdio",
            "--catalog",
            path.to_str().unwrap(),
            "--database-url",
            &format!("sqlite://{}", dir.path().join("l.db").display()),
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("billing.toml")
            && stderr.contains("features.f.meter")
            && stderr.contains("Fix:"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_session_belongs_to_the_key_that_opened_it() {
    let h = Harness::new(Backend::Sqlite).await;
    let admin = h.key(Role::Admin, None).await;
    h.client()
        .await
        .ok("create_customer", json!({"customer": "acme"}))
        .await;
    let customer = h.key(Role::Customer, Some("acme")).await;
    let server = Server::start(&h).await;
    let url = format!("{}/mcp", server.base);
    let http = crate::support::http_client();
    let send = |method: reqwest::Method, key: &str, session: &str, body: Option<Value>| {
        let mut req = http
            .request(method, &url)
            .header("authorization", format!("Bearer {key}"))
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", "2025-11-25");
        if !session.is_empty() {
            req = req.header("mcp-session-id", session);
        }
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        req.send()
    };
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let opened = send(reqwest::Method::POST, &admin, "", Some(init))
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    let session = opened.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let unknown = send(
        reqwest::Method::POST,
        &customer,
        "no-such-session",
        Some(list.clone()),
    )
    .await
    .unwrap()
    .status();
    for method in [
        reqwest::Method::POST,
        reqwest::Method::GET,
        reqwest::Method::DELETE,
    ] {
        let body = (method == reqwest::Method::POST).then(|| list.clone());
        let other = send(method.clone(), &customer, &session, body)
            .await
            .unwrap()
            .status();
        assert_eq!(
            other, 404,
            "{method}: another key cannot use the admin's session"
        );
        assert_eq!(
            other, unknown,
            "{method}: answered as for a session that does not exist"
        );
    }
    let notified = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    send(reqwest::Method::POST, &admin, &session, Some(notified))
        .await
        .unwrap();
    let own = send(reqwest::Method::POST, &admin, &session, Some(list))
        .await
        .unwrap();
    assert_eq!(own.status(), 200, "the admin's session is still there");
}
