//! Bearer-key authentication for `/mcp`: every request must carry `Authorization: Bearer <key>`
//! naming a live key, or it is answered 401 with `WWW-Authenticate` before the MCP service sees
//! it. The verified [`Principal`] rides in the request's extensions (rmcp hands them to the
//! handler), and the header itself is removed so no later layer can log the secret.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::access::keys::{Refusal, VerifyError};
use crate::service::App;

pub async fn authenticate(
    State(app): State<Arc<App>>,
    mut request: Request,
    next: Next,
) -> Response {
    let header = request.headers_mut().remove(AUTHORIZATION);
    let secret = header
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, secret)| secret.trim());
    let refusal = match secret {
        None => Refusal::Missing,
        Some(secret) => match app.keys.verify(&app.store, secret, app.now()).await {
            Ok(principal) => {
                request.extensions_mut().insert(principal);
                return next.run(request).await;
            }
            Err(VerifyError::Refused(r)) => r,
            Err(VerifyError::Store(e)) => {
                tracing::error!(error = %e, "API keys could not be read");
                let body = serde_json::json!({
                    "error": "unavailable",
                    "message": "the ledger could not be read to check the API key; retry shortly",
                });
                return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
            }
        },
    };
    unauthorized(refusal)
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
