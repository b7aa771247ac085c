//! Bearer-key authentication for `/mcp`, after the Origin and Host checks (see
//! [`origin`](super::origin)): every request must carry `Authorization: Bearer <key>` naming a
//! live key, or it is answered 401 with `WWW-Authenticate` before the MCP service sees it. The verified [`Principal`] rides in the request's extensions (rmcp hands them to the
//! handler), and the header itself is removed so no later layer can log the secret. A session
//! (`Mcp-Session-Id`) belongs to the key that opened it: another key naming it (to post, listen
//! or end it) is answered 404, as if it did not exist. A session's end is answered 204.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Json;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use rmcp::transport::common::server_side_http::SessionId;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;

use crate::access::Principal;
use crate::access::keys::{Refusal, VerifyError};
use crate::service::App;

const SESSION: &str = "mcp-session-id";

/// Which key opened each live session of this server.
#[derive(Default)]
pub struct SessionOwners {
    owners: Mutex<HashMap<String, String>>,
}

impl SessionOwners {
    fn owner(&self, session: &str) -> Option<String> {
        self.lock().get(session).cloned()
    }

    /// How many live sessions `key` opened.
    pub fn held_by<V>(&self, key: &str, live: &HashMap<SessionId, V>) -> usize {
        self.lock()
            .iter()
            .filter(|(session, owner)| *owner == key && live.contains_key(session.as_str()))
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // A map of ids holds no invariant a panicking holder could break half-way.
        self.owners.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the middleware needs: the service (to verify keys) and the sessions' owners.
#[derive(Clone)]
pub struct AuthState {
    pub app: Arc<App>,
    pub owners: Arc<SessionOwners>,
    /// rmcp's live sessions: an owner is forgotten once its session has ended or expired.
    pub sessions: Arc<LocalSessionManager>,
}

pub async fn authenticate(
    State(AuthState {
        app,
        owners,
        sessions,
    }): State<AuthState>,
    mut request: Request,
    next: Next,
) -> Response {
    let header = request.headers_mut().remove(AUTHORIZATION);
    match verify(&app, header.as_ref()).await {
        Ok(principal) => {
            let key = principal.key_id.clone().unwrap_or_default();
            let session = request
                .headers()
                .get(SESSION)
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            if let Some(id) = &session
                && owners.owner(id).is_some_and(|owner| owner != key)
            {
                return not_found();
            }
            let ends = request.method() == axum::http::Method::DELETE;
            request.extensions_mut().insert(principal);
            let mut response = next.run(request).await;
            if ends && response.status() == StatusCode::ACCEPTED {
                // rmcp answers a session's end 202; the Python client logs anything but 200
                // or 204 as "Session termination failed" (the TypeScript one takes any 2xx).
                response = StatusCode::NO_CONTENT.into_response();
            }
            let opened = response
                .headers()
                .get(SESSION)
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            match (opened, session) {
                (Some(id), _) => {
                    let live = sessions.sessions.read().await;
                    let mut known = owners.lock();
                    known.retain(|session, _| live.contains_key(session.as_str()));
                    known.insert(id, key);
                }
                (None, Some(id)) if ends && response.status().is_success() => {
                    owners.lock().remove(&id);
                }
                _ => {}
            }
            response
        }
        Err(refused) => refused,
    }
}

/// The caller an `Authorization: Bearer <key>` header names, or the answer for a request that
/// names none: 401 with `WWW-Authenticate`, or 503 when the keys cannot be read.
pub async fn verify(app: &App, header: Option<&HeaderValue>) -> Result<Principal, Response> {
    let secret = header
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, secret)| secret.trim());
    let refusal = match secret {
        None => Refusal::Missing,
        Some(secret) => match app.keys.verify(&app.store, secret, app.now()).await {
            Ok(principal) => return Ok(principal),
            Err(VerifyError::Refused(r)) => r,
            Err(VerifyError::Store(e)) => {
                tracing::error!(error = %e, "API keys could not be read");
                let body = serde_json::json!({
                    "error": "unavailable",
                    "message": "the ledger could not be read to check the API key; retry shortly",
                });
                return Err((StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response());
            }
        },
    };
    Err(unauthorized(refusal))
}

/// The answer for a session this key did not open: the same as for one that does not exist.
fn not_found() -> Response {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": -32001, "message": "Session not found"},
    });
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

fn unauthorized(refusal: Refusal) -> Response {
    let challenge = match refusal {
        Refusal::Missing => r#"Bearer realm="billing-mcp""#.to_string(),
        other => format!(
            r#"Bearer realm="billing-mcp", error="invalid_token", error_description="{}""#,
            other.message().replace('"', "'")
        ),
    };
    let body = serde_json::json!({ "error": "unauthorized", "message": refusal.message() });
    let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}
