//! Stripe failures as tool errors. A refusal by Stripe keeps Stripe's own words (type, code,
//! decline code, message, param, request id, HTTP status) and adds the next step; a network
//! failure or an answer we cannot read says whether the request may have taken effect.

use ::stripe::StripeError;
use serde_json::{Map, Value, json};

use crate::service::BillingError;

/// Worth another attempt with the same idempotency key: Stripe's own transient statuses
/// (408, 409 conflict of concurrent idempotent requests, 425, 429, 5xx), network failures, and
/// any answer that is not Stripe's JSON (an HTML page from Stripe's edge during an incident, or
/// a body lost on the way). Only Stripe's own 4xx refusals are final; every write carries an
/// idempotency key, so another attempt can never act twice.
pub(super) fn transient(e: &StripeError) -> bool {
    match e {
        StripeError::Stripe(_, status) => matches!(status, 408 | 409 | 425 | 429 | 500..=599),
        StripeError::ClientError(_) | StripeError::Timeout | StripeError::JSONDeserialize(_) => {
            true
        }
        StripeError::ConfigError(_) => false,
    }
}

/// Stripe refused to create something because it holds it already (a meter event's
/// identifier seen before).
pub(super) fn already_exists(e: &StripeError) -> bool {
    match e {
        StripeError::Stripe(api, 400) => {
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
pub(super) fn summary(e: &StripeError) -> String {
    match e {
        StripeError::Stripe(api, status) => {
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

fn next_step(status: u16, kind: &str, code: Option<&str>) -> &'static str {
    match (status, kind, code) {
        (_, "card_error", _) => "the payment method was declined; ask the customer for another one",
        (401, ..) => {
            "Stripe did not accept STRIPE_SECRET_KEY; check the key and restart the server"
        }
        (403, ..) => {
            "the key may not do this; a restricted key needs this resource's permission in the Stripe dashboard"
        }
        (404, ..) | (_, _, Some("resource_missing")) => {
            "check the id (list tools show the ids that exist)"
        }
        (_, "idempotency_error", _) => {
            "this idempotency_key was already used with different arguments; use a new key for a new request"
        }
        (429, ..) => {
            "Stripe is rate limiting this account; retry later with the same idempotency_key"
        }
        (500..=599, ..) => {
            "Stripe failed; retry later with the same idempotency_key (a retry cannot create twice)"
        }
        _ => "fix the argument Stripe names and call again",
    }
}

/// A Stripe failure after `attempts` attempts against `base`.
pub fn stripe_error(e: &StripeError, base: &str, attempts: u32) -> BillingError {
    match e {
        StripeError::Stripe(api, status) => {
            let kind = api.type_.as_str();
            let code = api.code.as_ref().map(|c| c.as_str().to_string());
            let message = api.message.clone().unwrap_or_default();
            let request = request_id(api.request_log_url.as_deref());
            let mut detail = Map::new();
            detail.insert("type".into(), json!(kind));
            detail.insert("code".into(), json!(code));
            detail.insert("decline_code".into(), json!(api.decline_code));
            detail.insert("message".into(), json!(message));
            detail.insert("param".into(), json!(api.param));
            detail.insert("request_id".into(), json!(request));
            detail.insert("status".into(), json!(status));
            detail.insert("doc_url".into(), json!(api.doc_url));
            let mut said = format!("Stripe refused the request (HTTP {status}, {kind}");
            if let Some(c) = &code {
                said.push_str(&format!(", {c}"));
            }
            said.push_str(&format!("): {message}"));
            if let Some(p) = &api.param {
                said.push_str(&format!(" [param `{p}`]"));
            }
            if let Some(r) = &request {
                said.push_str(&format!(" [request {r}]"));
            }
            if attempts > 1 {
                said.push_str(&format!(" after {attempts} attempts"));
            }
            said.push_str("; ");
            said.push_str(next_step(*status, kind, code.as_deref()));
            BillingError::new("stripe_error", said).with("stripe", Value::Object(detail))
        }
        StripeError::ClientError(_) | StripeError::Timeout => BillingError::new(
            "stripe_unreachable",
            format!(
                "could not reach Stripe at {base} after {attempts} attempts ({}); retry later with the same idempotency_key, which cannot create twice",
                summary(e)
            ),
        ),
        StripeError::JSONDeserialize(m) => BillingError::new(
            "stripe_unexpected_response",
            format!(
                "Stripe answered in a shape this server cannot read ({m}); the request may have taken effect: retry with the same idempotency_key to get its result, or check the Stripe dashboard"
            ),
        ),
        StripeError::ConfigError(m) => BillingError::new(
            "stripe_not_configured",
            format!("the Stripe client is misconfigured: {m}"),
        ),
    }
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
