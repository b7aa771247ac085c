//! `get_customer`: one customer as the ledger holds it.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError, CustomerView};
use crate::values::CustomerId;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub customer: CustomerId,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "get_customer";
    const TITLE: &'static str = "Get a customer";
    const DESCRIPTION: &'static str = include_str!("../../../tools/get_customer.md");
    const TOOLSET: Toolset = Toolset::Customers;
    const HINTS: Hints = Hints::READ;
    const AUDIENCE: Audience = Audience::OwnCustomer;
    type Params = Params;
    type Output = CustomerView;

    async fn run(app: &App, p: Params) -> Result<CustomerView, BillingError> {
        Ok(app.view(&app.customer(&p.customer.0).await?))
    }
}
