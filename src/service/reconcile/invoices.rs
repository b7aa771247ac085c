//! The invoices side: what Stripe made for the customer in the range, and the ledger's preview
//! of the current period against Stripe's preview of the subscription's next invoice.

use super::{InvoiceDifference, InvoiceReconciliation};
use crate::core::period::Span;
use crate::service::{App, BillingError};
use crate::store::CustomerRecord;

/// A day: the invoice that closes a period is made at its end, so invoices are read until a
/// day after the range.
const DAY_MS: i64 = 86_400_000;

/// Stripe's invoices in the range, and the previews of the current period on both sides.
pub(super) async fn invoices(
    app: &App,
    record: &CustomerRecord,
    stripe_customer: &str,
    range: Span,
) -> Result<InvoiceReconciliation, BillingError> {
    let stripe = app.stripe()?;
    let issued = stripe
        .invoices_made(
            stripe_customer,
            range.start,
            range.end.saturating_add(DAY_MS),
        )
        .await?;
    let subscriptions: Vec<String> = stripe
        .live_subscriptions(stripe_customer)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let ledger = crate::service::invoice::preview(app, record).await;
    let mut out = InvoiceReconciliation {
        issued,
        ledger_preview: ledger.as_ref().ok().map(|p| p.total.clone()),
        ledger_period: ledger.as_ref().ok().map(|p| p.period.clone()),
        stripe_preview: None,
        difference: InvoiceDifference {
            reason: String::new(),
            amount: None,
            message: String::new(),
        },
        subscriptions,
    };
    let said = |reason: &str, amount, message: String| InvoiceDifference {
        reason: reason.into(),
        amount,
        message,
    };
    let live = out.subscriptions.clone();
    out.difference = match (ledger, live.as_slice()) {
        (_, []) => said("no_subscription", None, "the customer has no live Stripe subscription, so Stripe has no upcoming invoice to compare with the ledger's preview".into()),
        (_, [_, _, ..]) => said("several_subscriptions", None, format!("the customer has {} live Stripe subscriptions; preview each with Stripe to compare", live.len())),
        (Err(e), [_]) => said("ledger_preview_unavailable", None, e.message),
        (Ok(ledger), [subscription]) => {
            let upcoming = stripe.upcoming_invoice(stripe_customer, subscription).await?;
            let (ours, theirs) = (&ledger.total, &upcoming.total);
            let d = if ours.currency != theirs.currency {
                said("amounts_differ", None, format!("Stripe's preview is in {} and the ledger's in {}", theirs.currency, ours.currency))
            } else if ours.amount == theirs.amount {
                said("in_agreement", Some(0), format!("Stripe's next invoice of {subscription} and the ledger's preview are both {}", ours.display))
            } else {
                said("amounts_differ", Some(theirs.amount.saturating_sub(ours.amount)), format!(
                    "Stripe's next invoice of {subscription} is {} {} and the ledger's preview {} {}: compare preview_invoice's lines with the subscription's items (prices not synced, usage not at Stripe, discounts or taxes only Stripe applies)",
                    theirs.display, theirs.currency, ours.display, ours.currency
                ))
            };
            out.stripe_preview = Some(upcoming);
            d
        }
    };
    Ok(out)
}
