//! Stripe's v2 meter event stream: a session (made with the secret key) hands out a token, and
//! the stream takes 1–100 events per request with that token, answering `{}`. Events are checked
//! as Stripe's synchronous request validation does (the whole request refused), and each
//! identifier is held once, in the same list as v1 meter events. A token expired by
//! `expire_sessions` gets 401 `billing_meter_event_session_expired`.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::ok;
use crate::support::stripe::errors::{Reply, error, invalid};
use crate::support::stripe::state::{CREATED, Data};

pub(in crate::support::stripe) const SESSION: &str = "/v2/billing/meter_event_session";
pub(in crate::support::stripe) const STREAM: &str = "/v2/billing/meter_event_stream";

/// POST /v2/billing/meter_event_session (the key was checked by the handler).
pub(in crate::support::stripe) fn create_session(d: &mut Data) -> Reply {
    d.counter += 1;
    let token = format!("mes_tok_{:06}", d.counter);
    d.sessions.insert(token.clone(), true);
    ok(
        json!({"id": format!("mes_{:06}", d.counter), "object": "v2.billing.meter_event_session",
        "authentication_token": token, "created": "2026-11-21T10:30:00.000Z",
        "expires_at": "2026-11-21T10:45:00.000Z", "livemode": false}),
    )
}

/// The stream's own authentication: a live session token.
pub(in crate::support::stripe) fn authorize(d: &Data, bearer: Option<&str>) -> Result<(), Reply> {
    let token = bearer.and_then(|b| b.strip_prefix("Bearer ")).unwrap_or("");
    match d.sessions.get(token) {
        Some(true) => Ok(()),
        Some(false) => Err(error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("billing_meter_event_session_expired"),
            "The meter event session has expired. Create a new one.",
            None,
        )),
        None => Err(error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            None,
            "Invalid authentication token.",
            None,
        )),
    }
}

/// POST /v2/billing/meter_event_stream
pub(in crate::support::stripe) fn create_events(d: &mut Data, body: &[u8]) -> Reply {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return invalid("The request body is not valid JSON.", None);
    };
    let Some(events) = request["events"].as_array() else {
        return invalid("Missing required param: events.", Some("events"));
    };
    if events.is_empty() || events.len() > 100 {
        return invalid("events must hold 1 to 100 events.", Some("events"));
    }
    for (i, e) in events.iter().enumerate() {
        let value_ok = e["payload"]["value"]
            .as_str()
            .is_some_and(|v| v.parse::<i64>().is_ok());
        let time_ok = e["timestamp"]
            .as_str()
            .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok());
        if !value_ok
            || e["payload"]["stripe_customer_id"].as_str().is_none()
            || e["event_name"].as_str().is_none()
            || e["identifier"].as_str().is_none()
            || !time_ok
        {
            return invalid(
                "each event needs event_name, identifier, an RFC 3339 timestamp and a payload with stripe_customer_id and value (a whole number as a string)",
                Some(&format!("events[{i}]")),
            );
        }
    }
    for e in events {
        let identifier = e["identifier"].as_str().unwrap_or_default();
        if d.identifiers.insert(identifier.to_string()) {
            let at = chrono::DateTime::parse_from_rfc3339(e["timestamp"].as_str().unwrap_or(""))
                .map_or(CREATED, |t| t.timestamp());
            if crate::support::stripe::faults::dropped(d) {
                continue;
            }
            d.meter_events
                .push(json!({"object": "billing.meter_event", "created": CREATED,
                "event_name": e["event_name"], "identifier": identifier, "livemode": false,
                "payload": e["payload"], "timestamp": at}));
        }
    }
    ok(json!({}))
}
