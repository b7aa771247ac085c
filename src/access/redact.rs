//! Arguments as the audit log keeps them: secrets replaced by `[redacted]`, long strings and
//! lists shortened, the whole bounded in size. A secret is a field with a secret's name (a whole
//! name such as `token` or `client_secret`, or one ending in `_secret`, `_password`, `_api_key`:
//! never a name that merely contains one, so a usage dimension `token_count` stays), or a value
//! shaped like an API key or a Stripe secret (one of our keys, Stripe's secret, restricted and
//! webhook-signing keys) starting a word anywhere in a string, whatever its field.

use serde_json::{Map, Value};

const REDACTED: &str = "[redacted]";
const MAX_STRING: usize = crate::core::text::QUOTE_CHARS;
const MAX_ITEMS: usize = 5;
const MAX_DEPTH: usize = 6;
/// Largest stored argument text: with the entry's other fields, an audit entry stays under 1 KB.
pub const MAX_BYTES: usize = 600;

/// Whole field names (lower case, words joined by `_`) whose values are secrets.
const SECRET_NAMES: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "auth_token",
    "bearer_token",
    "session_token",
    "authorization",
    "api_key",
    "apikey",
    "client_secret",
    "webhook_secret",
    "secret_key",
    "private_key",
];

/// Name endings (whole words) that make any name a secret's: `db_password`, `stripe_api_key`.
const SECRET_ENDINGS: &[&str] = &[
    "_secret",
    "_password",
    "_api_key",
    "_secret_key",
    "_private_key",
];

/// What starts a secret value: our API keys and Stripe's secret, restricted and webhook keys.
const SECRET_PREFIXES: &[&str] = &[
    "bmcp_", "sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_",
];

/// `clientSecret`, `Client-Secret` and `client_secret` all read `client_secret`.
fn normalized(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == ' ' || c == '.' {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !out.ends_with('_') {
            out.push('_');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        out.extend(c.to_lowercase());
    }
    out
}

/// Field names whose values are secrets: whole names, never a name that only contains one.
/// Whether a field of this name holds a secret (`token`, `client_secret`, `db_password`, …).
pub fn secret_field(name: &str) -> bool {
    let n = normalized(name);
    SECRET_NAMES.contains(&n.as_str()) || SECRET_ENDINGS.iter().any(|e| n.ends_with(e))
}

fn word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A secret's shape starting a word (`sk_test_…`, `Bearer bmcp_…`, `key=whsec_…`), followed by
/// at least one character of the key; `task_test_plan` or a bare `sk_test_` is not one.
pub fn secret_value(s: &str) -> bool {
    SECRET_PREFIXES.iter().any(|prefix| {
        s.match_indices(prefix).any(|(at, _)| {
            let starts_word = s[..at].chars().next_back().is_none_or(|c| !word_char(c));
            let has_body = s[at + prefix.len()..]
                .chars()
                .next()
                .is_some_and(char::is_alphanumeric);
            starts_word && has_body
        })
    })
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
    fn a_name_is_a_secret_only_as_a_whole_name_or_a_secret_ending() {
        let out = r(json!({
            "token_count": 1200,
            "tokens": 3,
            "max_tokens": 4096,
            "dimensions": {"token_count": "512", "tokenizer": "cl100k"},
            "token": "t-1",
            "api_key": "k-1",
            "client_secret": "c-1",
            "clientSecret": "c-2",
            "X-Api-Key": "k-2",
            "db_password": "p-1",
            "Authorization": "Basic abc",
        }));
        assert_eq!(
            out,
            json!({
                "token_count": 1200,
                "tokens": 3,
                "max_tokens": 4096,
                "dimensions": {"token_count": "512", "tokenizer": "cl100k"},
                "token": REDACTED,
                "api_key": REDACTED,
                "client_secret": REDACTED,
                "clientSecret": REDACTED,
                "X-Api-Key": REDACTED,
                "db_password": REDACTED,
                "Authorization": REDACTED,
            })
        );
    }

    #[test]
    fn a_secret_shaped_value_is_redacted_wherever_it_starts_a_word() {
        let out = r(json!({
            "description": "sk_test_51Habc",
            "note": "use key=sk_test_51Habc here",
            "header": "Bearer bmcp_0011223344556677_ff",
            "deep": {"a": [{"b": "whsec_abc"}]},
            "tool": "ask_test_runner",
            "plan": "task_live_plan",
            "bare": "sk_test_",
        }));
        assert_eq!(
            out,
            json!({
                "description": REDACTED,
                "note": REDACTED,
                "header": REDACTED,
                "deep": {"a": [{"b": REDACTED}]},
                "tool": "ask_test_runner",
                "plan": "task_live_plan",
                "bare": "sk_test_",
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
        assert_eq!(
            out["events"][MAX_ITEMS],
            format!("… {} more", 1000 - MAX_ITEMS)
        );
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
