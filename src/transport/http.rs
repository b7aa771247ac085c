//! Streamable HTTP: `/mcp` (both protocol eras: sessions for 2025-06-18/2025-11-25 clients that
//! initialize, stateless for 2026-07-28), `/healthz` (open). A foreign `Origin` gets 403 on every
//! route, and a foreign `Host` on `/mcp`, before any credential is looked at (see
//! [`origin`](super::origin)); then `/mcp` requires a bearer API key (401 otherwise, see
//! [`auth`](super::auth)). `/webhooks/stripe` takes Stripe's signed deliveries (the signature is
//! its authentication; Stripe sends no Origin). `/metrics` takes an admin or service key (see
//! [`metrics`](super::metrics)); `/dashboard` is the web dashboard, for admin keys (see
//! [`dashboard`](super::dashboard)).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::body::{self, McpGate};
use super::{MAX_MESSAGE_BYTES, Shared, auth, listen, origin};
use crate::config::HttpArgs;
use crate::mcp::Identity;

/// Build the router.
pub fn router(shared: Shared, args: &HttpArgs, cancel: CancellationToken) -> Router {
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    hosts.extend(args.allowed_hosts.iter().cloned());
    let mut origins: Vec<String> = vec![
        "http://localhost:*".into(),
        "http://127.0.0.1:*".into(),
        "http://[::1]:*".into(),
    ];
    origins.extend(args.allowed_origins.iter().cloned());
    let allowed = origin::Allowed::new(&hosts, &origins);
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .with_json_response(true)
        .with_max_request_body_bytes(MAX_MESSAGE_BYTES)
        .with_cancellation_token(cancel);
    let factory = Shared {
        identity: Arc::new(Identity::Http),
        ..shared.clone()
    };
    let sessions = Arc::new(LocalSessionManager::default());
    let mcp =
        StreamableHttpService::new(move || Ok(factory.server()), Arc::clone(&sessions), config);
    let read_timeout = Duration::from_secs(args.read_timeout);
    let owners = Arc::new(auth::SessionOwners::default());
    let gate = McpGate {
        timeout: read_timeout,
        sessions: Arc::clone(&sessions),
        owners: Arc::clone(&owners),
        max_sessions: args.max_sessions as usize,
    };
    let mcp = Router::new()
        .nest_service("/mcp", mcp)
        .layer(middleware::from_fn_with_state(gate, body::screen_mcp))
        .layer(middleware::from_fn_with_state(
            auth::AuthState {
                app: Arc::clone(&shared.app),
                owners,
                sessions,
            },
            auth::authenticate,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&allowed),
            origin::origin_and_host,
        ));
    super::metrics::handle();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(super::metrics::guarded))
        .route(
            "/webhooks/stripe",
            post(stripe_webhook).layer(middleware::from_fn_with_state(
                (read_timeout, body::MAX_WEBHOOK_BYTES),
                body::read_body,
            )),
        )
        .with_state(shared.clone())
        .merge(super::dashboard::routes(Arc::clone(&shared.app)))
        .layer(middleware::from_fn_with_state(allowed, origin::origin_only))
        .merge(mcp)
}

async fn healthz(State(shared): State<Shared>) -> impl IntoResponse {
    match shared.app.store.get_customer("").await {
        Ok(_) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ok", "ledger": shared.app.store.backend() })),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    serde_json::json!({ "status": "unavailable", "ledger": shared.app.store.backend() }),
                ),
            )
        }
    }
}

/// Stripe's deliveries: signed, so outside the API-key check. 200 once the event is stored and
/// processed (or was before), 400 for a bad signature or body (nothing stored), 503 without a
/// signing secret and 500 when the ledger fails (Stripe delivers again).
async fn stripe_webhook(
    State(shared): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    use crate::service::webhooks::{self, Refused};
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    match webhooks::receive(&shared.app, &body, signature).await {
        Ok(delivered) => (StatusCode::OK, Json(serde_json::json!(delivered))),
        Err(refused) => {
            let status = match &refused {
                Refused::NotConfigured => StatusCode::SERVICE_UNAVAILABLE,
                Refused::Signature(_) | Refused::Malformed(_) => StatusCode::BAD_REQUEST,
                Refused::Ledger(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            tracing::warn!(status = status.as_u16(), error = %refused, "webhook delivery refused");
            (
                status,
                Json(serde_json::json!({ "received": false, "error": refused.to_string() })),
            )
        }
    }
}

/// Serve on a bound listener until `cancel` fires.
pub async fn serve(
    listener: TcpListener,
    shared: Shared,
    args: &HttpArgs,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    let app = router(shared, args, cancel.child_token());
    listen::serve(
        listener,
        app,
        Duration::from_secs(args.read_timeout),
        cancel,
    )
    .await
}
