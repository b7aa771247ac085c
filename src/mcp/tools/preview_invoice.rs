//! `preview_invoice`: the upcoming invoice computed from the ledger.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::invoice::{self, InvoicePreviewView};
use crate::service::{App, BillingError};
use crate::values::CustomerId;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub customer: CustomerId,
}

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "preview_invoice";
    const TITLE: &'static str = "Preview the upcoming invoice";
    const DESCRIPTION: &'static str = include_str!("../../../tools/preview_invoice.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::READ;
    const AUDIENCE: Audience = Audience::OwnCustomer;
    type Params = Params;
    type Output = InvoicePreviewView;

    async fn run(app: &App, p: Params) -> Result<InvoicePreviewView, BillingError> {
        let record = app.customer(&p.customer.0).await?;
        invoice::preview(app, &record).await
    }
}
