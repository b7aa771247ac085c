//! Answers made comparable across backends: the ids, key ids, secrets and uuids a server
//! generates become placeholders, and a call's outcome becomes one line of text.

use serde_json::{Value, json};

use super::outcome::Outcome;

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A word the server generated (ids, key ids, secrets, uuids) as a placeholder.
fn normalise_word(w: &str) -> String {
    if let Some(rest) = w.strip_prefix("bmcp_") {
        if is_hex(rest, 16) {
            return "bmcp_<key>".into();
        }
        if rest.len() == 81 && is_hex(&rest[..16], 16) && is_hex(&rest[17..], 64) {
            return "bmcp_<secret>".into();
        }
    }
    if let Some((prefix, rest)) = w.split_once('_')
        && prefix.bytes().all(|b| b.is_ascii_lowercase())
        && is_hex(rest, 32)
    {
        return format!("{prefix}_<id>");
    }
    let groups: Vec<&str> = w.split('-').collect();
    if groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| is_hex(g, n))
    {
        return "<uuid>".into();
    }
    if is_hex(w, 32) {
        return "<hex>".into();
    }
    w.to_string()
}

fn normalise_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut word = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            word.push(c);
        } else {
            out.push_str(&normalise_word(&word));
            word.clear();
            out.push(c);
        }
    }
    out.push_str(&normalise_word(&word));
    out
}

/// Generated ids replaced by placeholders. Timestamps stay: both servers run on the same fixed
/// clock, so every time they answer must be the same. API keys are listed by their random ids,
/// and a page of them after a cursor holds what the random ids put there: a key list is
/// compared by its shape alone.
fn normalise(tool: &str, v: &Value) -> Value {
    let v = match v {
        Value::String(s) => json!(normalise_str(s)),
        Value::Array(a) => Value::Array(a.iter().map(|x| normalise(tool, x)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (normalise_str(k), normalise(tool, x)))
                .collect(),
        ),
        other => other.clone(),
    };
    match (tool, v) {
        ("list_api_keys", Value::Object(mut o)) => {
            // Which keys follow a cursor depends on the random ids on each backend: only the
            // answer's shape is compared.
            for field in ["keys", "has_more", "next_cursor"] {
                if o.contains_key(field) {
                    o.insert(field.into(), json!("…"));
                }
            }
            Value::Object(o)
        }
        (_, v) => v,
    }
}

pub(super) fn answer_text(tool: &str, o: &Outcome) -> String {
    match o {
        Outcome::Ok(v) => format!("ok {}", normalise(tool, v)),
        Outcome::Error(b) => format!("error {}", normalise(tool, b)),
        Outcome::Malformed(m) => format!("malformed {}", normalise_str(m)),
        Outcome::Protocol(m) => format!("protocol {}", normalise_str(m)),
        Outcome::Timeout => "timeout".into(),
    }
}
