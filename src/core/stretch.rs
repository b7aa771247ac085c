//! A billing period cut into stretches, one per plan in force (a plan change starts a new one)
//! and trial state (a trial's end starts a new one), and the time share of a base fee that
//! Stripe's prorations use: `price × (end − from) / (end − start)`, rounded once.

use rust_decimal::Decimal;

use super::CoreError;
use super::money::{MinorUnits, round_minor};
use super::period::{Interval, Span};
use super::plan::Plan;

/// The plan in force from `at` on.
#[derive(Debug, Clone, Copy)]
pub struct PlanAt<'a> {
    pub at: i64,
    pub plan: &'a Plan,
    pub interval: Interval,
}

/// A stretch of the period under one plan, trial or not.
#[derive(Debug, Clone, Copy)]
pub struct Stretch<'a> {
    pub plan: &'a Plan,
    pub interval: Interval,
    pub span: Span,
    pub trial: bool,
    /// This stretch starts with a change of plan (prorated).
    pub changed: bool,
}

/// Cut `period` into stretches: at each plan change and at the trial's end. `plans` is the plan
/// in force at the period start followed by the changes inside the period, in time order.
/// Adjacent stretches of the same plan and trial state are one (a change and back at the same
/// moment leaves nothing behind).
pub fn stretches<'a>(
    period: Span,
    plans: &[PlanAt<'a>],
    trial_end: Option<i64>,
) -> Vec<Stretch<'a>> {
    let same =
        |a: &Stretch<'_>, b: &Stretch<'_>| a.plan.id == b.plan.id && a.interval == b.interval;
    let mut out: Vec<Stretch<'a>> = Vec::new();
    for (i, p) in plans.iter().enumerate() {
        let start = p.at.clamp(period.start, period.end);
        let end = plans
            .get(i + 1)
            .map_or(period.end, |n| n.at.clamp(period.start, period.end));
        let cut = trial_end.filter(|t| start < *t && *t < end);
        let parts = match cut {
            Some(t) => vec![(start, t), (t, end)],
            None => vec![(start, end)],
        };
        for (start, end) in parts.into_iter().filter(|(s, e)| s < e) {
            let next = Stretch {
                plan: p.plan,
                interval: p.interval,
                span: Span { start, end },
                trial: trial_end.is_some_and(|t| start < t),
                changed: false,
            };
            match out.last_mut() {
                Some(last)
                    if same(last, &next) && last.trial == next.trial && last.span.end == start =>
                {
                    last.span.end = end;
                }
                _ => out.push(next),
            }
        }
    }
    for i in 1..out.len() {
        out[i].changed = !same(&out[i - 1], &out[i]);
    }
    out
}

/// `price × (end − max(from, trial_end)) / (end − start)`, rounded once.
pub fn time_share(
    price: MinorUnits,
    period: Span,
    from: i64,
    trial_end: Option<i64>,
) -> Result<MinorUnits, CoreError> {
    let from = from
        .max(trial_end.unwrap_or(period.start))
        .clamp(period.start, period.end);
    let length = period.end - period.start;
    if length <= 0 {
        return Ok(MinorUnits::ZERO);
    }
    let exact = price
        .to_decimal()
        .checked_mul(Decimal::from(period.end - from))
        .and_then(|v| v.checked_div(Decimal::from(length)))
        .ok_or(CoreError::Overflow)?;
    round_minor(exact)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DAY: i64 = 86_400_000;

    fn plan(id: &str, monthly: i64) -> Plan {
        crate::core::plan::test_plan(id, monthly)
    }

    #[test]
    fn prorations_follow_stripes_formula_to_the_cent() {
        // A 30-day month; Starter ($29) to Professional ($99) after 10 days: Stripe credits
        // 29.00 × 20/30 = 19.333… → 19.33 and charges 99.00 × 20/30 = 66.00.
        let period = Span {
            start: 0,
            end: 30 * DAY,
        };
        assert_eq!(
            time_share(MinorUnits(2900), period, 10 * DAY, None).unwrap(),
            MinorUnits(1933)
        );
        assert_eq!(
            time_share(MinorUnits(9900), period, 10 * DAY, None).unwrap(),
            MinorUnits(6600)
        );
        assert_eq!(
            time_share(MinorUnits(2900), period, 15 * DAY, None).unwrap(),
            MinorUnits(1450)
        );
        // a trial until day 14 leaves 16 of 30 days to pay: 29.00 × 16/30 = 15.466… → 15.47
        assert_eq!(
            time_share(MinorUnits(2900), period, 0, Some(14 * DAY)).unwrap(),
            MinorUnits(1547)
        );
    }

    #[test]
    fn a_trial_end_and_a_change_cut_the_period_in_order() {
        let (a, b) = (plan("a", 100), plan("b", 200));
        let period = Span {
            start: 0,
            end: 30 * DAY,
        };
        let at = |at, p| PlanAt {
            at,
            plan: p,
            interval: Interval::Month,
        };
        let s = stretches(period, &[at(0, &a), at(20 * DAY, &b)], Some(10 * DAY));
        let cut: Vec<(&str, i64, i64, bool, bool)> = s
            .iter()
            .map(|s| {
                (
                    s.plan.id.as_str(),
                    s.span.start / DAY,
                    s.span.end / DAY,
                    s.trial,
                    s.changed,
                )
            })
            .collect();
        assert_eq!(
            cut,
            vec![
                ("a", 0, 10, true, false),
                ("a", 10, 20, false, false),
                ("b", 20, 30, false, true)
            ]
        );
    }

    proptest! {
        #[test]
        fn a_change_and_back_at_the_same_moment_leaves_one_stretch(t in 0_i64..30, p in 1_i64..100_000, q in 1_i64..100_000) {
            let (a, b) = (plan("a", p), plan("b", q));
            let period = Span { start: 0, end: 30 * DAY };
            let at = |at, p| PlanAt { at, plan: p, interval: Interval::Month };
            let s = stretches(period, &[at(0, &a), at(t * DAY, &b), at(t * DAY, &a)], None);
            prop_assert_eq!(s.len(), 1);
            prop_assert_eq!(s[0].span, period);
            prop_assert!(!s[0].changed);
        }

        #[test]
        fn the_credit_and_the_charge_of_the_same_price_cancel(t in 0_i64..=30, p in 0_i64..10_000_000) {
            let period = Span { start: 0, end: 30 * DAY };
            let share = time_share(MinorUnits(p), period, t * DAY, None).unwrap();
            prop_assert!(share >= MinorUnits::ZERO && share <= MinorUnits(p));
            prop_assert_eq!(share.checked_sub(share).unwrap(), MinorUnits::ZERO);
        }
    }
}
