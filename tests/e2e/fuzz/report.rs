//! What a reader of a failure gets: calls and their arguments shortened to a line, and the
//! problems found, grouped by kind with a few calls that showed each.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::calls::Call;
use crate::support::Backend;

pub(super) fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    format!("{}…", s.chars().take(n).collect::<String>())
}

/// Arguments as a reader can take them: long strings, arrays and objects shortened.
fn shorten(v: &Value, depth: usize) -> Value {
    if depth > 4 {
        return json!("…");
    }
    match v {
        Value::String(s) if s.len() > 48 => json!(format!(
            "{}… ({} bytes)",
            s.chars().take(24).collect::<String>(),
            s.len()
        )),
        Value::Array(a) if a.len() > 4 => {
            let mut out: Vec<Value> = a.iter().take(2).map(|x| shorten(x, depth + 1)).collect();
            out.push(json!(format!("… ({} items)", a.len())));
            Value::Array(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| shorten(x, depth + 1)).collect()),
        Value::Object(o) => {
            let mut out: Map<String, Value> = o
                .iter()
                .take(8)
                .map(|(k, x)| (shorten_key(k), shorten(x, depth + 1)))
                .collect();
            if o.len() > 8 {
                out.insert("…".into(), json!(format!("{} properties", o.len())));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn shorten_key(k: &str) -> String {
    if k.len() > 48 {
        format!(
            "{}… ({} bytes)",
            k.chars().take(24).collect::<String>(),
            k.len()
        )
    } else {
        k.to_string()
    }
}

pub(super) fn describe(c: &Call) -> String {
    format!(
        "{:?} {} [{}] {}",
        c.who,
        c.tool,
        c.label,
        cut(&shorten(&c.args, 0).to_string(), 300)
    )
}

/// What went wrong, by kind, each with the calls that showed it.
#[derive(Default)]
pub(super) struct Problems(BTreeMap<&'static str, Vec<String>>);

impl Problems {
    pub(super) fn add(&mut self, kind: &'static str, detail: String) {
        self.0.entry(kind).or_default().push(detail);
    }

    pub(super) fn count(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }

    /// Each kind with its count and its first few calls.
    pub(super) fn report(&self, backend: Backend) -> Vec<String> {
        self.0
            .iter()
            .map(|(kind, details)| {
                let examples: Vec<String> = details
                    .iter()
                    .take(4)
                    .map(|d| format!("\n    {d}"))
                    .collect();
                format!(
                    "{backend:?}: {} × {kind}, e.g.:{}",
                    details.len(),
                    examples.concat()
                )
            })
            .collect()
    }
}
