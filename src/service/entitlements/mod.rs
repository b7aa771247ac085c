//! Entitlements: the core's decision on the ledger's state. With `consume`, the decision and the
//! usage record / credit debit happen in one locked step in the store, so concurrent consumers
//! never exceed a limit and never overdraw credits.

mod holds;
mod prepared;
mod view;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use holds::{
    DEFAULT_TTL_MS as DEFAULT_HOLD_TTL_MS, Held, HoldView, SettleInput, release, settle,
    settle_held,
};
pub(crate) use prepared::Prepared;
pub use view::{CostView, EntitlementView, UpgradeView};

use super::{App, BillingError};
use crate::catalog::Catalog;
use crate::core::entitlement::{self, CustomerState, Decision, Reason, Request, UsageSoFar};
use crate::core::period::Window;
use crate::core::plan::{Feature, Per, PlanMeter};
use crate::core::usage::{Aggregation, merged};
use crate::store::{Consumed, Snapshot, Verdict};
use view::view;

#[derive(Debug, Clone, Default)]
pub struct CheckInput {
    pub customer: String,
    pub feature: String,
    pub quantity: u64,
    pub consume: bool,
    pub tool: Option<String>,
    pub dimensions: BTreeMap<String, String>,
    pub idempotency_key: Option<String>,
    /// Hold the units (and credits) for this long instead of consuming them.
    pub hold_ttl_ms: Option<i64>,
    /// Answer with what a gate acts on alone, and a message only when refused (`compact: true`).
    pub compact: bool,
}

/// The part of a snapshot one decision needs: window figures by the meter's aggregation, and the
/// allowance span's (the month, or the period with `per = "period"`) billable usage apart from
/// dimension values with their own price.
pub(crate) fn usage_so_far(
    snapshot: &Snapshot,
    terms: Option<&PlanMeter>,
    aggregation: Aggregation,
    priced_value: Option<&str>,
) -> UsageSoFar {
    let own_price = |v: &str| terms.is_some_and(|m| m.dimension_prices.contains_key(v));
    let per = terms.map_or(Per::Month, |t| t.per);
    let by_value = match per {
        Per::Period => &snapshot.period_by_value,
        Per::Month => &snapshot.month_by_value,
    };
    let period_total = snapshot.period_total.value(aggregation);
    let mut in_window: BTreeMap<Window, u64> = snapshot
        .in_window
        .iter()
        .map(|(w, t)| (*w, t.value(aggregation)))
        .collect();
    if per == Per::Period {
        // The month limit covers the whole period.
        in_window.insert(Window::Month, period_total);
    }
    let month = snapshot.in_window.get(&Window::Month);
    UsageSoFar {
        in_window,
        allowance_generic: merged(
            by_value
                .iter()
                .filter(|(v, _)| !own_price(v))
                .map(|(_, t)| t),
        )
        .value(aggregation),
        allowance_own: priced_value
            .filter(|v| own_price(v))
            .and_then(|v| by_value.get(v))
            .map_or(0, |t| t.value(aggregation)),
        level: aggregation
            .is_gauge()
            .then(|| month.and_then(|t| t.last).map_or(0, |(_, q)| q)),
        period_total,
    }
}

/// Decide on a snapshot: pure, so it runs inside the store's lock.
fn decide(
    catalog: &Catalog,
    feature: &Feature,
    priced_value: Option<&str>,
    tool: Option<&str>,
    quantity: u64,
    now: i64,
    snapshot: &Snapshot,
) -> Verdict {
    let record = &snapshot.customer;
    let plan = record
        .plan
        .as_deref()
        .or(catalog.default_plan.as_deref())
        .and_then(|p| catalog.plan(p));
    let state = CustomerState {
        plan,
        status: super::terms::status_of(record, now),
        delinquent: record.delinquent != 0,
        anchor: record.period_anchor,
        interval: super::terms::interval_of(record),
        in_trial: super::terms::in_trial(record, now),
    };
    let meter = feature.meter.as_deref();
    let terms = plan.zip(meter).and_then(|(p, m)| p.meters.get(m));
    let aggregation = meter
        .and_then(|m| catalog.meters.get(m))
        .map_or(Aggregation::Sum, |m| m.aggregation);
    // A damaged row cannot price the request: it is said loudly and priced by the plan.
    let reserved = meter.and_then(|m| match record.reserved() {
        Ok(mut all) => all.remove(m),
        Err(e) => {
            tracing::error!(error = %e, "reserved tiers unreadable; pricing by the plan");
            None
        }
    });
    let usage = usage_so_far(snapshot, terms, aggregation, priced_value);
    let level = usage.level;
    let balance = crate::core::credit::balance(&snapshot.grants, now);
    let request = Request {
        feature,
        priced_value,
        quantity,
        now,
        credits_per_unit: catalog.credits.cost_of(tool),
        aggregation,
        reserved: reserved.as_ref(),
        value_counted: snapshot.value_counted,
    };
    let (mut decision, error) = match entitlement::decide(&state, &request, &usage, balance) {
        Ok(decision) => (decision, None),
        Err(e) => (Decision::denied(Reason::QuotaExceeded), Some(e)),
    };
    if let (Some(upgrade), Some(plan)) = (decision.upgrade.as_mut(), plan) {
        upgrade.url = plan.upgrade_link(&record.id, record.email.as_deref());
    }
    let credits = if decision.allowed {
        decision.cost.credits.unwrap_or(0)
    } else {
        0
    };
    // A level meter records its new level: its latest value this month plus the asked units.
    let record_quantity = level.map(|l| l.saturating_add(quantity));
    Verdict {
        decision,
        credits,
        record_quantity,
        error,
    }
}

pub async fn check(app: &App, input: CheckInput) -> Result<EntitlementView, BillingError> {
    let prepared = Prepared::new(
        app,
        &input.feature,
        input.dimensions.clone(),
        input.tool.clone(),
    )?;
    if input.quantity > super::usage_event::MAX_QUANTITY {
        return Err(BillingError::invalid(format!(
            "quantity is above the maximum of {}",
            super::usage_event::MAX_QUANTITY
        )));
    }
    let now = app.now();
    let feature = &prepared.feature;
    let meter = feature
        .meter
        .as_deref()
        .and_then(|m| app.catalog.meters.get(m));
    let counted = app.counted(feature.meter.as_deref());
    let mut hold = None;
    let (verdict, event_id, duplicate) = if let Some(ttl_ms) = input.hold_ttl_ms {
        let (verdict, placed, duplicate) =
            holds::place(app, &input, &prepared, ttl_ms, now).await?;
        hold = placed;
        (verdict, None, duplicate)
    } else if input.consume {
        let request = prepared.consume_request(
            app,
            &input.customer,
            input.quantity,
            input.idempotency_key.clone(),
            now,
        )?;
        match app.store.consume(request).await? {
            Consumed::UnknownCustomer => return Err(refused(app, &input.customer).await),
            Consumed::Duplicate { event_id } => {
                let decision = already_allowed(app, &input.customer, &prepared, now).await?;
                (Verdict::of(decision), Some(event_id), true)
            }
            Consumed::Decided { verdict, event_id } => (*verdict, event_id, false),
        }
    } else {
        let snapshot = app.store.snapshot(&input.customer, counted, now).await?;
        let Some(mut snapshot) = snapshot else {
            return Err(refused(app, &input.customer).await);
        };
        if snapshot.customer.deleted_at.is_some() {
            return Err(refused(app, &input.customer).await);
        }
        // A unique meter's value counted already this month adds nothing.
        let distinct = meter
            .and_then(|m| m.unique.as_deref())
            .and_then(|d| prepared.dimensions.get(d));
        if let (Some(value), Some(m)) = (distinct, meter) {
            let record = &snapshot.customer;
            if let Some(month) =
                crate::core::period::window_span(record.period_anchor, Window::Month, now)
            {
                let counted = app
                    .store
                    .value_counted(&record.id, &m.id, value, month.start, month.end)
                    .await?;
                Arc::make_mut(&mut snapshot).value_counted = counted;
            }
        }
        (
            prepared.decider(app, input.quantity, now)(&snapshot),
            None,
            false,
        )
    };
    if let Some(e) = verdict.error {
        return Err(e.into());
    }
    metrics::counter!(
        "billing_entitlement_decisions_total",
        "reason" => verdict.decision.reason.as_str(),
        "consume" => if input.consume { "true" } else { "false" },
    )
    .increment(1);
    if event_id.is_some() {
        let status = if duplicate { "duplicate" } else { "recorded" };
        metrics::counter!("billing_usage_events_total", "status" => status).increment(1);
    }
    Ok(view(
        app,
        &input,
        verdict.decision,
        event_id,
        duplicate,
        hold,
    ))
}

/// The standing of a request answered before (a retried key): allowed, with today's figures.
async fn already_allowed(
    app: &App,
    customer: &str,
    prepared: &Prepared,
    now: i64,
) -> Result<Decision, BillingError> {
    let counted = app.counted(prepared.feature.meter.as_deref());
    let snapshot = app.store.snapshot(customer, counted, now).await?;
    let mut decision = snapshot.map_or_else(
        || Decision::denied(Reason::Ok),
        |s| prepared.decider(app, 0, now)(&s).decision,
    );
    decision.allowed = true;
    decision.reason = Reason::Ok;
    Ok(decision)
}

/// A check the ledger refused as for an unknown customer: unknown, or deleted (the code says
/// which, and is the answer's reason).
async fn refused(app: &App, customer: &str) -> BillingError {
    let e = app.refused_customer(customer).await;
    let reason = e.code;
    e.with("allowed", false).with("reason", reason)
}

/// Figures for one meter without a decision: period usage and the plan's tightest allowance.
#[derive(Debug, Clone, Default)]
pub struct Allowance {
    pub period_used: u64,
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    pub resets_at: Option<i64>,
}

pub async fn allowance(
    app: &App,
    customer: &str,
    meter: &str,
    now: i64,
) -> Result<Allowance, BillingError> {
    let counted = app.counted(Some(meter));
    let Some(snapshot) = app.store.snapshot(customer, counted, now).await? else {
        return Err(BillingError::unknown_customer(customer));
    };
    let aggregation = counted.map_or(Aggregation::Sum, |c| c.aggregation);
    let record = &snapshot.customer;
    let terms = app.plan_of(record).and_then(|p| p.meters.get(meter));
    let usage = usage_so_far(&snapshot, terms, aggregation, None);
    let period_used = merged(snapshot.period_by_value.values()).value(aggregation);
    let Some(terms) = terms else {
        return Ok(Allowance {
            period_used,
            ..Allowance::default()
        });
    };
    let (spans, period) =
        entitlement::windows_for(record.period_anchor, super::terms::interval_of(record), now)?;
    let (standing, _) = entitlement::standing(terms, &usage, &spans, period, 0);
    Ok(Allowance {
        period_used,
        limit: standing.map(|s| s.limit),
        remaining: standing.map(|s| s.limit.saturating_sub(s.used)),
        resets_at: standing.map(|s| s.resets_at),
    })
}
