//! Payment methods for a customer: a setup intent to collect one with Stripe.js, and the ones on
//! file with the default. The ledger learns of a method through the webhooks
//! (`setup_intent.succeeded`, `payment_method.attached`, `customer.updated`), which set the
//! customer's `payment_method_configured`.

use crate::service::{App, BillingError};
use crate::stripe::payment_methods::{
    NewSetupIntent, PaymentMethodList, PaymentMethodQuery, SetupIntentView,
};

impl App {
    pub async fn create_setup_intent(
        &self,
        p: NewSetupIntent,
    ) -> Result<SetupIntentView, BillingError> {
        self.stripe()?;
        let (stripe_customer, in_ledger) = self.resolve_customer(&p.customer.0).await?;
        let ledger = in_ledger.then(|| p.customer.0.clone());
        let key = p.idempotency_key.clone();
        self.remembered(
            "create_setup_intent",
            key.as_ref(),
            p,
            move |s, p| async move {
                s.create_setup_intent(&p, stripe_customer, ledger.as_deref())
                    .await
            },
        )
        .await
    }

    pub async fn list_payment_methods(
        &self,
        q: PaymentMethodQuery,
    ) -> Result<PaymentMethodList, BillingError> {
        self.stripe()?;
        let customer = self.stripe_customer(&q.customer.0).await?;
        self.on_stripe(|s| s.list_payment_methods(&q, customer))
            .await
    }
}
