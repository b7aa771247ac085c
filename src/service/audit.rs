//! The audit log: one entry per mutating tool call (and per refused call), with who called, on
//! which customer, the redacted arguments and the outcome; read back newest first. An entry is
//! bounded (well under 1 KB) and always storable: a customer value that is long or holds control
//! characters is kept as its summary ([`crate::core::text::summary`]), the arguments as their
//! bounded redaction, and every other field is the server's own.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::{App, BillingError, PageInfo};
use crate::access::Principal;
use crate::core::period::{parse_rfc3339, rfc3339};
use crate::core::text::summary;
use crate::ids::new_id;
use crate::store::{AuditEntry, AuditQuery};

/// Keep an entry for a call that has finished with `result` (`ok` or an error code);
/// `arguments` are already redacted ([`crate::access::redact`]). A refused call's entry is
/// waited for: when it cannot be stored, the answer is an error (a refused probe is never left
/// unrecorded). A call that ran queues its entry (it commits with the writer's next
/// transaction, and the call has already happened): a storage failure is logged at error level.
pub async fn record(
    app: &App,
    who: &Principal,
    tool: &str,
    customer: Option<String>,
    arguments: String,
    result: &str,
) -> Result<(), BillingError> {
    let entry = AuditEntry {
        id: new_id("aud"),
        at: app.now(),
        key_id: who.key_id.clone(),
        role: who.role.as_str().into(),
        tool: tool.into(),
        customer_id: customer.as_deref().map(summary),
        arguments,
        result: result.into(),
    };
    if result == "ok" {
        if let Err(e) = app.store.append_audit(entry).await {
            tracing::error!(tool, error = %e, "an audit entry could not be queued");
        }
        return Ok(());
    }
    app.store.record_audit(entry).await.map_err(|e| {
        tracing::error!(tool, error = %e, "a refused call's audit entry was not stored");
        BillingError::new(
            "internal_error",
            "the refused call could not be written to the audit log; nothing was done, retry it",
        )
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AuditView {
    pub id: String,
    pub at: String,
    /// The key that called; none for the operator on stdio.
    pub key_id: Option<String>,
    pub role: String,
    pub tool: String,
    pub customer: Option<String>,
    /// The arguments, secrets redacted and long values shortened.
    pub arguments: Value,
    /// `ok`, or the tool error's code (e.g. `forbidden`, `rate_limited`, `quota_exceeded`).
    pub result: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AuditLog {
    pub entries: Vec<AuditView>,
    #[serde(flatten)]
    pub page: PageInfo,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub key_id: Option<String>,
    pub tool: Option<String>,
    pub customer: Option<String>,
    pub result: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub limit: u32,
    pub starting_after: Option<String>,
}

fn time(value: Option<&str>, field: &str, default: i64) -> Result<i64, BillingError> {
    match value {
        None => Ok(default),
        Some(t) => parse_rfc3339(t).ok_or_else(|| {
            BillingError::invalid(format!(
                "`{field}` must be an RFC 3339 time such as 2026-11-01T00:00:00Z"
            ))
        }),
    }
}

pub async fn list(app: &App, f: AuditFilter) -> Result<AuditLog, BillingError> {
    let limit = i64::from(f.limit.clamp(1, 200));
    let mut rows = app
        .store
        .list_audit(AuditQuery {
            from: time(f.since.as_deref(), "since", 0)?,
            to: time(f.until.as_deref(), "until", i64::MAX)?,
            key_id: f.key_id,
            tool: f.tool,
            customer: f.customer,
            result: f.result,
            starting_after: f.starting_after,
            limit: limit + 1,
        })
        .await?;
    let page = PageInfo::cut(&mut rows, limit, |r| r.id.clone());
    Ok(AuditLog {
        entries: rows
            .into_iter()
            .map(|r| AuditView {
                arguments: serde_json::from_str(&r.arguments).unwrap_or(Value::String(r.arguments)),
                id: r.id,
                at: rfc3339(r.at),
                key_id: r.key_id,
                role: r.role,
                tool: r.tool,
                customer: r.customer_id,
                result: r.result,
            })
            .collect(),
        page,
    })
}
