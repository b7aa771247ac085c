//! The entitlement decision: may this customer use `quantity` of this feature now, and what does
//! it cost? Pure: the caller passes the customer's state, usage so far and credit balance.

mod decision;
mod standing;
mod status;

use std::collections::BTreeMap;

use super::CoreError;
use super::money::{Currency, MinorUnits};
use super::period::{Interval, Span, Window, period_span, window_span};
use super::plan::{AtLimit, OverduePolicy, Plan};
use super::usage::Aggregation;

pub use decision::{Cost, CustomerState, Decision, Request, Upgrade, UsageSoFar};
pub use standing::{Standing, standing};
pub use status::{Reason, Status};

/// The windows whose usage a decision for this customer needs, keyed by kind.
pub fn windows_for(
    anchor: i64,
    interval: Interval,
    now: i64,
) -> Result<(BTreeMap<Window, Span>, Span), CoreError> {
    let mut spans = BTreeMap::new();
    for w in Window::ALL {
        spans.insert(w, window_span(anchor, w, now).ok_or(CoreError::Overflow)?);
    }
    let period = period_span(anchor, interval, now).ok_or(CoreError::Overflow)?;
    Ok((spans, period))
}

fn upgrade_of(plan: &Plan) -> Option<Upgrade> {
    plan.upgrade_to.as_ref().map(|p| Upgrade {
        plan: p.clone(),
        url: None,
    })
}

/// Decide. `credit_balance` is the customer's live credit balance.
pub fn decide(
    customer: &CustomerState<'_>,
    request: &Request<'_>,
    usage: &UsageSoFar,
    credit_balance: u64,
) -> Result<Decision, CoreError> {
    if customer.status.is_inactive() {
        return Ok(Decision::denied(Reason::SubscriptionInactive));
    }
    let Some(plan) = customer.plan else {
        return Ok(Decision::denied(Reason::FeatureNotInPlan));
    };
    let overdue = customer.delinquent || customer.status == Status::PastDue;
    if overdue && plan.on_payment_overdue == OverduePolicy::Block {
        return Ok(Decision::denied(Reason::PaymentOverdue));
    }
    if !plan.features.contains(&request.feature.id) {
        let mut d = Decision::denied(Reason::FeatureNotInPlan);
        d.upgrade = upgrade_of(plan);
        return Ok(d);
    }
    let mut decision = Decision::plain(true, Reason::Ok);
    let Some(meter) = request.feature.meter.as_deref() else {
        return Ok(decision);
    };
    decision.meter = Some(meter.to_string());
    let (spans, period) = windows_for(customer.anchor, customer.interval, request.now)?;
    let terms = plan.meters.get(meter).cloned().unwrap_or_default();
    let q = request.quantity;
    let increase = if request.value_counted {
        0
    } else {
        increase(request.aggregation, q)
    };

    let (report, over_limit) = standing(&terms, usage, &spans, period, increase);
    if let Some(st) = report {
        decision.window = Some(st.window);
        decision.limit = Some(st.limit);
        decision.used = Some(st.used);
        decision.remaining = Some(st.limit.saturating_sub(st.used));
        decision.resets_at = Some(st.resets_at);
    }
    if over_limit && plan.at_limit != AtLimit::ChargeOverage {
        decision.allowed = false;
        decision.reason = Reason::QuotaExceeded;
        if plan.at_limit == AtLimit::UpgradePrompt {
            decision.upgrade = upgrade_of(plan);
        }
        return Ok(decision);
    }

    if plan.pay_with_credits {
        let credits = request
            .credits_per_unit
            .checked_mul(q)
            .ok_or(CoreError::Overflow)?;
        decision.cost.credits = Some(credits);
        if credits > credit_balance {
            decision.allowed = false;
            decision.reason = Reason::InsufficientCredits;
            decision.upgrade = upgrade_of(plan);
            return Ok(decision);
        }
    } else if let Some(charge) = super::cost::request_cost(
        &terms,
        request.reserved,
        request.priced_value,
        usage,
        request.aggregation,
        increase,
        plan.currency,
    )? {
        // In a trial nothing is charged.
        let charged = |amount| {
            Some(if customer.in_trial {
                MinorUnits::ZERO
            } else {
                amount
            })
        };
        decision.cost.amount = charged(charge.amount);
        decision.cost.total_before = charged(charge.before);
        decision.cost.total_after = charged(charge.after);
        decision.cost.currency = Some(plan.currency.code().to_string());
    }
    Ok(decision)
}

/// What one more request of `quantity` adds to a meter's quantity: the quantity for sums and
/// gauges (the level rises by it), one event for `count` and `unique` (at most one new value).
pub fn increase(aggregation: Aggregation, quantity: u64) -> u64 {
    match aggregation {
        Aggregation::Sum | Aggregation::Max | Aggregation::Last => quantity,
        Aggregation::Count | Aggregation::Unique => u64::from(quantity > 0),
    }
}

/// Currency helper for callers that print costs.
pub fn currency_of(plan: Option<&Plan>) -> Currency {
    plan.map_or(Currency::USD, |p| p.currency)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::{Feature, PlanMeter};
    use crate::core::tier::PriceModel;
    use rust_decimal::Decimal;
    use std::collections::BTreeSet;

    #[test]
    fn every_reason_parses_back_from_its_name() {
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(r));
        }
        assert_eq!(Reason::parse("not_a_reason"), None);
    }

    fn feature() -> Feature {
        Feature {
            id: "tool_calls".into(),
            meter: Some("tool_calls".into()),
            description: None,
        }
    }

    /// Seed 000's freemium tier: 5 calls an hour, 10 a day, 100 a month, then an upgrade prompt.
    fn freemium() -> Plan {
        Plan {
            id: "free".into(),
            name: "Free".into(),
            description: None,
            currency: Currency::USD,
            monthly: None,
            yearly: None,
            trial_days: 0,
            features: BTreeSet::from(["tool_calls".to_string()]),
            meters: BTreeMap::from([(
                "tool_calls".to_string(),
                PlanMeter {
                    limits: BTreeMap::from([
                        (Window::Hour, 5),
                        (Window::Day, 10),
                        (Window::Month, 100),
                    ]),
                    ..PlanMeter::default()
                },
            )]),
            at_limit: AtLimit::UpgradePrompt,
            upgrade_to: Some("professional".into()),
            pay_with_credits: false,
            on_payment_overdue: OverduePolicy::Block,
            rate_limit: None,
            upgrade_url: None,
        }
    }

    /// Seed 000's starter plan: $29/month, 1,000 calls included, 5¢ per call above.
    fn starter() -> Plan {
        let mut p = freemium();
        p.id = "starter".into();
        p.monthly = Some(MinorUnits(2900));
        p.at_limit = AtLimit::ChargeOverage;
        p.meters.insert(
            "tool_calls".into(),
            PlanMeter {
                included: 1000,
                price: Some(PriceModel::PerUnit {
                    unit_amount: Decimal::from(5),
                }),
                ..PlanMeter::default()
            },
        );
        p
    }

    fn state(plan: &Plan) -> CustomerState<'_> {
        CustomerState {
            plan: Some(plan),
            status: Status::Active,
            delinquent: false,
            anchor: 0,
            interval: Interval::Month,
            in_trial: false,
        }
    }

    fn request(f: &Feature, quantity: u64) -> Request<'_> {
        Request {
            feature: f,
            priced_value: None,
            quantity,
            now: 10 * 3_600_000 + 5,
            credits_per_unit: 1,
            aggregation: Aggregation::Sum,
            reserved: None,
            value_counted: false,
        }
    }

    fn used(hour: u64, day: u64, month: u64) -> UsageSoFar {
        UsageSoFar {
            in_window: BTreeMap::from([
                (Window::Hour, hour),
                (Window::Day, day),
                (Window::Month, month),
            ]),
            allowance_generic: month,
            allowance_own: 0,
            level: None,
            period_total: month,
        }
    }

    #[test]
    fn freemium_hour_limit_denies_with_upgrade_and_reset() {
        let plan = freemium();
        let f = feature();
        let d = decide(&state(&plan), &request(&f, 1), &used(5, 5, 5), 0).unwrap();
        assert!(!d.allowed);
        assert_eq!(d.reason, Reason::QuotaExceeded);
        assert_eq!((d.limit, d.used, d.remaining), (Some(5), Some(5), Some(0)));
        assert_eq!(d.resets_at, Some(11 * 3_600_000));
        assert_eq!(d.upgrade.map(|u| u.plan), Some("professional".into()));
    }

    #[test]
    fn the_window_that_frees_up_last_is_reported() {
        let plan = freemium();
        let f = feature();
        let d = decide(&state(&plan), &request(&f, 1), &used(5, 10, 100), 0).unwrap();
        assert_eq!(d.window, Some(Window::Month));
        assert_eq!(d.remaining, Some(0));
    }

    #[test]
    fn allowed_reports_the_tightest_window() {
        let plan = freemium();
        let f = feature();
        let d = decide(&state(&plan), &request(&f, 1), &used(1, 9, 20), 0).unwrap();
        assert!(d.allowed);
        assert_eq!((d.window, d.remaining), (Some(Window::Day), Some(1)));
    }

    #[test]
    fn included_units_are_free_then_overage_is_priced() {
        let plan = starter();
        let f = feature();
        let d = decide(&state(&plan), &request(&f, 3), &used(0, 0, 999), 0).unwrap();
        assert!(d.allowed);
        assert_eq!(d.cost.amount, Some(MinorUnits(10)));
        assert_eq!((d.limit, d.remaining), (Some(1000), Some(1)));
    }

    #[test]
    fn credits_must_cover_the_whole_cost() {
        let mut plan = freemium();
        plan.meters.clear();
        plan.pay_with_credits = true;
        let f = feature();
        let mut r = request(&f, 2);
        r.credits_per_unit = 5;
        assert_eq!(
            decide(&state(&plan), &r, &used(0, 0, 0), 10)
                .unwrap()
                .cost
                .credits,
            Some(10)
        );
        assert_eq!(
            decide(&state(&plan), &r, &used(0, 0, 0), 9).unwrap().reason,
            Reason::InsufficientCredits
        );
    }

    #[test]
    fn status_and_plan_gates_come_first() {
        let plan = freemium();
        let f = feature();
        let mut s = state(&plan);
        s.status = Status::Canceled;
        assert_eq!(
            decide(&s, &request(&f, 1), &used(0, 0, 0), 0)
                .unwrap()
                .reason,
            Reason::SubscriptionInactive
        );
        s.status = Status::PastDue;
        assert_eq!(
            decide(&s, &request(&f, 1), &used(0, 0, 0), 0)
                .unwrap()
                .reason,
            Reason::PaymentOverdue
        );
        let other = Feature {
            id: "premium_tools".into(),
            meter: None,
            description: None,
        };
        assert_eq!(
            decide(&state(&plan), &request(&other, 1), &used(0, 0, 0), 0)
                .unwrap()
                .reason,
            Reason::FeatureNotInPlan
        );
    }
}
