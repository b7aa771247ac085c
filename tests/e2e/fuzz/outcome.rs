//! Making one call and reading what came back: a success, a tool error's JSON body, a malformed
//! error result, a protocol error or no answer at all; and the record kept of each call.

use rmcp::model::{CallToolRequestParams, CallToolResult};
use serde_json::{Value, json};

use super::CALL_TIMEOUT;
use super::calls::Call;
use super::report::cut;
use crate::support::Client;

#[derive(Debug, Clone)]
pub(super) enum Outcome {
    /// A success's structured content.
    Ok(Value),
    /// A tool error's `{code, message, ...}`.
    Error(Value),
    /// An error result that is not one JSON object in a text block, or one with structured content.
    Malformed(String),
    /// A JSON-RPC error or a transport failure where a tool result was due.
    Protocol(String),
    Timeout,
}

impl Outcome {
    pub(super) fn code(&self) -> String {
        match self {
            Outcome::Ok(_) => "ok".into(),
            Outcome::Error(b) => b["code"].as_str().unwrap_or("error").into(),
            Outcome::Malformed(_) => "error".into(),
            Outcome::Protocol(_) => "protocol".into(),
            Outcome::Timeout => "timeout".into(),
        }
    }
}

fn read_result(r: CallToolResult) -> Outcome {
    if r.is_error != Some(true) {
        return Outcome::Ok(r.structured_content.unwrap_or(Value::Null));
    }
    let text = r
        .content
        .iter()
        .find_map(|c| c.as_text())
        .map(|t| t.text.clone());
    match (r.structured_content, text) {
        (Some(s), _) => Outcome::Malformed(format!("an error with structured content {s}")),
        (None, None) => Outcome::Malformed("an error without a text block".into()),
        (None, Some(text)) => match serde_json::from_str::<Value>(&text) {
            Ok(body @ Value::Object(_)) => Outcome::Error(body),
            _ => Outcome::Malformed(format!(
                "an error whose text is not a JSON object: {}",
                cut(&text, 200)
            )),
        },
    }
}

pub(super) async fn perform(client: &Client, tool: &str, args: &Value) -> Outcome {
    let Value::Object(map) = args else {
        return Outcome::Protocol("arguments must be an object".into());
    };
    let params = CallToolRequestParams::new(tool.to_string()).with_arguments(map.clone());
    match tokio::time::timeout(CALL_TIMEOUT, client.inner.call_tool(params)).await {
        Err(_) => Outcome::Timeout,
        Ok(Err(e)) => Outcome::Protocol(cut(&e.to_string(), 300)),
        Ok(Ok(r)) => read_result(r),
    }
}

/// Placeholders replaced by this backend's values.
pub(super) fn substitute(v: &Value, values: &[(&str, String)]) -> Value {
    match v {
        Value::String(s) => values
            .iter()
            .find(|(p, _)| p == s)
            .map_or_else(|| v.clone(), |(_, real)| json!(real)),
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, values)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), substitute(x, values)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A call as made (placeholders replaced), its normalised answer and its outcome's code.
pub(super) struct Record {
    pub(super) call: Call,
    pub(super) answer: String,
    pub(super) code: String,
}
