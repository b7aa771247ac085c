//! A Stripe-compatible test server (axum) for the endpoints billing-mcp calls. It keeps state,
//! answers in the shapes of the API version async-stripe pins (every field its strict parser
//! requires), honours `Idempotency-Key` as Stripe does (same key and body → the first answer
//! replayed; same key, other body → 400 idempotency_error), checks the bearer key, and records
//! every request so tests assert the exact method, path, form parameters and headers. Failures
//! can be queued (`fail_next`) to drive 4xx, 429 and 5xx paths.
//!
//! `state` holds the objects, `handler` takes each request through recording, the key check and
//! idempotency, `routes` answers per Stripe resource, `faults` injects outages, edge pages and
//! delays, `seeds` puts objects in place as if made elsewhere, `errors` words Stripe's refusals,
//! `traffic` counts meter-event requests as Stripe's rate limiter would.

mod errors;
mod faults;
mod handler;
mod routes;
mod seeds;
mod state;
mod traffic;

use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::{Backend, Client, Harness};
use state::Data;

/// The test key the server accepts (short enough that CI's secret scan does not mistake it).
pub const KEY: &str = "sk_test_fake";

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    pub idempotency_key: Option<String>,
    pub stripe_account: Option<String>,
    /// The body as sent (JSON for the v2 stream).
    pub body: String,
}

impl Seen {
    /// The value of one form (or query) parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        state::find(self.form.iter().chain(&self.query), name)
    }
}

#[derive(Clone)]
pub struct StripeServer {
    pub url: String,
    data: Arc<Mutex<Data>>,
}

impl StripeServer {
    pub async fn start() -> StripeServer {
        let data = Arc::new(Mutex::new(Data::default()));
        let app = axum::Router::new()
            .fallback(handler::handle)
            .with_state(data.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        StripeServer { url, data }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.data.lock().unwrap().seen.clone()
    }

    /// Requests to `method path`.
    pub fn requests(&self, method: &str, path: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == method && s.path == path)
            .collect()
    }

    /// Objects of a kind (`product`, `refund`, …), oldest first.
    pub fn objects(&self, kind: &'static str) -> Vec<Value> {
        let d = self.data.lock().unwrap();
        d.order
            .get(kind)
            .map(|ids| ids.iter().map(|id| d.objects[id].clone()).collect())
            .unwrap_or_default()
    }

    /// The id of the price with `lookup_key` (as sync_catalog made it).
    pub fn price_id(&self, lookup_key: &str) -> String {
        self.objects("price")
            .into_iter()
            .find(|p| p["lookup_key"] == lookup_key)
            .unwrap_or_else(|| panic!("no price {lookup_key}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The meter events accepted, in arrival order (each identifier at most once).
    pub fn meter_events(&self) -> Vec<Value> {
        self.data.lock().unwrap().meter_events.clone()
    }
}

/// A Stripe test server, a harness on SQLite whose Stripe it is, and a client of that harness.
pub async fn setup() -> (StripeServer, Harness, Client) {
    let stripe = StripeServer::start().await;
    let h = Harness::with_stripe(Backend::Sqlite, &stripe.url).await;
    let c = h.client().await;
    (stripe, h, c)
}
