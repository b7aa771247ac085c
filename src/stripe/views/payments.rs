//! The balance, refunds, payment intents and disputes.

use schemars::JsonSchema;
use serde::Serialize;

use super::{id, money, opt_id, time};
use crate::values::Money;

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct BalanceView {
    /// Funds you can pay out now, per currency.
    pub available: Vec<Money>,
    /// Funds not yet available, per currency.
    pub pending: Vec<Money>,
    pub livemode: bool,
}

impl From<&stripe_core::Balance> for BalanceView {
    fn from(b: &stripe_core::Balance) -> Self {
        let list = |l: &[stripe_core::BalanceAmount]| {
            l.iter().map(|a| money(a.amount, &a.currency)).collect()
        };
        BalanceView {
            available: list(&b.available),
            pending: list(&b.pending),
            livemode: b.livemode,
        }
    }
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct RefundView {
    pub id: String,
    pub amount: Money,
    /// pending, requires_action, succeeded, failed or canceled.
    pub status: Option<String>,
    pub payment_intent: Option<String>,
    pub charge: Option<String>,
    pub reason: Option<String>,
    pub created: String,
}

impl From<&stripe_shared::Refund> for RefundView {
    fn from(r: &stripe_shared::Refund) -> Self {
        RefundView {
            id: r.id.to_string(),
            amount: money(r.amount, &r.currency),
            status: r.status.clone(),
            payment_intent: opt_id(r.payment_intent.as_ref()),
            charge: opt_id(r.charge.as_ref()),
            reason: r.reason.as_ref().map(|x| x.as_str().into()),
            created: time(r.created),
        }
    }
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct PaymentIntentView {
    pub id: String,
    pub amount: Money,
    pub amount_received: Money,
    /// requires_payment_method, processing, succeeded, canceled, …
    pub status: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub latest_charge: Option<String>,
    pub created: String,
}

impl From<&stripe_shared::PaymentIntent> for PaymentIntentView {
    fn from(p: &stripe_shared::PaymentIntent) -> Self {
        PaymentIntentView {
            id: p.id.to_string(),
            amount: money(p.amount, &p.currency),
            amount_received: money(p.amount_received, &p.currency),
            status: p.status.as_str().into(),
            customer: opt_id(p.customer.as_ref()),
            description: p.description.clone(),
            latest_charge: opt_id(p.latest_charge.as_ref()),
            created: time(p.created),
        }
    }
}

#[derive(Debug, Serialize, serde::Deserialize, JsonSchema)]
pub struct DisputeView {
    pub id: String,
    pub amount: Money,
    /// warning_needs_response, needs_response, under_review, won, lost, …
    pub status: String,
    pub reason: String,
    pub charge: String,
    pub payment_intent: Option<String>,
    /// The deadline for evidence.
    pub evidence_due_by: Option<String>,
    pub has_evidence: bool,
    pub submission_count: u64,
    pub created: String,
}

impl From<&stripe_shared::Dispute> for DisputeView {
    fn from(d: &stripe_shared::Dispute) -> Self {
        DisputeView {
            id: d.id.to_string(),
            amount: money(d.amount, &d.currency),
            status: d.status.as_str().into(),
            reason: d.reason.clone(),
            charge: id(&d.charge),
            payment_intent: opt_id(d.payment_intent.as_ref()),
            evidence_due_by: d.evidence_details.due_by.map(time),
            has_evidence: d.evidence_details.has_evidence,
            submission_count: d.evidence_details.submission_count,
            created: time(d.created),
        }
    }
}
