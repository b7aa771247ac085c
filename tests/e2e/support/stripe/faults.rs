//! Fault injection: queued Stripe errors, a meter-event outage (500, 429, answers lost after the
//! event was taken), an outage at Stripe's edge (HTML 502 and 503 pages, an accepted event
//! answered with a page), slow meter-event answers, stream sessions expired, idempotency keys
//! forgotten as after a day, and meter events dropped (answered as taken, never counted). They
//! meet v1 meter events and the v2 stream alike.

use std::sync::Mutex;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::StripeServer;
use super::errors::{Reply, api_error, error};
use super::state::Data;

pub(super) const METER_EVENTS: &str = "/v1/billing/meter_events";

/// A request carrying meter events (v1 or the v2 stream), which the faults below meet.
pub(super) fn carries_events(path: &str) -> bool {
    path == METER_EVENTS || path == super::routes::stream::STREAM
}

impl StripeServer {
    /// The next request gets this Stripe error instead of being handled.
    pub fn fail_next(&self, status: u16, kind: &str, code: Option<&str>, message: &str) {
        self.fail(None, status, kind, code, message);
    }

    /// The next request to `path` gets this Stripe error instead of being handled.
    pub fn fail_next_at(&self, path: &str, status: u16, kind: &str, message: &str) {
        self.fail(Some(path), status, kind, None, message);
    }

    fn fail(&self, path: Option<&str>, status: u16, kind: &str, code: Option<&str>, message: &str) {
        let reply = error(
            StatusCode::from_u16(status).unwrap(),
            kind,
            code,
            message,
            None,
        );
        let path = path.map(String::from);
        self.data.lock().unwrap().failures.push_back((path, reply));
    }

    /// Start (true) or end (false) a meter-event outage: 500, 429 and lost answers in turn.
    pub fn outage(&self, on: bool) {
        self.data.lock().unwrap().outage = on.then_some(0);
    }

    /// Start (true) or end (false) an outage at Stripe's edge: HTML 502 and 503 pages instead
    /// of Stripe's JSON, and accepted events answered with an unreadable page.
    pub fn edge_outage(&self, on: bool) {
        self.data.lock().unwrap().edge_outage = on.then_some(0);
    }

    /// Answer meter events and stream sessions only after `delay` (events are accepted at once).
    pub fn delay_meter_events(&self, delay: Duration) {
        self.data.lock().unwrap().meter_delay = Some(delay);
    }

    /// Answer requests to `path` only after `delay` (each is carried out at once, as a slow
    /// Stripe would: what the request made exists while its answer is on the way).
    pub fn delay_path(&self, path: &str, delay: Duration) {
        self.data
            .lock()
            .unwrap()
            .path_delays
            .insert(path.to_string(), delay);
    }

    /// Expire every meter event stream session token (as after its 15 minutes).
    pub fn expire_sessions(&self) {
        for live in self.data.lock().unwrap().sessions.values_mut() {
            *live = false;
        }
    }

    /// Forget every idempotency key, as Stripe does after 24 hours.
    pub fn forget_idempotency_keys(&self) {
        self.data.lock().unwrap().idempotent.clear();
    }

    /// Drop the next meter event that arrives (v1 or on the stream): it is answered as taken,
    /// and Stripe never counts it.
    pub fn drop_next_meter_event(&self) {
        self.data.lock().unwrap().drop_events += 1;
    }
}

/// Whether the meter event arriving now is one to drop (and one fewer is left to drop).
pub(super) fn dropped(d: &mut Data) -> bool {
    let drop = d.drop_events > 0;
    d.drop_events = d.drop_events.saturating_sub(1);
    drop
}

/// How long a request to `path` (meter events, or a stream session) waits for its answer.
pub(super) fn delay(data: &Mutex<Data>, path: &str) -> Option<Duration> {
    let d = data.lock().unwrap();
    if let Some(delay) = d.path_delays.get(path) {
        return Some(*delay);
    }
    (carries_events(path) || path == super::routes::stream::SESSION)
        .then_some(d.meter_delay)
        .flatten()
}

/// What Stripe's edge does with a request to `path` during an edge outage, in turn: an HTML 502
/// page, an HTML 503 page, or the request passed on and its answer replaced by `edge_page`.
pub(super) enum Edge {
    BadGateway,
    Unavailable,
    AnswerLost,
}

pub(super) fn edge(data: &Mutex<Data>, path: &str) -> Option<Edge> {
    carries_events(path)
        .then(|| {
            let mut d = data.lock().unwrap();
            let n = d.edge_outage?;
            d.edge_outage = Some(n + 1);
            Some(match n % 3 {
                0 => Edge::BadGateway,
                1 => Edge::Unavailable,
                _ => Edge::AnswerLost,
            })
        })
        .flatten()
}

/// The HTML page the edge answers with instead of Stripe's JSON.
pub(super) fn edge_page(edge: &Edge) -> Response {
    let (status, title) = match edge {
        Edge::BadGateway => (StatusCode::BAD_GATEWAY, "502 Bad Gateway"),
        Edge::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "503 Service Unavailable"),
        // Stripe took the event; the answer is lost at the edge.
        Edge::AnswerLost => (StatusCode::OK, "OK"),
    };
    let html =
        format!("<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>");
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "text/html")],
        html,
    )
        .into_response()
}

/// The meter-event outage's turn for a request to `path`: `Err` with the failure to answer at
/// once, `Ok(true)` when the request is handled and its answer then lost (a 500 instead).
pub(super) fn outage(d: &mut Data, path: &str) -> Result<bool, Reply> {
    let Some(n) = d.outage.filter(|_| carries_events(path)) else {
        return Ok(false);
    };
    d.outage = Some(n + 1);
    match n % 3 {
        0 => Err(api_error()),
        1 => Err(error(
            StatusCode::TOO_MANY_REQUESTS,
            "invalid_request_error",
            Some("rate_limit"),
            "Request rate limit exceeded.",
            None,
        )),
        _ => Ok(true),
    }
}
