//! Records and requests of Stripe webhooks: the stored event, what processing decided it changes
//! (applied with the event's new status in one transaction), and what the ledger keeps of the
//! customer's Stripe account from them (invoices and payment methods).

use super::{NewGrant, PlanChange, StripeLink};

/// A Stripe webhook event as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookRecord {
    pub id: String,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub object_id: Option<String>,
    /// Stripe's `created`, epoch milliseconds.
    pub created: i64,
    pub payload: String,
    pub status: String,
    pub outcome: Option<String>,
    pub attempts: i64,
    pub received_at: i64,
    pub processed_at: Option<i64>,
}

/// What one webhook event changes, applied with its bookkeeping in one transaction.
#[derive(Debug, Clone)]
pub enum WebhookEffect {
    Plan(PlanChange),
    /// An `invoice.*` event: see [`InvoiceChange`].
    Invoice(InvoiceChange),
    /// A payment-method event: see [`PaymentMethodChange`].
    PaymentMethod(PaymentMethodChange),
    Grant(NewGrant),
    Link(StripeLink),
    /// A paid invoice billed the customer's usage of `[from, to)` (epoch ms).
    Billed {
        customer: String,
        invoice: String,
        from: i64,
        to: i64,
    },
}

/// A Stripe invoice as an event shows it. The invoice's row takes it, unless the row holds a
/// final status (`paid`, `void`) and the event another one: Stripe never leaves those, so such an
/// event is older whatever its timestamp. When the row takes it and `delinquent` is set, the
/// customer's delinquency follows — if no newer event of any of the customer's invoices decided
/// it already (Stripe's rule: the most recent invoice state change decides).
#[derive(Debug, Clone)]
pub struct InvoiceChange {
    pub invoice: String,
    pub customer: String,
    /// Stripe's invoice status: `draft`, `open`, `paid`, `uncollectible` or `void`.
    pub status: String,
    /// Minor units still to pay.
    pub amount_remaining: i64,
    /// Minor units its payments collected.
    pub amount_paid: i64,
    /// When it was paid (epoch ms), for a paid invoice.
    pub paid_at: Option<i64>,
    /// Lower-case ISO code.
    pub currency: String,
    pub delinquent: Option<bool>,
    /// The event's `created`, epoch ms (orders delinquency across the customer's invoices).
    pub created: i64,
    pub now: i64,
}

/// Whether Stripe holds a payment method for the customer. Applied only if no newer
/// payment-method event of the customer was applied already.
#[derive(Debug, Clone)]
pub struct PaymentMethodChange {
    pub customer: String,
    pub kind: PaymentMethodEvent,
    /// The event's `created`, epoch ms.
    pub created: i64,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentMethodEvent {
    /// The customer's default payment method (`customer.updated`).
    Default(String),
    /// Stripe cleared the customer's default (`customer.updated`).
    DefaultRemoved,
    /// A payment method was set up or attached.
    Attached,
    /// This payment method was detached: if it was the default, none is on file any more.
    Detached(String),
}

/// What the ledger knows of a customer's Stripe account from webhooks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentStanding {
    /// `amount_remaining` of the customer's open invoices, summed per currency (code, minor units).
    pub open_by_currency: Vec<(String, i64)>,
    pub payment_method_configured: bool,
    pub default_payment_method: Option<String>,
}

/// What to do with a stored webhook event; applied with the event's new status in one
/// transaction.
#[derive(Debug, Clone)]
pub struct WebhookApply {
    pub event_id: String,
    pub decision: WebhookDecision,
    pub now: i64,
}

#[derive(Debug, Clone)]
pub enum WebhookDecision {
    /// Run `effects` and mark the event `processed` with `outcome` — unless `gate` (Stripe
    /// object id, event created ms) says a newer event of that object was applied already; then
    /// the event is `ignored`. An effect that does not apply (see [`InvoiceChange`],
    /// [`PaymentMethodChange`]) adds why to the outcome.
    Apply {
        gate: Option<(String, i64)>,
        effects: Vec<WebhookEffect>,
        outcome: String,
    },
    /// Nothing to do (`ignored`, with why).
    Ignore(String),
    /// It should change something but cannot (`failed`, with why).
    Fail(String),
}

impl WebhookApply {
    /// The customers the effects change (locked, and their cached state dropped).
    pub fn customers(&self) -> Vec<&str> {
        match &self.decision {
            WebhookDecision::Apply { effects, .. } => effects
                .iter()
                .map(|e| match e {
                    WebhookEffect::Plan(c) => c.customer.as_str(),
                    WebhookEffect::Invoice(i) => i.customer.as_str(),
                    WebhookEffect::PaymentMethod(p) => p.customer.as_str(),
                    WebhookEffect::Grant(g) => g.customer.as_str(),
                    WebhookEffect::Link(l) => l.customer.as_str(),
                    WebhookEffect::Billed { customer, .. } => customer.as_str(),
                })
                .collect(),
            WebhookDecision::Ignore(_) | WebhookDecision::Fail(_) => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct WebhookQuery {
    pub status: Option<String>,
    pub kind: Option<String>,
    pub limit: i64,
    pub starting_after: Option<String>,
}
