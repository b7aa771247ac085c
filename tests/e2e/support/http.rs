//! The harness over streamable HTTP: a server on 127.0.0.1:0, clients that send a bearer key,
//! and raw 2026-07-28 requests (to this server or any other) for asserting status codes and headers.

use std::sync::Arc;

use billing_mcp::config::HttpArgs;
use billing_mcp::transport::http;
use rmcp::ServiceExt;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::{Client, Harness};

/// A running HTTP server on a harness; stops when dropped.
pub struct Server {
    pub base: String,
    cancel: CancellationToken,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl Server {
    pub async fn start(h: &Harness) -> Server {
        Server::start_with(h, HttpArgs::default()).await
    }

    /// A server with these HTTP options (timeouts, session cap).
    pub async fn start_with(h: &Harness, args: HttpArgs) -> Server {
        super::tls();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cancel = CancellationToken::new();
        let (shared, token) = (h.shared(), cancel.clone());
        tokio::spawn(async move { http::serve(listener, shared, &args, token).await });
        Server {
            base: format!("http://{addr}"),
            cancel,
        }
    }

    /// An MCP client (one that initializes: the sessions era) sending `secret` as its bearer key.
    pub async fn client(&self, secret: &str) -> Client {
        let config = StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", self.base))
            .auth_header(secret);
        let running = ().serve(StreamableHttpClientTransport::from_config(config)).await.unwrap();
        Client {
            inner: Arc::new(running),
        }
    }

    /// One raw 2026-07-28 `tools/call`, with an optional bearer key and Origin.
    pub async fn post(
        &self,
        tool: &str,
        arguments: Value,
        key: Option<&str>,
        origin: Option<&str>,
    ) -> reqwest::Response {
        let mut req = tools_call(&self.base, tool, arguments);
        if let Some(k) = key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send().await.unwrap()
    }
}

/// One raw 2026-07-28 `tools/call` to the server at `base`, without a key: ready to send.
pub fn tools_call(base: &str, tool: &str, arguments: Value) -> reqwest::RequestBuilder {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": tool, "arguments": arguments,
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    }});
    crate::support::http_client()
        .post(format!("{base}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .body(body.to_string())
}

/// The JSON-RPC response, whether sent as JSON or as one SSE event.
pub async fn json_rpc(resp: reqwest::Response) -> Value {
    let text = resp.text().await.unwrap();
    let data = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .find(|d| d.starts_with('{'));
    serde_json::from_str(data.unwrap_or(&text)).unwrap()
}

/// A tool error's `{code, message, ...details}` in a JSON-RPC response: the JSON of the result's
/// text block (an error carries no structured content).
pub fn tool_error(rpc: &Value) -> Value {
    let result = &rpc["result"];
    assert_eq!(result["isError"], true, "not a tool error: {rpc}");
    assert!(result.get("structuredContent").is_none(), "{rpc}");
    serde_json::from_str(result["content"][0]["text"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("an error's text is not JSON ({e}): {rpc}"))
}
