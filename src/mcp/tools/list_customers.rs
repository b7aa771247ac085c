//! `list_customers`: customers in id order, a page at a time; deleted ones only when asked for.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::customers::{self, CustomerList};
use crate::service::{App, BillingError};
use crate::values::{CustomerId, default_limit};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Customers per page (1–100, default 20).
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// `next_cursor` of the previous page.
    pub starting_after: Option<CustomerId>,
    /// Also list deleted customers (default false: only live ones).
    #[serde(default)]
    pub include_deleted: bool,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "list_customers";
    const TITLE: &'static str = "List customers";
    const DESCRIPTION: &'static str = include_str!("../../../tools/list_customers.md");
    const TOOLSET: Toolset = Toolset::Customers;
    const HINTS: Hints = Hints::READ;
    const AUDIENCE: Audience = Audience::Service;
    type Params = Params;
    type Output = CustomerList;

    async fn run(app: &App, p: Params) -> Result<CustomerList, BillingError> {
        customers::list(
            app,
            p.limit,
            p.starting_after.as_ref().map(|c| c.0.as_str()),
            p.include_deleted,
        )
        .await
    }
}
