//! Request bodies, read before any handler sees them: within the read timeout (408 after it), at
//! most [`MAX_MESSAGE_BYTES`] (413 past it). On `POST /mcp` the body then passes the
//! [`jsonrpc`](super::jsonrpc) screen: text that is not JSON is answered 400 with -32700 (rmcp
//! would answer 415 in plain text), a known method with malformed params -32602 with its id,
//! and a new session beyond the session cap 503 with a JSON-RPC error naming the way out.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use serde_json::{Value, json};

use super::MAX_MESSAGE_BYTES;
use super::jsonrpc::{self, INVALID_REQUEST, PARSE_ERROR, Verdict};

const SESSION: &str = "mcp-session-id";

/// Read a request's whole body within `timeout` before the handler runs.
pub async fn read_body(State(timeout): State<Duration>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match buffer(body, timeout).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(refused) => refused,
    }
}

/// What `POST /mcp` needs to screen a message: the read timeout and the sessions to count.
#[derive(Clone)]
pub struct McpGate {
    pub timeout: Duration,
    pub sessions: Arc<LocalSessionManager>,
    pub max_sessions: usize,
}

pub async fn screen_mcp(State(gate): State<McpGate>, request: Request, next: Next) -> Response {
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let essence = v.split(';').next().unwrap_or_default().trim();
            essence.eq_ignore_ascii_case("application/json")
        });
    if request.method() != Method::POST || !is_json {
        return next.run(request).await; // rmcp answers these (405, 415, GET streams, DELETE)
    }
    let modern = request
        .headers()
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v >= "2026-07-28");
    let (parts, body) = request.into_parts();
    let bytes = match buffer(body, gate.timeout).await {
        Ok(bytes) => bytes,
        Err(refused) => return refused,
    };
    match jsonrpc::screen(&bytes, modern) {
        Verdict::Pass { initialize } => {
            if initialize && !parts.headers.contains_key(SESSION) {
                let open = gate.sessions.sessions.read().await.len();
                if open >= gate.max_sessions {
                    tracing::warn!(
                        open,
                        "a new MCP session was refused: the session cap is reached"
                    );
                    return full(open, jsonrpc::recover_id(&String::from_utf8_lossy(&bytes)));
                }
            }
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Verdict::Answer(answer) => {
            let code = answer["error"]["code"].as_i64();
            let status = if matches!(code, Some(PARSE_ERROR | INVALID_REQUEST)) {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            (status, Json(answer)).into_response()
        }
        Verdict::Drop(why) => {
            tracing::warn!(%why, "message dropped");
            StatusCode::ACCEPTED.into_response()
        }
    }
}

async fn buffer(body: Body, timeout: Duration) -> Result<Bytes, Response> {
    let read = Limited::new(body, MAX_MESSAGE_BYTES).collect();
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Invalid request: a message may be at most {MAX_MESSAGE_BYTES} bytes"),
        )),
        Ok(Err(e)) => Err(refuse(
            StatusCode::BAD_REQUEST,
            format!("Invalid request: the body could not be read ({e})"),
        )),
        Err(_) => Err(refuse(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "Invalid request: the body did not arrive within {} s",
                timeout.as_secs()
            ),
        )),
    }
}

fn refuse(status: StatusCode, message: String) -> Response {
    let body = jsonrpc::error(Value::Null, INVALID_REQUEST, &message);
    (status, Json(body)).into_response()
}

fn full(open: usize, id: Value) -> Response {
    let message = format!(
        "the server holds {open} open sessions, its limit: end one you no longer use \
         (DELETE /mcp with its Mcp-Session-Id), or retry once an idle one expires (after 5 minutes without a request)"
    );
    let body =
        json!({ "jsonrpc": "2.0", "id": id, "error": { "code": -32000, "message": message } });
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("30"),
    );
    response
}
