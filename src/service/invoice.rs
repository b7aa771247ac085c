//! The upcoming invoice from the ledger: the plans the customer had during the current period
//! (its plan changes), the usage recorded under each, its reserved capacity and the credits its
//! usage burned, priced by the core (`core::invoice`, whose module text says how each line is
//! computed). `set_customer_plan`'s dry run previews a change the same way before it is made.

use schemars::JsonSchema;
use serde::Serialize;

use super::invoice_reads::Reads;
use super::terms::{in_trial, interval_of, period_of};
use super::{App, BillingError, Money, PeriodView};
use std::collections::BTreeMap;

use crate::core::invoice::{self, LineKind, PlanAt, Stretch, StretchUsage, Terms};
use crate::core::period::{Interval, Span, Window, period_span, rfc3339, window_span};
use crate::core::plan::{Per, Plan};
use crate::store::{CustomerRecord, PlanChangeRecord};

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
    preview_with(app, record, None, None).await
}

fn no_plan(customer: &str) -> BillingError {
    BillingError::new(
        "no_plan",
        format!("customer `{customer}` has no plan; set one with set_customer_plan"),
    )
}

/// The plans in force during `span`: the one at its start, then each of `changes` (the changes
/// inside it, oldest first). `at_end` is the plan (and interval) in force when none says otherwise.
fn plans_in<'a>(
    app: &'a App,
    changes: &[PlanChangeRecord],
    at_end: (&'a Plan, Interval),
    span: Span,
    pending: Option<Pending<'a>>,
) -> Vec<PlanAt<'a>> {
    let catalog = &app.catalog;
    let named = |id: Option<&str>| {
        id.or(catalog.default_plan.as_deref())
            .and_then(|p| catalog.plan(p))
    };
    let (first_plan, first_interval) = match changes.first() {
        Some(c) => (
            named(c.previous_plan.as_deref()),
            Interval::stored(&c.previous_interval),
        ),
        None => (Some(at_end.0), at_end.1),
    };
    let mut plans = vec![PlanAt {
        at: span.start,
        plan: first_plan.unwrap_or(at_end.0),
        interval: first_interval,
    }];
    // A plan no longer in the catalog keeps the stretch of the plan before it.
    plans.extend(changes.iter().filter_map(|c| {
        named(c.plan.as_deref()).map(|plan| PlanAt {
            at: c.at,
            plan,
            interval: Interval::stored(&c.billing_interval),
        })
    }));
    if let Some(p) = pending {
        plans.push(PlanAt {
            at: p.at,
            plan: p.plan,
            interval: p.interval,
        });
    }
    plans
}

/// Each stretch with its usage: over the whole stretch, and per month where a yearly plan
/// includes units per month.
async fn with_usage<'a>(
    reads: Reads<'_>,
    record: &CustomerRecord,
    anchor: i64,
    stretches: Vec<Stretch<'a>>,
) -> Result<Vec<(Stretch<'a>, StretchUsage)>, BillingError> {
    let now = reads.app().now();
    let mut priced = Vec::with_capacity(stretches.len());
    for stretch in stretches {
        let whole = reads.usage(&record.id, stretch.span).await?;
        let monthly = stretch.interval == Interval::Year
            && stretch.plan.meters.values().any(|m| m.per == Per::Month);
        let mut months = Vec::new();
        if monthly {
            for span in months_of(anchor, stretch.span, now)? {
                months.push((span, reads.usage(&record.id, span).await?));
            }
        }
        priced.push((stretch, StretchUsage { whole, months }));
    }
    Ok(priced)
}

/// What a period closed early still owes (a change of interval, a purchase or a reset started
/// the current period inside it): its usage up to the change and a credit for its unused time,
/// as Stripe invoices them at the change. Nothing for a period that ran to its end.
async fn closing_lines(
    reads: Reads<'_>,
    record: &CustomerRecord,
    period: Span,
    reserved: &BTreeMap<String, crate::core::reserved::ReservedMeter>,
    changes: &[PlanChangeRecord],
    closed: Option<Closed>,
) -> Result<Vec<invoice::InvoiceLine>, BillingError> {
    let closed = closed.or_else(|| closed_by(changes, period));
    let Some(Closed {
        anchor,
        interval,
        plan,
        at,
    }) = closed
    else {
        return Ok(Vec::new());
    };
    let Some(old) = period_span(anchor, interval, at - 1) else {
        return Ok(Vec::new());
    };
    if at <= old.start || at >= old.end {
        return Ok(Vec::new());
    }
    let app = reads.app();
    let catalog = &app.catalog;
    let Some(closed_plan) = plan
        .as_deref()
        .or(catalog.default_plan.as_deref())
        .and_then(|p| catalog.plan(p))
    else {
        return Ok(Vec::new());
    };
    let upto = Span {
        start: old.start,
        end: at,
    };
    // A trial the change ended ran up to it and would have run on: none of the closed period
    // was charged, so its usage is trial usage and no unused time is credited.
    let trial_end = match record.trial_ends_at {
        Some(t) if t >= at => Some(old.end),
        other => other,
    };
    let old_changes = reads.plan_changes(&record.id, upto.start, upto.end).await?;
    let plans = plans_in(app, &old_changes, (closed_plan, interval), upto, None);
    let stretches = invoice::stretches(upto, &plans, trial_end);
    let priced = with_usage(reads, record, anchor, stretches).await?;
    let aggregations = app.catalog.aggregations();
    let no_credits = BTreeMap::new();
    let terms = Terms {
        period: old,
        trial_end,
        aggregations: &aggregations,
        reserved,
        credits_burned: &no_credits,
    };
    Ok(invoice::closing(&terms, &priced, at)?)
}

/// The period the change that started `period` closed early, when one did (the period's first
/// change, at its start, with the anchor it replaced).
fn closed_by(changes: &[PlanChangeRecord], period: Span) -> Option<Closed> {
    changes
        .iter()
        .take_while(|c| c.at == period.start)
        .find_map(|c| {
            c.previous_anchor.map(|anchor| Closed {
                anchor,
                interval: Interval::stored(&c.previous_interval),
                plan: c.previous_plan.clone(),
                at: c.at,
            })
        })
}

/// The earliest time whose usage the upcoming invoice prices: the current period's start, or
/// the start of the period a change at that moment closed early (its usage up to the change is
/// on this invoice). Usage before it was on earlier invoices (retention may remove its events).
pub async fn usage_from(app: &App, record: &CustomerRecord, now: i64) -> Result<i64, BillingError> {
    let period = period_of(record, now)?;
    let changes = app
        .store
        .plan_changes(&record.id, period.start, period.end)
        .await?;
    Ok(closed_by(&changes, period)
        .and_then(|c| period_span(c.anchor, c.interval, c.at - 1))
        .map_or(period.start, |old| old.start.min(period.start)))
}

/// A period a change not made yet would close: its anchor, interval and plan, and when.
#[derive(Debug, Clone)]
pub struct Closed {
    pub anchor: i64,
    pub interval: Interval,
    pub plan: Option<String>,
    pub at: i64,
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

/// The invoice of the current period, with `pending` applied at its moment when given, and
/// `closed` as the period a change not made yet would close.
pub async fn preview_with(
    app: &App,
    record: &CustomerRecord,
    pending: Option<Pending<'_>>,
    closed: Option<Closed>,
) -> Result<InvoicePreviewView, BillingError> {
    preview_using(Reads::store(app), record, pending, closed).await
}

/// [`preview_with`], reading the ledger through `reads`.
pub async fn preview_using(
    reads: Reads<'_>,
    record: &CustomerRecord,
    pending: Option<Pending<'_>>,
    closed: Option<Closed>,
) -> Result<InvoicePreviewView, BillingError> {
    let app = reads.app();
    let now = app.now();
    let period = period_of(record, now)?;
    let current = app.plan_of(record).ok_or_else(|| no_plan(&record.id))?;
    let at_end = (current, interval_of(record));
    let changes = reads
        .plan_changes(&record.id, period.start, period.end)
        .await?;
    let plans = plans_in(app, &changes, at_end, period, pending);
    let current = plans
        .last()
        .map(|p| p.plan)
        .ok_or_else(|| no_plan(&record.id))?;
    let stretches = invoice::stretches(period, &plans, record.trial_ends_at);
    let priced = with_usage(reads, record, record.period_anchor, stretches).await?;
    let aggregations = app.catalog.aggregations();
    let reserved = record.reserved()?;
    let credits_burned = reads.credits_burned(&record.id, period).await?;
    let terms = Terms {
        period,
        trial_end: record.trial_ends_at,
        aggregations: &aggregations,
        reserved: &reserved,
        credits_burned: &credits_burned,
    };
    let mut p = invoice::preview(&terms, &priced)?;
    let closing = closing_lines(reads, record, period, &reserved, &changes, closed).await?;
    if !closing.is_empty() {
        p.total = closing
            .iter()
            .try_fold(p.total, |t, l| t.checked_add(l.amount))?;
        p.lines.splice(0..0, closing);
    }
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
        credit_balance: reads.balance(&record.id).await?,
    })
}
