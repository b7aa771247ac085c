//! Usage as Stripe's v2 meter event stream, the high-throughput way in: a meter event session
//! (`POST /v2/billing/meter_event_session` with the secret key) gives a token valid for 15
//! minutes, and `POST /v2/billing/meter_event_stream` with that token takes up to 100 events in
//! one request, validated by Stripe afterwards. Each event keeps the ledger event id as its
//! `identifier`, which Stripe holds once however often it arrives, so a resent request never
//! counts twice. async-stripe has no v2 API, so this client is ours: JSON over a pooled
//! hyper/rustls connection (async-stripe opens a connection per request).
//!
//! A failure is this client's [`Error`], classified by the HTTP status first: 408, 409, 425,
//! 429, 5xx and anything that is not Stripe's JSON are transient, an expired session too (a new
//! one is made for the next attempt); Stripe's other 4xx refusals are final.

use std::time::{Duration, Instant};

use chrono::SecondsFormat;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, USER_AGENT};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use super::Error;
use super::meter_events::MeterEvent;

/// Events one stream request carries at most, as Stripe allows.
pub const MAX_EVENTS: usize = 100;

/// How long before its stated expiry a session's token is replaced.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// One request's longest wait for an answer.
const TIMEOUT: Duration = Duration::from_secs(30);

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// The stream client: the secret key, the two bases, a pooled connection and the session.
pub struct MeterStream {
    http: HttpClient<Https, Full<Bytes>>,
    secret: SecretString,
    /// Where sessions are made (Stripe's API base) and where events go.
    api_base: String,
    events_base: String,
    account: Option<String>,
    session: Mutex<Option<Session>>,
}

#[derive(Clone)]
struct Session {
    token: SecretString,
    renew_at: Instant,
}

impl MeterStream {
    pub(super) fn new(
        secret: SecretString,
        api_base: &str,
        events_base: Option<&str>,
        account: Option<String>,
    ) -> Result<MeterStream, String> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        let events_base = match events_base {
            Some(b) => b.to_string(),
            // A Stripe-compatible server given as the API base serves both.
            None if api_base != super::API_BASE => api_base.to_string(),
            None => "https://meter-events.stripe.com".into(),
        };
        for base in [api_base, events_base.as_str()] {
            if !(base.starts_with("https://") || base.starts_with("http://")) {
                return Err(format!("`{base}` is not an http(s) URL"));
            }
        }
        Ok(MeterStream {
            http: HttpClient::builder(TokioExecutor::new()).build(connector),
            secret,
            api_base: api_base.trim_end_matches('/').to_string(),
            events_base: events_base.trim_end_matches('/').to_string(),
            account,
            session: Mutex::new(None),
        })
    }

    /// Send up to [`MAX_EVENTS`] events in one request. `Ok` when Stripe took the request (it
    /// validates each event afterwards).
    pub async fn send(&self, events: &[MeterEvent]) -> Result<(), Error> {
        if events.is_empty() || events.len() > MAX_EVENTS {
            return Err(Error::invalid(format!(
                "a meter event stream request carries 1 to {MAX_EVENTS} events, not {}",
                events.len()
            )));
        }
        let token = self.token().await?;
        let body = json!({ "events": events.iter().map(stream_event).collect::<Vec<_>>() });
        let url = format!("{}/v2/billing/meter_event_stream", self.events_base);
        let answer = self.post(&url, &token, &body).await;
        if let Err(e) = &answer
            && e.session_expired()
        {
            // The next attempt makes a new session.
            *self.session.lock().await = None;
        }
        answer.map(|_| ())
    }

    /// Make sure a live session is at hand, so that a paced request is not held back by a new
    /// session and then sent together with the others that waited for it.
    pub async fn open(&self) -> Result<(), Error> {
        self.token().await.map(|_| ())
    }

    /// The current session's token, or a new session's.
    async fn token(&self) -> Result<SecretString, Error> {
        let mut session = self.session.lock().await;
        if let Some(s) = session.as_ref().filter(|s| Instant::now() < s.renew_at) {
            return Ok(s.token.clone());
        }
        let url = format!("{}/v2/billing/meter_event_session", self.api_base);
        let made = self.post(&url, &self.secret, &json!({})).await?;
        let token = made["authentication_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::unreadable("the meter event session has no authentication_token")
            })?;
        // Kept until a minute before Stripe's stated expiry (15 minutes when none is stated).
        let lasts = made["expires_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .zip(
                made["created"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()),
            )
            .and_then(|(end, start)| (end - start).to_std().ok())
            .unwrap_or(Duration::from_secs(900));
        let s = Session {
            token: SecretString::from(token.to_string()),
            renew_at: Instant::now() + lasts.saturating_sub(RENEW_BEFORE),
        };
        *session = Some(s.clone());
        Ok(s.token)
    }

    /// One JSON POST, bearer `auth`; the answer's JSON, or the failure classified.
    async fn post(&self, url: &str, auth: &SecretString, body: &Value) -> Result<Value, Error> {
        let bearer = HeaderValue::from_str(&format!("Bearer {}", auth.expose_secret()))
            .map_err(|_| Error::misconfigured("the Stripe key is not usable in a header"))?;
        let mut request = hyper::Request::post(url)
            .header(AUTHORIZATION, bearer)
            .header(CONTENT_TYPE, "application/json")
            .header(
                USER_AGENT,
                concat!("billing-mcp/", env!("CARGO_PKG_VERSION")),
            )
            .header("stripe-version", stripe_shared::version::VERSION.as_str());
        if let Some(account) = &self.account {
            request = request.header("stripe-account", account.as_str());
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| Error::misconfigured(format!("cannot build the request: {e}")))?;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, bytes))
        };
        let (status, bytes) = match tokio::time::timeout(TIMEOUT, exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(detail)) => return Err(Error::unreachable(url, detail)),
            Err(_) => return Err(Error::unreachable(url, "timed out".into())),
        };
        Error::from_json_answer(status, &bytes, url)
    }
}

/// One event as the stream takes it: the payload's values are strings, the time RFC 3339.
fn stream_event(e: &MeterEvent) -> Value {
    let mut payload: Map<String, Value> = e
        .dimensions
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    payload.insert(
        "stripe_customer_id".into(),
        e.stripe_customer_id.clone().into(),
    );
    payload.insert("value".into(), e.value.to_string().into());
    let timestamp = chrono::DateTime::from_timestamp_millis(e.occurred_at)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true));
    json!({
        "identifier": e.identifier,
        "event_name": e.event_name,
        "timestamp": timestamp,
        "payload": payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_goes_out_with_its_identifier_string_values_and_a_millisecond_time() {
        let e = MeterEvent {
            identifier: "evt_1".into(),
            event_name: "tool_calls".into(),
            stripe_customer_id: "cus_1".into(),
            value: 25,
            occurred_at: 1_717_243_200_123,
            dimensions: [("tool".to_string(), "search".to_string())].into(),
        };
        assert_eq!(
            stream_event(&e),
            json!({"identifier": "evt_1", "event_name": "tool_calls",
                   "timestamp": "2024-06-01T12:00:00.123Z",
                   "payload": {"stripe_customer_id": "cus_1", "value": "25", "tool": "search"}})
        );
    }
}
