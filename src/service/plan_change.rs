//! Changing a customer's plan: the old plan's usage stays on the period's invoice, both base fees
//! are prorated by time (Stripe's `create_prorations`), and a dry run shows that invoice before
//! anything changes. A change of interval starts a new billing period at the change, as Stripe
//! restarts the billing cycle.

use crate::core::text::quote;
use schemars::JsonSchema;
use serde::Serialize;

use super::invoice::{self, Closed, InvoicePreviewView, Pending};
use super::terms::{anchor_at, interval_of, parse_interval, trial_over};
use super::{App, BillingError, CustomerView};
use crate::core::entitlement::Status;
use crate::store::PlanChange;

#[derive(Debug, Clone)]
pub struct SetPlan {
    pub customer: String,
    pub plan: String,
    pub interval: Option<String>,
    pub status: Option<String>,
    pub reset_period: bool,
    pub dry_run: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PlanSet {
    /// True when nothing was changed: `invoice` shows what the change would bill.
    pub dry_run: bool,
    /// The customer after the change (as it would be, on a dry run).
    #[serde(flatten)]
    pub customer: CustomerView,
    /// The current period's invoice with the change: the old plan's lines, the prorations and
    /// the new plan's lines (absent only when it could not be read after the change).
    pub invoice: Option<InvoicePreviewView>,
}

/// When a trial set by hand ends: the one running keeps its end; otherwise the plan's trial
/// starts now (a plan without one cannot be put in a trial, or nothing would ever be billed).
fn trial_end(
    app: &App,
    current: &crate::store::CustomerRecord,
    plan: &str,
    now: i64,
) -> Result<i64, BillingError> {
    if let Some(end) = current.trial_ends_at.filter(|t| *t > now) {
        return Ok(end);
    }
    let days = app.catalog.plan(plan).map_or(0, |p| p.trial_days);
    if days == 0 {
        return Err(BillingError::invalid(format!(
            "plan `{plan}` has no trial_days, so status `trialing` would never end; use status active"
        )));
    }
    Ok(now + i64::from(days) * 24 * 3_600_000)
}

pub async fn set_plan(app: &App, input: SetPlan) -> Result<PlanSet, BillingError> {
    app.check_plan(&input.plan)?;
    let current = app.live_customer(&input.customer).await?;
    let interval = match input.interval.as_deref() {
        Some(i) => parse_interval(Some(i))?,
        None => interval_of(&current),
    };
    let status = input.status.unwrap_or_else(|| "active".into());
    if Status::parse(&status).is_none() {
        return Err(BillingError::invalid(format!(
            "status `{}` is not known; use one of: {}",
            quote(&status),
            Status::NAMES.join(", ")
        )));
    }
    let now = app.now();
    let new_period = input.reset_period || interval != interval_of(&current);
    let anchor = if new_period {
        anchor_at(now)
    } else {
        current.period_anchor
    };
    let trial_ends_at = if status == "trialing" {
        Some(trial_end(app, &current, &input.plan, now)?)
    } else {
        // A trial that ended (or ends now) stays on record: one trial per customer. One that a
        // new period ends ends where that period starts (the hour), so the period is paid whole.
        trial_over(current.trial_ends_at, if new_period { anchor } else { now })
    };
    let change = PlanChange {
        customer: input.customer.clone(),
        plan: Some(input.plan.clone()),
        billing_interval: interval.as_str().into(),
        trial_ends_at,
        status,
        period_anchor: anchor,
        new_period,
        at: now,
        now,
    };
    if input.dry_run {
        // The customer as the change leaves it, and as it stands up to the change.
        let mut after = current.clone();
        after.plan = change.plan.clone();
        after.billing_interval = change.billing_interval.clone();
        after.status = change.status.clone();
        after.trial_ends_at = change.trial_ends_at;
        after.period_anchor = change.period_anchor;
        let mut before = current.clone();
        before.trial_ends_at = change.trial_ends_at;
        let invoice = if new_period {
            // A new period begins now: the old one's last usage and unused time, the new base fee.
            let closed = Closed {
                anchor: current.period_anchor,
                interval: interval_of(&current),
                plan: current.plan.clone(),
                at: change.period_anchor.min(now),
            };
            invoice::preview_with(app, &after, None, Some(closed)).await?
        } else {
            let plan = app
                .plan_of(&after)
                .ok_or_else(|| BillingError::invalid("unknown plan"))?;
            let pending = Pending {
                at: now,
                plan,
                interval,
            };
            invoice::preview_with(app, &before, Some(pending), None).await?
        };
        return Ok(PlanSet {
            dry_run: true,
            customer: app.view(&after),
            invoice: Some(invoice),
        });
    }
    let record = app
        .store
        .change_plan(change)
        .await?
        .ok_or_else(|| BillingError::unknown_customer(&input.customer))?;
    // The change is made; an invoice that cannot be read now is left out, not an error.
    let invoice = match invoice::preview(app, &record).await {
        Ok(i) => Some(i),
        Err(e) => {
            tracing::warn!(customer = %record.id, error = %e.message, "the changed plan's invoice could not be computed");
            None
        }
    };
    Ok(PlanSet {
        dry_run: false,
        customer: app.view(&record),
        invoice,
    })
}
