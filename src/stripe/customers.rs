//! Stripe customers, created for ledger customers and tagged with the ledger id
//! (`billing_mcp_customer` metadata), so either side finds the other; changed when the ledger
//! customer's name, email or metadata change, and deleted with it.

use std::collections::{BTreeMap, HashMap};

use sha2::Digest;
use stripe_core::customer::{CreateCustomer, DeleteCustomer, UpdateCustomer};

use super::checkout::CUSTOMER_KEY;
use super::views::CustomerView;
use super::{Error, ErrorKind, Payments};

/// What to change on a Stripe customer: a name or email to set (an empty one clears it at
/// Stripe) and metadata keys to set (an empty value removes its key, as Stripe reads it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerFields {
    pub name: Option<String>,
    pub email: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

impl Payments {
    /// Create the Stripe customer of ledger customer `customer`. The idempotency key is derived
    /// from the ledger id, so a retry (or two racing calls) within Stripe's 24 hours makes one
    /// Stripe customer.
    pub async fn create_customer(
        &self,
        customer: &str,
        name: Option<&str>,
        email: Option<&str>,
        metadata: &BTreeMap<String, String>,
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

    /// Send `fields` to Stripe customer `stripe_id`. `version` names the ledger state they come
    /// from (its last change): the idempotency key is derived from it and the fields, so a retry
    /// of one change is taken once, while a later change back to earlier values is sent anew.
    pub async fn update_customer(
        &self,
        stripe_id: &str,
        fields: &CustomerFields,
        version: i64,
    ) -> Result<CustomerView, Error> {
        let mut req = UpdateCustomer::new(stripe_id);
        if let Some(n) = &fields.name {
            req = req.name(n);
        }
        if let Some(e) = &fields.email {
            req = req.email(e);
        }
        if !fields.metadata.is_empty() {
            let meta: HashMap<String, String> = fields
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            req = req.metadata(meta);
        }
        let mut digest = sha2::Sha256::new();
        for part in [fields.name.as_deref(), fields.email.as_deref()] {
            digest.update(format!("{part:?}\n"));
        }
        for (k, v) in &fields.metadata {
            digest.update(format!("{k:?}={v:?}\n"));
        }
        let state = format!("{stripe_id}:{version}:{}", hex::encode(digest.finalize()));
        let updated = self
            .write(
                req,
                &super::idempotency_key("update_customer", Some(&state)),
            )
            .await?;
        Ok(CustomerView::from(&updated))
    }

    /// Delete Stripe customer `stripe_id`: true when this call deleted it, false when Stripe
    /// had no such customer any more (deleted before: Stripe answers 404 `resource_missing`).
    pub async fn delete_customer(&self, stripe_id: &str) -> Result<bool, Error> {
        let key = super::idempotency_key("delete_customer", Some(stripe_id));
        match self.write(DeleteCustomer::new(stripe_id), &key).await {
            Ok(_) => Ok(true),
            Err(Error {
                kind: ErrorKind::Refused(r),
                ..
            }) if r.status == 404 && r.code.as_deref() == Some("resource_missing") => Ok(false),
            Err(e) => Err(e),
        }
    }
}
