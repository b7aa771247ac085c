//! `create_customer`: add a customer to the ledger (idempotent by customer id).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::customers::{self, CreateCustomer, CreatedCustomer};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, Name, StringMap, Text, Token};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Your own id for the customer (tenant, organization or user), e.g. `acme`.
    pub customer: CustomerId,
    pub name: Option<Text>,
    pub email: Option<Text>,
    /// A catalog plan (default: the catalog's default plan).
    pub plan: Option<Name>,
    /// `month` (default) or `year`.
    pub interval: Option<Token>,
    /// Up to 16 string pairs kept with the customer.
    #[serde(default)]
    pub metadata: StringMap,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "create_customer";
    const TITLE: &'static str = "Create a customer";
    const DESCRIPTION: &'static str = include_str!("../../../tools/create_customer.md");
    const TOOLSET: Toolset = Toolset::Customers;
    const HINTS: Hints = Hints::WRITE;
    const AUDIENCE: Audience = Audience::Service;
    type Params = Params;
    type Output = CreatedCustomer;

    async fn run(app: &App, p: Params) -> Result<CreatedCustomer, BillingError> {
        customers::create(
            app,
            CreateCustomer {
                customer: p.customer.0,
                name: p.name.map(|t| t.0),
                email: p.email.map(|t| t.0),
                plan: p.plan.map(|t| t.0),
                interval: p.interval.map(|t| t.0),
                metadata: p.metadata.0,
            },
        )
        .await
    }
}
