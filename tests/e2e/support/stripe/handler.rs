//! Every request's way through the Stripe test server: counted when it carries meter events,
//! past the edge's faults, recorded as `Seen`, its bearer key (or stream token) checked, a queued failure or the outage's turn, Stripe's idempotency
//! (the first answer replayed for the same key and body, 400 for another body), then its route.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::errors::{api_error, error, respond};
use super::faults::{self, Edge};
use super::routes::stream;
use super::state::{Data, Form};
use super::{KEY, Seen, routes};

pub(super) async fn handle(
    State(data): State<Arc<Mutex<Data>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let group = (uri.path() == faults::METER_EVENTS).then(|| {
        let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
        let field = |k: &str| super::state::find(&form, k).unwrap_or("").to_string();
        format!(
            "{} {}",
            field("payload[stripe_customer_id]"),
            field("event_name")
        )
    });
    let _in_flight =
        faults::carries_events(uri.path()).then(|| super::traffic::enter(&data, group));
    let delay = faults::delay(&data, uri.path());
    let edge = faults::edge(&data, uri.path());
    if let Some(e @ (Edge::BadGateway | Edge::Unavailable)) = &edge {
        return faults::edge_page(e);
    }
    let response = answer(&data, method, uri, headers, body);
    if let Some(e @ Edge::AnswerLost) = &edge {
        return faults::edge_page(e);
    }
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    response
}

fn answer(
    data: &Mutex<Data>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let query: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let seen = Seen {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: query.clone(),
        form: form.clone(),
        idempotency_key: header("idempotency-key"),
        stripe_account: header("stripe-account"),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let mut d = data.lock().unwrap();
    d.seen.push(seen.clone());
    let stream = uri.path() == stream::STREAM;
    if stream && let Err(refused) = stream::authorize(&d, header("authorization").as_deref()) {
        return respond(refused);
    }
    if !stream && header("authorization").as_deref() != Some(&format!("Bearer {KEY}")) {
        return respond(error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            None,
            "Invalid API Key provided: sk_test_****",
            None,
        ));
    }
    let queued = d
        .failures
        .iter()
        .position(|(path, _)| path.as_deref().is_none_or(|p| p == uri.path()));
    if let Some((_, failure)) = queued.and_then(|i| d.failures.remove(i)) {
        return respond(failure);
    }
    let lose_answer = match faults::outage(&mut d, uri.path()) {
        Ok(lose) => lose,
        Err(failure) => return respond(failure),
    };
    // Parameters in any order are the same request (async-stripe encodes maps in hash order).
    let mut params = seen.form.clone();
    params.sort();
    let fingerprint = format!("{method} {} {params:?}", uri.path());
    if let Some(key) = &seen.idempotency_key
        && let Some((first, status, answer)) = d.idempotent.get(key).cloned()
    {
        return replay(key, &fingerprint, first, status, answer);
    }
    let (status, answer) = match uri.path() {
        stream::SESSION => stream::create_session(&mut d),
        stream::STREAM => stream::create_events(&mut d, &body),
        path => routes::route(&mut d, &method, path, &Form(form), &Form(query)),
    };
    if let Some(key) = seen.idempotency_key
        && (method == Method::POST || method == Method::DELETE)
    {
        d.idempotent
            .insert(key, (fingerprint, status, answer.clone()));
    }
    if lose_answer {
        return respond(api_error());
    }
    respond((status, answer))
}

/// A request under a key already used: the first answer again if it is the same request,
/// Stripe's idempotency_error if it is another.
fn replay(
    key: &str,
    fingerprint: &str,
    first: String,
    status: StatusCode,
    answer: Value,
) -> Response {
    if first != fingerprint {
        return respond(error(
            StatusCode::BAD_REQUEST,
            "idempotency_error",
            None,
            &format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."
            ),
            None,
        ));
    }
    (
        status,
        [("idempotent-replayed", "true")],
        axum::Json(answer),
    )
        .into_response()
}
