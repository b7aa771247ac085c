//! `list_invoices`: list Stripe invoices (Stripe).

use crate::access::Audience;
use crate::mcp::registry::{BillingTool, Hints, Toolset};
use crate::service::{App, BillingError};
use crate::stripe::billing::InvoiceQuery;
use crate::stripe::views::{InvoiceView, Page};

pub struct Tool;

impl BillingTool for Tool {
    const NAME: &'static str = "list_invoices";
    const TITLE: &'static str = "List Stripe invoices";
    const DESCRIPTION: &'static str = include_str!("../../../tools/list_invoices.md");
    const TOOLSET: Toolset = Toolset::Stripe;
    const HINTS: Hints = Hints::STRIPE_READ;
    const AUDIENCE: Audience = Audience::Admin;
    type Params = InvoiceQuery;
    type Output = Page<InvoiceView>;

    async fn run(app: &App, p: InvoiceQuery) -> Result<Page<InvoiceView>, BillingError> {
        app.list_invoices(p).await
    }
}
