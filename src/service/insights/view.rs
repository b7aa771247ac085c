//! What `get_dashboard` returns: figures per currency (never converted), customers by status,
//! usage, credits, reserved capacity, a customers table and delivery health. Money is a
//! [`Money`]; a series point holds integer minor units of its block's currency.

use schemars::JsonSchema;
use serde::Serialize;

use crate::service::Money;

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DashboardView {
    /// The range reported, `[from, to)`, in whole hours.
    pub from: String,
    pub to: String,
    /// The width of each series bucket: day, week (ISO, from Monday) or month, in UTC.
    pub granularity: String,
    /// When the figures were computed; counts of customers and the upcoming invoices are as of
    /// this moment.
    pub as_of: String,
    /// One block per currency the catalog's plans bill in.
    pub currencies: Vec<CurrencyFigures>,
    pub customers: CustomerCounts,
    /// Usage per meter over the range.
    pub usage: Vec<MeterUsage>,
    /// The ten `tool` values with the most usage over the range.
    pub top_tools: Vec<ToolUsage>,
    pub credits: CreditFigures,
    /// Reserved capacity against this period's usage, per customer and meter.
    pub reserved: Vec<ReservedUse>,
    /// Customers with the largest upcoming invoices first (at most `accounts_limit`).
    pub accounts: Vec<AccountRow>,
    pub accounts_total: u64,
    /// Customers whose upcoming invoice could not be computed (left out of `upcoming`), and
    /// why: `preview_invoice` on them gives the same error.
    pub upcoming_unavailable: Vec<UnavailablePreview>,
    pub delivery: DeliveryView,
    /// Stripe's balance, refreshed at most every five minutes (null without Stripe).
    pub stripe_balance: Option<BalanceFigures>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CurrencyFigures {
    pub currency: String,
    /// The upcoming invoices: `preview_invoice` summed over the customers not churned.
    pub upcoming: UpcomingFigures,
    /// Stripe invoices paid in the range (`invoice.paid` webhooks): what they collected.
    pub billed: BilledFigures,
    /// Credit packs bought in the range (Checkout), at what the customers paid.
    pub credit_packs_sold: PackFigures,
    /// Monthly recurring revenue at the end of the range (or now): base prices of paying
    /// customers, yearly prices divided by 12; trials and churned customers count 0.
    pub mrr: Money,
    pub arr: Money,
    pub paying_customers: u64,
    /// MRR per paying customer.
    pub arpu: Money,
    pub mrr_movements: MovementFigures,
    /// One point per bucket: MRR at its end, its movements, and what came in during it.
    pub series: Vec<RevenuePoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct UpcomingFigures {
    pub total: Money,
    pub base: Money,
    pub prorations: Money,
    pub usage: Money,
    pub invoices: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BilledFigures {
    pub total: Money,
    pub invoices: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PackFigures {
    pub total: Money,
    pub packs: u64,
}

/// MRR movements over the range; contraction and churn are negative and `net` is the sum.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct MovementFigures {
    pub new: Money,
    pub expansion: Money,
    pub contraction: Money,
    pub churn: Money,
    pub reactivation: Money,
    pub net: Money,
}

/// A bucket's figures in minor units.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RevenuePoint {
    /// The bucket's start.
    pub at: String,
    pub mrr: i64,
    pub new: i64,
    pub expansion: i64,
    pub contraction: i64,
    pub churn: i64,
    pub reactivation: i64,
    pub billed: i64,
    pub credit_packs_sold: i64,
}

/// Customers by status now, and those created in the range.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CustomerCounts {
    pub total: u64,
    pub active: u64,
    pub trialing: u64,
    /// Not churned, with a failed payment (Stripe's past_due or unpaid, or a failed invoice).
    pub delinquent: u64,
    /// Canceled or never started (incomplete_expired).
    pub churned: u64,
    pub new: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct MeterUsage {
    pub meter: String,
    /// The meter's aggregation; `quantity` is the sum of the quantities recorded whatever it is.
    pub aggregation: String,
    pub quantity: u64,
    pub events: u64,
    pub series: Vec<UsagePoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct UsagePoint {
    pub at: String,
    pub quantity: u64,
    pub events: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ToolUsage {
    pub meter: String,
    pub tool: String,
    pub quantity: u64,
    pub events: u64,
}

/// Credits moved in the range, and what live grants hold now.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CreditFigures {
    /// Credits bought (credit packs, bonus included).
    pub sold: u64,
    /// Credits granted by grant_credits.
    pub granted: u64,
    /// Net credits added (+) or taken back (−) by adjust_credits.
    pub adjusted: i64,
    /// Credits usage burned.
    pub burned: u64,
    /// Credits written off when their grant expired.
    pub expired: u64,
    pub outstanding: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ReservedUse {
    pub customer: String,
    pub meter: String,
    pub reserved: u64,
    /// This period's usage, by the meter's aggregation.
    pub used: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct AccountRow {
    pub customer: String,
    pub plan: Option<String>,
    pub status: String,
    pub delinquent: bool,
    /// Usage events in the range.
    pub events: u64,
    /// Its upcoming invoice (`preview_invoice`'s total); null for a churned customer or one
    /// without a plan.
    pub next_invoice: Option<Money>,
    pub period_end: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct UnavailablePreview {
    pub customer: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DeliveryView {
    /// Meter events not delivered to Stripe yet (retried), and refused for good.
    pub meter_events_pending: u64,
    pub meter_events_failed: u64,
    /// Webhook events that failed to apply (retry_webhook_event).
    pub webhooks_failed: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BalanceFigures {
    pub available: Vec<Money>,
    pub pending: Vec<Money>,
    /// When Stripe answered (null when it has not yet).
    pub as_of: Option<String>,
    /// Why the last refresh failed (the figures above are then the last ones Stripe gave).
    pub error: Option<String>,
}
