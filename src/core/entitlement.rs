//! The entitlement decision: may this customer use `quantity` of this feature now, and what does
//! it cost? Pure: the caller passes the customer's state, usage so far and credit balance.

use std::collections::BTreeMap;

use serde::Serialize;

use super::CoreError;
use super::money::{Currency, MinorUnits};
use super::period::{Interval, Span, Window, period_span, window_span};
use super::plan::{AtLimit, Feature, OverduePolicy, Per, Plan, PlanMeter};
use super::reserved::ReservedMeter;
use super::usage::Aggregation;

/// Stable reason codes (an API: never renamed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Ok,
    UnknownCustomer,
    FeatureNotInPlan,
    QuotaExceeded,
    InsufficientCredits,
    RateLimited,
    SubscriptionInactive,
    PaymentOverdue,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Ok => "ok",
            Reason::UnknownCustomer => "unknown_customer",
            Reason::FeatureNotInPlan => "feature_not_in_plan",
            Reason::QuotaExceeded => "quota_exceeded",
            Reason::InsufficientCredits => "insufficient_credits",
            Reason::RateLimited => "rate_limited",
            Reason::SubscriptionInactive => "subscription_inactive",
            Reason::PaymentOverdue => "payment_overdue",
        }
    }
}

/// Subscription status, with Stripe's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Trialing,
    PastDue,
    Unpaid,
    Canceled,
    Incomplete,
    IncompleteExpired,
    Paused,
}

impl Status {
    pub const NAMES: [&'static str; 8] = [
        "active",
        "trialing",
        "past_due",
        "unpaid",
        "canceled",
        "incomplete",
        "incomplete_expired",
        "paused",
    ];

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "active" => Status::Active,
            "trialing" => Status::Trialing,
            "past_due" => Status::PastDue,
            "unpaid" => Status::Unpaid,
            "canceled" => Status::Canceled,
            "incomplete" => Status::Incomplete,
            "incomplete_expired" => Status::IncompleteExpired,
            "paused" => Status::Paused,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Trialing => "trialing",
            Status::PastDue => "past_due",
            Status::Unpaid => "unpaid",
            Status::Canceled => "canceled",
            Status::Incomplete => "incomplete",
            Status::IncompleteExpired => "incomplete_expired",
            Status::Paused => "paused",
        }
    }

    fn is_inactive(self) -> bool {
        matches!(
            self,
            Status::Unpaid
                | Status::Canceled
                | Status::IncompleteExpired
                | Status::Paused
                | Status::Incomplete
        )
    }
}

/// The customer as the decision needs it.
#[derive(Debug, Clone)]
pub struct CustomerState<'a> {
    pub plan: Option<&'a Plan>,
    /// The status in force now (a trial past its end is already `active`).
    pub status: Status,
    pub delinquent: bool,
    /// Billing period anchor (epoch ms).
    pub anchor: i64,
    pub interval: Interval,
    /// In a trial: limits apply, nothing is charged.
    pub in_trial: bool,
}

/// Usage of the feature's meter the ledger already holds, each figure by the meter's aggregation.
#[derive(Debug, Clone, Default)]
pub struct UsageSoFar {
    /// The meter's quantity in the window of each kind containing `now`.
    pub in_window: BTreeMap<Window, u64>,
    /// The quantity the meter's price reads in the current allowance span (the month, or the
    /// billing period with `per = "period"`), since the plan's billing began: all usage except
    /// dimension values with their own price.
    pub allowance_generic: u64,
    /// The same for the requested dimension value, when it has its own price.
    pub allowance_own: u64,
    /// A level meter's (`max`, `last`) current level: its latest value this month. What the
    /// asked quantity adds to, and what a limit caps ("at most N at once").
    pub level: Option<u64>,
    /// The meter's quantity over the whole billing period (reserved capacity is per period,
    /// whatever plan changes happened in it).
    pub period_total: u64,
}

/// What is being asked.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub feature: &'a Feature,
    /// The value of the meter's priced dimension (`tool` unless the meter names another).
    pub priced_value: Option<&'a str>,
    pub quantity: u64,
    pub now: i64,
    /// Credits one unit costs when the plan is paid with credits.
    pub credits_per_unit: u64,
    /// How the meter aggregates (what one more event adds).
    pub aggregation: Aggregation,
    /// The customer's reserved capacity on this meter, which prices it instead of the plan.
    pub reserved: Option<&'a ReservedMeter>,
    /// A `unique` meter's asked value is counted already this month: it adds nothing.
    pub value_counted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cost {
    /// The price of the asked units at the tier that applies (never negative), when the plan
    /// prices this usage; see [`super::cost`].
    pub amount: Option<MinorUnits>,
    /// This meter's charge for the allowance span before and after the asked units (a volume
    /// price reaching a cheaper tier can lower it).
    pub total_before: Option<MinorUnits>,
    pub total_after: Option<MinorUnits>,
    pub currency: Option<String>,
    /// Credits the request burns, when the plan is paid with credits.
    pub credits: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upgrade {
    pub plan: String,
    /// A checkout or payment link, when one is known (filled by the service layer).
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    pub reason: Reason,
    pub meter: Option<String>,
    /// The window the limit figures refer to (`month` = the billing-period month window).
    pub window: Option<Window>,
    pub limit: Option<u64>,
    pub used: Option<u64>,
    pub remaining: Option<u64>,
    pub resets_at: Option<i64>,
    pub cost: Cost,
    pub upgrade: Option<Upgrade>,
}

impl Decision {
    fn plain(allowed: bool, reason: Reason) -> Decision {
        Decision {
            allowed,
            reason,
            meter: None,
            window: None,
            limit: None,
            used: None,
            remaining: None,
            resets_at: None,
            cost: Cost {
                amount: None,
                total_before: None,
                total_after: None,
                currency: None,
                credits: None,
            },
            upgrade: None,
        }
    }

    pub fn unknown_customer() -> Decision {
        Decision::plain(false, Reason::UnknownCustomer)
    }

    pub fn denied(reason: Reason) -> Decision {
        Decision::plain(false, reason)
    }
}

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
        let free = customer.in_trial;
        decision.cost.amount = Some(if free {
            MinorUnits::ZERO
        } else {
            charge.amount
        });
        decision.cost.total_before = Some(if free {
            MinorUnits::ZERO
        } else {
            charge.before
        });
        decision.cost.total_after = Some(if free { MinorUnits::ZERO } else { charge.after });
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

/// Where a customer stands against one meter's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub window: Window,
    pub limit: u64,
    pub used: u64,
    pub resets_at: i64,
}

/// The figures to report for a meter and whether `quantity` more units would exceed a limit:
/// the exceeded window that frees up last decides; otherwise the tightest window; without
/// windows, the allowance span's included units (counted on usage the meter's price covers).
pub fn standing(
    terms: &PlanMeter,
    usage: &UsageSoFar,
    spans: &BTreeMap<Window, Span>,
    period: Span,
    quantity: u64,
) -> (Option<Standing>, bool) {
    let mut exceeded: Option<Standing> = None;
    let mut tightest: Option<Standing> = None;
    let month_end = spans.get(&Window::Month).map_or(period.end, |s| s.end);
    for (window, limit) in &terms.limits {
        let used = usage
            .level
            .unwrap_or_else(|| usage.in_window.get(window).copied().unwrap_or(0));
        // With `per = "period"` the month limit covers the whole period.
        let resets_at = match (window, terms.per) {
            (Window::Month, Per::Period) => period.end,
            _ => spans.get(window).map_or(period.end, |s| s.end),
        };
        let entry = Standing {
            window: *window,
            limit: *limit,
            used,
            resets_at,
        };
        if used.saturating_add(quantity) > *limit {
            if exceeded.is_none_or(|e| resets_at > e.resets_at) {
                exceeded = Some(entry);
            }
        } else if tightest.is_none_or(|t| limit - used < t.limit - t.used) {
            tightest = Some(entry);
        }
    }
    let over_limit = exceeded.is_some();
    let report = exceeded.or(tightest).or_else(|| {
        (terms.included > 0).then_some(Standing {
            window: Window::Month,
            limit: terms.included,
            used: usage.allowance_generic,
            resets_at: match terms.per {
                Per::Month => month_end,
                Per::Period => period.end,
            },
        })
    });
    (report, over_limit)
}

/// Currency helper for callers that print costs.
pub fn currency_of(plan: Option<&Plan>) -> Currency {
    plan.map_or(Currency::USD, |p| p.currency)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plan::PlanMeter;
    use crate::core::tier::PriceModel;
    use rust_decimal::Decimal;
    use std::collections::BTreeSet;

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
