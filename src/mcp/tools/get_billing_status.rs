//! `get_billing_status`: plan, subscription status, delinquency, what is owed, payment method,
//! period, next invoice, credits.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::customers::{self, BillingStatus};
use crate::service::{App, BillingError};
use crate::values::CustomerId;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub customer: CustomerId,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "get_billing_status";
    const TITLE: &'static str = "Get billing status";
    const DESCRIPTION: &'static str = include_str!("../../../tools/get_billing_status.md");
    const TOOLSET: Toolset = Toolset::Customers;
    const HINTS: Hints = Hints::READ;
    const AUDIENCE: Audience = Audience::OwnCustomer;
    type Params = Params;
    type Output = BillingStatus;

    async fn run(app: &App, p: Params) -> Result<BillingStatus, BillingError> {
        customers::billing_status(app, &p.customer.0).await
    }
}
