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

impl Error {
    fn new(kind: ErrorKind, transient: bool) -> Error {
        Error {
            kind,
            attempts: 1,
            transient,
            already_exists: false,
        }
    }

    /// An answer that is not Stripe's JSON: the request may have taken effect, so another
    /// attempt (with the same identifiers or key) is worth making.
    pub(super) fn unreadable(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::Unreadable(detail.into()), true)
    }

    pub(super) fn misconfigured(detail: impl Into<String>) -> Error {
        Error::new(ErrorKind::Misconfigured(detail.into()), false)
    }

    /// No answer from `base`.
    pub(super) fn unreachable(base: &str, detail: String) -> Error {
        Error::new(
            ErrorKind::Unreachable {
                base: base.to_string(),
                detail,
            },
            true,
        )
    }

    /// A JSON API's answer (Stripe's v2): the body of a 2xx, or the failure, classified by the
    /// status first. Stripe's errors are `{"error": {"type", "code", "message"}}`.
    pub(super) fn from_json_answer(
        status: u16,
        body: &[u8],
        url: &str,
    ) -> Result<serde_json::Value, Error> {
        let json = serde_json::from_slice::<serde_json::Value>(body).ok();
        let ok = (200..300).contains(&status);
        match json {
            Some(v) if ok => Ok(v),
            None if ok => Err(Error::unreadable(format!(
                "HTTP {status} from {url} with an answer that is not Stripe's JSON"
            ))),
            Some(v) if v["error"].is_object() => {
                let e = &v["error"];
                let text = |k: &str| e[k].as_str().map(String::from);
                let refusal = Refusal {
                    status,
                    kind: text("type").unwrap_or_else(|| "api_error".into()),
                    code: text("code"),
                    decline_code: None,
                    message: text("message").unwrap_or_default(),
                    param: text("param"),
                    request_id: text("request_id"),
                    doc_url: text("doc_url"),
                };
                let expired = refusal.code.as_deref() == Some(SESSION_EXPIRED);
                let transient = matches!(status, 408 | 409 | 425 | 429 | 500..=599) || expired;
                Err(Error::new(ErrorKind::Refused(Box::new(refusal)), transient))
            }
            _ => Err(Error::unreadable(format!(
                "HTTP {status} from {url} with an answer that is not Stripe's JSON"
            ))),
        }
    }

    /// Stripe refused a meter event stream request because its session token expired.
    pub fn session_expired(&self) -> bool {
        matches!(&self.kind, ErrorKind::Refused(r) if r.code.as_deref() == Some(SESSION_EXPIRED))
    }
}

/// The v2 stream's code for a token past its 15 minutes.
const SESSION_EXPIRED: &str = "billing_meter_event_session_expired";

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
    fn a_json_answer_is_classified_by_its_status_first() {
        let page = b"<html><body><h1>502 Bad Gateway</h1></body></html>";
        let edge = Error::from_json_answer(502, page, "u").unwrap_err();
        assert!(edge.transient && matches!(edge.kind, ErrorKind::Unreadable(_)));
        let lost = Error::from_json_answer(200, b"<html>OK</html>", "u").unwrap_err();
        assert!(
            lost.transient,
            "a 200 whose body is lost may have been taken"
        );
        let refusal = br#"{"error": {"type": "invalid_request_error", "message": "bad"}}"#;
        assert!(
            !Error::from_json_answer(400, refusal, "u")
                .unwrap_err()
                .transient
        );
        assert!(
            Error::from_json_answer(429, refusal, "u")
                .unwrap_err()
                .transient
        );
        assert!(
            Error::from_json_answer(503, refusal, "u")
                .unwrap_err()
                .transient
        );
        let expired = br#"{"error": {"type": "invalid_request_error", "code": "billing_meter_event_session_expired", "message": "x"}}"#;
        let e = Error::from_json_answer(401, expired, "u").unwrap_err();
        assert!(e.transient && e.session_expired());
        assert_eq!(
            Error::from_json_answer(200, b"{}", "u").unwrap(),
            serde_json::json!({})
        );
    }

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
