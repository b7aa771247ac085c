//! `list_api_keys`: keys with their role, customer, status and rate limit; never a secret.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::{Audience, Role};
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::keys::{self, KeyFilter, KeyList};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, KeyId, default_limit};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Only keys of this role.
    pub role: Option<Role>,
    /// Only the keys of this customer.
    pub customer: Option<CustomerId>,
    /// Include revoked and expired keys (default false).
    #[serde(default)]
    pub include_inactive: bool,
    /// Keys per page (1–100, default 20).
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// `next_cursor` of the previous page.
    pub starting_after: Option<KeyId>,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "list_api_keys";
    const TITLE: &'static str = "List API keys";
    const DESCRIPTION: &'static str = include_str!("../../../tools/list_api_keys.md");
    const TOOLSET: Toolset = Toolset::Admin;
    const HINTS: Hints = Hints::READ;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = KeyList;

    async fn run(app: &App, p: Params) -> Result<KeyList, BillingError> {
        keys::list(
            app,
            KeyFilter {
                role: p.role,
                customer: p.customer.map(|c| c.0),
                include_inactive: p.include_inactive,
                limit: p.limit,
                starting_after: p.starting_after.map(|k| k.0),
            },
        )
        .await
    }
}
