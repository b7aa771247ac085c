//! What must hold, per call and after the campaign: every outcome a tool result with a stable
//! code and a short message (no `internal_error`, no protocol error, no hang); and the audit log
//! holding every mutating and every refused call, the same through `get_audit_log` as in its
//! table, with every entry under 1 KB.

use std::collections::BTreeMap;

use billing_mcp::mcp::tools;
use billing_mcp::store::AuditQuery;
use serde_json::{Value, json};

use super::CALL_TIMEOUT;
use super::calls::{Call, Who};
use super::outcome::{Outcome, Record};
use super::report::{Problems, cut, describe};
use crate::support::{Client, Harness};

/// An error message longer than this is unbounded echo of the input.
const MESSAGE_MAX: usize = 1024;
/// Every audit entry must stay under this, stored and as `get_audit_log` shows it.
const AUDIT_ENTRY_MAX: usize = 1024;

/// What a call's outcome must be, whatever the backend.
pub(super) fn check_outcome(call: &Call, outcome: &Outcome, problems: &mut Problems) {
    let what = describe(call);
    match outcome {
        Outcome::Ok(Value::Null) => problems.add(
            "a success without structured content",
            format!("a success without structured content: {what}"),
        ),
        Outcome::Ok(_) => {}
        Outcome::Error(body) => {
            let code = body["code"].as_str().unwrap_or("");
            let message = body["message"].as_str().unwrap_or("");
            if code == "internal_error" {
                problems.add(
                    "internal_error",
                    format!("internal_error ({}): {what}", cut(message, 300)),
                );
            } else if code.is_empty() || !code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            {
                problems.add(
                    "an error without a stable code",
                    format!(
                        "an error without a stable code ({}): {what}",
                        cut(&body.to_string(), 200)
                    ),
                );
            }
            if message.is_empty() {
                problems.add(
                    "an error without a message",
                    format!("an error without a message ({code}): {what}"),
                );
            }
            if message.len() >= MESSAGE_MAX {
                problems.add(
                    "an error message of 1 KB or more",
                    format!(
                        "a message of {} bytes ({code}: {}): {what}",
                        message.len(),
                        cut(message, 120)
                    ),
                );
            }
            let size = body.to_string().len();
            if size >= 4 * MESSAGE_MAX {
                problems.add(
                    "an error body of 4 KB or more",
                    format!("an error body of {size} bytes ({code}): {what}"),
                );
            }
        }
        Outcome::Malformed(m) => problems.add("a malformed error result", format!("{m}: {what}")),
        Outcome::Protocol(m) => problems.add(
            "a protocol error instead of a tool result",
            format!("a protocol error ({m}) instead of a tool result: {what}"),
        ),
        Outcome::Timeout => problems.add(
            "no answer (a panicked or hung handler)",
            format!("no answer within {CALL_TIMEOUT:?} (a panicked or hung handler): {what}"),
        ),
    }
}

/// What the audit log held after the campaign, for the summary.
pub(super) struct AuditFigures {
    /// The entries the table holds.
    pub(super) entries: usize,
    /// The entries the calls made call for, at the least.
    pub(super) expected: usize,
    /// The largest stored entry and the mean, in bytes.
    pub(super) largest: usize,
    pub(super) mean: usize,
}

/// The audit log after the calls in `records`, read through `operator` and from the table.
pub(super) async fn check_audit(
    h: &Harness,
    operator: &Client,
    records: &[Record],
    problems: &mut Problems,
) -> AuditFigures {
    let registry = tools::all();
    // The audit log: every mutating call, and every call the customer key was forbidden.
    let mut expected: BTreeMap<(&str, String, String), usize> = BTreeMap::new();
    let mut refused = 0usize;
    for r in records {
        let mutates = registry
            .get(&r.call.tool)
            .zip(r.call.args.as_object())
            .is_some_and(|(e, args)| (e.mutates)(args));
        let forbidden = r.call.who == Who::Customer && r.code == "forbidden";
        if r.call.who == Who::Customer && r.code != "ok" {
            refused += 1;
        }
        if mutates || forbidden {
            *expected
                .entry((r.call.who.role(), r.call.tool.clone(), r.code.clone()))
                .or_default() += 1;
        }
    }
    let mut shown: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = json!({"limit": 200});
        if let Some(c) = &cursor {
            args["starting_after"] = json!(c);
        }
        let page = operator.ok("get_audit_log", args).await;
        shown.extend(page["entries"].as_array().cloned().unwrap_or_default());
        match (page["has_more"].as_bool(), page["next_cursor"].as_str()) {
            (Some(true), Some(next)) => cursor = Some(next.to_string()),
            _ => break,
        }
    }
    let mut actual: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for e in &shown {
        let field = |k: &str| e[k].as_str().unwrap_or("").to_string();
        *actual
            .entry((field("role"), field("tool"), field("result")))
            .or_default() += 1;
        let size = e.to_string().len();
        if size >= AUDIT_ENTRY_MAX {
            problems.add(
                "an audit entry shown at 1 KB or more",
                format!(
                    "get_audit_log shows an entry of {size} bytes: {}",
                    cut(&e.to_string(), 300)
                ),
            );
        }
    }
    for ((role, tool, result), n) in &expected {
        let got = actual
            .get(&(role.to_string(), tool.clone(), result.clone()))
            .copied()
            .unwrap_or(0);
        if got < *n {
            problems.add("audit entries missing", format!(
                "the audit log holds {got} `{role}` calls of {tool} with result {result}, {n} were made"
            ));
        }
    }
    if shown.len() < refused {
        problems.add(
            "fewer audit entries than refused calls",
            format!(
                "{} audit entries for {refused} refused customer-key calls",
                shown.len()
            ),
        );
    }
    let stored = h
        .app
        .store
        .list_audit(AuditQuery {
            from: 0,
            to: i64::MAX,
            limit: 10_000_000,
            ..Default::default()
        })
        .await
        .unwrap();
    if stored.len() != shown.len() {
        problems.add(
            "get_audit_log and the table disagree",
            format!(
                "get_audit_log paged through {} entries, the table holds {}",
                shown.len(),
                stored.len()
            ),
        );
    }
    let mut total = 0usize;
    let mut largest = 0usize;
    for e in &stored {
        let size = e.id.len()
            + 8
            + e.key_id.as_deref().map_or(0, str::len)
            + e.role.len()
            + e.tool.len()
            + e.customer_id.as_deref().map_or(0, str::len)
            + e.arguments.len()
            + e.result.len();
        total += size;
        largest = largest.max(size);
        if size >= AUDIT_ENTRY_MAX {
            problems.add(
                "an audit entry stored at 1 KB or more",
                format!(
                    "a stored audit entry of {size} bytes: {} customer {:?} arguments {}",
                    e.tool,
                    e.customer_id.as_deref().map(|c| cut(c, 80)),
                    cut(&e.arguments, 200)
                ),
            );
        }
    }
    let mean = total / stored.len().max(1);
    if mean >= AUDIT_ENTRY_MAX {
        problems.add(
            "audit entries average 1 KB or more",
            format!("audit entries average {mean} bytes"),
        );
    }
    AuditFigures {
        entries: stored.len(),
        expected: expected.values().sum::<usize>(),
        largest,
        mean,
    }
}
