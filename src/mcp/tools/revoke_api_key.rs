//! `revoke_api_key`: the key fails on its next call.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::keys::{self, KeyView};
use crate::service::{App, BillingError};
use crate::values::KeyId;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The key to revoke, as list_api_keys shows it.
    pub key_id: KeyId,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "revoke_api_key";
    const TITLE: &'static str = "Revoke an API key";
    const DESCRIPTION: &'static str = include_str!("../../../tools/revoke_api_key.md");
    const TOOLSET: Toolset = Toolset::Admin;
    const HINTS: Hints = Hints {
        read_only: false,
        destructive: true,
        idempotent: true,
        open_world: false,
    };
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = KeyView;

    async fn run(app: &App, p: Params) -> Result<KeyView, BillingError> {
        keys::revoke(app, &p.key_id.0).await
    }
}
