//! `change_plan`: a customer's Stripe subscription moved to another catalog plan, shown first as
//! Stripe's own preview of the invoice it leads to beside the ledger's (`set_customer_plan`'s dry
//! run), then made at Stripe and followed in the ledger with the same proration instant.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::core::entitlement::Status;
use crate::service::plan_change::{PlanSet, SetPlan, set_plan};
use crate::service::sync::sale::plan_line_items;
use crate::service::{App, BillingError};
use crate::stripe::billing::Proration;
use crate::stripe::checkout::PlanInterval;
use crate::stripe::plan_change::{PlanMove, StripePreview};
use crate::stripe::views::SubscriptionView;
use crate::stripe::{self};
use crate::values::{CustomerId, IdempotencyKey, Name};

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePlan {
    /// The ledger customer (linked to Stripe, with a live subscription).
    pub customer: CustomerId,
    /// The catalog plan to move to.
    pub plan: Name,
    /// monthly or yearly (default: the customer's current interval).
    pub interval: Option<PlanInterval>,
    /// create_prorations (default), always_invoice or none.
    pub proration_behavior: Option<Proration>,
    /// Show both previews and change nothing (default true): pass false to make the change.
    #[serde(default = "yes")]
    pub dry_run: bool,
    pub idempotency_key: Option<IdempotencyKey>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PlanChangeView {
    /// True when nothing was changed.
    pub dry_run: bool,
    /// The subscription as it stands (after the change, unless a dry run).
    pub subscription: SubscriptionView,
    /// Stripe's preview of the invoice the change leads to (`invoices/create_preview`).
    pub stripe_preview: StripePreview,
    /// The ledger's view of the same change: the customer and the period's invoice.
    pub ledger: PlanSet,
    /// What differs between the two, or what else to know.
    pub note: Option<String>,
}

impl App {
    pub async fn change_plan(&self, p: ChangePlan) -> Result<PlanChangeView, BillingError> {
        let stripe = self.stripe()?;
        self.check_plan(&p.plan.0)?;
        let record = self.customer(&p.customer.0).await?;
        let stripe_customer = self.stripe_customer(&p.customer.0).await?;
        let current = stripe
            .live_subscription(&stripe_customer)
            .await?
            .ok_or_else(|| {
                BillingError::new(
                    "no_subscription",
                    format!(
                        "customer `{}` has no live subscription at Stripe: create_subscription starts one, set_customer_plan changes the ledger alone",
                        p.customer.0
                    ),
                )
                .with("customer", p.customer.0.clone())
            })?;
        let interval = p
            .interval
            .unwrap_or(match record.billing_interval.as_str() {
                "year" => PlanInterval::Yearly,
                _ => PlanInterval::Monthly,
            });
        let items = plan_line_items(self, &p.plan.0, interval).await?;
        let at = self.now().div_euclid(1000);
        let proration = p.proration_behavior.unwrap_or(Proration::CreateProrations);
        let change = PlanMove::between(
            stripe_customer,
            &current,
            &items,
            proration,
            p.plan.0.clone(),
            at,
        );
        if change.remove.is_empty() && change.add.is_empty() {
            return Err(BillingError::invalid(format!(
                "subscription {} already carries plan `{}`'s {} prices",
                current.id,
                p.plan.0,
                stripe::wire(interval)
            )));
        }
        let stripe_preview = stripe.preview_plan_change(&change).await?;
        let every = match interval {
            PlanInterval::Monthly => "month",
            PlanInterval::Yearly => "year",
        };
        let ledger_change = |status: &str, dry_run| SetPlan {
            customer: p.customer.0.clone(),
            plan: p.plan.0.clone(),
            interval: Some(every.into()),
            status: Status::parse(status).map(|_| status.to_string()),
            reset_period: false,
            dry_run,
        };
        if p.dry_run {
            let ledger = set_plan(self, ledger_change(&current.status, true)).await?;
            return Ok(PlanChangeView {
                dry_run: true,
                note: differs(&stripe_preview, &ledger),
                subscription: current,
                stripe_preview,
                ledger,
            });
        }
        let key = stripe::key("change_plan", &p.idempotency_key);
        let moved = stripe.apply_plan_change(&change, &key).await?;
        let ledger = set_plan(self, ledger_change(&moved.status, false)).await?;
        Ok(PlanChangeView {
            dry_run: false,
            note: differs(&stripe_preview, &ledger),
            subscription: moved,
            stripe_preview,
            ledger,
        })
    }
}

/// Where Stripe's preview and the ledger's invoice disagree on the total.
fn differs(stripe: &StripePreview, ledger: &PlanSet) -> Option<String> {
    let ledger_total = ledger.invoice.as_ref().map(|i| &i.total)?;
    (ledger_total.amount != stripe.total.amount || ledger_total.currency != stripe.total.currency)
        .then(|| {
            format!(
                "Stripe's preview comes to {} and the ledger's invoice to {}: Stripe previews its next invoice (the prorations, and the next period's base fees in advance, with whatever else its invoice holds: usage it was sent, discounts, taxes), the ledger this period's invoice with the change (base fees prorated, the usage recorded); reconcile_usage compares the two once invoiced",
                stripe.total.display, ledger_total.display
            )
        })
}
