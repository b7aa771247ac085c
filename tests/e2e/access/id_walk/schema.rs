//! Reading a tool's input schema for the walk: which arguments hold ids and of what kind (found
//! by name and schema type, not from a hand list of tools), the plain values the other arguments
//! get, and the (tool, id-like argument) pairs the walk tries.

use std::collections::BTreeSet;

use rmcp::model::Tool;
use serde_json::{Value, json};

/// What an id-like argument names, and so which of B's values it is tried with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Customer,
    /// `starting_after`, `ending_before`, `…cursor`: tried with every value of B's.
    Cursor,
    /// An API key's id (`bmcp_<16 hex>`).
    KeyId,
    /// Any other id the ledger mints: events, grants, adjustments, ledger entries, audit entries.
    Id,
    /// A Stripe object's id (invoice, subscription, payment intent, …): this harness has no
    /// Stripe, so B has none, and a listed tool taking one stops the walk until B is given one.
    Stripe,
    /// A retry key: tried with the keys B used.
    Idempotency,
}

/// The schema type a property refers to (`CustomerId`, `KeyId`, …), when it names one.
fn type_name(schema: &Value) -> Option<String> {
    match schema {
        Value::Object(o) => o
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next())
            .map(String::from)
            .or_else(|| o.values().find_map(type_name)),
        Value::Array(a) => a.iter().find_map(type_name),
        _ => None,
    }
}

/// The id a property holds, judged by its name and its schema type; `None` for a plain value.
pub(super) fn id_kind(name: &str, schema: &Value) -> Option<Kind> {
    let ty = type_name(schema).unwrap_or_default();
    let stripe_objects = [
        "invoice",
        "subscription",
        "payment_intent",
        "charge",
        "price",
        "product",
        "coupon",
        "dispute",
        "session",
        "promotion_code",
        "payment_link",
    ];
    Some(match (name, ty.as_str()) {
        (_, "CustomerId") | ("customer" | "customer_id" | "customers", _) => Kind::Customer,
        (_, "KeyId") | ("key_id" | "key_ids", _) => Kind::KeyId,
        (_, "IdempotencyKey") | ("idempotency_key", _) => Kind::Idempotency,
        ("starting_after" | "ending_before" | "page", _) => Kind::Cursor,
        (n, _) if n.contains("cursor") => Kind::Cursor,
        (_, "StripeId") => Kind::Stripe,
        (n, _) if stripe_objects.contains(&n) => Kind::Stripe,
        (n, _) if n == "id" || n.ends_with("_id") || n.ends_with("_ids") => Kind::Id,
        ("grant" | "event" | "key" | "entry", _) => Kind::Id,
        _ => return None,
    })
}

/// The value a plain (not id-like) argument is given; a property neither id-like nor here stops
/// the test, so a new argument is classified before it is walked past.
fn plain_value(name: &str) -> Option<Value> {
    Some(match name {
        "feature" | "meter" => json!("tool_calls"),
        "quantity" => json!(1),
        "consume" => json!(true),
        "hold" => json!(false),
        "hold_ttl_seconds" => json!(60),
        "compact" => json!(false),
        "tool" => json!("search"),
        "dimensions" => json!({"server_id": "srv-1"}),
        "plan" => json!("professional"),
        "from" => json!("2026-11-01T00:00:00Z"),
        "to" => json!("2026-12-01T00:00:00Z"),
        "limit" => json!(2),
        "include_deleted" => json!(true),
        "name" => json!("Probe"),
        "email" => json!("probe@example.com"),
        "metadata" => json!({"probe": "1"}),
        "confirm" => json!(false),
        _ => return None,
    })
}

/// One id-like argument of one tool.
pub(super) struct Pair {
    pub(super) tool: Tool,
    pub(super) arg: String,
    pub(super) kind: Kind,
}

impl Pair {
    pub(super) fn read_only(&self) -> bool {
        self.tool
            .annotations
            .as_ref()
            .and_then(|a| a.read_only_hint)
            .unwrap_or(false)
    }
}

/// The tool's arguments without ids: its required plain values (`full`: every plain value).
pub(super) fn base_args(tool: &Tool, full: bool) -> Value {
    let schema = Value::Object((*tool.input_schema).clone());
    let required: BTreeSet<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut args = serde_json::Map::new();
    for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
        if id_kind(name, prop).is_some() {
            continue;
        }
        let value = plain_value(name).unwrap_or_else(|| {
            panic!(
                "`{}.{name}` is neither an id the walk fills nor a plain value it knows: classify it in id_kind() or plain_value()",
                tool.name
            )
        });
        if full || required.contains(name.as_str()) {
            args.insert(name.clone(), value);
        }
    }
    Value::Object(args)
}
