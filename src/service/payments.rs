//! What the Stripe tools need from the ledger: whether Stripe is configured, and which Stripe
//! customer a ledger customer is (tools accept the operator's own id or a `cus_…` id).

use super::{App, BillingError};
use crate::stripe::Payments;

impl App {
    /// The Stripe client, or the error every Stripe tool gives without a key.
    pub fn stripe(&self) -> Result<&Payments, BillingError> {
        self.stripe.as_ref().ok_or_else(|| {
            BillingError::new(
                "stripe_not_configured",
                "Stripe is not configured: set STRIPE_SECRET_KEY (a sk_test_… or rk_test_… key) and restart the server; the ledger tools work without it",
            )
        })
    }

    /// The Stripe id of `customer`: a ledger customer's link, or a `cus_…` id used as is.
    pub async fn stripe_customer(&self, customer: &str) -> Result<String, BillingError> {
        self.resolve_customer(customer).await.map(|(id, _)| id)
    }

    /// The Stripe id of `customer`, and whether it is a ledger customer (one read).
    pub async fn resolve_customer(&self, customer: &str) -> Result<(String, bool), BillingError> {
        match self.store.get_customer(customer).await? {
            Some(record) => record.stripe_customer_id.map(|id| (id, true)).ok_or_else(|| {
                BillingError::new(
                    "customer_not_linked",
                    format!(
                        "customer `{customer}` has no Stripe customer yet; call create_customer with the same id to create and link one"
                    ),
                )
                .with("customer", customer)
            }),
            None if customer.starts_with("cus_") => Ok((customer.to_string(), false)),
            None => Err(BillingError::unknown_customer(customer)),
        }
    }

    /// [`stripe_customer`](App::stripe_customer) for an optional filter.
    pub async fn stripe_customer_opt(
        &self,
        customer: Option<&str>,
    ) -> Result<Option<String>, BillingError> {
        match customer {
            Some(c) => self.stripe_customer(c).await.map(Some),
            None => Ok(None),
        }
    }
}
