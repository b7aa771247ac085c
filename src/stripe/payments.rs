//! Money already moved: the account balance, refunds, payment intents and disputes.

use schemars::JsonSchema;
use serde::Deserialize;
use stripe_core::balance::RetrieveForMyAccountBalance;
use stripe_core::dispute::{ListDispute, UpdateDispute, UpdateDisputeEvidence};
use stripe_core::payment_intent::ListPaymentIntent;
use stripe_core::refund::CreateRefund;

use super::views::{BalanceView, DisputeView, Page, PaymentIntentView, RefundView};
use super::{Error, Payments, key, metadata, page_limit, parse};
use crate::values::{CustomerId, IdempotencyKey, StringMap, StripeId, default_limit};

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefundReason {
    Duplicate,
    Fraudulent,
    RequestedByCustomer,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRefund {
    /// The payment intent (`pi_…`) to refund.
    pub payment_intent: StripeId,
    /// Minor units to refund (default: everything not yet refunded).
    pub amount: Option<i64>,
    pub reason: Option<RefundReason>,
    #[serde(default)]
    pub metadata: StringMap,
    /// Required: a retried call with the same key refunds once. Use a new key only for a
    /// second, deliberate refund.
    pub idempotency_key: IdempotencyKey,
    /// Required as true when the client cannot ask the user to confirm.
    #[serde(default)]
    pub confirm: bool,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentIntentQuery {
    /// The ledger customer (linked to Stripe) or a Stripe customer id (`cus_…`).
    pub customer: Option<CustomerId>,
    /// Payment intents per page (1–100, default 20).
    #[serde(default = "default_limit")]
    pub limit: u32,
    pub starting_after: Option<StripeId>,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeQuery {
    /// Only disputes of this charge (`ch_…`).
    pub charge: Option<StripeId>,
    /// Only disputes of this payment intent (`pi_…`).
    pub payment_intent: Option<StripeId>,
    /// Disputes per page (1–100, default 20).
    #[serde(default = "default_limit")]
    pub limit: u32,
    pub starting_after: Option<StripeId>,
}

/// Text evidence for a dispute (files are uploaded in the Stripe dashboard).
#[derive(Debug, Default, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub cancellation_policy_disclosure: Option<String>,
    pub cancellation_rebuttal: Option<String>,
    pub customer_communication: Option<String>,
    pub customer_email_address: Option<String>,
    pub customer_name: Option<String>,
    pub duplicate_charge_explanation: Option<String>,
    pub duplicate_charge_id: Option<String>,
    pub product_description: Option<String>,
    pub refund_policy_disclosure: Option<String>,
    pub refund_refusal_explanation: Option<String>,
    pub service_date: Option<String>,
    pub uncategorized_text: Option<String>,
}

#[derive(Debug, Deserialize, serde::Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeChange {
    /// The dispute (`dp_…` or `du_…`).
    pub dispute: StripeId,
    #[serde(default)]
    pub evidence: Evidence,
    /// Submit the evidence to the bank now (final: it cannot be changed afterwards).
    #[serde(default)]
    pub submit: bool,
    #[serde(default)]
    pub metadata: StringMap,
    pub idempotency_key: Option<IdempotencyKey>,
}

/// Each text field up to Stripe's 20,000 characters.
fn evidence(e: Evidence) -> Result<UpdateDisputeEvidence, Error> {
    let mut out = UpdateDisputeEvidence::new();
    let fields = [
        (
            &mut out.cancellation_policy_disclosure,
            e.cancellation_policy_disclosure,
        ),
        (&mut out.cancellation_rebuttal, e.cancellation_rebuttal),
        (&mut out.customer_communication, e.customer_communication),
        (&mut out.customer_email_address, e.customer_email_address),
        (&mut out.customer_name, e.customer_name),
        (
            &mut out.duplicate_charge_explanation,
            e.duplicate_charge_explanation,
        ),
        (&mut out.duplicate_charge_id, e.duplicate_charge_id),
        (&mut out.product_description, e.product_description),
        (
            &mut out.refund_policy_disclosure,
            e.refund_policy_disclosure,
        ),
        (
            &mut out.refund_refusal_explanation,
            e.refund_refusal_explanation,
        ),
        (&mut out.service_date, e.service_date),
        (&mut out.uncategorized_text, e.uncategorized_text),
    ];
    for (slot, value) in fields {
        if value.as_ref().is_some_and(|v| v.chars().count() > 20_000) {
            return Err(Error::invalid(
                "an evidence field may hold at most 20,000 characters",
            ));
        }
        *slot = value;
    }
    Ok(out)
}

impl Payments {
    pub async fn retrieve_balance(&self) -> Result<BalanceView, Error> {
        let balance = self.read(RetrieveForMyAccountBalance::new()).await?;
        Ok(BalanceView::from(&balance))
    }

    pub async fn create_refund(&self, r: NewRefund) -> Result<RefundView, Error> {
        if r.amount.is_some_and(|a| a <= 0) {
            return Err(Error::invalid("amount must be more than 0"));
        }
        let mut req = CreateRefund::new()
            .payment_intent(r.payment_intent.0.clone())
            .metadata(metadata(&r.metadata));
        if let Some(a) = r.amount {
            req = req.amount(a);
        }
        if let Some(reason) = r.reason {
            let reason = match reason {
                RefundReason::Duplicate => "duplicate",
                RefundReason::Fraudulent => "fraudulent",
                RefundReason::RequestedByCustomer => "requested_by_customer",
            };
            req = req.reason(parse::<stripe_core::refund::CreateRefundReason>(reason));
        }
        let refund = self
            .write(req, &key("create_refund", &Some(r.idempotency_key)))
            .await?;
        Ok(RefundView::from(&refund))
    }

    pub async fn list_payment_intents(
        &self,
        q: PaymentIntentQuery,
        stripe_customer: Option<String>,
    ) -> Result<Page<PaymentIntentView>, Error> {
        let mut req = ListPaymentIntent::new().limit(page_limit(q.limit)?);
        if let Some(c) = stripe_customer {
            req = req.customer(c);
        }
        if let Some(after) = q.starting_after {
            req = req.starting_after(after.0);
        }
        let list = self.read(req).await?;
        Ok(Page::of(list, |p| p.id.to_string()))
    }

    pub async fn list_disputes(&self, q: DisputeQuery) -> Result<Page<DisputeView>, Error> {
        let mut req = ListDispute::new().limit(page_limit(q.limit)?);
        if let Some(c) = q.charge {
            req = req.charge(c.0);
        }
        if let Some(p) = q.payment_intent {
            req = req.payment_intent(p.0);
        }
        if let Some(after) = q.starting_after {
            req = req.starting_after(after.0);
        }
        let list = self.read(req).await?;
        Ok(Page::of(list, |d| d.id.to_string()))
    }

    pub async fn update_dispute(&self, d: DisputeChange) -> Result<DisputeView, Error> {
        let idempotency = key("update_dispute", &d.idempotency_key);
        let mut req = UpdateDispute::new(d.dispute.0.as_str()).evidence(evidence(d.evidence)?);
        if d.submit {
            req = req.submit(true);
        }
        if !d.metadata.is_empty() {
            req = req.metadata(metadata(&d.metadata));
        }
        let dispute = self.write(req, &idempotency).await?;
        Ok(DisputeView::from(&dispute))
    }
}
