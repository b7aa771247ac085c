//! `create_invoice`: create an invoice (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::billing::NewInvoice;
use crate::stripe::views::InvoiceView;

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "create_invoice";
    const TITLE: &'static str = "Create an invoice";
    const DESCRIPTION: &'static str = include_str!("../../../tools/create_invoice.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_CREATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = NewInvoice;
    type Output = InvoiceView;

    async fn run(app: &App, p: NewInvoice) -> Result<InvoiceView, BillingError> {
        app.create_invoice(p).await
    }
}
