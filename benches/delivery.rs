//! Meter-event delivery benchmark (`cargo bench --bench delivery`): events per second the
//! outbox delivers to a Stripe double answering after 0, 50 and 200 ms, for 1, 10 and 1,000
//! customers with events pending, on the v2 stream and on v1, at the default settings (100
//! requests per second, 8 in flight), beside what that limit allows. The double is a few lines
//! of axum here (a session, the stream, v1 meter events), counting each identifier once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Rates are measurements, not money: floats are fine here and nowhere else.
#![allow(clippy::float_arithmetic)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::Uri;
use billing_mcp::catalog::Catalog;
use billing_mcp::service::App;
use billing_mcp::service::outbox::{MeterApi, Outbox, OutboxSettings};
use billing_mcp::store::{self, NewCustomer, NewEvent, StripeLink};
use billing_mcp::stripe::{Payments, Retry, StripeSettings};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/billing.toml");
/// How long each configuration sends.
const WINDOW: Duration = Duration::from_secs(4);

/// The double: identifiers held, and how long it waits before answering.
#[derive(Clone)]
struct Double {
    held: Arc<Mutex<HashSet<String>>>,
    latency: Duration,
}

async fn answer(
    axum::extract::State(d): axum::extract::State<Double>,
    uri: Uri,
    body: Bytes,
) -> axum::Json<Value> {
    tokio::time::sleep(d.latency).await;
    let mut held = d.held.lock().unwrap();
    match uri.path() {
        "/v2/billing/meter_event_session" => axum::Json(
            json!({"authentication_token": "tok", "created": "2026-12-05T00:00:00Z",
                "expires_at": "2026-12-05T00:15:00Z"}),
        ),
        "/v2/billing/meter_event_stream" => {
            let v: Value = serde_json::from_slice(&body).unwrap();
            for e in v["events"].as_array().unwrap() {
                held.insert(e["identifier"].as_str().unwrap().to_string());
            }
            axum::Json(json!({}))
        }
        _ => {
            let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
            let id = form
                .iter()
                .find(|(k, _)| k == "identifier")
                .unwrap()
                .1
                .clone();
            held.insert(id.clone());
            axum::Json(
                json!({"object": "billing.meter_event", "created": 1, "event_name": "tool_call_executed",
                "identifier": id, "livemode": false, "payload": {}, "timestamp": 1}),
            )
        }
    }
}

async fn double(latency: Duration) -> (String, Double) {
    let d = Double {
        held: Arc::default(),
        latency,
    };
    let app = axum::Router::new().fallback(answer).with_state(d.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, d)
}

/// A fresh SQLite ledger with `customers` linked to Stripe and `events` pending spread over them.
async fn ledger(dir: &std::path::Path, customers: usize, events: usize) -> store::Store {
    let url = format!("sqlite://{}", dir.join("ledger.db").display());
    let store = store::open(&url).await.unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    for i in 0..customers {
        let id = format!("c{i}");
        store
            .create_customer(NewCustomer {
                id: id.clone(),
                name: None,
                email: None,
                plan: Some("starter".into()),
                billing_interval: "monthly".into(),
                status: "active".into(),
                period_anchor: now,
                trial_ends_at: None,
                metadata: "{}".into(),
                now,
            })
            .await
            .unwrap();
        let link = StripeLink {
            customer: id,
            stripe_customer_id: format!("cus_{i}"),
            now,
        };
        store.link_stripe(link).await.unwrap();
    }
    let all: Vec<NewEvent> = (0..events)
        .map(|n| NewEvent {
            id: format!("evt_{}", uuid::Uuid::now_v7().simple()),
            customer: format!("c{}", n % customers),
            meter: "tool_calls".into(),
            quantity: 1,
            occurred_at: now,
            tool: String::new(),
            dimensions: "{}".into(),
            idempotency_key: None,
            recorded_at: now,
            distinct: None,
            to_stripe: true,
        })
        .collect();
    for chunk in all.chunks(1000) {
        store.record_usage(chunk.to_vec()).await.unwrap();
    }
    store
}

/// Events per second delivered within `WINDOW`.
async fn measure(api: MeterApi, latency_ms: u64, customers: usize) -> f64 {
    let (url, d) = double(Duration::from_millis(latency_ms)).await;
    let dir = tempfile::tempdir().unwrap();
    let pending = if api == MeterApi::Stream {
        60_000
    } else {
        2_000
    };
    let store = ledger(dir.path(), customers, pending.max(customers)).await;
    let settings = StripeSettings {
        secret_key: "sk_test_bench".to_string().into(),
        api_base: Some(url),
        account: None,
        allow_live: false,
        retry: Retry::default(),
        meter_events_base: None,
    };
    let catalog = Catalog::load(std::path::Path::new(CATALOG)).unwrap();
    let app = Arc::new(App::new(store, catalog).with_stripe(Payments::connect(&settings).unwrap()));
    let outbox = Outbox::new(OutboxSettings {
        api,
        poll: Duration::from_millis(20),
        ..OutboxSettings::default()
    });
    let cancel = CancellationToken::new();
    let started = Instant::now();
    let running = tokio::spawn(outbox.run(app, cancel.clone()));
    tokio::time::sleep(WINDOW).await;
    let delivered = d.held.lock().unwrap().len();
    let rate = delivered as f64 / started.elapsed().as_secs_f64();
    cancel.cancel();
    let _ = running.await;
    rate
}

#[tokio::main]
async fn main() {
    let limit = OutboxSettings::default();
    println!(
        "meter events delivered per second (SQLite ledger; {} requests/s at most, {} in flight):",
        limit.per_second, limit.concurrency
    );
    println!("| API | Stripe latency | 1 customer | 10 customers | 1,000 customers | limit |");
    println!("|---|---|---|---|---|---|");
    for (api, name, per_request) in [
        (MeterApi::Stream, "v2 stream", 100),
        (MeterApi::V1, "v1", 1),
    ] {
        for latency in [0, 50, 200] {
            let mut row = format!("| {name} | {latency} ms |");
            for customers in [1, 10, 1000] {
                let rate = measure(api, latency, customers).await;
                row.push_str(&format!(" {rate:.0} |"));
            }
            row.push_str(&format!(" {} |", limit.per_second.get() * per_request));
            println!("{row}");
        }
    }
}
