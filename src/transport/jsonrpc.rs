//! The screen every incoming JSON-RPC message passes before rmcp sees it, on stdio and HTTP
//! alike. rmcp drops a line it cannot parse (the client then waits forever), answers some
//! malformed requests without their id, and takes a known method with params of the wrong shape
//! (say `tools/call` with `arguments` as an array) for an unknown method. Here each gets its
//! JSON-RPC 2.0 answer: -32700 for text that is not JSON, -32600 for JSON that is not a request,
//! -32602 for a known method's malformed params, always with the request's id when it has one
//! (for text that is not JSON, the id is recovered from the text when it can be).

use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcMessage};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::core::text::quote;

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;

/// The methods a client may call that rmcp decodes into typed requests: a message naming one
/// of them that decodes only as a custom request had params of the wrong shape.
const KNOWN_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "completion/complete",
    "logging/setLevel",
    "prompts/get",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "resources/directory/read",
    "subscriptions/listen",
    "tools/call",
    "tools/list",
    "tasks/get",
    "tasks/update",
    "tasks/cancel",
    "skills/list",
    "skills/get",
];

/// What to do with one incoming message.
#[derive(Debug)]
pub enum Verdict {
    /// Well formed: hand it to rmcp as it is. `initialize` says it asks for a new session.
    Pass { initialize: bool },
    /// Answer this JSON-RPC error instead (rmcp never sees the message).
    Answer(Value),
    /// A malformed notification or response: JSON-RPC forbids answering it; it is logged.
    Drop(String),
}

/// Methods protocol 2026-07-28 removed: a request of that era naming one goes on to rmcp, which
/// answers it as a method that does not exist (404, -32601), as the era requires.
const REMOVED_IN_2026: &[&str] = &[
    "initialize",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];

/// Judge one message (a stdio line or an HTTP body); `modern` when it was sent under protocol
/// 2026-07-28 or later (HTTP's `MCP-Protocol-Version`).
pub fn screen(bytes: &[u8], modern: bool) -> Verdict {
    if plain_tool_call(bytes) {
        return Verdict::Pass { initialize: false };
    }
    match serde_json::from_slice::<ClientJsonRpcMessage>(bytes) {
        Ok(JsonRpcMessage::Request(request)) => match &request.request {
            ClientRequest::CustomRequest(custom)
                if modern && REMOVED_IN_2026.contains(&custom.method.as_str()) =>
            {
                Verdict::Pass { initialize: false }
            }
            ClientRequest::CustomRequest(custom)
                if KNOWN_METHODS.contains(&custom.method.as_str()) =>
            {
                let detail = params_detail(&custom.method, custom.params.as_ref());
                Verdict::Answer(error(json_id(&request.id), INVALID_PARAMS, &detail))
            }
            ClientRequest::InitializeRequest(_) => Verdict::Pass { initialize: true },
            _ => Verdict::Pass { initialize: false },
        },
        Ok(_) => Verdict::Pass { initialize: false },
        Err(_) => judge_malformed(bytes),
    }
}

/// The shape of a `tools/call`, borrowed from the text (nothing is copied).
#[derive(serde::Deserialize)]
struct ToolCall<'a> {
    jsonrpc: &'a str,
    #[serde(borrow)]
    id: &'a RawValue,
    method: &'a str,
    #[serde(borrow)]
    params: ToolCallParams<'a>,
}

#[derive(serde::Deserialize)]
struct ToolCallParams<'a> {
    #[allow(dead_code)] // only its presence as a string is checked
    name: &'a str,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
}

/// Whether the message is a well-formed `tools/call` (the paid-call path: `check_entitlement`,
/// `record_usage`): then it is judged from a borrowed read of its envelope, with no second full
/// parse before rmcp's. Anything else takes the full screen.
fn plain_tool_call(bytes: &[u8]) -> bool {
    let Ok(call) = serde_json::from_slice::<ToolCall<'_>>(bytes) else {
        return false;
    };
    let id = call.id.get();
    call.jsonrpc == "2.0"
        && call.method == "tools/call"
        && (id.starts_with('"') || id.parse::<i64>().is_ok())
        && call
            .params
            .arguments
            .is_none_or(|a| a.get().starts_with('{') || a.get() == "null")
}

/// A JSON-RPC error response.
pub fn error(id: Value, code: i64, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

/// Why a known method's params were refused, as precisely as the method's type says.
fn params_detail(method: &str, params: Option<&Value>) -> String {
    let why = match (method, params) {
        (_, Some(params)) if !params.is_object() => "`params` must be an object".to_string(),
        ("tools/call", Some(params)) => {
            match serde_json::from_value::<rmcp::model::CallToolRequestParams>(params.clone()) {
                Err(e) => quote(&e.to_string()),
                Ok(_) => "they do not have the shape the MCP schema gives them".to_string(),
            }
        }
        _ => "they do not have the shape the MCP schema gives them".to_string(),
    };
    format!("Invalid params for `{}`: {why}", quote(method))
}

fn json_id(id: &rmcp::model::RequestId) -> Value {
    serde_json::to_value(id).unwrap_or(Value::Null)
}

/// Why rmcp refused the message, and what to answer.
fn judge_malformed(bytes: &[u8]) -> Verdict {
    let value = match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => value,
        Err(e) => {
            let text = String::from_utf8_lossy(bytes);
            let message = format!(
                "Parse error: the message is not JSON ({})",
                quote(&e.to_string())
            );
            return Verdict::Answer(error(recover_id(&text), PARSE_ERROR, &message));
        }
    };
    let Value::Object(object) = &value else {
        let message = if value.is_array() {
            "Invalid request: batches are not supported; send one JSON-RPC object per message"
        } else {
            "Invalid request: a JSON-RPC message is an object"
        };
        return Verdict::Answer(error(Value::Null, INVALID_REQUEST, message));
    };
    let id = object.get("id").filter(|id| id.is_string() || id.is_i64());
    let answer = |code, message: String| {
        Verdict::Answer(error(id.cloned().unwrap_or(Value::Null), code, &message))
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return answer(
            INVALID_REQUEST,
            "Invalid request: `jsonrpc` must be \"2.0\"".into(),
        );
    }
    match object.get("method") {
        Some(Value::String(method)) if object.contains_key("id") => {
            if id.is_none() {
                return answer(
                    INVALID_REQUEST,
                    "Invalid request: `id` must be a string or an integer".into(),
                );
            }
            if KNOWN_METHODS.contains(&method.as_str()) {
                return answer(INVALID_PARAMS, params_detail(method, object.get("params")));
            }
            answer(
                METHOD_NOT_FOUND,
                format!("Method not found: `{}`", quote(method)),
            )
        }
        Some(Value::String(method)) => {
            Verdict::Drop(format!("malformed notification `{}`", quote(method)))
        }
        Some(_) => answer(
            INVALID_REQUEST,
            "Invalid request: `method` must be a string".into(),
        ),
        None if object.contains_key("result") || object.contains_key("error") => {
            Verdict::Drop("malformed response".into())
        }
        None => answer(INVALID_REQUEST, "Invalid request: no `method`".into()),
    }
}

/// The id of a request whose text is not JSON, when its top-level object names one before the
/// text goes wrong: `{"jsonrpc":"2.0","id":7,"method":"ping","params":{"x":NaN}}` gives 7.
pub fn recover_id(text: &str) -> Value {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let Some(end) = string_end(bytes, i) else {
                    return Value::Null;
                };
                let key = &text[i..=end];
                i = end + 1;
                let rest = text[i..].trim_start();
                if depth == 1
                    && key == "\"id\""
                    && let Some(value) = rest.strip_prefix(':')
                {
                    return first_value(value)
                        .filter(|id| id.is_string() || id.is_i64())
                        .unwrap_or(Value::Null);
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Value::Null
}

/// The index of the quote closing the string that opens at `start`.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The first JSON value at the start of `text`, whatever follows it.
fn first_value(text: &str) -> Option<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .next()
        .and_then(Result::ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen_legacy(bytes: &[u8]) -> Verdict {
        screen(bytes, false)
    }

    #[test]
    fn a_plain_tool_call_passes_on_its_envelope_alone() {
        let call = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"check_entitlement","arguments":{"customer":"a","feature":"f"},"_meta":{"k":1}}}"#;
        assert!(plain_tool_call(call));
        assert!(matches!(
            screen_legacy(call),
            Verdict::Pass { initialize: false }
        ));
        for not_plain in [
            &br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","arguments":[1]}}"#[..],
            br#"{"jsonrpc":"2.0","id":1.5,"method":"tools/call","params":{"name":"x"}}"#,
            br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"x","arguments":{"q":NaN}}}"#,
            br#"{"jsonrpc":"1.0","id":7,"method":"tools/call","params":{"name":"x"}}"#,
            br#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#,
        ] {
            assert!(!plain_tool_call(not_plain), "{}", String::from_utf8_lossy(not_plain));
        }
    }

    #[test]
    fn a_method_2026_removed_goes_on_to_rmcp_in_that_era() {
        let init = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"_meta":{}}}"#;
        assert!(matches!(
            screen(init, true),
            Verdict::Pass { initialize: false }
        ));
        assert!(matches!(screen(init, false), Verdict::Answer(_)));
        let array = br#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x","arguments":[1]}}"#;
        assert!(matches!(screen(array, true), Verdict::Answer(_)));
    }

    fn answer(line: &str) -> Value {
        match screen(line.as_bytes(), false) {
            Verdict::Answer(v) => v,
            other => Value::String(format!("{other:?}")),
        }
    }

    #[test]
    fn text_that_is_not_json_is_a_parse_error_with_the_id_it_names() {
        for (line, id) in [
            (
                r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":NaN}"#,
                json!(2),
            ),
            (
                r#"{"jsonrpc":"2.0","id":"a\"b","method":"ping","params":{"x":1e400}}"#,
                json!("a\"b"),
            ),
            (
                r#"{"params":{"id":9},"id":3,"method":"ping","jsonrpc":"2.0","x":"\ud800"}"#,
                json!(3),
            ),
            ("garbage", Value::Null),
            (r#"{"jsonrpc":"2.0","method":"ping","id":{"#, Value::Null),
        ] {
            let a = answer(line);
            assert_eq!(a["error"]["code"], json!(PARSE_ERROR), "{line}");
            assert_eq!(a["id"], id, "{line}");
        }
    }

    #[test]
    fn nesting_deeper_than_the_parser_takes_is_a_parse_error_with_its_id() {
        let line = format!(
            r#"{{"jsonrpc":"2.0","id":5,"method":"ping","params":{{"a":{}1{}}}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        let a = answer(&line);
        assert_eq!(
            (a["error"]["code"].clone(), a["id"].clone()),
            (json!(PARSE_ERROR), json!(5))
        );
    }

    #[test]
    fn json_that_is_not_a_request_is_invalid_with_its_id() {
        for (line, code, id) in [
            (r#"{"jsonrpc":"2.0","id":4}"#, INVALID_REQUEST, json!(4)),
            (r#"{"id":5,"method":"ping"}"#, INVALID_REQUEST, json!(5)),
            (
                r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
                INVALID_REQUEST,
                Value::Null,
            ),
            (
                r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"x","arguments":[1]}}"#,
                INVALID_PARAMS,
                json!(6),
            ),
            (
                r#"{"jsonrpc":"2.0","id":"s","method":"tools/call","params":[1]}"#,
                INVALID_PARAMS,
                json!("s"),
            ),
            (
                r#"{"jsonrpc":"2.0","id":7,"method":5}"#,
                INVALID_REQUEST,
                json!(7),
            ),
            (
                r#"{"jsonrpc":"2.0","id":10,"method":"foo","params":[1]}"#,
                METHOD_NOT_FOUND,
                json!(10),
            ),
            (
                r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"ping"}"#,
                INVALID_REQUEST,
                Value::Null,
            ),
        ] {
            let a = answer(line);
            assert_eq!(
                (a["error"]["code"].clone(), a["id"].clone()),
                (json!(code), id),
                "{line}"
            );
        }
    }

    #[test]
    fn well_formed_messages_pass_and_a_bad_notification_is_not_answered() {
        assert!(matches!(
            screen_legacy(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            Verdict::Pass { initialize: false }
        ));
        assert!(matches!(
            screen_legacy(br#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#),
            Verdict::Pass { .. }
        ));
        assert!(matches!(
            screen_legacy(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Verdict::Pass { .. }
        ));
        let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
        assert!(matches!(
            screen_legacy(init.as_bytes()),
            Verdict::Pass { initialize: true }
        ));
        assert!(matches!(
            screen_legacy(br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":7}"#),
            Verdict::Drop(_)
        ));
    }
}
