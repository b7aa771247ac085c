//! Stripe, through async-stripe. [`Payments`] is the one client the service holds: it checks the
//! key at start (test keys, or live keys only with `--allow-live`), sends every POST with an
//! `Idempotency-Key` and retries 408/409/425/429/5xx, network failures and unreadable answers with
//! that same key. A failure is this client's own [`Error`] (Stripe's type, code, message, param
//! and request id, or why no answer came, and whether another attempt may succeed); the service
//! turns it into a tool error. The resource files build async-stripe requests from validated
//! inputs and project the answers into [`views`].
//!
//! `Payments` is a concrete type, not a trait: tests replace Stripe at the HTTP boundary (a
//! Stripe-compatible test server behind `STRIPE_API_BASE`), so the real request encoding and
//! response parsing are what the tests exercise.

pub mod billing;
pub mod catalog;
pub mod checkout;
pub mod credit_sale;
pub mod customers;
mod error;
pub mod meter_events;
pub mod meter_stream;
pub mod payment_methods;
pub mod payments;
pub mod plan_change;
pub mod promotions;
pub mod reconcile;
pub mod signature;
pub mod subscriptions;
pub mod sync;
pub mod tax_ids;
pub mod views;

use std::collections::HashMap;
use std::convert::Infallible;
use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use stripe_client_core::{
    IdempotencyKey, RequestBuilder, RequestStrategy, StripeMethod, StripeRequest,
};

pub use error::{Error, ErrorKind, Refusal};

use crate::values::{IdempotencyKey as CallKey, StringMap};

/// How to reach Stripe (from `STRIPE_SECRET_KEY`, `STRIPE_API_BASE`, `--stripe-account`,
/// `--allow-live`).
#[derive(Debug, Clone)]
pub struct StripeSettings {
    pub secret_key: SecretString,
    /// Base URL without `/v1` (default Stripe's own).
    pub api_base: Option<String>,
    /// Sent as `Stripe-Account` on every request (Connect).
    pub account: Option<String>,
    pub allow_live: bool,
    pub retry: Retry,
    /// Where the v2 meter event stream is (default: `api_base` when that is set, else Stripe's
    /// `https://meter-events.stripe.com`).
    pub meter_events_base: Option<String>,
}

/// Stripe's API base.
const API_BASE: &str = "https://api.stripe.com";

/// Attempts per request and the first backoff (doubled after each failed attempt).
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub backoff: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            attempts: 3,
            backoff: Duration::from_millis(500),
        }
    }
}

/// The Stripe client the tools use.
pub struct Payments {
    client: ::stripe::Client,
    retry: Retry,
    base: String,
    /// The v2 meter event stream (usage at volume).
    pub stream: meter_stream::MeterStream,
}

/// What kind of key this is, by its prefix.
fn key_mode(key: &str) -> Result<bool, String> {
    let live = ["sk_live_", "rk_live_"].iter().any(|p| key.starts_with(p));
    let test = ["sk_test_", "rk_test_"].iter().any(|p| key.starts_with(p));
    if live || test {
        Ok(live)
    } else {
        Err("STRIPE_SECRET_KEY must be a secret (sk_test_…, sk_live_…) or restricted (rk_test_…, rk_live_…) key; publishable keys (pk_…) cannot call the API".into())
    }
}

impl Payments {
    /// A client for these settings; refuses a live key without `allow_live`.
    pub fn connect(settings: &StripeSettings) -> Result<Payments, String> {
        let key = settings.secret_key.expose_secret().trim();
        if key_mode(key)? && !settings.allow_live {
            return Err("STRIPE_SECRET_KEY is a live key: it moves real money. Pass --allow-live to use it, or use a test key (sk_test_… / rk_test_…)".into());
        }
        let mut builder = ::stripe::ClientBuilder::new(key)
            .app_info(
                "billing-mcp",
                Some(env!("CARGO_PKG_VERSION").to_string()),
                None,
            )
            .timeout(Duration::from_secs(30))
            .request_strategy(RequestStrategy::Once);
        let base = settings.api_base.clone().unwrap_or_else(|| API_BASE.into());
        if let Some(url) = &settings.api_base {
            builder = builder.url(url.trim_end_matches('/'));
        }
        if let Some(account) = &settings.account {
            if !account.starts_with("acct_") {
                return Err(format!(
                    "--stripe-account `{account}`: a connected account id starts with acct_"
                ));
            }
            builder = builder.account_id(parse::<stripe_shared::AccountId>(account));
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot configure the Stripe client: {e}"))?;
        let stream = meter_stream::MeterStream::new(
            settings.secret_key.clone(),
            base.trim_end_matches('/'),
            settings.meter_events_base.as_deref(),
            settings.account.clone(),
        )
        .map_err(|e| format!("--stripe-meter-events-base: {e}"))?;
        Ok(Payments {
            client,
            retry: settings.retry,
            base,
            stream,
        })
    }

    /// A POST: one `Idempotency-Key` for every attempt, so a retry never creates twice.
    pub(crate) async fn write<R>(&self, request: R, key: &str) -> Result<R::Output, Error>
    where
        R: StripeRequest,
        R::Output: miniserde::Deserialize,
    {
        self.send(&request, Some(key), self.retry.attempts).await
    }

    /// One POST attempt, for a caller that retries on its own schedule (the meter-event outbox).
    pub(crate) async fn write_once<R>(&self, request: R, key: &str) -> Result<R::Output, Error>
    where
        R: StripeRequest,
        R::Output: miniserde::Deserialize,
    {
        self.send(&request, Some(key), 1).await
    }

    /// A GET.
    pub(crate) async fn read<R>(&self, request: R) -> Result<R::Output, Error>
    where
        R: StripeRequest,
        R::Output: miniserde::Deserialize,
    {
        self.send(&request, None, self.retry.attempts).await
    }

    /// Up to `attempts` tries, retrying transient failures under the same key.
    async fn send<R>(
        &self,
        request: &R,
        key: Option<&str>,
        attempts: u32,
    ) -> Result<R::Output, Error>
    where
        R: StripeRequest,
        R::Output: miniserde::Deserialize,
    {
        let strategy = match key {
            Some(k) => RequestStrategy::Idempotent(
                IdempotencyKey::new(k).map_err(|e| Error::invalid(e.to_string()))?,
            ),
            None => RequestStrategy::Once,
        };
        let mut wait = self.retry.backoff;
        let mut attempt = 1;
        let endpoint = endpoint(&request.build());
        loop {
            let sent = request
                .customize()
                .request_strategy(strategy.clone())
                .send(&self.client)
                .await;
            let status = match &sent {
                Ok(_) => "200".into(),
                Err(::stripe::StripeError::Stripe(_, status)) => status.to_string(),
                Err(_) => "error".into(),
            };
            metrics::counter!("billing_stripe_requests_total", "endpoint" => endpoint.clone(), "status" => status)
                .increment(1);
            match sent {
                Ok(out) => return Ok(out),
                Err(e) if attempt < attempts && error::transient(&e) => {
                    tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, error = %error::summary(&e), "Stripe request failed; retrying with the same idempotency key");
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                    attempt += 1;
                }
                Err(e) => {
                    return Err(Error::from_api(&e, &self.base, attempt));
                }
            }
        }
    }
}

/// A request's method and path with its object ids as `{id}` (a Stripe id has a digit or a
/// capital; a path word has neither), e.g. `GET /v1/customers/{id}`: a bounded metric label.
fn endpoint(built: &RequestBuilder) -> String {
    let path: Vec<&str> = built
        .path
        .split('/')
        .map(|part| {
            if part
                .chars()
                .any(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            {
                "{id}"
            } else {
                part
            }
        })
        .collect();
    let method = match built.method {
        StripeMethod::Get => "GET",
        StripeMethod::Post => "POST",
        StripeMethod::Delete => "DELETE",
    };
    format!("{method} /v1{}", path.join("/"))
}

/// The `Idempotency-Key` of a Stripe POST: the caller's own key scoped by tool (so a retried
/// tool call replays at Stripe instead of creating again), or a fresh one that still makes our
/// own retries safe.
pub fn idempotency_key(tool: &str, given: Option<&str>) -> String {
    match given {
        Some(k) if tool.len() + k.len() < 255 => format!("{tool}:{k}"),
        Some(k) => {
            use sha2::Digest;
            format!("{tool}:sha256:{}", hex::encode(sha2::Sha256::digest(k)))
        }
        None => format!("{tool}:{}", uuid::Uuid::now_v7()),
    }
}

/// Stripe's decimal amount: the exact value, without trailing zeros.
pub(crate) fn decimal(d: rust_decimal::Decimal) -> String {
    d.normalize().to_string()
}

/// Page size 1–100, as Stripe allows.
pub(crate) fn page_limit(limit: u32) -> Result<i64, Error> {
    if (1..=100).contains(&limit) {
        Ok(i64::from(limit))
    } else {
        Err(Error::invalid(format!(
            "limit {limit} is out of range; use 1 to 100"
        )))
    }
}

pub(crate) fn metadata(m: &StringMap) -> HashMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

pub(crate) fn key(tool: &str, given: &Option<CallKey>) -> String {
    idempotency_key(tool, given.as_ref().map(|k| k.0.as_str()))
}

/// async-stripe's enums parse any string (unknown values are kept as `Unknown`).
pub(crate) fn parse<T: FromStr<Err = Infallible>>(s: &str) -> T {
    match s.parse() {
        Ok(v) => v,
        Err(never) => match never {},
    }
}

/// The wire name of one of our parameter enums (its serde `snake_case` name).
pub(crate) fn wire<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(key: &str, allow_live: bool) -> StripeSettings {
        StripeSettings {
            secret_key: SecretString::from(key.to_string()),
            api_base: Some("http://127.0.0.1:9".into()),
            account: None,
            allow_live,
            retry: Retry::default(),
            meter_events_base: None,
        }
    }

    #[test]
    fn live_keys_need_allow_live_and_restricted_keys_are_accepted() {
        assert!(Payments::connect(&settings("sk_test_abc", false)).is_ok());
        assert!(Payments::connect(&settings("rk_test_abc", false)).is_ok());
        let refused = Payments::connect(&settings("sk_live_abc", false))
            .err()
            .unwrap_or_default();
        assert!(refused.contains("--allow-live"), "{refused}");
        assert!(Payments::connect(&settings("rk_live_abc", false)).is_err());
        assert!(Payments::connect(&settings("rk_live_abc", true)).is_ok());
        assert!(Payments::connect(&settings("pk_test_abc", true)).is_err());
    }

    #[test]
    fn endpoints_name_the_path_with_ids_left_out() {
        let built = RequestBuilder::new(
            StripeMethod::Get,
            "/billing/meters/mtr_61T2sAbC/event_summaries",
        );
        assert_eq!(
            endpoint(&built),
            "GET /v1/billing/meters/{id}/event_summaries"
        );
        let built = RequestBuilder::new(StripeMethod::Post, "/customers/cus_NffrFeUfNV2Hib");
        assert_eq!(endpoint(&built), "POST /v1/customers/{id}");
        let built = RequestBuilder::new(StripeMethod::Post, "/payment_intents");
        assert_eq!(endpoint(&built), "POST /v1/payment_intents");
    }

    #[test]
    fn a_callers_key_is_scoped_by_tool_and_kept_within_stripes_limit() {
        assert_eq!(
            idempotency_key("create_refund", Some("r-1")),
            "create_refund:r-1"
        );
        let long = "k".repeat(255);
        let scoped = idempotency_key("create_refund", Some(&long));
        assert!(scoped.len() <= 255 && scoped.starts_with("create_refund:sha256:"));
        assert_ne!(
            idempotency_key("create_refund", None),
            idempotency_key("create_refund", None)
        );
    }
}
