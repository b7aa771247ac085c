//! Billing meters (one active meter per event name), meter events (each identifier once, a
//! whole-number value and a Stripe customer in the payload) and the summaries Stripe aggregates
//! from the events it holds.

use axum::http::StatusCode;
use serde_json::json;

use super::ok;
use crate::support::stripe::errors::{Reply, error, invalid, missing, param_missing};
use crate::support::stripe::faults;
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
    if !faults::dropped(d) {
        d.meter_events.push(event.clone());
    }
    ok(event)
}

/// GET /v1/billing/meters/{id}/event_summaries: the customer's events held on this meter with
/// `start_time` <= timestamp < `end_time` (whole minutes, as Stripe requires), aggregated by the
/// meter's formula, in one summary or one per hour or UTC day with `value_grouping_window`.
pub(super) fn event_summaries(d: &Data, id: &str, q: &Form) -> Reply {
    let Some(meter) = d.objects.get(id).filter(|m| m["object"] == "billing.meter") else {
        return missing("billing.meter", id, "id");
    };
    let (Some(customer), Some(start), Some(end)) =
        (q.get("customer"), q.int("start_time"), q.int("end_time"))
    else {
        return param_missing("customer, start_time and end_time");
    };
    let step = match q.get("value_grouping_window") {
        None => None,
        Some("hour") => Some(3_600),
        Some("day") => Some(86_400),
        Some(other) => {
            return invalid(
                &format!("Invalid value_grouping_window: {other}"),
                Some("value_grouping_window"),
            );
        }
    };
    let align = step.unwrap_or(60);
    if start % align != 0 || end % align != 0 {
        return invalid(
            "start_time and end_time must be aligned with minute boundaries (hour or day boundaries with value_grouping_window)",
            Some("start_time"),
        );
    }
    if end <= start {
        return invalid("end_time must be after start_time.", Some("end_time"));
    }
    let formula = meter["default_aggregation"]["formula"]
        .as_str()
        .unwrap_or("sum");
    let held: Vec<(i64, i64)> = d
        .meter_events
        .iter()
        .filter(|e| e["event_name"] == meter["event_name"])
        .filter(|e| e["payload"]["stripe_customer_id"] == customer)
        .map(|e| {
            let value = e["payload"]["value"].as_str().and_then(|v| v.parse().ok());
            (e["timestamp"].as_i64().unwrap_or(0), value.unwrap_or(0))
        })
        .collect();
    let mut data = Vec::new();
    let mut from = start;
    while from < end {
        let to = step.map_or(end, |s| (from + s).min(end));
        let mut inside: Vec<&(i64, i64)> = held
            .iter()
            .filter(|(at, _)| (from..to).contains(at))
            .collect();
        inside.sort_by_key(|(at, _)| *at);
        let value = match formula {
            "count" => inside.len() as i64,
            "last" => inside.last().map_or(0, |(_, v)| *v),
            _ => inside.iter().map(|(_, v)| v).sum(),
        };
        data.push(json!({"id": format!("mtrusg_test_{id}_{from}"), "object": "billing.meter_event_summary",
            "aggregated_value": value, "end_time": to, "livemode": false, "meter": id, "start_time": from}));
        from = to;
    }
    data.reverse();
    ok(json!({"object": "list", "data": data, "has_more": false,
        "url": format!("/v1/billing/meters/{id}/event_summaries")}))
}
