//! Request bodies, read before any handler sees them: within the read timeout (408 after it), at
//! most [`MAX_MESSAGE_BYTES`] (413 past it). On `POST /mcp` the body then passes the
//! [`jsonrpc`](super::jsonrpc) screen: text that is not JSON is answered 400 with -32700 (rmcp
//! would answer 415 in plain text), a known method with malformed params -32602 with its id,
//! and a new session beyond the session cap (or beyond a customer key's share of it) 503 with a
//! JSON-RPC error naming the way out. A request naming a session that is gone goes straight on
//! to rmcp, whose 404 tells the client to initialize again.

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
use super::auth::SessionOwners;
use super::jsonrpc::{self, INVALID_REQUEST, PARSE_ERROR, Verdict};
use crate::access::{Principal, Role};

const SESSION: &str = "mcp-session-id";

/// Largest Stripe webhook delivery read (Stripe's events are far smaller; anyone may post there
/// before the signature is checked).
pub const MAX_WEBHOOK_BYTES: usize = 2 * 1024 * 1024;

/// Most sessions one customer key may hold open at once, so no customer can fill the cap.
pub const MAX_SESSIONS_PER_CUSTOMER_KEY: usize = 10;

/// Read a request's whole body, at most `limit` bytes within `timeout`, before the handler runs.
pub async fn read_body(
    State((timeout, limit)): State<(Duration, usize)>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    match buffer(body, timeout, limit).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(refused) => refused,
    }
}

/// What `POST /mcp` needs to screen a message: the read timeout, the sessions to count and
/// who holds them.
#[derive(Clone)]
pub struct McpGate {
    pub timeout: Duration,
    pub sessions: Arc<LocalSessionManager>,
    pub owners: Arc<SessionOwners>,
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
    let session = request.headers().get(SESSION).and_then(|v| v.to_str().ok());
    if let Some(id) = session
        && !gate.sessions.sessions.read().await.contains_key(id)
    {
        return next.run(request).await;
    }
    let modern = request
        .headers()
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v >= "2026-07-28");
    let (parts, body) = request.into_parts();
    let bytes = match buffer(body, gate.timeout, MAX_MESSAGE_BYTES).await {
        Ok(bytes) => bytes,
        Err(refused) => return refused,
    };
    match jsonrpc::screen(&bytes, modern) {
        Verdict::Pass { initialize } => {
            if initialize
                && !parts.headers.contains_key(SESSION)
                && let Some(refused) = session_refused(&gate, &parts, &bytes).await
            {
                return refused;
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

/// Why a new session may not open: the cap is reached, or a customer key holds its share.
async fn session_refused(
    gate: &McpGate,
    parts: &axum::http::request::Parts,
    bytes: &[u8],
) -> Option<Response> {
    let id = || jsonrpc::recover_id(&String::from_utf8_lossy(bytes));
    let live = gate.sessions.sessions.read().await;
    if live.len() >= gate.max_sessions {
        tracing::warn!(
            open = live.len(),
            "a new MCP session was refused: the session cap is reached"
        );
        let why = format!("the server holds {} open sessions, its limit", live.len());
        return Some(full(&why, id()));
    }
    let customer_key = parts
        .extensions
        .get::<Principal>()
        .filter(|p| p.role == Role::Customer)
        .and_then(|p| p.key_id.as_deref())?;
    (gate.owners.held_by(customer_key, &live) >= MAX_SESSIONS_PER_CUSTOMER_KEY).then(|| {
        let why = format!(
            "this key holds {MAX_SESSIONS_PER_CUSTOMER_KEY} open sessions, the most a customer key may"
        );
        full(&why, id())
    })
}

async fn buffer(body: Body, timeout: Duration, limit: usize) -> Result<Bytes, Response> {
    let read = Limited::new(body, limit).collect();
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Invalid request: a message may be at most {limit} bytes"),
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

fn full(why: &str, id: Value) -> Response {
    let message = format!(
        "{why}: end one you no longer use (DELETE /mcp with its Mcp-Session-Id), or retry once \
         an idle one expires (after 5 minutes without a request)"
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
