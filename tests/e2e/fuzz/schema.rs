//! Reading the tools' input schemas (as `tools/list` gives them): `$ref`s followed, `null`
//! alternatives dropped, types, enums, properties; and a schema-valid example value for any
//! property, from what its name says (the baseline every mutation starts from).

use serde_json::{Map, Value, json};

use super::{EVENT_ID, GRANT_ID, KEY_ID, OWN};

/// A `$ref` into the tool's `$defs`, followed.
fn resolve<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    match s
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .and_then(|name| root.get("$defs")?.get(name))
    {
        Some(def) => resolve(root, def),
        None => s,
    }
}

/// The schema without its `null` alternative (`Option<T>` is `anyOf [T, null]`).
pub(super) fn non_null<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    let s = resolve(root, s);
    match s
        .get("anyOf")
        .and_then(Value::as_array)
        .and_then(|branches| {
            branches
                .iter()
                .find(|b| b.get("type").and_then(Value::as_str) != Some("null"))
        }) {
        Some(branch) => non_null(root, branch),
        None => s,
    }
}

/// The JSON type a schema asks for (the first that is not `null`).
pub(super) fn kind(s: &Value) -> &str {
    match s.get("type") {
        Some(Value::String(t)) => t,
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if !choices(s).is_empty() => "string",
        _ => "any",
    }
}

/// The values of an enum (`enum`, `const`, or `oneOf` of those).
pub(super) fn choices(s: &Value) -> Vec<Value> {
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        return values.clone();
    }
    if let Some(c) = s.get("const") {
        return vec![c.clone()];
    }
    s.get("oneOf")
        .and_then(Value::as_array)
        .map(|branches| branches.iter().flat_map(choices).collect())
        .unwrap_or_default()
}

/// A string-to-string map (metadata, dimensions).
pub(super) fn is_map(s: &Value) -> bool {
    s.get("additionalProperties").is_some_and(Value::is_object) && s.get("properties").is_none()
}

pub(super) fn properties(s: &Value) -> Vec<(String, Value)> {
    s.get("properties")
        .and_then(Value::as_object)
        .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

pub(super) fn required(s: &Value) -> Vec<String> {
    s.get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// A valid value for a string property, from what its name says.
fn named_string(tool: &str, name: &str) -> Option<&'static str> {
    Some(match name {
        "customer" => OWN,
        "meter" | "feature" => "tool_calls",
        "plan" => "starter",
        "tool" => "simple-calculator",
        "key_id" => KEY_ID,
        "grant_id" => GRANT_ID,
        "starting_after" if tool == "get_usage" => EVENT_ID,
        "timestamp" | "from" | "since" => "2026-11-21T10:00:00Z",
        "to" | "until" => "2026-11-21T11:00:00Z",
        "expires_at" => "2027-11-21T00:00:00Z",
        "interval" => "month",
        "status" => "active",
        "type" => "invoice.paid",
        "reason" | "description" | "name" | "display_name" | "nickname" => "fuzz",
        "email" => "fuzz@example.com",
        "reserved_json" => "{}",
        "event_id" => "evt_1",
        "idempotency_key" => "fz-1",
        "currency" => "usd",
        "role" => "service",
        "result" => "ok",
        "customer_key" => "stripe_customer_id",
        "value_key" => "value",
        "event_name" => "fuzz_event",
        "lookup_key" => "fuzz_lookup",
        "percent_off" | "unit_amount_decimal" => "1.5",
        "success_url" | "cancel_url" | "return_url" | "redirect_url" => "https://example.com/done",
        "price" => "price_1",
        "product" => "prod_1",
        "payment_intent" => "pi_1",
        "subscription" => "sub_1",
        "invoice" => "in_1",
        "dispute" => "dp_1",
        "charge" => "ch_1",
        "id" => "fuzz_id",
        _ => return None,
    })
}

/// A valid value for an integer property, from what its name says.
fn named_int(name: &str) -> Option<u64> {
    Some(match name {
        "quantity" | "interval_count" => 1,
        "credits" => 5,
        "priority" => 50,
        "limit" => 10,
        "grace_period_seconds" => 60,
        "rate_per_minute" => 600,
        "burst" | "max_redemptions" => 10,
        "days_until_due" => 30,
        "duration_in_months" => 3,
        "up_to" | "amount" | "unit_amount" | "amount_off" | "flat_amount" => 100,
        _ => return None,
    })
}

/// The simplest string a pattern accepts.
fn by_pattern(s: &Value) -> String {
    match s.get("pattern").and_then(Value::as_str).unwrap_or("") {
        "^[!-~]+$" => "fz-1".into(),
        "^bmcp_[0-9a-f]{16}$" => KEY_ID.into(),
        "^https?://" => "https://example.com/".into(),
        "^[A-Za-z]{3}$" => "usd".into(),
        "^[0-9]+(\\.[0-9]+)?$" => "1.5".into(),
        _ => "fz".into(),
    }
}

/// A schema-valid value for property `name` of `tool` (objects with their required properties,
/// arrays of one item).
pub(super) fn example(root: &Value, tool: &str, name: &str, s: &Value) -> Value {
    let s = non_null(root, s);
    let options = choices(s);
    if !options.is_empty() {
        let named = named_string(tool, name).map(|v| json!(v));
        return named
            .filter(|v| options.contains(v))
            .unwrap_or_else(|| options[0].clone());
    }
    match kind(s) {
        "string" => json!(named_string(tool, name).map_or_else(|| by_pattern(s), String::from)),
        "integer" => {
            let floor = s.get("minimum").and_then(Value::as_u64).unwrap_or(1).max(1);
            json!(named_int(name).unwrap_or(floor))
        }
        "number" => json!(1),
        "boolean" => json!(name == "dry_run"),
        "array" => {
            let item = s.get("items").cloned().unwrap_or(Value::Null);
            json!([example(root, tool, name.trim_end_matches('s'), &item)])
        }
        "object" if is_map(s) => json!({}),
        "object" => {
            let mut out = Map::new();
            let needed = required(s);
            for (p, ps) in properties(s) {
                if needed.contains(&p) {
                    out.insert(p.clone(), example(root, tool, &p, &ps));
                }
            }
            Value::Object(out)
        }
        _ => json!("fz"),
    }
}
