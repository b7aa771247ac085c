//! A call's answer as the walk compares it: the whole answer as one text, minted ids masked where
//! a changing call makes its own, and the gist of an answer for a report.

use std::collections::BTreeSet;

use rmcp::model::CallToolRequestParams;
use serde_json::{Value, json};

use super::ids::is_minted;
use crate::support::Client;

/// Minted ids in `text` other than `keep` become `<minted>`: ids a changing call made for itself
/// (its event), which differ between A and the twin whatever was tried.
pub(super) fn mask_minted(text: &str, keep: &BTreeSet<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if is_minted(word) && !keep.contains(word.as_str()) {
            out.push_str("<minted>");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// A call's whole answer as a client sees it: `isError`, structured content and every text
/// block (or the JSON-RPC error), as one JSON text.
pub(super) async fn answer(client: &Client, tool: &str, args: &Value) -> String {
    let Value::Object(args) = args.clone() else {
        panic!("arguments must be an object")
    };
    let params = CallToolRequestParams::new(tool.to_string()).with_arguments(args);
    match client.inner.call_tool(params).await {
        Ok(r) => {
            let texts: Vec<&str> = r
                .content
                .iter()
                .filter_map(|c| c.as_text())
                .map(|t| t.text.as_str())
                .collect();
            json!({
                "isError": r.is_error.unwrap_or(false),
                "structuredContent": r.structured_content,
                "text": texts,
            })
            .to_string()
        }
        Err(e) => json!({"jsonrpc_error": e.to_string()}).to_string(),
    }
}

/// `code: message` of an answer, for a report.
pub(super) fn gist(shown: &str) -> String {
    let v: Value = serde_json::from_str(shown).unwrap_or_default();
    let body = v["text"][0]
        .as_str()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .unwrap_or_default();
    match (v["isError"].as_bool(), body["code"].as_str()) {
        (Some(true), Some(code)) => format!("error {code}: {}", body["message"]),
        _ => shown.to_string(),
    }
}
