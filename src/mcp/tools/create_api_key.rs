//! `create_api_key`: a new key for a role (and, for a `customer` key, its customer); the secret
//! is in the answer once and never again.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::{Audience, Role};
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::keys::{self, IssuedKey, NewKey};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, IdempotencyKey, Text};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// `admin` (everything), `service` (usage, credits, entitlements and customers for any
    /// customer) or `customer` (its own customer only).
    pub role: Role,
    /// Required for a `customer` key: the customer it belongs to. Omit for other roles.
    pub customer: Option<CustomerId>,
    /// A label for lists and the audit log, e.g. "search-mcp production".
    pub name: Option<Text>,
    /// The key's own rate limit in calls per minute (1–1,000,000); default: its role's.
    pub rate_per_minute: Option<u32>,
    /// Calls allowed at once (default: one minute's worth); needs `rate_per_minute`.
    pub burst: Option<u32>,
    /// A retry with the same key makes no second key (and cannot show the secret again).
    pub idempotency_key: Option<IdempotencyKey>,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "create_api_key";
    const TITLE: &'static str = "Create an API key";
    const DESCRIPTION: &'static str = include_str!("../../../tools/create_api_key.md");
    const TOOLSET: Toolset = Toolset::Admin;
    const HINTS: Hints = Hints::WRITE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = IssuedKey;

    async fn run(app: &App, p: Params) -> Result<IssuedKey, BillingError> {
        keys::create(
            app,
            NewKey {
                role: p.role,
                customer: p.customer.map(|c| c.0),
                name: p.name.map(|n| n.0),
                rate_per_minute: p.rate_per_minute,
                burst: p.burst,
                idempotency_key: p.idempotency_key.map(|k| k.0),
            },
        )
        .await
    }
}
