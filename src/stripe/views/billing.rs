//! Invoices, invoice items and subscriptions (with their items).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::{id, invoice_id, money, opt_id, sorted, time};
use crate::values::Money;

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct InvoiceView {
    pub id: Option<String>,
    pub number: Option<String>,
    pub customer: Option<String>,
    /// draft, open, paid, uncollectible or void.
    pub status: Option<String>,
    pub total: Money,
    pub amount_due: Money,
    pub amount_paid: Money,
    pub amount_remaining: Money,
    /// charge_automatically or send_invoice.
    pub collection_method: String,
    pub due_date: Option<String>,
    /// The page the customer pays on (after finalizing).
    pub hosted_invoice_url: Option<String>,
    pub invoice_pdf: Option<String>,
    pub lines: usize,
    pub created: String,
}

impl From<&stripe_shared::Invoice> for InvoiceView {
    fn from(i: &stripe_shared::Invoice) -> Self {
        InvoiceView {
            id: i.id.as_ref().map(|x| x.to_string()),
            number: i.number.clone(),
            customer: opt_id(i.customer.as_ref()),
            status: i.status.as_ref().map(|s| s.as_str().into()),
            total: money(i.total, &i.currency),
            amount_due: money(i.amount_due, &i.currency),
            amount_paid: money(i.amount_paid, &i.currency),
            amount_remaining: money(i.amount_remaining, &i.currency),
            collection_method: i.collection_method.as_str().into(),
            due_date: i.due_date.map(time),
            hosted_invoice_url: i.hosted_invoice_url.clone(),
            invoice_pdf: i.invoice_pdf.clone(),
            lines: i.lines.data.len(),
            created: time(i.created),
        }
    }
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct InvoiceItemView {
    pub id: String,
    pub customer: String,
    /// The draft invoice it is on; none means the customer's next invoice.
    pub invoice: Option<String>,
    pub amount: Money,
    pub quantity: u64,
    pub description: Option<String>,
}

impl From<&stripe_billing::InvoiceItem> for InvoiceItemView {
    fn from(i: &stripe_billing::InvoiceItem) -> Self {
        InvoiceItemView {
            id: i.id.to_string(),
            customer: id(&i.customer),
            invoice: invoice_id(i.invoice.as_ref()),
            amount: money(i.amount, &i.currency),
            quantity: i.quantity,
            description: i.description.clone(),
        }
    }
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct SubscriptionItemView {
    pub id: String,
    pub price: String,
    pub product: String,
    pub quantity: Option<u64>,
    pub unit_amount: Option<i64>,
    pub interval: Option<String>,
    pub current_period_start: String,
    pub current_period_end: String,
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct SubscriptionView {
    pub id: String,
    pub customer: String,
    /// active, trialing, past_due, canceled, unpaid, incomplete, paused, …
    pub status: String,
    pub currency: String,
    pub items: Vec<SubscriptionItemView>,
    pub cancel_at_period_end: bool,
    pub cancel_at: Option<String>,
    pub canceled_at: Option<String>,
    pub trial_end: Option<String>,
    pub start_date: String,
    pub latest_invoice: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

impl From<&stripe_shared::Subscription> for SubscriptionView {
    fn from(s: &stripe_shared::Subscription) -> Self {
        SubscriptionView {
            id: s.id.to_string(),
            customer: id(&s.customer),
            status: s.status.as_str().into(),
            currency: s.currency.to_string(),
            items: s
                .items
                .data
                .iter()
                .map(|i| SubscriptionItemView {
                    id: i.id.to_string(),
                    price: i.price.id.to_string(),
                    product: id(&i.price.product),
                    quantity: i.quantity,
                    unit_amount: i.price.unit_amount,
                    interval: i
                        .price
                        .recurring
                        .as_ref()
                        .map(|r| r.interval.as_str().into()),
                    current_period_start: time(i.current_period_start),
                    current_period_end: time(i.current_period_end),
                    metadata: sorted(&i.metadata),
                })
                .collect(),
            cancel_at_period_end: s.cancel_at_period_end,
            cancel_at: s.cancel_at.map(time),
            canceled_at: s.canceled_at.map(time),
            trial_end: s.trial_end.map(time),
            start_date: time(s.start_date),
            latest_invoice: invoice_id(s.latest_invoice.as_ref()),
            metadata: sorted(&s.metadata),
        }
    }
}
