//! `update_customer`: change a customer's name, email or metadata, in the ledger and at Stripe,
//! and add tax ids to its Stripe customer.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::customer_changes::{self, UpdateCustomer, UpdatedCustomer};
use crate::service::{App, BillingError};
use crate::stripe::tax_ids::TaxIdInput;
use crate::values::{CustomerId, StringMap, Text};

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The ledger customer to change.
    pub customer: CustomerId,
    /// A new name; an empty string clears it.
    pub name: Option<Text>,
    /// A new email; an empty string clears it.
    pub email: Option<Text>,
    /// Keys to set, merged into the customer's metadata; an empty value removes its key.
    #[serde(default)]
    pub metadata: StringMap,
    /// Tax ids to add to the linked Stripe customer, e.g. `{"type": "eu_vat", "value":
    /// "DE123456789"}` (at most 5 per call).
    #[serde(default)]
    #[schemars(length(max = 5))]
    pub tax_ids: Vec<TaxIdInput>,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "update_customer";
    const TITLE: &'static str = "Update a customer";
    const DESCRIPTION: &'static str = include_str!("../../../tools/update_customer.md");
    const TOOLSET: Toolset = Toolset::Customers;
    const HINTS: Hints = Hints::STRIPE_UPDATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = Params;
    type Output = UpdatedCustomer;

    async fn run(app: &App, p: Params) -> Result<UpdatedCustomer, BillingError> {
        customer_changes::update(
            app,
            UpdateCustomer {
                customer: p.customer.0,
                name: p.name.map(|t| t.0),
                email: p.email.map(|t| t.0),
                metadata: p.metadata.0,
                tax_ids: p.tax_ids,
            },
        )
        .await
    }
}
