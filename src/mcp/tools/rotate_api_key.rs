//! `rotate_api_key`: a new secret for a key's role and customer; the old one keeps working for a
//! grace period, then fails.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::keys::{self, IssuedKey};
use crate::service::{App, BillingError};
use crate::values::{IdempotencyKey, KeyId};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The key to replace, as list_api_keys shows it.
    pub key_id: KeyId,
    /// How long the old secret keeps working, in seconds (0 to 2,592,000; default 86,400).
    pub grace_period_seconds: Option<u64>,
    /// A retry with the same key makes no second replacement.
    pub idempotency_key: Option<IdempotencyKey>,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "rotate_api_key";
    const TITLE: &'static str = "Rotate an API key";
    const DESCRIPTION: &'static str = include_str!("../../../tools/rotate_api_key.md");
    const TOOLSET: Toolset = Toolset::Admin;
    const HINTS: Hints = Hints {
        read_only: false,
        destructive: true,
        idempotent: false,
        open_world: false,
    };
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = IssuedKey;

    async fn run(app: &App, p: Params) -> Result<IssuedKey, BillingError> {
        keys::rotate(
            app,
            &p.key_id.0,
            p.grace_period_seconds,
            p.idempotency_key.map(|k| k.0),
        )
        .await
    }
}
