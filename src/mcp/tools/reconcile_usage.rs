//! `reconcile_usage`: a customer's usage and invoices in the ledger against what Stripe holds,
//! each difference named (admin keys; needs Stripe).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::reconcile::{self, Reconciliation};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, Token};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The ledger customer (linked to a Stripe customer).
    pub customer: CustomerId,
    /// Start of the range (RFC 3339); default: the current billing period's start.
    pub from: Option<Token>,
    /// End of the range, exclusive (RFC 3339); default: the current billing period's end.
    pub to: Option<Token>,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "reconcile_usage";
    const TITLE: &'static str = "Reconcile usage with Stripe";
    const DESCRIPTION: &'static str = include_str!("../../../tools/reconcile_usage.md");
    const TOOLSET: Toolset = Toolset::Insights;
    const HINTS: Hints = Hints::STRIPE_READ;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = Reconciliation;

    async fn run(app: &App, p: Params) -> Result<Reconciliation, BillingError> {
        reconcile::reconcile(
            app,
            &p.customer.0,
            p.from.as_ref().map(|t| t.0.as_str()),
            p.to.as_ref().map(|t| t.0.as_str()),
        )
        .await
    }
}
