//! Invoices, invoice items and subscriptions at Stripe, for a ledger customer (resolved to its
//! Stripe customer) or a `cus_…` id. Cancelling a subscription cannot be undone, so it needs
//! `confirm: true`.

use crate::service::{App, BillingError};
use crate::stripe::billing::{
    FinalizeInvoice, InvoiceQuery, NewInvoice, NewInvoiceItem, SubscriptionCancel,
    SubscriptionChange, SubscriptionQuery,
};
use crate::stripe::views::{InvoiceItemView, InvoiceView, Page, SubscriptionView};

impl App {
    pub async fn create_invoice(&self, p: NewInvoice) -> Result<InvoiceView, BillingError> {
        self.stripe()?;
        let customer = self.stripe_customer(&p.customer.0).await?;
        let key = p.idempotency_key.clone();
        self.remembered("create_invoice", key.as_ref(), p, |s, p| {
            s.create_invoice(p, customer)
        })
        .await
    }

    pub async fn create_invoice_item(
        &self,
        p: NewInvoiceItem,
    ) -> Result<InvoiceItemView, BillingError> {
        self.stripe()?;
        let customer = self.stripe_customer(&p.customer.0).await?;
        let key = p.idempotency_key.clone();
        self.remembered("create_invoice_item", key.as_ref(), p, |s, p| {
            s.create_invoice_item(p, customer)
        })
        .await
    }

    pub async fn finalize_invoice(&self, f: FinalizeInvoice) -> Result<InvoiceView, BillingError> {
        let key = f.idempotency_key.clone();
        self.remembered("finalize_invoice", key.as_ref(), f, |s, f| {
            s.finalize_invoice(f)
        })
        .await
    }

    pub async fn list_invoices(&self, q: InvoiceQuery) -> Result<Page<InvoiceView>, BillingError> {
        self.stripe()?;
        let customer = self
            .stripe_customer_opt(q.customer.as_ref().map(|c| c.0.as_str()))
            .await?;
        self.on_stripe(|s| s.list_invoices(q, customer)).await
    }

    pub async fn list_subscriptions(
        &self,
        q: SubscriptionQuery,
    ) -> Result<Page<SubscriptionView>, BillingError> {
        self.stripe()?;
        let customer = self
            .stripe_customer_opt(q.customer.as_ref().map(|c| c.0.as_str()))
            .await?;
        self.on_stripe(|s| s.list_subscriptions(q, customer)).await
    }

    pub async fn update_subscription(
        &self,
        mut c: SubscriptionChange,
    ) -> Result<SubscriptionView, BillingError> {
        if let Some(code) = &c.promotion_code {
            c.promotion_code_id = Some(self.promotion_code_by(&code.0).await?.id);
        }
        let key = c.idempotency_key.clone();
        self.remembered("update_subscription", key.as_ref(), c, |s, c| {
            s.update_subscription(c)
        })
        .await
    }

    pub async fn cancel_subscription(
        &self,
        c: SubscriptionCancel,
    ) -> Result<SubscriptionView, BillingError> {
        self.stripe()?;
        if !c.confirm {
            return Err(BillingError::confirmation_required());
        }
        let key = c.idempotency_key.clone();
        self.remembered("cancel_subscription", key.as_ref(), c, |s, c| {
            s.cancel_subscription(c)
        })
        .await
    }
}
