//! Billing meters (one active meter per event name) and meter events (each identifier once, a
//! whole-number value and a Stripe customer in the payload).

use axum::http::StatusCode;
use serde_json::json;

use super::ok;
use crate::support::stripe::errors::{Reply, error, invalid, missing, param_missing};
use crate::support::stripe::state::{CREATED, Data, Form, next_id, store};

/// POST /v1/billing/meters/{id}
pub(super) fn update_meter(d: &mut Data, id: &str, f: &Form) -> Reply {
    let Some(mut meter) = d.objects.get(id).cloned() else {
        return missing("billing.meter", id, "id");
    };
    if let Some(name) = f.get("display_name") {
        meter["display_name"] = json!(name);
    }
    ok(store(d, "meter", meter))
}

/// POST /v1/billing/meters
pub(super) fn create_meter(d: &mut Data, f: &Form) -> Reply {
    let event = f.get("event_name").unwrap_or_default();
    if d.objects.values().any(|o| {
        o["object"] == "billing.meter" && o["event_name"] == event && o["status"] == "active"
    }) {
        return invalid(
            &format!("An active meter with event_name `{event}` already exists."),
            Some("event_name"),
        );
    }
    let id = next_id(d, "mtr");
    ok(store(
        d,
        "meter",
        json!({"id": id, "object": "billing.meter", "created": CREATED,
        "customer_mapping": {"event_payload_key": f.get("customer_mapping[event_payload_key]"), "type": "by_id"},
        "default_aggregation": {"formula": f.get("default_aggregation[formula]")},
        "display_name": f.get("display_name"), "event_name": f.get("event_name"), "event_time_window": null,
        "livemode": false, "status": "active", "status_transitions": {"deactivated_at": null}, "updated": CREATED,
        "value_settings": {"event_payload_key": f.get("value_settings[event_payload_key]")}}),
    ))
}

/// POST /v1/billing/meter_events
pub(super) fn create_meter_event(d: &mut Data, f: &Form) -> Reply {
    let (Some(name), Some(identifier)) = (f.get("event_name"), f.get("identifier")) else {
        return param_missing("event_name");
    };
    let payload = f.map("payload");
    if payload
        .get("value")
        .and_then(|v| v.as_str())
        .and_then(|v| v.parse::<i64>().ok())
        .is_none()
        || !payload.contains_key("stripe_customer_id")
    {
        return invalid(
            "payload must contain value (a whole number) and stripe_customer_id",
            Some("payload"),
        );
    }
    if !d.identifiers.insert(identifier.to_string()) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("resource_already_exists"),
            &format!("An event with identifier {identifier} already exists."),
            Some("identifier"),
        );
    }
    let event = json!({"object": "billing.meter_event", "created": CREATED, "event_name": name,
        "identifier": identifier, "livemode": false, "payload": payload, "timestamp": f.int("timestamp").unwrap_or(CREATED)});
    d.meter_events.push(event.clone());
    ok(event)
}
