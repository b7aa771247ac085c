//! `create_invoice_item`: add an invoice item (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::billing::NewInvoiceItem;
use crate::stripe::views::InvoiceItemView;

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "create_invoice_item";
    const TITLE: &'static str = "Add an invoice item";
    const DESCRIPTION: &'static str = include_str!("../../../tools/create_invoice_item.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_CREATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = NewInvoiceItem;
    type Output = InvoiceItemView;

    async fn run(app: &App, p: NewInvoiceItem) -> Result<InvoiceItemView, BillingError> {
        app.create_invoice_item(p).await
    }
}
