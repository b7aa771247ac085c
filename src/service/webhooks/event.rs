//! A Stripe event as processing reads it: only the fields a handler uses, for every object type
//! it handles (subscriptions, Checkout sessions, invoices, customers, setup intents, payment
//! methods); everything else in the event is skipped unparsed (no floats anywhere).

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(super) struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created: i64,
    pub data: EventData,
}

#[derive(Debug, Deserialize)]
pub(super) struct EventData {
    pub object: Object,
    /// What an `*.updated` or `payment_method.detached` event changed: the former values.
    #[serde(default)]
    pub previous_attributes: Previous,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Object {
    pub id: Option<String>,
    pub customer: Option<Expandable>,
    /// Some objects (a payment method) send `null` for no metadata.
    #[serde(deserialize_with = "null_as_empty")]
    pub metadata: BTreeMap<String, String>,
    pub status: Option<String>,
    pub mode: Option<String>,
    pub payment_status: Option<String>,
    pub client_reference_id: Option<String>,
    pub current_period_start: Option<i64>,
    pub trial_end: Option<i64>,
    pub items: Option<Items>,
    pub period_start: Option<i64>,
    pub period_end: Option<i64>,
    /// Invoice: minor units still to pay (and what was due, when the former is absent).
    pub amount_remaining: Option<i64>,
    pub amount_due: Option<i64>,
    /// Invoice: what its payments collected, and when it was paid.
    pub amount_paid: Option<i64>,
    pub status_transitions: Option<StatusTransitions>,
    /// Checkout session: what the customer paid.
    pub amount_total: Option<i64>,
    pub currency: Option<String>,
    /// Customer: its default payment method.
    pub invoice_settings: Option<InvoiceSettings>,
    /// Setup intent: the payment method it set up.
    pub payment_method: Option<Expandable>,
    /// Checkout session: the subscription it started.
    pub subscription: Option<Expandable>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(Option::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Previous {
    /// A detached payment method's former customer.
    pub customer: Option<Expandable>,
    pub invoice_settings: Option<InvoiceSettings>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct StatusTransitions {
    pub paid_at: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct InvoiceSettings {
    pub default_payment_method: Option<Expandable>,
}

/// An id, or the object it names when expanded.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Expandable {
    Id(String),
    Object { id: String },
}

impl Expandable {
    pub fn id(&self) -> &str {
        match self {
            Expandable::Id(id) | Expandable::Object { id } => id,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Items {
    pub data: Vec<Item>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Item {
    pub current_period_start: Option<i64>,
    pub price: Option<Price>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Price {
    pub metadata: BTreeMap<String, String>,
    pub recurring: Option<Recurring>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct Recurring {
    pub interval: Option<String>,
}

impl Object {
    pub fn stripe_customer(&self) -> Option<&str> {
        self.customer.as_ref().map(Expandable::id)
    }
    pub fn first_item(&self) -> Option<&Item> {
        self.items.as_ref().and_then(|i| i.data.first())
    }
    /// A customer object's default payment method.
    pub fn default_payment_method(&self) -> Option<&str> {
        self.invoice_settings
            .as_ref()
            .and_then(|s| s.default_payment_method.as_ref())
            .map(Expandable::id)
    }
}
