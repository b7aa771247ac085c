//! Stripe's refusals in Stripe's shape (`{"error": {type, code, message, param,
//! request_log_url}}`), and an answer of the test server as an HTTP response.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A status and the JSON body Stripe answers with.
pub(super) type Reply = (StatusCode, Value);

pub(super) fn error(
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
    message: &str,
    param: Option<&str>,
) -> Reply {
    let mut e = json!({
        "type": kind,
        "message": message,
        "request_log_url": "https://dashboard.stripe.com/test/logs/req_test123",
    });
    if let Some(c) = code {
        e["code"] = json!(c);
    }
    if let Some(p) = param {
        e["param"] = json!(p);
    }
    (status, json!({ "error": e }))
}

/// 400 invalid_request_error without a code: Stripe refuses what `param` says.
pub(super) fn invalid(message: &str, param: Option<&str>) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        None,
        message,
        param,
    )
}

/// 400 parameter_missing for a required `param`.
pub(super) fn param_missing(param: &str) -> Reply {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("parameter_missing"),
        &format!("Missing required param: {param}."),
        Some(param),
    )
}

/// 404 resource_missing: no `kind` with this id.
pub(super) fn missing(kind: &str, id: &str, param: &str) -> Reply {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such {kind}: '{id}'"),
        Some(param),
    )
}

/// 500 api_error, as Stripe answers when something went wrong on its side.
pub(super) fn api_error() -> Reply {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "api_error",
        None,
        "An unknown error occurred",
        None,
    )
}

/// The reply as a JSON response.
pub(super) fn respond((status, body): Reply) -> Response {
    (status, axum::Json(body)).into_response()
}
