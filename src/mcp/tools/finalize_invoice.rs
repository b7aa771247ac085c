//! `finalize_invoice`: finalize an invoice (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::billing::FinalizeInvoice;
use crate::stripe::views::InvoiceView;

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "finalize_invoice";
    const TITLE: &'static str = "Finalize an invoice";
    const DESCRIPTION: &'static str = include_str!("../../../tools/finalize_invoice.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_UPDATE;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = FinalizeInvoice;
    type Output = InvoiceView;

    async fn run(app: &App, p: FinalizeInvoice) -> Result<InvoiceView, BillingError> {
        app.finalize_invoice(p).await
    }
}
