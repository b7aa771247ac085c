//! Balance, refunds, payment intents and disputes at Stripe. A refund moves money back and
//! cannot be undone, so it needs `confirm: true`.

use crate::service::{App, BillingError};
use crate::stripe::payments::{DisputeChange, DisputeQuery, NewRefund, PaymentIntentQuery};
use crate::stripe::views::{BalanceView, DisputeView, Page, PaymentIntentView, RefundView};

impl App {
    pub async fn retrieve_balance(&self) -> Result<BalanceView, BillingError> {
        self.on_stripe(|s| s.retrieve_balance()).await
    }

    pub async fn create_refund(&self, r: NewRefund) -> Result<RefundView, BillingError> {
        self.stripe()?;
        if !r.confirm {
            return Err(BillingError::confirmation_required());
        }
        let key = r.idempotency_key.clone();
        self.remembered("create_refund", Some(&key), r, |s, r| s.create_refund(r))
            .await
    }

    pub async fn list_payment_intents(
        &self,
        q: PaymentIntentQuery,
    ) -> Result<Page<PaymentIntentView>, BillingError> {
        self.stripe()?;
        let customer = self
            .stripe_customer_opt(q.customer.as_ref().map(|c| c.0.as_str()))
            .await?;
        self.on_stripe(|s| s.list_payment_intents(q, customer))
            .await
    }

    pub async fn list_disputes(&self, q: DisputeQuery) -> Result<Page<DisputeView>, BillingError> {
        self.on_stripe(|s| s.list_disputes(q)).await
    }

    pub async fn update_dispute(&self, d: DisputeChange) -> Result<DisputeView, BillingError> {
        let key = d.idempotency_key.clone();
        self.remembered("update_dispute", key.as_ref(), d, |s, d| {
            s.update_dispute(d)
        })
        .await
    }
}
