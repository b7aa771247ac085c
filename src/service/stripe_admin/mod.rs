//! The Stripe tools' use cases: every call a Stripe tool makes goes through here, so a Stripe
//! write is one use case the service sees (a write with the caller's idempotency key is recorded
//! in the ledger and replayed from it), Stripe's own error becomes a tool error, and a ledger
//! customer's id is resolved to its Stripe customer before Stripe is asked.

mod billing;
mod catalog;
mod checkout;
pub mod discounts;
mod payment_methods;
mod payments;
pub mod plan_moves;
pub mod sale;
mod subscriptions;

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::{App, BillingError};
use crate::core::period::rfc3339;
use crate::store::StripeWrite;
use crate::stripe::{Error as StripeError, Payments};
use crate::values::IdempotencyKey;

impl App {
    /// Run one Stripe call with the configured client (`stripe_not_configured` without one).
    async fn on_stripe<'a, T, F, Fut>(&'a self, call: F) -> Result<T, BillingError>
    where
        F: FnOnce(&'a Payments) -> Fut,
        Fut: Future<Output = Result<T, StripeError>>,
    {
        Ok(call(self.stripe()?).await?)
    }

    /// A Stripe write under the caller's `idempotency_key`, kept in the ledger: the same request
    /// again answers with the first result without asking Stripe (which forgets its keys after
    /// 24 hours), and the same key with other arguments is refused. Without a key, the write is
    /// made as it is (the client still retries it under one key of its own).
    async fn remembered<'a, Req, T, F, Fut>(
        &'a self,
        tool: &'static str,
        key: Option<&IdempotencyKey>,
        request: Req,
        call: F,
    ) -> Result<T, BillingError>
    where
        Req: Serialize,
        T: Serialize + DeserializeOwned,
        F: FnOnce(&'a Payments, Req) -> Fut,
        Fut: Future<Output = Result<T, StripeError>>,
    {
        let stripe = self.stripe()?;
        let Some(key) = key.map(|k| k.0.clone()) else {
            return Ok(call(stripe, request).await?);
        };
        let digest = digest(&request)?;
        if let Some(first) = self.store.get_stripe_write(tool, &key).await? {
            return replay(&first, &digest);
        }
        let result = call(stripe, request).await?;
        let answer = serde_json::to_value(&result).map_err(unreadable)?;
        let record = StripeWrite {
            tool: tool.to_string(),
            idempotency_key: key,
            request_digest: digest.clone(),
            object_id: answer.get("id").and_then(|v| v.as_str()).map(String::from),
            result: answer.to_string(),
            created_at: self.now(),
        };
        let stands = self.store.record_stripe_write(record).await?;
        if stands.request_digest != digest {
            // Another call with this key and other arguments was recorded first.
            return replay(&stands, &digest);
        }
        Ok(result)
    }

    /// The Stripe id of `customer` for a write: a live ledger customer's link, or a `cus_…` id
    /// used as is.
    pub async fn stripe_customer(&self, customer: &str) -> Result<String, BillingError> {
        self.resolve_customer(customer).await.map(|(id, _)| id)
    }

    /// The Stripe id of `customer` for a write, and whether it is a ledger customer (one read).
    /// A deleted ledger customer is refused (`customer_deleted`).
    pub async fn resolve_customer(&self, customer: &str) -> Result<(String, bool), BillingError> {
        self.linked_customer(customer, false).await
    }

    /// The Stripe id of `customer`, and whether it is a ledger customer; a deleted ledger
    /// customer's link too when `deleted` (reads of what it was billed).
    async fn linked_customer(
        &self,
        customer: &str,
        deleted: bool,
    ) -> Result<(String, bool), BillingError> {
        match self.store.get_customer(customer).await? {
            Some(record) if record.deleted_at.is_some() && !deleted => Err(
                BillingError::customer_deleted(customer, record.deleted_at.unwrap_or(0)),
            ),
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

    /// The Stripe id of a list's optional customer filter (a deleted customer's too: what it was
    /// billed stays readable).
    pub async fn stripe_customer_opt(
        &self,
        customer: Option<&str>,
    ) -> Result<Option<String>, BillingError> {
        match customer {
            Some(c) => self.linked_customer(c, true).await.map(|(id, _)| Some(id)),
            None => Ok(None),
        }
    }
}

/// Hex SHA-256 of a request's arguments as the tool read them.
fn digest(request: &impl Serialize) -> Result<String, BillingError> {
    let bytes = serde_json::to_vec(request).map_err(unreadable)?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// The first answer to a request made again with its key, or the refusal of other arguments.
fn replay<T: DeserializeOwned>(first: &StripeWrite, digest: &str) -> Result<T, BillingError> {
    if first.request_digest != digest {
        return Err(BillingError::new(
            "idempotency_key_reused",
            format!(
                "idempotency_key `{}` was used for another {} request at {}; use a new key for a new request, or repeat the first request's arguments to get its result",
                first.idempotency_key,
                first.tool,
                rfc3339(first.created_at)
            ),
        )
        .with("idempotency_key", first.idempotency_key.clone())
        .with("first_object_id", first.object_id.clone()));
    }
    serde_json::from_str(&first.result).map_err(unreadable)
}

fn unreadable(e: serde_json::Error) -> BillingError {
    tracing::error!(error = %e, "a Stripe write record could not be read or written");
    BillingError::new(
        "internal_error",
        "the ledger's record of this Stripe write could not be read; retry the call, or check the Stripe dashboard",
    )
}
