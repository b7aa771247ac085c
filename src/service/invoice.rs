//! The upcoming invoice from the ledger: the plans the customer had during the current period
//! (its plan changes), the usage recorded under each, its reserved capacity and the credits its
//! usage burned, priced by the core (`core::invoice`, whose module text says how each line is
//! computed). `set_customer_plan`'s dry run previews a change the same way before it is made.

use schemars::JsonSchema;
use serde::Serialize;

use super::customers::{in_trial, interval_of, period_of};
use super::{App, BillingError, Money, PeriodView};
use crate::core::invoice::{self, LineKind, PlanAt, StretchUsage, Terms};
use crate::core::period::{Interval, Span, Window, rfc3339, window_span};
use crate::core::plan::{Per, Plan};
use crate::store::CustomerRecord;

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct InvoiceTierView {
    pub tier: usize,
    pub quantity: u64,
    pub unit_amount: String,
    pub flat_amount: i64,
    /// Exact amount in minor units before rounding.
    pub amount: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct InvoiceLineView {
    /// base (the period's base fee), proration (a plan change's credit or charge), usage or
    /// credits (usage paid with prepaid credits, at 0).
    pub kind: String,
    pub description: String,
    /// The plan that prices the line.
    pub plan: String,
    /// The time the line covers.
    pub from: String,
    pub to: String,
    pub meter: Option<String>,
    /// The meter's priced dimension value, for a line priced by its own price.
    pub dimension_value: Option<String>,
    /// The meter's quantity by its aggregation (1 for base and proration lines).
    pub quantity: u64,
    /// Included (or reserved) units of this span.
    pub included: u64,
    pub billable: u64,
    pub tiers: Vec<InvoiceTierView>,
    /// Credits burned (credit lines).
    pub credits: u64,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct InvoicePreviewView {
    pub customer: String,
    /// The plan in force now.
    pub plan: String,
    pub period: PeriodView,
    pub in_trial: bool,
    pub trial_ends_at: Option<String>,
    pub lines: Vec<InvoiceLineView>,
    /// The sum of the lines.
    pub total: Money,
    /// Credits left; credits burned are paid in advance and appear as lines at 0.
    pub credit_balance: u64,
}

/// A change not made yet, previewed as if it were made at `at`.
#[derive(Debug, Clone, Copy)]
pub struct Pending<'a> {
    pub at: i64,
    pub plan: &'a Plan,
    pub interval: Interval,
}

pub async fn preview(
    app: &App,
    record: &CustomerRecord,
) -> Result<InvoicePreviewView, BillingError> {
    preview_with(app, record, None).await
}

fn no_plan(customer: &str) -> BillingError {
    BillingError::new(
        "no_plan",
        format!("customer `{customer}` has no plan; set one with set_customer_plan"),
    )
}

/// The plans in force during `period`: the one at its start, then each change inside it.
async fn plans_in<'a>(
    app: &'a App,
    record: &CustomerRecord,
    period: Span,
    pending: Option<Pending<'a>>,
) -> Result<Vec<PlanAt<'a>>, BillingError> {
    let catalog = &app.catalog;
    let named = |id: Option<&str>| {
        id.or(catalog.default_plan.as_deref())
            .and_then(|p| catalog.plan(p))
    };
    let interval = |i: &str| {
        if i == "year" {
            Interval::Year
        } else {
            Interval::Month
        }
    };
    let current = app.plan_of(record).ok_or_else(|| no_plan(&record.id))?;
    let changes = app
        .store
        .plan_changes(&record.id, period.start, period.end)
        .await?;
    let (first_plan, first_interval) = match changes.first() {
        Some(c) => (
            named(c.previous_plan.as_deref()),
            interval(&c.previous_interval),
        ),
        None => (Some(current), interval_of(record)),
    };
    let mut plans = vec![PlanAt {
        at: period.start,
        plan: first_plan.unwrap_or(current),
        interval: first_interval,
    }];
    // A plan no longer in the catalog keeps the stretch of the plan before it.
    plans.extend(changes.iter().filter_map(|c| {
        named(c.plan.as_deref()).map(|plan| PlanAt {
            at: c.at,
            plan,
            interval: interval(&c.billing_interval),
        })
    }));
    if let Some(p) = pending {
        plans.push(PlanAt {
            at: p.at,
            plan: p.plan,
            interval: p.interval,
        });
    }
    Ok(plans)
}

/// The month windows (from the period's anchor) that `span` touches up to `now`, cut to it.
fn months_of(anchor: i64, span: Span, now: i64) -> Result<Vec<Span>, BillingError> {
    let mut out = Vec::new();
    let mut at = span.start;
    while at < span.end && at <= now {
        let month = window_span(anchor, Window::Month, at).ok_or_else(|| {
            BillingError::invalid("the customer's billing months cannot be computed")
        })?;
        let end = month.end.min(span.end);
        out.push(Span { start: at, end });
        at = end;
    }
    Ok(out)
}

/// The invoice of the current period, with `pending` applied at its moment when given.
pub async fn preview_with(
    app: &App,
    record: &CustomerRecord,
    pending: Option<Pending<'_>>,
) -> Result<InvoicePreviewView, BillingError> {
    let now = app.now();
    let period = period_of(record, now)?;
    let plans = plans_in(app, record, period, pending).await?;
    let current = plans
        .last()
        .map(|p| p.plan)
        .ok_or_else(|| no_plan(&record.id))?;
    let stretches = invoice::stretches(period, &plans, record.trial_ends_at);
    let mut priced = Vec::with_capacity(stretches.len());
    for stretch in stretches {
        let whole = app
            .store
            .usage_totals(&record.id, stretch.span.start, stretch.span.end)
            .await?;
        let monthly = stretch.interval == Interval::Year
            && stretch.plan.meters.values().any(|m| m.per == Per::Month);
        let mut months = Vec::new();
        if monthly {
            for span in months_of(record.period_anchor, stretch.span, now)? {
                months.push((
                    span,
                    app.store
                        .usage_totals(&record.id, span.start, span.end)
                        .await?,
                ));
            }
        }
        priced.push((stretch, StretchUsage { whole, months }));
    }
    let aggregations = app.catalog.aggregations();
    let reserved = record.reserved()?;
    let credits_burned = app
        .store
        .credits_burned(&record.id, period.start, period.end)
        .await?;
    let terms = Terms {
        period,
        trial_end: record.trial_ends_at,
        aggregations: &aggregations,
        reserved: &reserved,
        credits_burned: &credits_burned,
    };
    let p = invoice::preview(&terms, &priced)?;
    let currency = current.currency;
    Ok(InvoicePreviewView {
        customer: record.id.clone(),
        plan: current.id.clone(),
        period: p.period.into(),
        in_trial: in_trial(record, now),
        trial_ends_at: record.trial_ends_at.map(rfc3339),
        lines: p
            .lines
            .into_iter()
            .map(|l| InvoiceLineView {
                kind: match l.kind {
                    LineKind::Base => "base",
                    LineKind::Proration => "proration",
                    LineKind::Usage => "usage",
                    LineKind::Credits => "credits",
                }
                .into(),
                description: l.description,
                plan: l.plan,
                from: rfc3339(l.span.start),
                to: rfc3339(l.span.end),
                meter: l.meter,
                dimension_value: l.dimension_value,
                quantity: l.quantity,
                included: l.included,
                billable: l.billable,
                tiers: l
                    .tiers
                    .into_iter()
                    .map(|s| InvoiceTierView {
                        tier: s.tier,
                        quantity: s.quantity,
                        unit_amount: s.unit_amount.normalize().to_string(),
                        flat_amount: s.flat_amount.0,
                        amount: s.exact.normalize().to_string(),
                    })
                    .collect(),
                credits: l.credits,
                amount: Money::new(l.amount, currency),
            })
            .collect(),
        total: Money::new(p.total, currency),
        credit_balance: super::credits::balance_of(app, &record.id).await?,
    })
}
