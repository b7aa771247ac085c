//! What went wrong talking to Stripe, in the client's own terms: Stripe's refusal in its own
//! words (type, code, decline code, message, param, request id, HTTP status), a network failure
//! or an answer that is not Stripe's JSON, and whether another attempt with the same idempotency
//! key is worth making. The service turns an [`Error`] into a tool error in one place.

use ::stripe::StripeError as ApiError;

/// A failed Stripe request, or an argument refused before any request was made.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub kind: ErrorKind,
    /// Attempts made (retries under the same idempotency key included).
    pub attempts: u32,
    /// Worth another attempt with the same key: Stripe's own transient statuses (408, 409
    /// conflict of concurrent idempotent requests, 425, 429, 5xx), network failures, and any
    /// answer that is not Stripe's JSON (an HTML page from Stripe's edge during an incident, or
    /// a body lost on the way). Only Stripe's own 4xx refusals are final; every write carries an
    /// idempotency key, so another attempt can never act twice.
    pub transient: bool,
    /// Stripe refused to create something because it holds it already (a meter event's
    /// identifier seen before).
    pub already_exists: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ErrorKind {
    /// An argument this client refuses before asking Stripe (the message names it).
    Invalid(String),
    /// Stripe answered with its own error.
    Refused(Box<Refusal>),
    /// No answer: a network failure or a timeout reaching `base`.
    Unreachable { base: String, detail: String },
    /// An answer this client cannot read; the request may have taken effect.
    Unreadable(String),
    /// The client itself is misconfigured.
    Misconfigured(String),
}

/// Stripe's own error, as it said it.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    /// Stripe's error type (`card_error`, `invalid_request_error`, `idempotency_error`, …).
    pub kind: String,
    pub code: Option<String>,
    pub decline_code: Option<String>,
    pub message: String,
    pub param: Option<String>,
    /// The `req_…` id Stripe's request log knows the request by.
    pub request_id: Option<String>,
    pub doc_url: Option<String>,
}

impl Error {
    /// An argument refused before any request.
    pub fn invalid(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Invalid(message.into()),
            attempts: 0,
            transient: false,
            already_exists: false,
        }
    }

    /// async-stripe's failure after `attempts` attempts against `base`.
    pub(super) fn from_api(e: &ApiError, base: &str, attempts: u32) -> Error {
        Error {
            transient: transient(e),
            already_exists: already_exists(e),
            attempts,
            kind: match e {
                ApiError::Stripe(api, status) => ErrorKind::Refused(Box::new(Refusal {
                    status: *status,
                    kind: api.type_.as_str().to_string(),
                    code: api.code.as_ref().map(|c| c.as_str().to_string()),
                    decline_code: api.decline_code.clone(),
                    message: api.message.clone().unwrap_or_default(),
                    param: api.param.clone(),
                    request_id: request_id(api.request_log_url.as_deref()),
                    doc_url: api.doc_url.clone(),
                })),
                ApiError::ClientError(_) | ApiError::Timeout => ErrorKind::Unreachable {
                    base: base.to_string(),
                    detail: summary(e),
                },
                ApiError::JSONDeserialize(m) => ErrorKind::Unreadable(m.clone()),
                ApiError::ConfigError(m) => ErrorKind::Misconfigured(m.clone()),
            },
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ErrorKind::Invalid(m) | ErrorKind::Unreadable(m) | ErrorKind::Misconfigured(m) => {
                f.write_str(m)
            }
            ErrorKind::Refused(r) => write!(f, "HTTP {} {}: {}", r.status, r.kind, r.message),
            ErrorKind::Unreachable { detail, .. } => f.write_str(detail),
        }
    }
}

impl std::error::Error for Error {}

pub(super) fn transient(e: &ApiError) -> bool {
    match e {
        ApiError::Stripe(_, status) => matches!(status, 408 | 409 | 425 | 429 | 500..=599),
        ApiError::ClientError(_) | ApiError::Timeout | ApiError::JSONDeserialize(_) => true,
        ApiError::ConfigError(_) => false,
    }
}

fn already_exists(e: &ApiError) -> bool {
    match e {
        ApiError::Stripe(api, 400) => {
            api.code
                .as_ref()
                .is_some_and(|c| c.as_str() == "resource_already_exists")
                || api
                    .message
                    .as_deref()
                    .is_some_and(|m| m.contains("already exists"))
        }
        _ => false,
    }
}

/// One line for logs (never the request's content).
pub(super) fn summary(e: &ApiError) -> String {
    match e {
        ApiError::Stripe(api, status) => {
            format!("HTTP {status} {}", api.type_.as_str())
        }
        other => other.to_string(),
    }
}

/// The request id Stripe puts at the end of `request_log_url`.
fn request_id(url: Option<&str>) -> Option<String> {
    let last = url?.trim_end_matches('/').rsplit('/').next()?;
    let id = last.split(['?', '#']).next()?;
    id.starts_with("req_").then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_id_comes_from_the_log_url() {
        assert_eq!(
            request_id(Some(
                "https://dashboard.stripe.com/test/logs/req_abc123?t=1"
            )),
            Some("req_abc123".into())
        );
        assert_eq!(request_id(Some("https://example.com/x")), None);
        assert_eq!(request_id(None), None);
    }
}
