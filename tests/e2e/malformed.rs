//! Malformed requests and slow or greedy clients, from outside: every stdio line gets an answer
//! (with its id when it has one), a bad HTTP body is a 400 with a JSON-RPC error, a client that
//! trickles its headers or body is cut off, and sessions past the cap are refused until one ends.

use std::time::Duration;

use billing_mcp::access::Role;
use billing_mcp::config::HttpArgs;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::support::http::Server;
use crate::support::{BINARY, Backend, EXAMPLE_CATALOG, Harness};

/// Lines a careless or hostile client may send, each with the error code and id it must get.
fn bad_lines() -> Vec<(String, i64, Value)> {
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":13,"method":"ping","params":{{"a":{}1{}}}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    let mut too_long = String::from(r#"{"jsonrpc":"2.0","id":14,"method":"ping","params":{"x":""#);
    too_long.push_str(&"z".repeat(16 * 1024 * 1024));
    too_long.push_str(r#""}}"#);
    vec![
        (r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":NaN}"#.into(), -32700, json!(2)),
        (r#"{"jsonrpc":"2.0","id":3,"method":"ping","params":{"x":1e400}}"#.into(), -32700, json!(3)),
        (r#"{"jsonrpc":"2.0","id":"four","method":"ping","params":{"x":"\ud800"}}"#.into(), -32700, json!("four")),
        ("garbage".into(), -32700, Value::Null),
        (r#"{"jsonrpc":"2.0","id":6}"#.into(), -32600, json!(6)),
        (r#"{"id":7,"method":"ping"}"#.into(), -32600, json!(7)),
        (r#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"get_usage","arguments":[1]}}"#.into(), -32602, json!(8)),
        (r#"[{"jsonrpc":"2.0","id":9,"method":"ping"}]"#.into(), -32600, Value::Null),
        (r#"{"jsonrpc":"2.0","id":12,"method":"nope"}"#.into(), -32601, json!(12)),
        (deep, -32700, json!(13)),
        (too_long, -32600, json!(14)),
    ]
}

#[tokio::test]
async fn every_stdio_line_gets_an_answer_with_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("t.db").display());
    let mut child = tokio::process::Command::new(BINARY)
        .args([
            "serve",
            "--stdio",
            "--catalog",
            EXAMPLE_CATALOG,
            "--database-url",
            &db,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let mut text = format!(
        "{init}\n{}\n\n",
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
    );
    let lines = bad_lines();
    for (line, _, _) in &lines {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(r#"{"jsonrpc":"2.0","id":99,"method":"ping"}"#);
    text.push('\n');
    let writer = tokio::spawn(async move {
        stdin.write_all(text.as_bytes()).await.unwrap();
        stdin
    });
    let mut answers = Vec::new();
    let read = async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            let answer: Value = serde_json::from_str(&line).unwrap();
            let last = answer["id"] == 99;
            answers.push(answer);
            if last {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("the server answers every line; the ping after them is answered");
    let _stdin = writer.await.unwrap();
    assert_eq!(
        answers.len(),
        lines.len() + 2,
        "one answer per request line: {answers:#?}"
    );
    for (line, code, id) in lines {
        let shown: String = line.chars().take(80).collect();
        let answer = answers
            .iter()
            .find(|a| a["id"] == id && a["error"]["code"] == code)
            .unwrap_or_else(|| panic!("no {code} answer with id {id} for {shown}: {answers:#?}"));
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.len() < 300, "{message}");
    }
}

async fn post(server: &Server, key: &str, body: &str) -> (u16, Value) {
    let response = crate::support::http_client()
        .post(format!("{}/mcp", server.base))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, crate::support::http::json_rpc(response).await)
}

#[tokio::test]
async fn a_bad_http_body_is_a_400_with_a_json_rpc_error() {
    let h = Harness::new(Backend::Sqlite).await;
    let key = h.key(Role::Admin, None).await;
    let server = Server::start(&h).await;
    for (body, status, code, id) in [
        (
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":NaN}"#,
            400,
            -32700,
            json!(2),
        ),
        ("garbage", 400, -32700, Value::Null),
        (
            r#"[{"jsonrpc":"2.0","id":9,"method":"ping"}]"#,
            400,
            -32600,
            Value::Null,
        ),
        (
            r#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"get_usage","arguments":[1]}}"#,
            200,
            -32602,
            json!(8),
        ),
    ] {
        let (got, answer) = post(&server, &key, body).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert_eq!(
            (answer["error"]["code"].as_i64(), &answer["id"]),
            (Some(code), &id),
            "{body}: {answer}"
        );
    }
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_or_body_is_cut_off() {
    let h = Harness::new(Backend::Sqlite).await;
    let args = HttpArgs {
        read_timeout: 1,
        ..HttpArgs::default()
    };
    let server = Server::start_with(&h, args).await;
    let addr = server.base.trim_start_matches("http://").to_string();

    // Headers that never end: the connection is closed after the timeout.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"POST /mcp HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let mut closed = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if slow.write_all(b"X-Slow: 1\r\n").await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 512];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(1), slow.read(&mut buf)).await
        {
            closed = n == 0 || String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408");
            if closed {
                break;
            }
        }
    }
    assert!(
        closed,
        "a connection whose headers never end is closed within 4 s (timeout 1 s)"
    );

    // A body that never arrives: 408 with a JSON-RPC error.
    let mut stalled = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stalled
        .write_all(b"POST /webhooks/stripe HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        .await
        .unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), stalled.read(&mut buf))
        .await
        .expect("answered within the timeout")
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("-32600"), "{answer}");
}

/// A 2025-11-25 `initialize` with `key`, ready to send: it opens a session.
fn initialize(server: &Server, key: &str) -> reqwest::RequestBuilder {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    crate::support::http_client()
        .post(format!("{}/mcp", server.base))
        .header("authorization", format!("Bearer {key}"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(init.to_string())
}

#[tokio::test]
async fn sessions_past_the_cap_are_refused_until_one_ends() {
    let h = Harness::new(Backend::Sqlite).await;
    let key = h.key(Role::Admin, None).await;
    let args = HttpArgs {
        max_sessions: 2,
        ..HttpArgs::default()
    };
    let server = Server::start_with(&h, args).await;
    let http = crate::support::http_client();
    let url = format!("{}/mcp", server.base);
    let open = || initialize(&server, &key).send();
    let first = open().await.unwrap();
    assert_eq!(first.status(), 200);
    let session = first.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(open().await.unwrap().status(), 200);
    let refused = open().await.unwrap();
    assert_eq!(refused.status(), 503);
    let answer: Value = refused.json().await.unwrap();
    assert_eq!(answer["id"], 1, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("2 open sessions") && message.contains("DELETE /mcp"),
        "{message}"
    );
    // The stateless era opens no session: it is served whatever the count.
    let stateless = server.post("list_plans", json!({}), Some(&key), None).await;
    assert_eq!(stateless.status(), 200);
    let ended = http
        .delete(&url)
        .header("authorization", format!("Bearer {key}"))
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await
        .unwrap();
    // 204: the Python client logs anything but 200 or 204 as a failed termination.
    assert_eq!(ended.status(), 204);
    let mut reopened = 0;
    for _ in 0..50 {
        if open().await.unwrap().status() == 200 {
            reopened += 1;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(reopened, 1, "a session ended makes room for a new one");
}

#[tokio::test]
async fn a_customer_key_cannot_fill_the_session_cap() {
    let h = Harness::new(Backend::Sqlite).await;
    let admin = h.key(Role::Admin, None).await;
    h.client()
        .await
        .ok("create_customer", json!({"customer": "acme"}))
        .await;
    let customer = h.key(Role::Customer, Some("acme")).await;
    let server = Server::start(&h).await;
    let open = |key: String| initialize(&server, &key).send();
    for n in 0..10 {
        let status = open(customer.clone()).await.unwrap().status();
        assert_eq!(status, 200, "session {n}");
    }
    let refused = open(customer.clone()).await.unwrap();
    assert_eq!(refused.status(), 503);
    let answer: Value = refused.json().await.unwrap();
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("the most a customer key may"), "{message}");
    assert_eq!(
        open(admin).await.unwrap().status(),
        200,
        "others still get sessions"
    );
}
