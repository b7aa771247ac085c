//! What `reconcile_usage` answers: per meter, the ledger's count, its delivery and Stripe's
//! value with the difference named; the invoices on both sides; the verdict.

use schemars::JsonSchema;
use serde::Serialize;

use crate::service::{Money, PeriodView};
use crate::stripe::reconcile::{IssuedInvoices, UpcomingInvoice};

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct LedgerCount {
    /// The meter's quantity over the window by its aggregation.
    pub quantity: u64,
    /// Events recorded in the window.
    pub events: u64,
}

/// The window's events by their delivery to Stripe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct Delivery {
    pub sent: i64,
    pub pending: i64,
    pub failed: i64,
    /// Events the ledger alone bills, never sent.
    pub ledger_only: i64,
    /// The sent events' quantity by the meter's aggregation: what Stripe should hold.
    pub quantity_sent: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct StripeCount {
    /// The Stripe meter (`mtr_…`) with the catalog meter's event name.
    pub meter: String,
    /// Stripe's aggregated value over the window, as an exact decimal.
    pub aggregated_value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct MeterDifference {
    /// in_agreement, pending_delivery, failed_delivery, missing_at_stripe, extra_at_stripe,
    /// last_value_differs, ledger_only or meter_not_in_stripe.
    pub reason: String,
    /// Stripe's value minus the ledger's quantity (negative: Stripe holds less), as an exact
    /// decimal; none when Stripe was not asked.
    pub quantity: Option<String>,
    /// What the difference is and what to do.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct MeterReconciliation {
    pub meter: String,
    /// The Stripe event name (none for a boolean feature's counter).
    pub event_name: Option<String>,
    pub aggregation: String,
    pub ledger: LedgerCount,
    pub delivery: Delivery,
    /// What Stripe holds (none when Stripe was not asked: ledger-only usage, or no Stripe meter).
    pub stripe: Option<StripeCount>,
    pub difference: MeterDifference,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct InvoiceDifference {
    /// in_agreement, amounts_differ, no_subscription, several_subscriptions or
    /// ledger_preview_unavailable.
    pub reason: String,
    /// Stripe's preview total minus the ledger's, in minor units (when both were compared).
    pub amount: Option<i64>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct InvoiceReconciliation {
    /// Invoices Stripe made for the customer from the range's start until a day after its end
    /// (the invoice closing a period is made at its end), newest first.
    pub issued: IssuedInvoices,
    /// The customer's live Stripe subscriptions (active, trialing, past_due).
    pub subscriptions: Vec<String>,
    /// The ledger's preview of the current period's invoice (`preview_invoice`'s total).
    pub ledger_preview: Option<Money>,
    pub ledger_period: Option<PeriodView>,
    /// Stripe's preview of the subscription's next invoice (one live subscription only).
    pub stripe_preview: Option<UpcomingInvoice>,
    pub difference: InvoiceDifference,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Reconciliation {
    pub customer: String,
    pub stripe_customer: String,
    /// `in_agreement` or `differences`.
    pub status: String,
    /// One sentence: the agreement, or each difference by meter.
    pub summary: String,
    /// The range asked for: the current billing period unless `from`/`to` were given.
    pub range: PeriodView,
    /// The window compared on both sides: the range widened to whole minutes.
    pub window: PeriodView,
    /// Meters with usage in the window on either side, and ledger-only counters.
    pub meters: Vec<MeterReconciliation>,
    pub invoices: InvoiceReconciliation,
}
