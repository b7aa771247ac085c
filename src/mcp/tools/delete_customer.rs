//! `delete_customer`: delete a customer's Stripe customer and erase its personal fields from the
//! ledger, keeping every money record (confirmed by the user, or `confirm: true`).

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::customer_changes::{self, DeletedCustomer};
use crate::service::{App, BillingError};
use crate::values::CustomerId;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The ledger customer to delete.
    pub customer: CustomerId,
    /// Required as true when the client cannot ask the user to confirm.
    #[serde(default)]
    pub confirm: bool,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "delete_customer";
    const TITLE: &'static str = "Delete a customer";
    const DESCRIPTION: &'static str = include_str!("../../../tools/delete_customer.md");
    const TOOLSET: Toolset = Toolset::Customers;
    const HINTS: Hints = Hints::STRIPE_DESTRUCTIVE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = DeletedCustomer;

    async fn run(app: &App, p: Params) -> Result<DeletedCustomer, BillingError> {
        customer_changes::delete(app, &p.customer.0, p.confirm).await
    }
}
