//! The Stripe tools' use cases: every call a Stripe tool makes goes through here, so a Stripe
//! write is one use case the service sees (the place it is recorded and audited), Stripe's own
//! error becomes a tool error in one place, and a ledger customer's id is resolved to its Stripe
//! customer before Stripe is asked.

mod billing;
mod catalog;
mod checkout;
mod payments;
pub mod sale;

use std::future::Future;

use super::{App, BillingError};
use crate::stripe::{Error as StripeError, Payments};

impl App {
    /// Run one Stripe call with the configured client (`stripe_not_configured` without one).
    async fn on_stripe<'a, T, F, Fut>(&'a self, call: F) -> Result<T, BillingError>
    where
        F: FnOnce(&'a Payments) -> Fut,
        Fut: Future<Output = Result<T, StripeError>>,
    {
        Ok(call(self.stripe()?).await?)
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
