//! Changing and deleting a customer.
//!
//! `update_customer` changes the ledger first, then sends the same change to the linked Stripe
//! customer. When Stripe fails, the ledger change stays and the error says so; calling again with
//! the same arguments changes nothing more in the ledger and finishes the change at Stripe (the
//! request carries the same idempotency key, so Stripe takes it once).
//!
//! `delete_customer` deletes the linked Stripe customer first (one Stripe no longer has counts as
//! deleted), then erases the ledger customer: name, email and metadata are emptied, the customer
//! is marked deleted, its live holds are released, and the personal fields the audit log kept of
//! its calls are erased. Every money record stays (usage, credits, holds,
//! invoices, audit entries), so every total reads the same. When Stripe fails, nothing in the
//! ledger changed. A deleted customer is refused new usage, holds, credits, keys, plans, changes
//! and Stripe writes (`customer_deleted`), and its id is not made again; its API keys are not
//! revoked (revoke_api_key does that), so a customer key of it still reads what stays.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::{App, BillingError, CustomerView};
use crate::store::{Changed, CustomerChange, CustomerErasure, CustomerRecord, MAX_METADATA};
use crate::stripe::checkout::CUSTOMER_KEY;
use crate::stripe::customers::CustomerFields;
use crate::stripe::tax_ids::{TaxIdInput, TaxIdView};

#[derive(Debug, Clone)]
pub struct UpdateCustomer {
    pub customer: String,
    /// A new name; empty clears it.
    pub name: Option<String>,
    /// A new email; empty clears it.
    pub email: Option<String>,
    /// Keys to set; an empty value removes its key.
    pub metadata: BTreeMap<String, String>,
    /// Tax ids the Stripe customer gets (those it has already are not added again).
    pub tax_ids: Vec<TaxIdInput>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct UpdatedCustomer {
    /// False when the ledger held these values already (nothing in it was changed).
    pub changed: bool,
    /// True when the linked Stripe customer was sent the change; false when the customer has no
    /// Stripe customer or the server no Stripe key.
    pub stripe_updated: bool,
    /// The Stripe customer's tax ids, when the call gave some.
    pub tax_ids: Option<Vec<TaxIdView>>,
    #[serde(flatten)]
    pub customer: CustomerView,
}

/// An empty text clears the field.
fn cleared(value: &Option<String>) -> Option<Option<String>> {
    value.as_ref().map(|v| (!v.is_empty()).then(|| v.clone()))
}

pub async fn update(app: &App, input: UpdateCustomer) -> Result<UpdatedCustomer, BillingError> {
    let fields = input.name.is_some() || input.email.is_some() || !input.metadata.is_empty();
    if !fields && input.tax_ids.is_empty() {
        return Err(BillingError::invalid(
            "nothing to change: give a name, an email, metadata or tax_ids (an empty value clears a field or removes a metadata key)",
        ));
    }
    // Tax ids live at Stripe: refused before anything changes when they cannot go there.
    let stripe_customer = match input.tax_ids.is_empty() {
        true => None,
        false => {
            app.stripe()?;
            let record = app.customer(&input.customer).await?;
            if let Some(at) = record.deleted_at {
                return Err(BillingError::customer_deleted(&record.id, at));
            }
            Some(app.stripe_customer(&input.customer).await?)
        }
    };
    if !fields {
        let record = app.customer(&input.customer).await?;
        return Ok(UpdatedCustomer {
            changed: false,
            stripe_updated: false,
            tax_ids: Some(tax_ids(app, stripe_customer, &input.tax_ids).await?),
            customer: app.view(&record),
        });
    }
    if input.metadata.contains_key(CUSTOMER_KEY) {
        return Err(BillingError::invalid(format!(
            "metadata key `{CUSTOMER_KEY}` is the server's own link between the ledger and Stripe; use another key"
        )));
    }
    let change = CustomerChange {
        customer: input.customer.clone(),
        name: cleared(&input.name),
        email: cleared(&input.email),
        metadata: input.metadata.clone(),
        now: app.now(),
    };
    let (record, changed) = match app.store.change_customer(change).await? {
        Changed::Done { record, changed } => (*record, changed),
        Changed::UnknownCustomer => return Err(BillingError::unknown_customer(&input.customer)),
        Changed::Deleted(record) => {
            return Err(BillingError::customer_deleted(
                &record.id,
                record.deleted_at.unwrap_or(record.updated_at),
            ));
        }
        Changed::TooMuchMetadata(n) => {
            return Err(BillingError::invalid(format!(
                "the customer's metadata would hold {n} keys, more than the {MAX_METADATA} it may keep; remove some (an empty value removes a key)"
            )));
        }
    };
    let stripe_updated = mirror(app, &record, &input).await?;
    let tax_ids = match stripe_customer {
        Some(cus) => Some(tax_ids(app, Some(cus), &input.tax_ids).await?),
        None => None,
    };
    Ok(UpdatedCustomer {
        changed,
        stripe_updated,
        tax_ids,
        customer: app.view(&record),
    })
}

/// The Stripe customer's tax ids with `add` among them.
async fn tax_ids(
    app: &App,
    stripe_customer: Option<String>,
    add: &[TaxIdInput],
) -> Result<Vec<TaxIdView>, BillingError> {
    let Some(cus) = stripe_customer else {
        return Ok(Vec::new());
    };
    Ok(app.stripe()?.add_tax_ids(&cus, add).await?)
}

/// Send the change to the linked Stripe customer, from what the ledger now holds.
async fn mirror(
    app: &App,
    record: &CustomerRecord,
    input: &UpdateCustomer,
) -> Result<bool, BillingError> {
    let (Some(payments), Some(stripe_id)) =
        (app.stripe.as_ref(), record.stripe_customer_id.as_deref())
    else {
        return Ok(false);
    };
    let held = |given: &Option<String>, value: &Option<String>| {
        given.as_ref().map(|_| value.clone().unwrap_or_default())
    };
    let fields = CustomerFields {
        name: held(&input.name, &record.name),
        email: held(&input.email, &record.email),
        metadata: input.metadata.clone(),
    };
    payments
        .update_customer(stripe_id, &fields, record.updated_at)
        .await
        .map_err(|e| {
            let mut e = BillingError::from(e);
            e.message = format!(
                "customer `{}` is changed in the ledger, but its Stripe customer `{stripe_id}` is not yet: {} (calling update_customer again with the same arguments finishes the change at Stripe)",
                record.id, e.message
            );
            e.with("ledger_changed", true)
                .with("stripe_customer_id", stripe_id)
        })?;
    Ok(true)
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DeletedCustomer {
    /// True: the customer is deleted (by this call or an earlier one: the answer is the same).
    pub deleted: bool,
    /// The customer as it stays: no name, email or metadata, with `deleted_at`.
    #[serde(flatten)]
    pub customer: CustomerView,
}

pub async fn delete(
    app: &App,
    customer: &str,
    confirm: bool,
) -> Result<DeletedCustomer, BillingError> {
    let record = app.customer(customer).await?;
    if !confirm {
        return Err(BillingError::confirmation_required());
    }
    // A customer deleted in the ledger was deleted at Stripe first: nothing more to do there.
    if record.deleted_at.is_none()
        && let Some(stripe_id) = record.stripe_customer_id.as_deref()
    {
        let payments = app.stripe().map_err(|mut e| {
            e.message = format!(
                "customer `{customer}` is linked to Stripe customer `{stripe_id}`, which must be deleted with it, and {}; nothing was deleted",
                e.message
            );
            e
        })?;
        payments.delete_customer(stripe_id).await.map_err(|e| {
            let mut e = BillingError::from(e);
            e.message = format!(
                "Stripe customer `{stripe_id}` could not be deleted, so nothing was deleted in the ledger either: {} (calling delete_customer again finishes the deletion)",
                e.message
            );
            e.with("stripe_customer_id", stripe_id)
        })?;
    }
    let erased = app
        .store
        .erase_customer(CustomerErasure {
            customer: customer.to_string(),
            now: app.now(),
        })
        .await?
        .ok_or_else(|| BillingError::unknown_customer(customer))?;
    if erased.erased {
        tracing::info!("customer deleted");
    }
    Ok(DeletedCustomer {
        deleted: true,
        customer: app.view(&erased.record),
    })
}
