//! `get_credit_balance`: a customer's live credit balance, grants and latest ledger entries.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::credits::{self, CreditBalance};
use crate::service::{App, BillingError};
use crate::values::CustomerId;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub customer: CustomerId,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "get_credit_balance";
    const TITLE: &'static str = "Get credit balance";
    const DESCRIPTION: &'static str = include_str!("../../../tools/get_credit_balance.md");
    const TOOLSET: Toolset = Toolset::Credits;
    const HINTS: Hints = Hints::READ;
    const AUDIENCE: Audience = Audience::OwnCustomer;
    type Params = Params;
    type Output = CreditBalance;

    async fn run(app: &App, p: Params) -> Result<CreditBalance, BillingError> {
        credits::balance(app, &p.customer.0).await
    }
}
