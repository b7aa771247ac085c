//! Customers, payment links, Checkout Sessions and billing portal sessions.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::{money, opt_id, sorted, time};
use crate::values::Money;

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct PaymentLinkView {
    pub id: String,
    /// The page to send the customer to.
    pub url: String,
    pub active: bool,
    pub currency: String,
    pub metadata: BTreeMap<String, String>,
    /// Days of free trial the subscription it starts begins with (a catalog plan's trial).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial_days: Option<u32>,
    /// What the link leaves out, when it sells a plan with usage prices, and why a plan's trial
    /// is not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl From<&stripe_shared::PaymentLink> for PaymentLinkView {
    fn from(l: &stripe_shared::PaymentLink) -> Self {
        PaymentLinkView {
            id: l.id.to_string(),
            url: l.url.clone(),
            active: l.active,
            currency: l.currency.to_string(),
            metadata: sorted(&l.metadata),
            trial_days: None,
            note: None,
        }
    }
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct CheckoutSessionView {
    pub id: String,
    /// The hosted checkout page.
    pub url: Option<String>,
    /// payment, subscription or setup.
    pub mode: String,
    /// open, complete or expired.
    pub status: Option<String>,
    pub payment_status: String,
    pub customer: Option<String>,
    pub amount_total: Option<Money>,
    pub expires_at: String,
    pub metadata: BTreeMap<String, String>,
    /// Days of free trial the subscription begins with (a catalog plan's trial).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trial_days: Option<u32>,
    /// Why a plan's trial is shorter or not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl From<&stripe_shared::CheckoutSession> for CheckoutSessionView {
    fn from(s: &stripe_shared::CheckoutSession) -> Self {
        CheckoutSessionView {
            id: s.id.to_string(),
            url: s.url.clone(),
            mode: s.mode.as_str().into(),
            status: s.status.as_ref().map(|x| x.as_str().into()),
            payment_status: s.payment_status.as_str().into(),
            customer: opt_id(s.customer.as_ref()),
            amount_total: s
                .amount_total
                .zip(s.currency.as_ref())
                .map(|(a, c)| money(a, c)),
            expires_at: time(s.expires_at),
            metadata: s.metadata.as_ref().map(sorted).unwrap_or_default(),
            trial_days: None,
            note: None,
        }
    }
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct PortalSessionView {
    pub id: String,
    /// Where the customer manages payment methods, invoices and subscriptions.
    pub url: String,
    pub customer: String,
    pub return_url: Option<String>,
}

impl From<&stripe_billing::BillingPortalSession> for PortalSessionView {
    fn from(s: &stripe_billing::BillingPortalSession) -> Self {
        PortalSessionView {
            id: s.id.to_string(),
            url: s.url.clone(),
            customer: s.customer.clone(),
            return_url: s.return_url.clone(),
        }
    }
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct CustomerView {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub created: String,
}

impl From<&stripe_shared::Customer> for CustomerView {
    fn from(c: &stripe_shared::Customer) -> Self {
        CustomerView {
            id: c.id.to_string(),
            name: c.name.clone(),
            email: c.email.clone(),
            metadata: c.metadata.as_ref().map(sorted).unwrap_or_default(),
            created: time(c.created),
        }
    }
}
