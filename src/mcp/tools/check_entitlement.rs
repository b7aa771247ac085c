//! `check_entitlement`: may this customer use this feature now; with `consume`, atomically
//! record the usage and burn the credits when allowed.

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::entitlements::{self, CheckInput, EntitlementView};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, Dimensions, IdempotencyKey, Name, default_quantity};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub customer: CustomerId,
    /// A catalog feature (or meter), e.g. `tool_calls` or `premium_tools`.
    pub feature: Name,
    /// Units asked for (integer, 0 to 10^12, default 1).
    #[serde(default = "default_quantity")]
    #[schemars(range(max = 1_000_000_000_000u64))]
    pub quantity: u64,
    /// Record the usage (and burn credits) when allowed, atomically with the check.
    #[serde(default)]
    pub consume: bool,
    /// The tool being called, for per-tool prices and credit costs (also stored as dimension `tool`).
    pub tool: Option<Name>,
    /// Extra dimensions for the recorded usage.
    #[serde(default)]
    pub dimensions: Dimensions,
    /// With consume or hold: a retry with the same key consumes (or holds) nothing again.
    pub idempotency_key: Option<IdempotencyKey>,
    /// Reserve the units (and credits) for a call about to run instead of consuming them: the
    /// answer's `hold.hold_id` is then settled (`settle_hold`) or released (`release_hold`).
    #[serde(default)]
    pub hold: bool,
    /// With hold: seconds until an unsettled hold expires and counts no more (default 300, at
    /// most 86400).
    #[schemars(range(min = 1, max = 86_400))]
    pub hold_ttl_seconds: Option<u64>,
    /// Answer with what a gate acts on only, as structured content without a text copy: the
    /// decision, `limit`, `remaining`, `resets_at`, credits burned, what was consumed or held,
    /// `upgrade` as in the full answer, and the `message` only when refused. For servers calling
    /// on every tool call.
    #[serde(default)]
    pub compact: bool,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "check_entitlement";
    const TITLE: &'static str = "Check (and consume) an entitlement";
    const DESCRIPTION: &'static str = include_str!("../../../tools/check_entitlement.md");
    const TOOLSET: Toolset = Toolset::Usage;
    const HINTS: Hints = Hints::WRITE;
    const AUDIENCE: Audience = Audience::OwnCustomer;
    type Params = Params;
    type Output = EntitlementView;

    async fn run(app: &App, p: Params) -> Result<EntitlementView, BillingError> {
        if p.hold && p.consume {
            return Err(BillingError::invalid(
                "give hold or consume, not both: hold reserves now and settle_hold consumes later",
            ));
        }
        if !p.hold && p.hold_ttl_seconds.is_some() {
            return Err(BillingError::invalid(
                "hold_ttl_seconds goes with hold: true",
            ));
        }
        entitlements::check(
            app,
            CheckInput {
                customer: p.customer.0,
                feature: p.feature.0,
                quantity: p.quantity,
                consume: p.consume,
                tool: p.tool.map(|t| t.0),
                dimensions: p.dimensions.0,
                idempotency_key: p.idempotency_key.map(|k| k.0),
                hold_ttl_ms: p.hold.then(|| {
                    p.hold_ttl_seconds
                        .map_or(entitlements::DEFAULT_HOLD_TTL_MS, |s| {
                            i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX)
                        })
                }),
                compact: p.compact,
            },
        )
        .await
    }

    /// Only a consuming check, or a hold, records anything.
    fn mutates(args: &JsonObject) -> bool {
        let yes = Some(&serde_json::Value::Bool(true));
        args.get("consume") == yes || args.get("hold") == yes
    }

    /// A compact answer is structured content alone.
    fn with_text(args: &JsonObject) -> bool {
        args.get("compact") != Some(&serde_json::Value::Bool(true))
    }
}
