//! Arguments as the audit log keeps them: secrets replaced by `[redacted]` (fields named like a
//! secret, and values shaped like an API key or a Stripe secret whatever their field), long
//! strings and lists shortened, the whole bounded in size.

use serde_json::{Map, Value};

const REDACTED: &str = "[redacted]";
const MAX_STRING: usize = 200;
const MAX_ITEMS: usize = 10;
const MAX_DEPTH: usize = 6;
/// Largest stored argument text.
pub const MAX_BYTES: usize = 8 * 1024;

/// Field names whose values are secrets.
fn secret_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "secret",
        "password",
        "token",
        "authorization",
        "api_key",
        "apikey",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// Values that are secrets wherever they appear: our keys and Stripe's secret, restricted and
/// webhook-signing keys.
fn secret_value(s: &str) -> bool {
    [
        "bmcp_", "sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_",
    ]
    .iter()
    .any(|p| s.contains(p))
}

fn clean(value: &Value, depth: usize) -> Value {
    match value {
        Value::String(s) if secret_value(s) => Value::String(REDACTED.into()),
        Value::String(s) if s.chars().count() > MAX_STRING => Value::String(format!(
            "{}…",
            s.chars().take(MAX_STRING).collect::<String>()
        )),
        Value::Array(items) if depth < MAX_DEPTH => {
            let mut out: Vec<Value> = items
                .iter()
                .take(MAX_ITEMS)
                .map(|v| clean(v, depth + 1))
                .collect();
            if items.len() > MAX_ITEMS {
                out.push(Value::String(format!("… {} more", items.len() - MAX_ITEMS)));
            }
            Value::Array(out)
        }
        Value::Object(fields) if depth < MAX_DEPTH => Value::Object(
            fields
                .iter()
                .map(|(k, v)| {
                    let v = if secret_field(k) {
                        Value::String(REDACTED.into())
                    } else {
                        clean(v, depth + 1)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(_) | Value::Object(_) => Value::String("…".into()),
        other => other.clone(),
    }
}

/// The arguments as stored JSON text, at most [`MAX_BYTES`].
pub fn redact(args: &Map<String, Value>) -> String {
    let text = clean(&Value::Object(args.clone()), 0).to_string();
    if text.len() <= MAX_BYTES {
        return text;
    }
    // Kept as a JSON string, whose escaping at most doubles its length.
    let mut end = MAX_BYTES / 2 - 8;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Value::String(format!("{}…", &text[..end])).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(v: Value) -> Value {
        serde_json::from_str(&redact(v.as_object().unwrap())).unwrap()
    }

    #[test]
    fn secrets_are_redacted_by_name_and_by_shape() {
        let out = r(json!({
            "customer": "acme",
            "webhook_secret": "anything",
            "Password": "hunter2",
            "idempotency_key": "retry-1",
            "metadata": {"note": "key is bmcp_0011223344556677_ff", "stripe": "sk_test_abc"},
            "list": ["rk_live_x", "plain"],
        }));
        assert_eq!(
            out,
            json!({
                "customer": "acme",
                "webhook_secret": REDACTED,
                "Password": REDACTED,
                "idempotency_key": "retry-1",
                "metadata": {"note": REDACTED, "stripe": REDACTED},
                "list": [REDACTED, "plain"],
            })
        );
    }

    #[test]
    fn big_arguments_are_shortened_and_bounded() {
        let events: Vec<Value> = (0..1000)
            .map(|i| json!({"customer": "c", "quantity": i}))
            .collect();
        let out = r(json!({"events": events, "note": "x".repeat(10_000)}));
        assert_eq!(out["events"].as_array().unwrap().len(), MAX_ITEMS + 1);
        assert_eq!(out["events"][MAX_ITEMS], "… 990 more");
        assert_eq!(
            out["note"].as_str().unwrap().chars().count(),
            MAX_STRING + 1
        );
        let huge: Map<String, Value> = (0..2000)
            .map(|i| (format!("field_{i}"), json!("value")))
            .collect();
        let text = redact(&huge);
        assert!(text.len() <= MAX_BYTES, "{}", text.len());
        assert!(text.starts_with("\"{\\\"field_"), "{}", &text[..40]);
    }
}
