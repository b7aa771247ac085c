//! Prometheus metrics: every layer counts through the `metrics` facade; this module installs the
//! process's one recorder (the Prometheus exporter), describes each metric, and renders the text
//! format for `/metrics` — on the HTTP server behind an admin or service key, and on
//! `--metrics-addr` (loopback unless `--allow-remote`) without one. Gauges of work not done
//! (meter events pending or failed, webhook events failed) are read from the ledger at each
//! scrape, so every process on one ledger reports the same figures.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{Shared, auth, listen};
use crate::access::Role;
use crate::service::App;

/// Seconds: from 0.5 ms to 30 s.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0,
];
/// Operations per ledger transaction.
const BATCH_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1024.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

fn builder() -> PrometheusBuilder {
    // Both bucket lists are non-empty constants, the only way these calls fail.
    let buckets = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full("billing_ledger_batch_operations".into()),
                &BATCH_BUCKETS,
            )
        });
    buckets.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "histogram buckets refused: histograms render as summaries");
        PrometheusBuilder::new()
    })
}

/// The process's recorder, installed on first use. Should another recorder be installed
/// already (an embedding program's), this handle renders nothing and says so in the log.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = builder().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed: /metrics stays empty");
        }
        describe();
        let upkeep = handle.clone();
        // Histograms drain their samples into buckets on upkeep (also done at each render).
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        });
        handle
    })
}

/// Help text for every metric the server records (the README lists the same).
fn describe() {
    describe_counter!(
        "billing_mcp_operations_total",
        "Tool calls by tool (operation) and outcome (status: ok or the error code)"
    );
    describe_histogram!(
        "billing_mcp_operation_duration_seconds",
        Unit::Seconds,
        "Tool call latency by tool, from admission to answer"
    );
    describe_counter!(
        "billing_entitlement_decisions_total",
        "Entitlement decisions by reason (ok, quota_exceeded, …) and whether they consumed"
    );
    describe_counter!(
        "billing_usage_events_total",
        "Usage events by status: recorded or duplicate"
    );
    describe_histogram!(
        "billing_ledger_batch_operations",
        "Operations grouped into one ledger transaction"
    );
    describe_histogram!(
        "billing_ledger_commit_duration_seconds",
        Unit::Seconds,
        "Time to run and commit one ledger transaction"
    );
    describe_counter!(
        "billing_meter_events_total",
        "Meter events Stripe was sent, by outcome: sent, retried or failed"
    );
    describe_histogram!(
        "billing_meter_event_send_duration_seconds",
        Unit::Seconds,
        "Time of one meter event request to Stripe, by API (v1 or stream)"
    );
    describe_gauge!(
        "billing_meter_events_pending",
        "Meter events not delivered to Stripe yet (the whole ledger)"
    );
    describe_gauge!(
        "billing_meter_events_failed",
        "Meter events Stripe refused for good (the whole ledger)"
    );
    describe_gauge!(
        "billing_webhook_events_failed",
        "Stripe webhook events that failed to apply (the whole ledger)"
    );
    describe_counter!(
        "billing_webhook_events_total",
        "Signed Stripe webhook deliveries by event type and status"
    );
    describe_counter!(
        "billing_stripe_requests_total",
        "Stripe API requests by endpoint (ids replaced by {id}) and HTTP status (or error)"
    );
    describe_counter!(
        "billing_rate_limited_total",
        "Tool calls refused by a rate limit, by key role"
    );
    describe_counter!(
        "billing_stripe_products_created_total",
        "Stripe products created (seed 001's counter)"
    );
    describe_counter!(
        "billing_stripe_prices_created_total",
        "Stripe prices created (seed 001's counter)"
    );
}

/// The text format, with the ledger's gauges refreshed first.
pub async fn render(app: &App) -> String {
    let handle = handle();
    match app.store.delivery_health().await {
        Ok(h) => {
            metrics::gauge!("billing_meter_events_pending").set(h.meter_events_pending as f64);
            metrics::gauge!("billing_meter_events_failed").set(h.meter_events_failed as f64);
            metrics::gauge!("billing_webhook_events_failed").set(h.webhooks_failed as f64);
        }
        Err(e) => tracing::warn!(error = %e, "delivery gauges could not be read"),
    }
    handle.render()
}

fn text(body: String) -> Response {
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
        .into_response()
}

/// `/metrics` on the API server: an admin or service key.
pub async fn guarded(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let app = &shared.app;
    match auth::verify(app, headers.get(AUTHORIZATION)).await {
        Ok(who) if who.role != Role::Customer => text(render(app).await),
        Ok(_) => (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({
                "error": "forbidden",
                "message": "metrics need an admin or service key",
            })),
        )
            .into_response(),
        Err(refused) => refused,
    }
}

async fn open(State(app): State<Arc<App>>) -> Response {
    text(render(&app).await)
}

/// `/metrics` alone on its own listener (`--metrics-addr`), without a key.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    handle();
    let router = Router::new().route("/metrics", get(open)).with_state(app);
    listen::serve(listener, router, Duration::from_secs(30), cancel).await
}
