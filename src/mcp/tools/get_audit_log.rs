//! `get_audit_log`: who changed what, newest first.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::audit::{self, AuditFilter, AuditLog};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, KeyId, Name, Token};

fn default_audit_limit() -> u32 {
    50
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Only calls made with this key.
    pub key_id: Option<KeyId>,
    /// Only calls of this tool.
    pub tool: Option<Name>,
    /// Only calls on this customer.
    pub customer: Option<CustomerId>,
    /// Only calls with this outcome: `ok` or an error code such as `forbidden`.
    pub result: Option<Name>,
    /// From this time (RFC 3339, inclusive).
    pub since: Option<Token>,
    /// Until this time (RFC 3339, exclusive).
    pub until: Option<Token>,
    /// Entries per page (1–200, default 50).
    #[serde(default = "default_audit_limit")]
    pub limit: u32,
    /// `next_cursor` of the previous page.
    pub starting_after: Option<Name>,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "get_audit_log";
    const TITLE: &'static str = "Read the audit log";
    const DESCRIPTION: &'static str = include_str!("../../../tools/get_audit_log.md");
    const TOOLSET: Toolset = Toolset::Insights;
    const HINTS: Hints = Hints::READ;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = AuditLog;

    async fn run(app: &App, p: Params) -> Result<AuditLog, BillingError> {
        audit::list(
            app,
            AuditFilter {
                key_id: p.key_id.map(|k| k.0),
                tool: p.tool.map(|t| t.0),
                customer: p.customer.map(|c| c.0),
                result: p.result.map(|r| r.0),
                since: p.since.map(|t| t.0),
                until: p.until.map(|t| t.0),
                limit: p.limit,
                starting_after: p.starting_after.map(|s| s.0),
            },
        )
        .await
    }
}
