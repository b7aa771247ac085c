//! Stripe customers, created for ledger customers and tagged with the ledger id
//! (`billing_mcp_customer` metadata), so either side finds the other.

use std::collections::HashMap;

use stripe_core::customer::CreateCustomer;

use super::checkout::CUSTOMER_KEY;
use super::views::CustomerView;
use super::{Error, Payments};

impl Payments {
    /// Create the Stripe customer of ledger customer `customer`. The idempotency key is derived
    /// from the ledger id, so a retry (or two racing calls) within Stripe's 24 hours makes one
    /// Stripe customer.
    pub async fn create_customer(
        &self,
        customer: &str,
        name: Option<&str>,
        email: Option<&str>,
        metadata: &std::collections::BTreeMap<String, String>,
    ) -> Result<CustomerView, Error> {
        let mut meta: HashMap<String, String> = metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        meta.insert(CUSTOMER_KEY.into(), customer.into());
        let mut req = CreateCustomer::new().metadata(meta);
        if let Some(n) = name {
            req = req.name(n);
        }
        if let Some(e) = email {
            req = req.email(e);
        }
        let created = self
            .write(
                req,
                &super::idempotency_key("create_customer", Some(customer)),
            )
            .await?;
        Ok(CustomerView::from(&created))
    }
}
